using Cvr.MLNet.Model.Scoring;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Cvr.MLNet.Model;

/// <summary>
/// One extraction layer of Progressive Layered Extraction (Tang et al. 2020). Expert order in the
/// bank: task 0's specific experts, task 1's, …, then the shared experts (K = N·S + S_h). Task t's
/// gate mixes its own S experts and the shared ones (softmax over S + S_h); the shared gate (all but
/// the last layer) mixes all K experts and feeds the next layer's shared experts.
/// </summary>
public sealed class PleExtractionLayer : Module<Tensor[], Tensor, PleLayerOutput>
{
    private readonly int _tasks, _specific, _shared;
    private readonly ExpertBank experts;
    private readonly ModuleList<Linear> task_gates;
    private readonly Linear? shared_gate;

    /// <summary>Output width of every expert (and of the layer).</summary>
    public int OutputDim => experts.OutputDim;

    /// <summary>Creates a layer over <paramref name="inputDim"/> inputs whose experts have the given hidden widths.</summary>
    public PleExtractionLayer(int inputDim, IReadOnlyList<int> expertWidths, int tasks, int specificExperts, int sharedExperts, bool sharedGate)
        : base(nameof(PleExtractionLayer))
    {
        if (tasks < 1) throw new ArgumentOutOfRangeException(nameof(tasks), tasks, $"tasks must be at least 1, got {tasks}.");
        if (specificExperts < 1) throw new ArgumentOutOfRangeException(nameof(specificExperts), specificExperts, $"specificExperts must be at least 1, got {specificExperts}.");
        if (sharedExperts < 1) throw new ArgumentOutOfRangeException(nameof(sharedExperts), sharedExperts, $"sharedExperts must be at least 1, got {sharedExperts}.");
        _tasks = tasks;
        _specific = specificExperts;
        _shared = sharedExperts;
        int k = tasks * specificExperts + sharedExperts;
        experts = new ExpertBank(k, inputDim, expertWidths);
        task_gates = new ModuleList<Linear>();
        for (int t = 0; t < tasks; t++) task_gates.Add(Linear(inputDim, specificExperts + sharedExperts));
        shared_gate = sharedGate ? Linear(inputDim, k) : null;
        RegisterComponents();
    }

    /// <summary>
    /// taskInputs: N × [B,in]; sharedInput [B,in] → N task outputs [B,out] and the shared output
    /// [B,out] (null without a shared gate). When every task input is the shared input (first layer)
    /// the experts run as one GEMM on it.
    /// </summary>
    public override PleLayerOutput forward(Tensor[] taskInputs, Tensor sharedInput)
    {
        if (taskInputs.Length != _tasks)
            throw new ArgumentException($"PleExtractionLayer expects {_tasks} task inputs, got {taskInputs.Length}.", nameof(taskInputs));
        using var scope = NewDisposeScope();
        var e = experts.forward(ExpertInput(taskInputs, sharedInput));       // [K,B,out]
        return Mix(e, taskInputs, sharedInput).MoveToOuterDisposeScope();
    }

    /// <summary>Same as <see cref="forward"/> but runs each expert separately (reference form for tests).</summary>
    public PleLayerOutput ForwardPerExpert(Tensor[] taskInputs, Tensor sharedInput)
    {
        using var scope = NewDisposeScope();
        var e = experts.ForwardPerExpert(ExpertInput(taskInputs, sharedInput));
        return Mix(e, taskInputs, sharedInput).MoveToOuterDisposeScope();
    }

    /// <summary>A frozen managed copy for single-sample scoring (<see cref="PleLayerScorer"/>).</summary>
    internal PleLayerScorer CreateScorer() =>
        new(_tasks, _specific, _shared, experts.CreateScorer(), task_gates.Select(DenseScorer.From).ToArray(),
            shared_gate is null ? null : DenseScorer.From(shared_gate));

    /// <summary>The batched managed forward (<see cref="PleLayerBlockScorer"/>), or null when the expert weights cannot be read in place.</summary>
    internal PleLayerBlockScorer? TryCreateBlockScorer() =>
        experts.TryCreateBlockScorer() is { } bank
            ? new(_tasks, _specific, _shared, bank, task_gates.Select(DenseScorer.FromPadded).ToArray(), shared_gate is null ? null : DenseScorer.FromPadded(shared_gate))
            : null;

    private Tensor ExpertInput(Tensor[] taskInputs, Tensor sharedInput)
    {
        if (taskInputs.All(x => ReferenceEquals(x, sharedInput))) return sharedInput;   // [B,in]
        var perExpert = new List<Tensor>(experts.Experts);
        foreach (var x in taskInputs) perExpert.AddRange(Enumerable.Repeat(x, _specific));
        perExpert.AddRange(Enumerable.Repeat(sharedInput, _shared));
        return stack(perExpert);                                                         // [K,B,in]
    }

    private PleLayerOutput Mix(Tensor e, Tensor[] taskInputs, Tensor sharedInput)
    {
        long b = sharedInput.shape[0];
        int k = experts.Experts;
        // Gate weights laid out over all K experts (zeros for experts a task gate does not see),
        // so every gate mixes with one batched matmul.
        var gates = new List<Tensor>(_tasks + 1);
        for (int t = 0; t < _tasks; t++)
        {
            var g = task_gates[t].forward(taskInputs[t]).softmax(-1);                   // [B,S+Sh]
            gates.Add(cat([zeros(b, t * _specific), g.narrow(1, 0, _specific),
                zeros(b, (_tasks - 1 - t) * _specific), g.narrow(1, _specific, _shared)], 1));       // [B,K]
        }
        if (shared_gate is not null) gates.Add(shared_gate.forward(sharedInput).softmax(-1)); // [B,K]
        var mixed = stack(gates, 1).bmm(e.transpose(0, 1));                                 // [B,G,out]
        var outs = new Tensor[_tasks];
        for (int t = 0; t < _tasks; t++) outs[t] = mixed.select(1, t).contiguous();
        var shared = shared_gate is null ? null : mixed.select(1, _tasks).contiguous();
        return new PleLayerOutput(outs, shared);
    }
}
