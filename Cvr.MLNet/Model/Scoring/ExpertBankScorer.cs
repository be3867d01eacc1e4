namespace Cvr.MLNet.Model.Scoring;

/// <summary>
/// Managed forward of an <see cref="ExpertBank"/> for one sample: K MLPs (Linear + SiLU per level)
/// over the bank's [K,in,out] weights, which are already the row-major [in,out] layout
/// <see cref="ScoringKernels.MatVec"/> reads.
/// </summary>
internal sealed class ExpertBankScorer
{
    private readonly float[][] _w;   // level l: K × in_l × out_l
    private readonly float[][] _b;   // level l: K × out_l
    private readonly int[] _widths;  // in_0, out_0, out_1, …

    internal ExpertBankScorer(int experts, int inputDim, float[][] weights, float[][] biases, int[] outWidths)
    {
        Experts = experts;
        _w = weights; _b = biases;
        _widths = [inputDim, .. outWidths];
        OutputDim = outWidths[^1];
        WorkSize = 2 * outWidths.Max();
    }

    /// <summary>Number of experts K.</summary>
    public int Experts { get; }
    /// <summary>Output width of each expert.</summary>
    public int OutputDim { get; }
    /// <summary>Floats of scratch <see cref="Forward"/> needs.</summary>
    public int WorkSize { get; }

    /// <summary>Expert <paramref name="e"/> on x [in] → output [out].</summary>
    public void Forward(int e, ReadOnlySpan<float> x, Span<float> output, Span<float> work)
    {
        int half = WorkSize / 2;
        ReadOnlySpan<float> cur = x;
        int levels = _w.Length;
        for (int l = 0; l < levels; l++)
        {
            int i = _widths[l], o = _widths[l + 1];
            var y = l == levels - 1 ? output[..o] : work.Slice((l & 1) * half, o);
            ScoringKernels.MatVec(cur, _w[l].AsSpan(e * i * o, i * o), _b[l].AsSpan(e * o, o), y, i, o);
            ScoringKernels.Silu(y);
            cur = y;
        }
    }
}
