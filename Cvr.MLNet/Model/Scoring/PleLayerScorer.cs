namespace Cvr.MLNet.Model.Scoring;

/// <summary>
/// Managed forward of a <see cref="PleExtractionLayer"/> for one sample: the K experts (task 0's S,
/// task 1's S, …, then the S_h shared ones), each task gate's softmax over its own and the shared
/// experts, and the shared gate's softmax over all K (all but the last layer).
/// </summary>
internal sealed class PleLayerScorer
{
    private readonly int _tasks, _specific, _shared;
    private readonly ExpertBankScorer _experts;
    private readonly DenseScorer[] _taskGates;
    private readonly DenseScorer? _sharedGate;

    internal PleLayerScorer(int tasks, int specific, int shared, ExpertBankScorer experts, DenseScorer[] taskGates, DenseScorer? sharedGate)
    {
        _tasks = tasks; _specific = specific; _shared = shared;
        _experts = experts; _taskGates = taskGates; _sharedGate = sharedGate;
        WorkSize = experts.Experts * experts.OutputDim + experts.WorkSize + experts.Experts;
    }

    /// <summary>Input width.</summary>
    public int InputDim => _taskGates[0].In;
    /// <summary>Output width (each task's and the shared one).</summary>
    public int OutputDim => _experts.OutputDim;
    /// <summary>Whether the layer has a shared gate (and so a shared output).</summary>
    public bool HasSharedOutput => _sharedGate is not null;
    /// <summary>Floats of scratch <see cref="Forward"/> needs.</summary>
    public int WorkSize { get; }

    /// <summary>
    /// taskInputs [N·in] (task t at t·in), or, when <paramref name="sameInput"/>, every task reads
    /// <paramref name="sharedInput"/> [in] → taskOutputs [N·out] and sharedOutput [out] (when the layer has a shared gate).
    /// </summary>
    public void Forward(ReadOnlySpan<float> taskInputs, ReadOnlySpan<float> sharedInput, bool sameInput,
        Span<float> taskOutputs, Span<float> sharedOutput, Span<float> work)
    {
        int k = _experts.Experts, o = _experts.OutputDim, n = InputDim;
        var e = work[..(k * o)];
        var ework = work.Slice(k * o, _experts.WorkSize);
        var g = work.Slice(k * o + _experts.WorkSize, k);
        for (int x = 0; x < k; x++)
        {
            var input = sameInput || x >= _tasks * _specific ? sharedInput : taskInputs.Slice(x / _specific * n, n);
            _experts.Forward(x, input, e.Slice(x * o, o), ework);
        }
        for (int t = 0; t < _tasks; t++)
        {
            var gate = g[..(_specific + _shared)];
            _taskGates[t].Forward(sameInput ? sharedInput : taskInputs.Slice(t * n, n), gate);
            ScoringKernels.Softmax(gate);
            var y = taskOutputs.Slice(t * o, o);
            y.Clear();
            for (int s = 0; s < _specific; s++) ScoringKernels.Axpy(gate[s], e.Slice((t * _specific + s) * o, o), y);
            for (int h = 0; h < _shared; h++) ScoringKernels.Axpy(gate[_specific + h], e.Slice((_tasks * _specific + h) * o, o), y);
        }
        if (_sharedGate is not null)
        {
            _sharedGate.Forward(sharedInput, g);
            ScoringKernels.Softmax(g);
            var y = sharedOutput[..o];
            y.Clear();
            for (int x = 0; x < k; x++) ScoringKernels.Axpy(g[x], e.Slice(x * o, o), y);
        }
    }
}
