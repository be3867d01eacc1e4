using System.Runtime.CompilerServices;
using Cvr.MLNet.Data;

namespace Cvr.MLNet.Samples;

/// <summary>
/// Point-in-time behavior features of (user, hour h), computed from a user's sorted events. Only
/// events strictly before h's hour are read: the log has hour resolution, so an event in the same
/// hour as the sample may have happened after it and is treated as future.
/// </summary>
public static class BehaviorFeatures
{
    /// <summary>Number of days in the counts window.</summary>
    public const int CountDays = 7;
    /// <summary>Counts vector length: 7 days × behaviors 1..4.</summary>
    public const int CountLength = CountDays * 4;

    /// <summary>
    /// Fills the last <c>items.Length</c> behaviors strictly before <paramref name="hour"/>, most recent
    /// first (position 0), padding the rest with 0 (behavior 0 = padding, hours-ago 0).
    /// Ties within an hour are ordered by (behavior, item) so the result never depends on file order.
    /// </summary>
    /// <returns>The number of real (unpadded) positions.</returns>
    public static int FillSequence(in UserEvents events, int hour, Span<int> items, Span<int> categories, Span<int> behaviors, Span<float> hoursAgo)
    {
        int t = items.Length;
        int end = events.CountBefore(hour);
        int len = Math.Min(t, end);
        for (int p = 0; p < len; p++)
        {
            int e = end - 1 - p;
            items[p] = events.Items[e];
            categories[p] = events.Categories[e];
            behaviors[p] = events.Behaviors[e];
            hoursAgo[p] = hour - events.Hours[e];
        }
        items[len..].Clear(); categories[len..].Clear(); behaviors[len..].Clear(); hoursAgo[len..].Clear();
        return len;
    }

    /// <summary>
    /// Fills the 28 behavior counts: <c>counts[(k-1)*4 + (b-1)]</c> = distinct events of behavior b on
    /// calendar day D−k, k = 1..7, where D is the day of <paramref name="hour"/>. Whole previous days
    /// only, so every counted event is strictly before the sample's hour; the sample's own day before
    /// its hour is covered by the sequence feature.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // called per (user, day) by the bulk fill: no tier-0 phase
    public static void FillCounts(in UserEvents events, int hour, Span<float> counts)
    {
        counts[..CountLength].Clear();
        int day = TianchiTime.DayOf(hour);
        var days = events.Days;
        // First active day >= day - 7.
        int lo = 0, hi = days.Length;
        while (lo < hi) { int mid = (lo + hi) >>> 1; if (days[mid] < day - CountDays) lo = mid + 1; else hi = mid; }
        for (int i = lo; i < days.Length && days[i] < day; i++)
        {
            int k = day - days[i]; // 1..7
            for (int b = 0; b < 4; b++) counts[(k - 1) * 4 + b] = events.DayCounts[i * 4 + b];
        }
    }
}
