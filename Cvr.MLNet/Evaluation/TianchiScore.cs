namespace Cvr.MLNet.Evaluation;

/// <summary>
/// The competition's score of a predicted (user, item) set against a day's purchases:
/// precision = |pred ∩ truth| / |pred|, recall = |pred ∩ truth| / |truth|, F1 = 2PR / (P + R).
/// </summary>
/// <param name="Predicted">|pred| (distinct pairs).</param>
/// <param name="Truth">|truth|.</param>
/// <param name="Hits">|pred ∩ truth|.</param>
public sealed record TianchiScore(int Predicted, int Truth, int Hits)
{
    /// <summary>Hits / predicted; 0 for an empty prediction.</summary>
    public double Precision => Predicted == 0 ? 0 : (double)Hits / Predicted;
    /// <summary>Hits / truth; NaN when the day has no purchases.</summary>
    public double Recall => Truth == 0 ? double.NaN : (double)Hits / Truth;
    /// <summary>2PR / (P + R) = 2·hits / (predicted + truth); 0 when nothing was hit.</summary>
    public double F1 => Predicted + Truth == 0 ? double.NaN : 2.0 * Hits / (Predicted + Truth);

    /// <summary>Scores a prediction (duplicates count once).</summary>
    public static TianchiScore Compute(IEnumerable<(int User, int Item)> predicted, IReadOnlySet<(int User, int Item)> truth)
    {
        ArgumentNullException.ThrowIfNull(predicted);
        ArgumentNullException.ThrowIfNull(truth);
        var set = predicted as IReadOnlySet<(int, int)> ?? new HashSet<(int, int)>(predicted);
        int hits = 0;
        foreach (var p in set) if (truth.Contains(p)) hits++;
        return new TianchiScore(set.Count, truth.Count, hits);
    }
}
