using Cvr.MLNet.Model.Scoring;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Cvr.MLNet.Model;

/// <summary>
/// Deep Interest Network attention pooling (Zhou et al. 2018): score_t = MLP([q, k_t, q − k_t, q·k_t])
/// with SiLU, padded positions scored 0, output Σ_t score_t·k_t. As in the paper the scores are not
/// softmax-normalized, so the output keeps the intensity of the user's interest.
/// </summary>
public sealed class DinAttention : Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly long _dim;
    private readonly ModuleList<Linear> hidden;
    private readonly Linear score;

    /// <summary>Creates the attention for <paramref name="dim"/>-wide queries/keys and the given MLP hidden widths.</summary>
    public DinAttention(int dim, IReadOnlyList<int> hiddenDims) : base(nameof(DinAttention))
    {
        if (dim < 1) throw new ArgumentOutOfRangeException(nameof(dim), dim, $"dim must be at least 1, got {dim}.");
        if (hiddenDims is null || hiddenDims.Count == 0) throw new ArgumentOutOfRangeException(nameof(hiddenDims), "hiddenDims must list at least one width.");
        _dim = dim;
        hidden = new ModuleList<Linear>();
        long input = 4L * dim;
        for (int i = 0; i < hiddenDims.Count; i++)
        {
            if (hiddenDims[i] < 1) throw new ArgumentOutOfRangeException(nameof(hiddenDims), hiddenDims[i], $"hiddenDims[{i}] must be at least 1, got {hiddenDims[i]}.");
            hidden.Add(Linear(input, hiddenDims[i]));
            input = hiddenDims[i];
        }
        score = Linear(input, 1);
        RegisterComponents();
    }

    /// <summary>
    /// query [B,E], keys [B,T,E], mask [B,T] float (1 = real, 0 = padding) → interest [B,E]: the
    /// real positions are packed (<see cref="PackedSequence"/>) and run through <see cref="ForwardPacked"/>.
    /// </summary>
    public override Tensor forward(Tensor query, Tensor keys, Tensor mask)
    {
        using var scope = NewDisposeScope();
        using var packed = new PackedSequence(mask);
        return ForwardPacked(query, packed.GatherRows(keys), packed).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// query [B,E], keys [N,E] at the N real positions of <paramref name="seq"/> → interest [B,E]
    /// (Σ over each sample's positions of score·key; a sample without history gets 0).
    /// The first MLP layer is evaluated in factored form: W·[q, k, q−k, q·k] = (W_q + W_d)·q +
    /// [W_k − W_d, W_p]·[k, q·k], so the query part is computed once per sample instead of once per
    /// position (same function as <see cref="ForwardUnfused"/>).
    /// </summary>
    public Tensor ForwardPacked(Tensor query, Tensor keys, PackedSequence seq)
    {
        using var scope = NewDisposeScope();
        var first = hidden[0];
        var w = first.weight!.split(_dim, 1);                                   // 4 × [H,E]: W_q, W_k, W_d, W_p
        var wq = w[0] + w[2];                                                   // [H,E]
        var wkp = cat([w[1] - w[2], w[3]], 1);                                  // [H,2E]
        var qh = functional.linear(query, wq, first.bias);                      // [B,H]
        var q = query.index_select(0, seq.Rows);                                // [N,E]
        var kp = cat([keys, q * keys], 1);                                      // [N,2E]
        var h = functional.silu(qh.index_select(0, seq.Rows).addmm(kp, wkp.t())); // [N,H]
        var s = Scores(h, fromLayer: 1) * seq.Mask.unsqueeze(1);               // [N,1]
        return seq.SumPerSample(keys * s).MoveToOuterDisposeScope();            // [B,E]
    }

    /// <summary>
    /// The textbook form: concatenates [q, k, q − k, q·k] per position and runs the MLP on it.
    /// Same result as <see cref="forward"/>; kept as the reference formulation for tests.
    /// </summary>
    public Tensor ForwardUnfused(Tensor query, Tensor keys, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var q = query.unsqueeze(1).expand_as(keys);                             // [B,T,E]
        var x = cat([q, keys, q - keys, q * keys], -1);                         // [B,T,4E]
        var s = Scores(x, fromLayer: 0).squeeze(-1) * mask;                     // [B,T]
        return s.unsqueeze(1).bmm(keys).squeeze(1).MoveToOuterDisposeScope();  // [B,E]
    }

    // The MLP from hidden layer fromLayer on (SiLU after each) and the score layer: h [...,H] → [...,1].
    private Tensor Scores(Tensor h, int fromLayer)
    {
        for (int i = fromLayer; i < hidden.Count; i++)
            h = functional.silu(hidden[i].forward(h));                          // [...,H_i]
        return score.forward(h);
    }

    /// <summary>A frozen managed copy for single-sample scoring (<see cref="DinScorer"/>).</summary>
    internal DinScorer CreateScorer()
    {
        var first = hidden[0];
        return new DinScorer((int)_dim, DenseScorer.InPlace(first.weight!), DenseScorer.Floats(first.bias!), (int)first.weight!.shape[0],
            hidden.Skip(1).Select(DenseScorer.From).ToArray(), DenseScorer.From(score));
    }
}
