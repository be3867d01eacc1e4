using System.Runtime.InteropServices;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cvr.MLNet.Model.Scoring;

/// <summary>
/// A frozen copy of one affine map y = W·x + b. Wide outputs (≥ 8) keep W transposed, row-major
/// [in,out], for the register-blocked <see cref="ScoringKernels.MatVec"/>; narrow ones (gates, SE,
/// scores) keep torch's [out,in] rows and take one dot product per output.
/// </summary>
internal sealed class DenseScorer
{
    private readonly float[] _w;
    private readonly float[] _b;
    private readonly bool _transposed;

    /// <summary>Input width.</summary>
    public int In { get; }
    /// <summary>Output width.</summary>
    public int Out { get; }

    /// <summary>From a torch-layout weight [out,in] (row-major) and an optional bias [out].</summary>
    public DenseScorer(float[] weightOutIn, float[]? bias, int inDim, int outDim)
    {
        In = inDim; Out = outDim;
        _b = bias ?? [];
        _transposed = StoresTransposed(outDim);
        if (!_transposed) { _w = weightOutIn; return; }
        _w = new float[weightOutIn.Length];
        for (int o = 0; o < outDim; o++)
            for (int i = 0; i < inDim; i++) _w[i * outDim + o] = weightOutIn[o * inDim + i];
    }

    private DenseScorer(float[] w, float[] b, bool transposed, int inDim, int outDim) { _w = w; _b = b; _transposed = transposed; In = inDim; Out = outDim; }

    /// <summary>
    /// From a weight already laid out as <see cref="DenseScorer(float[], float[], int, int)"/> keeps it: row-major
    /// [in,out] when <paramref name="outDim"/> ≥ 8, else [out,in] (no second copy for a caller that builds W itself).
    /// </summary>
    public static DenseScorer FromStoredLayout(float[] weight, float[]? bias, int inDim, int outDim) => new(weight, bias ?? [], StoresTransposed(outDim), inDim, outDim);

    /// <summary>Whether <see cref="FromStoredLayout"/> expects [in,out] (true) or [out,in] for this output width.</summary>
    public static bool StoresTransposed(int outDim) => outDim >= 8;

    /// <summary>Copies a <see cref="Linear"/>'s weight and bias.</summary>
    public static DenseScorer From(Linear linear)
    {
        var w = linear.weight!;
        return new DenseScorer(Floats(w), linear.bias is null ? null : Floats(linear.bias), (int)w.shape[1], (int)w.shape[0]);
    }

    /// <summary>
    /// A <see cref="Linear"/>'s map with the outputs padded by zero rows to a multiple of 8, so narrow maps
    /// (gates) also run as the blocked <see cref="ForwardBlock"/> GEMM; the padded outputs are 0.
    /// </summary>
    public static DenseScorer FromPadded(Linear linear)
    {
        var w = linear.weight!;
        int inDim = (int)w.shape[1], outDim = (int)w.shape[0], padded = (outDim + 7) / 8 * 8;
        var weights = new float[padded * inDim];
        Floats(w).CopyTo(weights, 0);
        var bias = new float[padded];
        if (linear.bias is not null) Floats(linear.bias).CopyTo(bias, 0);
        return new DenseScorer(weights, bias, inDim, padded);
    }

    /// <summary>The values of a CPU/GPU tensor as a fresh float array (row-major).</summary>
    public static float[] Floats(Tensor t)
    {
        if (t.dtype != ScalarType.Float32) throw new ArgumentException($"Expected a Float32 tensor, got {t.dtype}.", nameof(t));
        // A contiguous CPU tensor (every parameter) is copied straight from its memory: no detach/cpu/contiguous
        // tensors to create and free (those were most of building a batch scorer, ≈ 30 weights per call).
        if (TensorMemory.Of(t) is { } memory) return memory.Span.ToArray();
        using var c = t.detach().cpu().contiguous();
        // One block copy of the raw memory (TensorAccessor.ToArray reads it element by element).
        return MemoryMarshal.Cast<byte, float>(c.bytes).ToArray();
    }

    /// <summary>
    /// The values of <paramref name="t"/> to read while it is alive: its own memory when it is a contiguous CPU float32
    /// tensor (no copy: a copy of a large weight is a large-object allocation, most of a batch scorer's build), else
    /// a fresh copy (<see cref="Floats"/>).
    /// </summary>
    public static ReadOnlySpan<float> InPlace(Tensor t) => TensorMemory.Of(t) is { } memory ? memory.Span : Floats(t);

    /// <summary>
    /// y[r] = W·x[r] + b for <paramref name="rows"/> rows (x rows at stride <paramref name="ldx"/>, y rows at
    /// <paramref name="ldy"/>): the register-blocked <see cref="BlockKernels.Gemm"/> for wide outputs, a
    /// <see cref="Forward"/> per row for narrow ones.
    /// </summary>
    public void ForwardBlock(ReadOnlySpan<float> x, int ldx, int rows, Span<float> y, int ldy)
    {
        if (_transposed) { BlockKernels.Gemm(x, ldx, rows, _w, _b, y, ldy, In, Out); return; }
        for (int r = 0; r < rows; r++) Forward(x.Slice(r * ldx, In), y.Slice(r * ldy, Out));
    }

    /// <summary>y[Out] = W·x + b.</summary>
    public void Forward(ReadOnlySpan<float> x, Span<float> y)
    {
        if (_transposed) { ScoringKernels.MatVec(x, _w, _b, y, In, Out); return; }
        var w = _w.AsSpan();
        for (int o = 0; o < Out; o++)
            y[o] = ScoringKernels.Dot(x[..In], w.Slice(o * In, In)) + (_b.Length > 0 ? _b[o] : 0f);
    }
}
