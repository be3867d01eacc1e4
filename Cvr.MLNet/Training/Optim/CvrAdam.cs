using TorchSharp;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace Cvr.MLNet.Training.Optim;

/// <summary>
/// Adam with lazy row-wise updates for sparse gradients (the id tables with
/// <c>SparseEmbeddings</c>): only the rows a batch touched have their moments and weights updated,
/// as PyTorch's SparseAdam does (TorchSharp 0.107 has no sparse Adam, and its dense Adam crashes on
/// sparse gradients). Dense parameters get the standard Adam update. Global-norm gradient clipping
/// is computed over the coalesced gradients. The state (moments, step) is saved for checkpoints.
/// </summary>
public sealed partial class CvrAdam : IDisposable
{
    private readonly (string Name, Parameter P)[] _params;
    private readonly Tensor[] _m, _v;
    private readonly double _lr, _beta1, _beta2, _eps;

    public CvrAdam(IEnumerable<(string Name, Parameter Parameter)> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        _params = parameters.Select(p => (p.Name, p.Parameter)).ToArray();
        _lr = lr; _beta1 = beta1; _beta2 = beta2; _eps = eps;
        using var _ = no_grad();
        _m = _params.Select(p => zeros_like(p.P).DetachFromDisposeScope()).ToArray();
        _v = _params.Select(p => zeros_like(p.P).DetachFromDisposeScope()).ToArray();
    }

    /// <summary>Steps taken.</summary>
    public long Step { get; private set; }

    /// <summary>
    /// Update with the fused single-pass kernels over raw CPU memory (<see cref="FusedAdamKernels"/>,
    /// both cores) when every tensor allows it; false forces the op-by-op torch form (tests and benchmarks compare the two).
    /// </summary>
    internal static bool UseFusedUpdate { get; set; } = true;

    /// <summary>Whether the last step took the fused path.</summary>
    internal bool LastStepFused { get; private set; }

    /// <summary>Applies one update from the parameters' gradients; returns the global gradient norm before clipping.</summary>
    public double StepOnce(double clipNorm = 0) => StepOnce(clipNorm, null);

    /// <summary>The parameters in the order of <see cref="StepOnce(double, IReadOnlyList{Tensor?[]}?)"/>'s gradient parts.</summary>
    internal IReadOnlyList<Parameter> Parameters => _params.Select(p => p.P).ToArray();

    /// <summary>
    /// Applies one update from gradients given in parts: <paramref name="parts"/>[h][i] is part h of the gradient of
    /// <see cref="Parameters"/>[i] (null: none), the gradient being their sum (dense: g_0 + g_1; sparse: the entries
    /// of g_0, then g_1's). The fused path reads the parts directly; otherwise each parameter's <c>.grad</c> is set to
    /// the sum first. <paramref name="parts"/> null: the parameters' <c>.grad</c>. Returns the norm before clipping.
    /// </summary>
    internal double StepOnce(double clipNorm, IReadOnlyList<Tensor?[]>? parts)
    {
        if (UseFusedUpdate)
        {
            using var scope = NewDisposeScope();
            if (FusedStep.TryPrepare(this, parts, out var fused)) { LastStepFused = true; return fused.Run(clipNorm); }
        }
        LastStepFused = false;
        if (parts is not null) SetGradients(parts);
        return StepTorch(clipNorm);
    }

    /// <summary>Sets each parameter's <c>.grad</c> to the sum of its parts (see <see cref="StepOnce(double, IReadOnlyList{Tensor?[]}?)"/>).</summary>
    internal void SetGradients(IReadOnlyList<Tensor?[]> parts)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        for (int i = 0; i < _params.Length; i++)
        {
            var g = parts.Select(h => h[i]).OfType<Tensor>().ToArray();
            if (g.Length == 0) continue;
            // The parameter keeps its own native reference to the sum, so the scope may free the wrapper.
            _params[i].P.grad = g[0].is_sparse
                // Sparse id-table gradients: the parts' (row, value) entries in part order; coalescing sums duplicates in entry order.
                ? g.Length == 1 ? g[0] : sparse_coo_tensor(cat(g.Select(t => t.SparseIndices).ToArray(), 1), cat(g.Select(t => t.SparseValues).ToArray(), 0), g[0].shape)
                // autograd.grad may return a strided view (backward() would have made .grad contiguous).
                : g.Skip(1).Aggregate(g[0].contiguous().clone(), (sum, t) => sum.add_(t));
        }
    }

    // The op-by-op torch form: the reference for the fused path and the path for non-CPU or non-contiguous tensors.
    private double StepTorch(double clipNorm)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // Coalesce sparse gradients: unique rows with summed values.
        var grads = new (Tensor? Rows, Tensor Values)[_params.Length];
        double sq = 0;
        for (int i = 0; i < _params.Length; i++)
        {
            var g = _params[i].P.grad;
            if (g is null) { grads[i] = (null, null!); continue; }
            if (g.is_sparse)
            {
                var idx = g.SparseIndices[0];
                var vals = g.SparseValues;
                var (uniq, inverse, _) = torch.unique(idx, sorted: true, return_inverse: true);
                var summed = zeros(uniq.shape[0], vals.shape[1], dtype: vals.dtype, device: vals.device).index_add_(0, inverse!, vals, 1);
                grads[i] = (uniq, summed);
            }
            else grads[i] = (null, g);
            sq += grads[i].Values.square().sum().item<float>();
        }
        double norm = Math.Sqrt(sq);
        double scale = clipNorm > 0 && norm > clipNorm ? clipNorm / (norm + 1e-6) : 1.0;
        Step++;
        double bc1 = 1 - Math.Pow(_beta1, Step), bc2 = 1 - Math.Pow(_beta2, Step);
        double stepSize = _lr / bc1, sqrtBc2 = Math.Sqrt(bc2);
        for (int i = 0; i < _params.Length; i++)
        {
            var (rows, g) = grads[i];
            if (g is null) continue;
            if (scale != 1.0) g = g * scale;
            var p = _params[i].P;
            if (rows is null)
            {
                _m[i].mul_(_beta1).add_(g, alpha: 1 - _beta1);
                _v[i].mul_(_beta2).addcmul_(g, g, value: 1 - _beta2);
                var denom = (_v[i].sqrt() / sqrtBc2).add_(_eps);
                p.addcdiv_(_m[i], denom, value: -stepSize);
            }
            else
            {
                var m = _m[i].index_select(0, rows).mul_(_beta1).add_(g, alpha: 1 - _beta1);
                var v = _v[i].index_select(0, rows).mul_(_beta2).addcmul_(g, g, value: 1 - _beta2);
                _m[i].index_copy_(0, rows, m);
                _v[i].index_copy_(0, rows, v);
                var update = m / ((v.sqrt() / sqrtBc2).add_(_eps)) * -stepSize;
                p.index_add_(0, rows, update, 1);
            }
        }
        return norm;
    }

    /// <summary>Writes the optimizer state (step and moments).</summary>
    public void Save(BinaryWriter w)
    {
        w.Write(Step);
        w.Write(_params.Length);
        for (int i = 0; i < _params.Length; i++) { w.Write(_params[i].Name); _m[i].Save(w); _v[i].Save(w); }
    }

    /// <summary>Restores a state written by <see cref="Save"/> for the same parameters.</summary>
    public void Load(BinaryReader r)
    {
        Step = r.ReadInt64();
        int n = r.ReadInt32();
        if (n != _params.Length) throw new InvalidDataException($"Optimizer state has {n} parameters, the network has {_params.Length}.");
        using var _ = no_grad();
        for (int i = 0; i < n; i++)
        {
            var name = r.ReadString();
            if (name != _params[i].Name) throw new InvalidDataException($"Optimizer state parameter {i} is '{name}', expected '{_params[i].Name}'.");
            _m[i].Load(r); _v[i].Load(r);
        }
    }

    public void Dispose()
    {
        foreach (var t in _m) t.Dispose();
        foreach (var t in _v) t.Dispose();
    }
}
