using Cvr.MLNet.Model.Scoring;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Cvr.MLNet.Model;

/// <summary>
/// Squeeze-and-excitation over feature fields: per-field mean → FC(F→r) + SiLU → FC(r→F) + sigmoid
/// → each field scaled by its weight. The means and the broadcast back to columns are two fixed 0/1
/// matrices (non-persistent buffers), so the block is two tiny matmuls and one multiply.
/// </summary>
public sealed class SqueezeExcitation : Module<Tensor, (Tensor Output, Tensor Weights)>
{
    private readonly Linear fc1;
    private readonly Linear fc2;
    // [D,F] averaging matrix and [F,D] 0/1 expansion matrix; rebuilt from the sizes, never saved.
    private readonly Tensor average;
    private readonly Tensor expand;
    private readonly int[] _fieldDims;

    /// <summary>Creates the block for fields of the given widths and bottleneck <paramref name="reduction"/>.</summary>
    public SqueezeExcitation(IReadOnlyList<int> fieldDims, int reduction) : base(nameof(SqueezeExcitation))
    {
        if (fieldDims is null || fieldDims.Count == 0) throw new ArgumentOutOfRangeException(nameof(fieldDims), "fieldDims must list at least one field.");
        for (int f = 0; f < fieldDims.Count; f++)
            if (fieldDims[f] < 1) throw new ArgumentOutOfRangeException(nameof(fieldDims), fieldDims[f], $"fieldDims[{f}] must be at least 1, got {fieldDims[f]}.");
        if (reduction < 1) throw new ArgumentOutOfRangeException(nameof(reduction), reduction, $"reduction must be at least 1, got {reduction}.");
        _fieldDims = [.. fieldDims];
        int n = fieldDims.Count, d = fieldDims.Sum();
        var avg = new float[d * n];
        var ones = new float[n * d];
        for (int f = 0, c = 0; f < n; c += fieldDims[f], f++)
            for (int j = c; j < c + fieldDims[f]; j++)
            {
                avg[j * n + f] = 1f / fieldDims[f];
                ones[f * d + j] = 1f;
            }
        average = tensor(avg, [d, n]);
        this.expand = tensor(ones, [n, d]);
        fc1 = Linear(n, reduction);
        fc2 = Linear(reduction, n);
        // Registered as non-persistent buffers first, so RegisterComponents does not make them persistent.
        register_buffer("average", average, persistent: false);
        register_buffer("expand", this.expand, persistent: false);
        RegisterComponents();
    }

    /// <summary>A frozen managed copy for single-sample scoring (<see cref="SeScorer"/>).</summary>
    internal SeScorer CreateScorer() => new(_fieldDims, DenseScorer.From(fc1), DenseScorer.From(fc2));

    /// <summary>x [B,D] (fields concatenated) → (x reweighted [B,D], field weights [B,F]).</summary>
    public override (Tensor Output, Tensor Weights) forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var z = x.matmul(average);                                            // [B,F] field means
        var w = fc2.forward(functional.silu(fc1.forward(z))).sigmoid();        // [B,F]
        var y = x * w.matmul(expand);                                         // [B,D]
        return (y.MoveToOuterDisposeScope(), w.MoveToOuterDisposeScope());
    }
}
