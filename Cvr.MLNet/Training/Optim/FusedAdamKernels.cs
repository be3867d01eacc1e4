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
    public static double Update(float* g, float* m, float* v, float* p, long n, in Coefficients c)
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
                var raw = Vector256.Load(g + i);
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
            float raw = g[i];
            sq += raw * raw;
            float gi = raw * c.Scale;
            float mi = c.Beta1 * m[i] + c.OneMinusBeta1 * gi;
            float vi = c.Beta2 * v[i] + c.OneMinusBeta2 * (gi * gi);
            m[i] = mi; v[i] = vi;
            p[i] += c.NegStep * (mi / (MathF.Sqrt(vi) / c.SqrtBc2 + c.Eps));
        }
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
    public static double SumSquares(float* x, long n)
    {
        long i = 0;
        double sq = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var acc = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8) { var r = Vector256.Load(x + i); acc += r * r; }
            sq = Vector256.Sum(acc);
        }
        for (; i < n; i++) sq += x[i] * x[i];
        return sq;
    }
}
