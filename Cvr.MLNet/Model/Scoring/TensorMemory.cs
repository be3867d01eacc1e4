using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;

namespace Cvr.MLNet.Model.Scoring;

/// <summary>
/// The live float memory of a contiguous CPU float32 tensor, read in place (no copy), so a batched
/// forward built per call always sees the current weights. Valid only while the tensor is alive and
/// not resized: the owner (<see cref="CvrBatchScorer"/>) keeps the network referenced for its lifetime.
/// </summary>
internal readonly unsafe struct TensorMemory
{
    private readonly float* _p;

    private TensorMemory(float* p, int length) { _p = p; Length = length; }

    /// <summary>Number of floats.</summary>
    public int Length { get; }

    /// <summary>All of it.</summary>
    public ReadOnlySpan<float> Span => new(_p, Length);

    /// <summary>
    /// Asks the CPU to start loading row <paramref name="index"/> of width <paramref name="dim"/> into the
    /// cache (a hint, no effect on results; ignored when out of range or without SSE): the id tables are
    /// ~100 MB and rows gathered at random miss every cache level.
    /// </summary>
    public void Prefetch(int index, int dim)
    {
        if (!Sse.IsSupported || (uint)index >= (uint)(Length / Math.Max(dim, 1))) return;
        byte* p = (byte*)(_p + (long)index * dim), end = p + (long)dim * 4;
        for (; p < end; p += 64) Sse.Prefetch0(p);
    }

    /// <summary>The memory of <paramref name="t"/>, or null when it is not a contiguous CPU float32 tensor of fewer than 2³¹ bytes.</summary>
    public static TensorMemory? Of(Tensor t)
    {
        long n = t.numel();
        if (t.device_type != DeviceType.CPU || t.dtype != ScalarType.Float32 || !t.is_contiguous() || n * 4 > int.MaxValue) return null;
        if (n == 0) return new TensorMemory(null, 0);
        return new TensorMemory((float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes)), (int)n);
    }
}
