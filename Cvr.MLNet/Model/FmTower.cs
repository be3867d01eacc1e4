using Cvr.MLNet.Model.Scoring;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Cvr.MLNet.Model;

/// <summary>
/// Factorization-machine head: logit = w0 + ⟨w, x⟩ + Σ_{i&lt;j} ⟨v_i, v_j⟩, with the input x viewed
/// as <c>fields</c> field vectors v_i. The pairwise term uses the O(n·k) identity
/// ½ Σ_d [(Σ_i v_id)² − Σ_i v_id²].
/// </summary>
public sealed class FmTower : Module<Tensor, Tensor>
{
    private readonly long _fields;
    private readonly Linear linear;

    /// <summary>Creates a tower over <paramref name="inputDim"/> = <paramref name="fields"/> × k inputs.</summary>
    public FmTower(int inputDim, int fields) : base(nameof(FmTower))
    {
        if (inputDim < 1) throw new ArgumentOutOfRangeException(nameof(inputDim), inputDim, $"inputDim must be at least 1, got {inputDim}.");
        if (fields < 1 || inputDim % fields != 0)
            throw new ArgumentOutOfRangeException(nameof(fields), fields, $"fields = {fields} must divide inputDim = {inputDim}.");
        _fields = fields;
        linear = Linear(inputDim, 1);
        RegisterComponents();
    }

    /// <summary>A frozen managed copy for single-sample scoring (<see cref="FmTowerScorer"/>).</summary>
    internal FmTowerScorer CreateScorer() => new((int)_fields, DenseScorer.From(linear));

    /// <summary>x [B,D] → logit [B].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var v = x.reshape(x.shape[0], _fields, -1);                       // [B,F,D/F]
        var s = v.sum(1);                                                   // [B,D/F]
        var pairwise = (s * s - (v * v).sum(1)).sum(-1) * 0.5;              // [B]
        return (linear.forward(x).squeeze(-1) + pairwise).MoveToOuterDisposeScope();
    }
}
