namespace Cvr.MLNet.Evaluation;

/// <summary>
/// Combines two probability models of the same event by the mean of their logits (the geometric mean of
/// the odds). Both inputs are trained with log loss on the same samples, so they share a scale and the
/// mean needs no fitted weight — nothing is tuned on the day it is scored. Two learners with similar AUC
/// but different errors (the CVR network and gradient-boosted trees on the same features) rank better
/// together than either alone (measured in README, "Quality").
/// </summary>
public static class ScoreBlend
{
    /// <summary>Probabilities are clamped to [ε, 1 − ε] first, so 0 and 1 give finite logits.</summary>
    public const double Epsilon = 1e-7;

    /// <summary>σ((logit a[i] + logit b[i]) / 2) for every i.</summary>
    public static float[] MeanLogit(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"The score arrays differ in length ({a.Length} and {b.Length}).", nameof(b));
        var r = new float[a.Length];
        for (int i = 0; i < r.Length; i++)
        {
            double z = (Logit(a[i]) + Logit(b[i])) / 2;
            r[i] = (float)(1 / (1 + Math.Exp(-z)));
        }
        return r;
    }

    private static double Logit(float p)
    {
        double q = Math.Clamp((double)p, Epsilon, 1 - Epsilon);
        return Math.Log(q / (1 - q));
    }
}
