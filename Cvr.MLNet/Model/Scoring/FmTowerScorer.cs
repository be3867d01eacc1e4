namespace Cvr.MLNet.Model.Scoring;

/// <summary>
/// Managed forward of <see cref="FmTower"/> for one sample: w0 + ⟨w, x⟩ + ½ Σ_d [(Σ_i v_id)² − Σ_i v_id²]
/// with x viewed as <c>fields</c> vectors of width D / fields.
/// </summary>
internal sealed class FmTowerScorer(int fields, DenseScorer linear)
{
    /// <summary>x [D] → logit.</summary>
    public float Forward(ReadOnlySpan<float> x)
    {
        Span<float> lin = stackalloc float[1];
        linear.Forward(x, lin);
        int k = x.Length / fields;
        float pairwise = 0f;
        for (int d = 0; d < k; d++)
        {
            float s = 0f, sq = 0f;
            for (int i = 0; i < fields; i++) { float v = x[i * k + d]; s += v; sq += v * v; }
            pairwise += s * s - sq;
        }
        return lin[0] + pairwise * 0.5f;
    }
}
