namespace Cvr.MLNet.Model.Scoring;

/// <summary>
/// Managed forward of a <see cref="PleExtractionLayer"/> over a block of rows: the K experts as
/// blocked GEMMs (<see cref="ExpertBankBlockScorer"/>), the gates as blocked GEMMs too (outputs padded
/// to 8 with zero rows), then per row each task gate's softmax over its own and the shared experts and
/// the shared gate's over all K, as <see cref="PleLayerScorer"/>.
/// Inputs and outputs are row-major blocks packed at stride rows × width per task.
/// </summary>
internal sealed class PleLayerBlockScorer
{
    private readonly int _tasks, _specific, _shared;
    private readonly ExpertBankBlockScorer _experts;
    private readonly DenseScorer[] _taskGates;
    private readonly DenseScorer? _sharedGate;

    // taskGates: per task, the gate padded to a multiple of 8 outputs (DenseScorer.FromPadded); sharedGate likewise, or null (last layer).
    internal PleLayerBlockScorer(int tasks, int specific, int shared, ExpertBankBlockScorer experts, DenseScorer[] taskGates, DenseScorer? sharedGate)
    {
        _tasks = tasks; _specific = specific; _shared = shared;
        _experts = experts; _taskGates = taskGates; _sharedGate = sharedGate;
        _gateWidth = Math.Max(taskGates.Max(g => g.Out), sharedGate?.Out ?? 0);
    }

    private readonly int _gateWidth;

    /// <summary>Input width.</summary>
    public int InputDim => _taskGates[0].In;
    /// <summary>Output width (each task's and the shared one).</summary>
    public int OutputDim => _experts.OutputDim;

    /// <summary>Floats of scratch <see cref="Forward"/> needs for <paramref name="rows"/> rows.</summary>
    public int WorkSize(int rows) => _experts.Experts * rows * OutputDim + _experts.WorkSize(rows) + rows * _gateWidth;

    /// <summary>
    /// taskInputs (task t's [rows, in] at t·rows·in) or, when <paramref name="sameInput"/>, every task reads
    /// <paramref name="sharedInput"/> [rows, in] → taskOutputs (task t's [rows, out] at t·rows·out) and
    /// sharedOutput [rows, out] (when the layer has a shared gate).
    /// </summary>
    public void Forward(ReadOnlySpan<float> taskInputs, ReadOnlySpan<float> sharedInput, bool sameInput, int rows,
        Span<float> taskOutputs, Span<float> sharedOutput, Span<float> work)
    {
        int k = _experts.Experts, o = _experts.OutputDim, n = InputDim, block = rows * o;
        var e = work[..(k * block)];
        var ework = work.Slice(k * block, _experts.WorkSize(rows));
        var g = work.Slice(k * block + _experts.WorkSize(rows), rows * _gateWidth);
        for (int x = 0; x < k; x++)
        {
            var input = sameInput || x >= _tasks * _specific ? sharedInput : taskInputs.Slice(x / _specific * rows * n, rows * n);
            _experts.Forward(x, input, n, rows, e.Slice(x * block, block), ework);
        }
        int gt = _specific + _shared;
        for (int t = 0; t < _tasks; t++)
        {
            var gate = _taskGates[t];
            gate.ForwardBlock(sameInput ? sharedInput : taskInputs.Slice(t * rows * n, rows * n), n, rows, g, gate.Out);
            for (int r = 0; r < rows; r++)
            {
                var w = g.Slice(r * gate.Out, gt);
                ScoringKernels.Softmax(w);
                BlockKernels.Mix(taskOutputs.Slice(t * block + r * o, o), w, e[(r * o)..], block, t * _specific, _specific, _tasks * _specific, _shared);
            }
        }
        if (_sharedGate is { } sg)
        {
            sg.ForwardBlock(sharedInput, n, rows, g, sg.Out);
            for (int r = 0; r < rows; r++)
            {
                var w = g.Slice(r * sg.Out, k);
                ScoringKernels.Softmax(w);
                BlockKernels.Mix(sharedOutput.Slice(r * o, o), w, e[(r * o)..], block, 0, k, 0, 0);
            }
        }
    }
}
