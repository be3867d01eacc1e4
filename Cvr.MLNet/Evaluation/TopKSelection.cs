namespace Cvr.MLNet.Evaluation;

/// <summary>
/// Chooses how many candidates to predict: the share K/N of the candidates that maximizes the day's F1
/// on a selection day, applied to another day's candidates (never chosen on the day it is scored).
/// </summary>
public static class TopKSelection
{
    /// <summary>
    /// The K (over whole tie groups, in descending score order) that maximizes F1 = 2·hits / (K + truthCount),
    /// where <paramref name="truthCount"/> also counts purchases outside the candidates; smallest K on ties.
    /// </summary>
    /// <returns>K, its F1, and K as a fraction of the candidates (0 when nothing hits).</returns>
    public static (int K, double F1, double Fraction) Choose(ReadOnlySpan<float> scores, ReadOnlySpan<bool> isBought, int truthCount)
    {
        if (scores.Length != isBought.Length) throw new ArgumentException("scores and labels differ in length.");
        ArgumentOutOfRangeException.ThrowIfNegative(truthCount);
        var order = BinaryMetrics.DescendingOrder(scores);
        int bestK = 0, hits = 0; double best = 0;
        for (int i = 0; i < order.Length;)
        {
            int j = i;
            while (j < order.Length && scores[order[j]] == scores[order[i]]) { if (isBought[order[j]]) hits++; j++; }
            double f1 = 2.0 * hits / (j + truthCount);
            if (f1 > best) { best = f1; bestK = j; }
            i = j;
        }
        return (bestK, best, scores.Length == 0 ? 0 : (double)bestK / scores.Length);
    }

    /// <summary>Indices of the top round(fraction·N) scores (ties by index order).</summary>
    public static int[] Top(ReadOnlySpan<float> scores, double fraction)
    {
        if (!(fraction >= 0 && fraction <= 1)) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "fraction must be in [0, 1].");
        int k = (int)Math.Round(fraction * scores.Length, MidpointRounding.AwayFromZero);
        return BinaryMetrics.DescendingOrder(scores)[..k];
    }
}
