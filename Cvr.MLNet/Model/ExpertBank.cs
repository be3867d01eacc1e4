using Cvr.MLNet.Model.Scoring;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Cvr.MLNet.Model;

/// <summary>
/// K expert MLPs of identical shape (Linear + SiLU after every layer) run as batched matmuls:
/// level l holds one weight [K, in, out] and one bias [K, out] (keys <c>weights.l</c>,
/// <c>biases.l</c>), so a layer of K experts costs one GEMM (shared input) or one
/// <c>baddbmm</c> (one input per expert) instead of K Linear calls.
/// </summary>
public sealed class ExpertBank : Module<Tensor, Tensor>
{
    private readonly ParameterList weights;
    private readonly ParameterList biases;

    /// <summary>Number of experts K.</summary>
    public int Experts { get; }
    /// <summary>Input width.</summary>
    public int InputDim { get; }
    /// <summary>Output width (the last hidden width).</summary>
    public int OutputDim { get; }

    /// <summary>Creates <paramref name="experts"/> MLPs <paramref name="inputDim"/> → widths[0] → … → widths[^1].</summary>
    public ExpertBank(int experts, int inputDim, IReadOnlyList<int> widths) : base(nameof(ExpertBank))
    {
        if (experts < 1) throw new ArgumentOutOfRangeException(nameof(experts), experts, $"experts must be at least 1, got {experts}.");
        if (inputDim < 1) throw new ArgumentOutOfRangeException(nameof(inputDim), inputDim, $"inputDim must be at least 1, got {inputDim}.");
        if (widths is null || widths.Count == 0) throw new ArgumentOutOfRangeException(nameof(widths), "widths must list at least one width.");
        Experts = experts;
        InputDim = inputDim;
        weights = new ParameterList();
        biases = new ParameterList();
        long input = inputDim;
        using (no_grad())
        {
            for (int l = 0; l < widths.Count; l++)
            {
                if (widths[l] < 1) throw new ArgumentOutOfRangeException(nameof(widths), widths[l], $"widths[{l}] must be at least 1, got {widths[l]}.");
                // Same init as torch.nn.Linear: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias.
                double bound = 1.0 / Math.Sqrt(input);
                weights.Add(new Parameter(empty(experts, input, widths[l]).uniform_(-bound, bound), true));
                biases.Add(new Parameter(empty(experts, widths[l]).uniform_(-bound, bound), true));
                input = widths[l];
            }
        }
        OutputDim = (int)input;
        RegisterComponents();
    }

    /// <summary>
    /// x [B,in] (one input shared by all experts) or [K,B,in] (one input per expert) → [K,B,out].
    /// </summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor h;
        var w0 = weights[0];
        var b0 = biases[0];
        long k = Experts, o = w0.shape[2];
        if (x.dim() == 2)
        {
            // Shared input: one GEMM [B,in] × [in, K·out], then view as [K,B,out].
            var wFlat = w0.permute(1, 0, 2).reshape(InputDim, k * o);
            h = functional.silu(b0.reshape(k * o).addmm(x, wFlat))
                .view(x.shape[0], k, o).transpose(0, 1);
        }
        else if (x.dim() == 3 && x.shape[0] == k)
        {
            h = functional.silu(AddBmm(b0, x, w0));
        }
        else
        {
            throw new ArgumentException(
                $"ExpertBank input has shape [{string.Join(",", x.shape)}], expected [B,{InputDim}] or [{k},B,{InputDim}].", nameof(x));
        }
        for (int l = 1; l < weights.Count; l++)
            h = functional.silu(AddBmm(biases[l], h, weights[l]));                 // [K,B,out_l]
        return h.MoveToOuterDisposeScope();
    }

    /// <summary>A frozen managed copy for single-sample scoring (<see cref="ExpertBankScorer"/>).</summary>
    internal ExpertBankScorer CreateScorer() =>
        new(Experts, InputDim, weights.Select(DenseScorer.Floats).ToArray(), biases.Select(DenseScorer.Floats).ToArray(),
            weights.Select(w => (int)w.shape[2]).ToArray());

    /// <summary>
    /// The batched managed forward over the live weights (no copy; <see cref="ExpertBankBlockScorer"/>),
    /// or null when a weight is not contiguous CPU float32 memory.
    /// </summary>
    internal ExpertBankBlockScorer? TryCreateBlockScorer()
    {
        var w = weights.Select(p => TensorMemory.Of(p)).ToArray();
        var b = biases.Select(p => TensorMemory.Of(p)).ToArray();
        if (w.Any(m => m is null) || b.Any(m => m is null)) return null;
        return new(Experts, InputDim, w.Select(m => m!.Value).ToArray(), b.Select(m => m!.Value).ToArray(), weights.Select(p => (int)p.shape[2]).ToArray());
    }

    // bias [K,out] + x [K,B,in] @ w [K,in,out]. TorchSharp 0.107 binds Tensor.baddbmm(batch2, mat) with
    // `this` as batch1 (and the static torch.baddbmm(input, ...) passes its first argument as batch1),
    // so the call is written in that order; the per-expert test pins the result.
    private static Tensor AddBmm(Tensor bias, Tensor x, Tensor w) => x.baddbmm(w, bias.unsqueeze(1));

    /// <summary>
    /// Reference form: each expert on its own with plain matmuls. Same result as <see cref="forward"/>;
    /// kept to test the batched form against.
    /// </summary>
    public Tensor ForwardPerExpert(Tensor x)
    {
        using var scope = NewDisposeScope();
        var outs = new Tensor[Experts];
        for (int e = 0; e < Experts; e++)
        {
            var h = x.dim() == 2 ? x : x[e];
            for (int l = 0; l < weights.Count; l++)
                h = functional.silu(h.matmul(weights[l][e]) + biases[l][e]);
            outs[e] = h;
        }
        return stack(outs).MoveToOuterDisposeScope();
    }
}
