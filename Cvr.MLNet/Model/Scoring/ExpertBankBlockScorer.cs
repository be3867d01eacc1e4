namespace Cvr.MLNet.Model.Scoring;

/// <summary>
/// Managed forward of an <see cref="ExpertBank"/> over a block of rows: each expert's MLP (Linear +
/// SiLU per level) as <see cref="BlockKernels.Gemm"/> calls on the bank's live [K,in,out] weights,
/// which are already the row-major [in,out] layout the kernel reads (nothing is copied).
/// </summary>
internal sealed class ExpertBankBlockScorer
{
    private readonly TensorMemory[] _w;   // level l: K × in_l × out_l
    private readonly TensorMemory[] _b;   // level l: K × out_l
    private readonly int[] _widths;       // in_0, out_0, out_1, …

    internal ExpertBankBlockScorer(int experts, int inputDim, TensorMemory[] weights, TensorMemory[] biases, int[] outWidths)
    {
        Experts = experts;
        _w = weights; _b = biases;
        _widths = [inputDim, .. outWidths];
        OutputDim = outWidths[^1];
        HiddenWidth = outWidths.Length > 1 ? outWidths[..^1].Max() : 0;
    }

    /// <summary>Number of experts K.</summary>
    public int Experts { get; }
    /// <summary>Output width of each expert.</summary>
    public int OutputDim { get; }
    /// <summary>Widest hidden (non-final) level, 0 with one level.</summary>
    public int HiddenWidth { get; }

    /// <summary>Floats of scratch <see cref="Forward"/> needs for <paramref name="rows"/> rows.</summary>
    public int WorkSize(int rows) => 2 * rows * HiddenWidth;

    /// <summary>Expert <paramref name="e"/> on x [rows, in] (stride <paramref name="ldx"/>) → y [rows, out] (stride out).</summary>
    public void Forward(int e, ReadOnlySpan<float> x, int ldx, int rows, Span<float> y, Span<float> work)
    {
        int levels = _w.Length, half = rows * HiddenWidth;
        ReadOnlySpan<float> cur = x;
        int ld = ldx;
        for (int l = 0; l < levels; l++)
        {
            int i = _widths[l], o = _widths[l + 1];
            var dst = l == levels - 1 ? y[..(rows * o)] : work.Slice((l & 1) * half, rows * o);
            BlockKernels.Gemm(cur, ld, rows, _w[l].Span.Slice(e * i * o, i * o), _b[l].Span.Slice(e * o, o), dst, o, i, o);
            BlockKernels.Silu(dst, rows, o, o);
            cur = dst;
            ld = o;
        }
    }
}
