namespace Cvr.MLNet.Model.Scoring;

/// <summary>
/// One sample's raw model inputs, as the columns of a <c>FeatureTable</c> row hold them: ids (0 =
/// padding), dense time features, log1p'd counts and the last T behaviors, of which the first
/// <see cref="SeqLength"/> are real.
/// </summary>
internal readonly ref struct CvrScoringRow
{
    public int User { get; init; }
    public int Item { get; init; }
    public int Category { get; init; }
    public int Weekday { get; init; }
    public int Hour { get; init; }
    /// <summary>Real behaviors (the rest of the T positions are padding); clamped to 0..T.</summary>
    public int SeqLength { get; init; }
    /// <summary>[TimeDenseFeatures]: weekend flag, delta to log end, timestamp.</summary>
    public ReadOnlySpan<float> TimeDense { get; init; }
    /// <summary>[CountFeatures], log1p'd.</summary>
    public ReadOnlySpan<float> Counts { get; init; }
    /// <summary>[InteractionFeatures], log1p'd (empty when the network has none).</summary>
    public ReadOnlySpan<float> Interactions { get; init; }
    /// <summary>[T] item indices of the last behaviors.</summary>
    public ReadOnlySpan<int> SeqItems { get; init; }
    /// <summary>[T] category indices of the last behaviors.</summary>
    public ReadOnlySpan<int> SeqCategories { get; init; }
    /// <summary>[T] behavior types 1..4 (0 = padding).</summary>
    public ReadOnlySpan<int> SeqBehaviors { get; init; }
    /// <summary>[T] hours between each behavior and the sample time.</summary>
    public ReadOnlySpan<float> SeqHoursAgo { get; init; }
}
