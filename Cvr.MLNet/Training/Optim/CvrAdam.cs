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
public sealed class CvrAdam : IDisposable
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

    // The dense-gradient parameters' moments live in two flat buffers (_m[i], _v[i] are views into
    // them), so their Adam arithmetic is 6 libtorch calls per step instead of ~8 per parameter.
    private int[]? _flatGroup;
    private long[] _flatOffsets = [];
    private Tensor? _flatM, _flatV;

    /// <summary>
    /// Update the dense-gradient parameters through one flat (foreach-style) Adam over concatenated
    /// gradients (default) instead of parameter by parameter; both compute the same update.
    /// </summary>
    public bool FlatDenseUpdate { get; set; } = true;

    /// <summary>Applies one update from the parameters' gradients; returns the global gradient norm before clipping.</summary>
    public double StepOnce(double clipNorm = 0)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // Coalesce sparse gradients: unique rows with summed values.
        var grads = new (Tensor? Rows, Tensor Values)[_params.Length];
        var dense = new List<int>(_params.Length);
        Tensor? sq = null;
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
                sq = sq is null ? summed.square().sum() : sq + summed.square().sum();
            }
            else
            {
                grads[i] = (null, g);
                dense.Add(i);
            }
        }
        bool flat = FlatDenseUpdate && dense.Count > 1;
        Tensor? flatGrad = null;
        if (flat)
        {
            EnsureFlat(dense);
            flatGrad = cat(dense.Select(i => grads[i].Values.reshape(-1)).ToArray());
            sq = sq is null ? flatGrad.square().sum() : sq + flatGrad.square().sum();
        }
        else
            foreach (int i in dense) sq = sq is null ? grads[i].Values.square().sum() : sq + grads[i].Values.square().sum();
        double norm = sq is null ? 0 : Math.Sqrt(sq.item<float>());
        double scale = clipNorm > 0 && norm > clipNorm ? clipNorm / (norm + 1e-6) : 1.0;
        Step++;
        double bc1 = 1 - Math.Pow(_beta1, Step), bc2 = 1 - Math.Pow(_beta2, Step);
        double stepSize = _lr / bc1, sqrtBc2 = Math.Sqrt(bc2);
        if (flat)
        {
            var g = scale != 1.0 ? flatGrad! * scale : flatGrad!;
            _flatM!.mul_(_beta1).add_(g, alpha: 1 - _beta1);
            _flatV!.mul_(_beta2).addcmul_(g, g, value: 1 - _beta2);
            var update = _flatM.div((_flatV.sqrt() / sqrtBc2).add_(_eps)).mul_(-stepSize);
            for (int k = 0; k < dense.Count; k++)
            {
                var p = _params[dense[k]].P;
                p.add_(update.narrow(0, _flatOffsets[k], p.numel()).view(p.shape));
            }
        }
        for (int i = 0; i < _params.Length; i++)
        {
            var (rows, g) = grads[i];
            if (g is null || (flat && rows is null)) continue;
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

    /// <summary>
    /// (Re)builds the flat moment buffers for <paramref name="group"/> when it changes, copying the
    /// current moments in and turning each _m[i], _v[i] into a view of them (Save/Load keep working
    /// per parameter: Load writes into the views in place).
    /// </summary>
    private void EnsureFlat(List<int> group)
    {
        if (_flatGroup is not null && _flatGroup.SequenceEqual(group)) return;
        var offsets = new long[group.Count];
        long off = 0;
        for (int k = 0; k < group.Count; k++) { offsets[k] = off; off += _m[group[k]].numel(); }
        Tensor Flatten(Tensor[] moments, Tensor? oldFlat)
        {
            var flatBuf = cat(group.Select(i => moments[i].reshape(-1)).ToArray()).DetachFromDisposeScope();
            for (int k = 0; k < group.Count; k++)
            {
                int i = group[k];
                var view = flatBuf.narrow(0, offsets[k], moments[i].numel()).view(moments[i].shape).DetachFromDisposeScope();
                moments[i].Dispose();
                moments[i] = view;
            }
            oldFlat?.Dispose();
            return flatBuf;
        }
        _flatM = Flatten(_m, _flatM);
        _flatV = Flatten(_v, _flatV);
        _flatOffsets = offsets;
        _flatGroup = [.. group];
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
        _flatM?.Dispose();
        _flatV?.Dispose();
    }
}
