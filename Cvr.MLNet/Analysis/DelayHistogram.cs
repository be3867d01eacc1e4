using System.Globalization;
using Cvr.MLNet.Data;

namespace Cvr.MLNet.Analysis;

/// <summary>
/// Hours from a (user, item) pair's latest earlier favorite (or cart) to its buy, bucketed.
/// Bucket <c>i</c> holds delays in [<c>BucketStarts[i]</c>, <c>BucketStarts[i+1]</c>); the last bucket is open-ended.
/// </summary>
/// <param name="From">The behavior the delay is measured from (<see cref="BehaviorType.Favorite"/> or <see cref="BehaviorType.Cart"/>).</param>
/// <param name="BucketStarts">Lower bound of each bucket, in hours, ascending, starting at 0.</param>
/// <param name="Counts">Buys per bucket.</param>
/// <param name="Buys">Buys preceded by such a behavior of the same pair (the sum of <paramref name="Counts"/>).</param>
/// <param name="MedianHours">Median delay in hours (the lower median for an even count); NaN without buys.</param>
/// <param name="MeanHours">Mean delay in hours; NaN without buys.</param>
public sealed record DelayHistogram(BehaviorType From, IReadOnlyList<int> BucketStarts, IReadOnlyList<long> Counts, long Buys,
    double MedianHours, double MeanHours)
{
    /// <summary>The default bucket starts: single hours up to 3 h, then 3–5, 6–11, 12–23, 24–47, 48–71, 72–119 and ≥ 120 h.</summary>
    public static IReadOnlyList<int> DefaultBucketStarts { get; } = [0, 1, 2, 3, 6, 12, 24, 48, 72, 120];

    /// <summary>A short label of bucket <paramref name="i"/>: "0 h", "3–5 h", "≥120 h".</summary>
    public string BucketLabel(int i)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(i);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(i, BucketStarts.Count);
        int start = BucketStarts[i];
        string s = start.ToString(CultureInfo.InvariantCulture);
        if (i == BucketStarts.Count - 1) return $"≥{s} h";
        int last = BucketStarts[i + 1] - 1;
        return last == start ? $"{s} h" : $"{s}–{last.ToString(CultureInfo.InvariantCulture)} h";
    }
}
