using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace Cvr.MLNet.Training.Optim;

/// <summary>
/// The Adam update as one pass over raw CPU float memory: read g, m, v, p once, write m, v, p once
/// (the op-by-op torch form makes ~8 passes and 3 temporaries over the ~1.6 M dense parameters, and
/// memory traffic, not dispatch, is what it costs). Same arithmetic as the torch form:
/// m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g², p ← p − step·m / (√v / √bc2 + ε).
/// </summary>
internal static unsafe class FusedAdamKernels
{
    /// <summary>The per-step constants, as the torch form casts them to float.</summary>
    public readonly record struct Coefficients(float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2, float SqrtBc2, float Eps, float NegStep, float Scale);

    /// <summary>The raw float memory of a contiguous CPU float32 tensor, or null if it is not one.</summary>
    public static float* Pointer(Tensor t, out long length)
    {
        length = t.numel();
        if (t.device_type != DeviceType.CPU || t.dtype != ScalarType.Float32 || !t.is_contiguous() || length * 4 > int.MaxValue) return null;
        return (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes));
    }

    /// <summary>
    /// Updates n elements (g scaled by c.Scale); returns Σ g² of the unscaled gradient (for the norm
    /// when it is not needed before the update).
    /// </summary>
    public static double Update(float* g, float* m, float* v, float* p, long n, in Coefficients c) => Update<OnePart>(g, null, m, v, p, n, c);

    /// <summary>
    /// <see cref="Update(float*, float*, float*, float*, long, in Coefficients)"/> with the gradient given
    /// as two parts g = g0 + g1 (<paramref name="g1"/> null: one part), summed as it is read instead of in a separate pass.
    /// </summary>
    public static double Update(float* g0, float* g1, float* m, float* v, float* p, long n, in Coefficients c) =>
        g1 is null ? Update<OnePart>(g0, null, m, v, p, n, c) : Update<TwoParts>(g0, g1, m, v, p, n, c);

    /// <summary>Σ (g0 + g1)² over n floats (<paramref name="g1"/> null: Σ g0²).</summary>
    public static double SumSquares(float* g0, float* g1, long n) =>
        g1 is null ? SumSquares<OnePart>(g0, null, n) : SumSquares<TwoParts>(g0, g1, n);

    // How a gradient element is read: one part, or the sum of two (the JIT specializes each struct, no branch in the loop).
    private interface IGradientParts
    {
        static abstract Vector256<float> Load(float* g0, float* g1, long i);
        static abstract float At(float* g0, float* g1, long i);
    }

    private struct OnePart : IGradientParts
    {
        public static Vector256<float> Load(float* g0, float* g1, long i) => Vector256.Load(g0 + i);
        public static float At(float* g0, float* g1, long i) => g0[i];
    }

    private struct TwoParts : IGradientParts
    {
        public static Vector256<float> Load(float* g0, float* g1, long i) => Vector256.Load(g0 + i) + Vector256.Load(g1 + i);
        public static float At(float* g0, float* g1, long i) => g0[i] + g1[i];
    }

    private static double Update<TParts>(float* g0, float* g1, float* m, float* v, float* p, long n, in Coefficients c) where TParts : struct, IGradientParts
    {
        long i = 0;
        double sq = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var b1 = Vector256.Create(c.Beta1); var a1 = Vector256.Create(c.OneMinusBeta1);
            var b2 = Vector256.Create(c.Beta2); var a2 = Vector256.Create(c.OneMinusBeta2);
            var bc = Vector256.Create(c.SqrtBc2); var eps = Vector256.Create(c.Eps);
            var step = Vector256.Create(c.NegStep); var scale = Vector256.Create(c.Scale);
            var acc = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8)
            {
                var raw = TParts.Load(g0, g1, i);
                acc += raw * raw;
                var gi = raw * scale;
                var mi = b1 * Vector256.Load(m + i) + a1 * gi;
                var vi = b2 * Vector256.Load(v + i) + a2 * (gi * gi);
                mi.Store(m + i);
                vi.Store(v + i);
                (Vector256.Load(p + i) + step * (mi / (Vector256.Sqrt(vi) / bc + eps))).Store(p + i);
            }
            sq = Vector256.Sum(acc);
        }
        for (; i < n; i++)
        {
            float raw = TParts.At(g0, g1, i);
            sq += raw * raw;
            float gi = raw * c.Scale;
            float mi = c.Beta1 * m[i] + c.OneMinusBeta1 * gi;
            float vi = c.Beta2 * v[i] + c.OneMinusBeta2 * (gi * gi);
            m[i] = mi; v[i] = vi;
            p[i] += c.NegStep * (mi / (MathF.Sqrt(vi) / c.SqrtBc2 + c.Eps));
        }
        return sq;
    }

    private static double SumSquares<TParts>(float* g0, float* g1, long n) where TParts : struct, IGradientParts
    {
        long i = 0;
        double sq = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var acc = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8) { var r = TParts.Load(g0, g1, i); acc += r * r; }
            sq = Vector256.Sum(acc);
        }
        for (; i < n; i++) { float r = TParts.At(g0, g1, i); sq += r * r; }
        return sq;
    }

    /// <summary>dst[i] += src[i] over n floats.</summary>
    public static void AddTo(float* dst, float* src, long n)
    {
        long i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8) (Vector256.Load(dst + i) + Vector256.Load(src + i)).Store(dst + i);
        for (; i < n; i++) dst[i] += src[i];
    }

    /// <summary>Σ x² over n floats.</summary>
    public static double SumSquares(float* x, long n) => SumSquares<OnePart>(x, null, n);
}
