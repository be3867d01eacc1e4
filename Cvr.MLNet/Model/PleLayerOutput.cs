using static TorchSharp.torch;

namespace Cvr.MLNet.Model;

/// <summary>Output of a <see cref="PleExtractionLayer"/>: one [B,out] tensor per task and the shared one (or null).</summary>
public sealed record PleLayerOutput(Tensor[] Tasks, Tensor? Shared)
{
    /// <summary>Moves every tensor to the enclosing dispose scope.</summary>
    public PleLayerOutput MoveToOuterDisposeScope()
    {
        foreach (var t in Tasks) t.MoveToOuterDisposeScope();
        Shared?.MoveToOuterDisposeScope();
        return this;
    }
}
