using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Cvr.MLNet.Model.Scoring;

/// <summary>
/// The few float32 kernels the managed single-row forward needs: a matrix–vector product over a
/// row-major [in,out] weight with register-blocked 256-bit accumulators, dot products, SiLU and sigmoid.
/// </summary>
internal static class ScoringKernels
{
    /// <summary>y[out] = bias + Σ_i x[i]·w[i,:] for a row-major w [in,out] (bias may be empty).</summary>
    public static void MatVec(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y, int inDim, int outDim)
    {
        ref float wr = ref MemoryMarshal.GetReference(w);
        ref float xr = ref MemoryMarshal.GetReference(x);
        bool hasBias = !bias.IsEmpty;
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            // Strips of 32 outputs: 4 accumulators stay in registers over the whole input.
            for (; j + 32 <= outDim; j += 32)
            {
                Vector256<float> a0, a1, a2, a3;
                if (hasBias)
                {
                    a0 = Vector256.Create(bias.Slice(j, 8)); a1 = Vector256.Create(bias.Slice(j + 8, 8));
                    a2 = Vector256.Create(bias.Slice(j + 16, 8)); a3 = Vector256.Create(bias.Slice(j + 24, 8));
                }
                else a0 = a1 = a2 = a3 = Vector256<float>.Zero;
                ref float col = ref Unsafe.Add(ref wr, j);
                for (int i = 0; i < inDim; i++)
                {
                    var xi = Vector256.Create(Unsafe.Add(ref xr, i));
                    ref float row = ref Unsafe.Add(ref col, (nint)i * outDim);
                    a0 = Vector256.FusedMultiplyAdd(xi, Vector256.LoadUnsafe(ref row), a0);
                    a1 = Vector256.FusedMultiplyAdd(xi, Vector256.LoadUnsafe(ref row, 8), a1);
                    a2 = Vector256.FusedMultiplyAdd(xi, Vector256.LoadUnsafe(ref row, 16), a2);
                    a3 = Vector256.FusedMultiplyAdd(xi, Vector256.LoadUnsafe(ref row, 24), a3);
                }
                ref float yr = ref Unsafe.Add(ref MemoryMarshal.GetReference(y), j);
                a0.StoreUnsafe(ref yr); a1.StoreUnsafe(ref yr, 8); a2.StoreUnsafe(ref yr, 16); a3.StoreUnsafe(ref yr, 24);
            }
            for (; j + 8 <= outDim; j += 8)
            {
                var a = hasBias ? Vector256.Create(bias.Slice(j, 8)) : Vector256<float>.Zero;
                ref float col = ref Unsafe.Add(ref wr, j);
                for (int i = 0; i < inDim; i++)
                    a = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref xr, i)), Vector256.LoadUnsafe(ref Unsafe.Add(ref col, (nint)i * outDim)), a);
                a.StoreUnsafe(ref Unsafe.Add(ref MemoryMarshal.GetReference(y), j));
            }
        }
        for (; j < outDim; j++)
        {
            float s = hasBias ? bias[j] : 0f;
            for (int i = 0; i < inDim; i++) s += x[i] * w[i * outDim + j];
            y[j] = s;
        }
    }

    /// <summary>Σ a[i]·b[i].</summary>
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        int n = a.Length, i = 0;
        float s = 0f;
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            ref float ar = ref MemoryMarshal.GetReference(a);
            ref float br = ref MemoryMarshal.GetReference(b);
            var acc = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8)
                acc = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref ar, (nuint)i), Vector256.LoadUnsafe(ref br, (nuint)i), acc);
            s = Vector256.Sum(acc);
        }
        for (; i < n; i++) s += a[i] * b[i];
        return s;
    }

    /// <summary>y[i] += a·x[i].</summary>
    public static void Axpy(float a, ReadOnlySpan<float> x, Span<float> y)
    {
        int n = x.Length, i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float xr = ref MemoryMarshal.GetReference(x);
            ref float yr = ref MemoryMarshal.GetReference(y);
            var va = Vector256.Create(a);
            for (; i + 8 <= n; i += 8)
                Vector256.FusedMultiplyAdd(va, Vector256.LoadUnsafe(ref xr, (nuint)i), Vector256.LoadUnsafe(ref yr, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        }
        for (; i < n; i++) y[i] += a * x[i];
    }

    /// <summary>x ← x·sigmoid(x), in place.</summary>
    public static void Silu(Span<float> x)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float xr = ref MemoryMarshal.GetReference(x);
            var one = Vector256<float>.One;
            for (; i + 8 <= x.Length; i += 8)
            {
                var v = Vector256.LoadUnsafe(ref xr, (nuint)i);
                (v / (one + Vector256.Exp(-v))).StoreUnsafe(ref xr, (nuint)i);
            }
        }
        for (; i < x.Length; i++) x[i] = x[i] / (1f + MathF.Exp(-x[i]));
    }

    /// <summary>1 / (1 + e^−x).</summary>
    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    /// <summary>In-place softmax.</summary>
    public static void Softmax(Span<float> x)
    {
        float max = float.NegativeInfinity;
        foreach (float v in x) max = MathF.Max(max, v);
        float sum = 0f;
        for (int i = 0; i < x.Length; i++) { x[i] = MathF.Exp(x[i] - max); sum += x[i]; }
        for (int i = 0; i < x.Length; i++) x[i] /= sum;
    }
}
