namespace Cvr.MLNet.Model.Scoring;

/// <summary>
/// Managed forward of <see cref="SqueezeExcitation"/> for one sample: field means → FC + SiLU → FC +
/// sigmoid → each field's columns scaled by its weight, in place.
/// </summary>
internal sealed class SeScorer(int[] fieldDims, DenseScorer fc1, DenseScorer fc2)
{
    /// <summary>Floats of scratch <see cref="Forward"/> needs.</summary>
    public int WorkSize => fieldDims.Length * 2 + fc1.Out;

    /// <summary>x [D] (fields concatenated) ← x reweighted; <paramref name="weights"/> [F] receives the field weights.</summary>
    public void Forward(Span<float> x, Span<float> weights, Span<float> work)
    {
        int f = fieldDims.Length;
        var z = work[..f];
        var h = work.Slice(f, fc1.Out);
        for (int k = 0, c = 0; k < f; c += fieldDims[k], k++)
        {
            // Same as the torch form's matmul with the averaging matrix: Σ x_j·(1/d).
            float inv = 1f / fieldDims[k], s = 0f;
            for (int j = c; j < c + fieldDims[k]; j++) s += x[j] * inv;
            z[k] = s;
        }
        fc1.Forward(z, h);
        ScoringKernels.Silu(h);
        fc2.Forward(h, weights[..f]);
        for (int k = 0; k < f; k++) weights[k] = ScoringKernels.Sigmoid(weights[k]);
        for (int k = 0, c = 0; k < f; c += fieldDims[k], k++)
        {
            float w = weights[k];
            foreach (ref float v in x.Slice(c, fieldDims[k])) v *= w;
        }
    }
}
