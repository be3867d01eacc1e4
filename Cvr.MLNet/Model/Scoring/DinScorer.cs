namespace Cvr.MLNet.Model.Scoring;

/// <summary>
/// Managed forward of <see cref="DinAttention"/> for one sample, in the same factored form: the query
/// part of the first MLP layer, (W_q + W_d)·q + b, once; per real position [W_k − W_d, W_p]·[k, q⊙k]
/// plus it, then the remaining SiLU layers and the score. Padded positions score 0 and are skipped.
/// </summary>
internal sealed class DinScorer
{
    private readonly int _dim;
    private readonly DenseScorer _query;       // E → H0, with the first layer's bias
    private readonly DenseScorer _keys;        // 2E → H0, no bias
    private readonly DenseScorer[] _hidden;    // H0 → H1 → …
    private readonly DenseScorer _score;       // → 1

    internal DinScorer(int dim, ReadOnlySpan<float> firstWeight, float[] firstBias, int firstOut, DenseScorer[] hidden, DenseScorer score)
    {
        _dim = dim;
        int e = dim, w4 = 4 * dim;
        // Written straight in the layout DenseScorer keeps (one array each, no transposed second copy).
        var wq = new float[firstOut * e];
        var wkp = new float[firstOut * 2 * e];
        bool transposed = DenseScorer.StoresTransposed(firstOut);
        for (int h = 0; h < firstOut; h++)
            for (int i = 0; i < e; i++)
            {
                float q = firstWeight[h * w4 + i], k = firstWeight[h * w4 + e + i], d = firstWeight[h * w4 + 2 * e + i], p = firstWeight[h * w4 + 3 * e + i];
                wq[transposed ? i * firstOut + h : h * e + i] = q + d;
                wkp[transposed ? i * firstOut + h : h * 2 * e + i] = k - d;
                wkp[transposed ? (e + i) * firstOut + h : h * 2 * e + e + i] = p;
            }
        _query = DenseScorer.FromStoredLayout(wq, firstBias, e, firstOut);
        _keys = DenseScorer.FromStoredLayout(wkp, null, 2 * e, firstOut);
        _hidden = hidden;
        _score = score;
        int widest = Math.Max(firstOut, hidden.Length == 0 ? 0 : hidden.Max(h => h.Out));
        WorkSize = 2 * e + firstOut + 2 * widest;
    }

    /// <summary>Query/key width E.</summary>
    public int Dim => _dim;
    /// <summary>The query part of the first layer, (W_q + W_d)·q + b: E → H0.</summary>
    public DenseScorer Query => _query;
    /// <summary>The key part of the first layer, [W_k − W_d, W_p]·[k, q⊙k]: 2E → H0, no bias.</summary>
    public DenseScorer Keys => _keys;
    /// <summary>The remaining SiLU layers H0 → H1 → ….</summary>
    public IReadOnlyList<DenseScorer> Hidden => _hidden;
    /// <summary>The score layer (→ 1).</summary>
    public DenseScorer Score => _score;

    /// <summary>Floats of scratch <see cref="Forward"/> needs.</summary>
    public int WorkSize { get; }

    /// <summary>query [E], keys [T·E], mask [T] (0 = padding) → interest [E] = Σ_t score_t·k_t.</summary>
    public void Forward(ReadOnlySpan<float> query, ReadOnlySpan<float> keys, ReadOnlySpan<float> mask, Span<float> output, Span<float> work)
    {
        int e = _dim, h0 = _query.Out;
        var kp = work[..(2 * e)];
        var qh = work.Slice(2 * e, h0);
        int widest = (WorkSize - 2 * e - h0) / 2;
        var a = work.Slice(2 * e + h0, widest);
        var b = work.Slice(2 * e + h0 + widest, widest);
        _query.Forward(query, qh);
        output[..e].Clear();
        Span<float> s1 = stackalloc float[1];
        for (int t = 0; t < mask.Length; t++)
        {
            float m = mask[t];
            if (m == 0f) continue;
            var k = keys.Slice(t * e, e);
            k.CopyTo(kp);
            for (int i = 0; i < e; i++) kp[e + i] = query[i] * k[i];
            var h = a[..h0];
            _keys.Forward(kp, h);
            for (int i = 0; i < h0; i++) h[i] += qh[i];
            ScoringKernels.Silu(h);
            Span<float> cur = h;
            bool inA = true;
            foreach (var layer in _hidden)
            {
                var y = (inA ? b : a)[..layer.Out];
                layer.Forward(cur, y);
                ScoringKernels.Silu(y);
                cur = y;
                inA = !inA;
            }
            _score.Forward(cur, s1);
            ScoringKernels.Axpy(s1[0] * m, k, output);
        }
    }
}
