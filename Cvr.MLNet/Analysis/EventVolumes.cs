using Cvr.MLNet.Data;

namespace Cvr.MLNet.Analysis;

/// <summary>Event rows per day and per hour of day, by behavior.</summary>
/// <param name="FirstDay">Day index (days since 1970-01-01) of <c>Daily[b][0]</c>.</param>
/// <param name="Daily">Rows per behavior (index = behavior − 1) per day from <paramref name="FirstDay"/>, every day of the range present.</param>
/// <param name="Hourly">Rows per behavior (index = behavior − 1) per hour of day 0..23, over the whole log.</param>
public sealed record EventVolumes(int FirstDay, IReadOnlyList<long[]> Daily, IReadOnlyList<long[]> Hourly)
{
    /// <summary>Days covered (0 for an empty log).</summary>
    public int DayCount => Daily.Count == 0 ? 0 : Daily[0].Length;

    /// <summary>All behaviors' rows on day <c>FirstDay + i</c>.</summary>
    public long DayTotal(int i) => Daily.Sum(d => d[i]);

    /// <summary>The day index with the most rows (the earliest on ties); null for an empty log.</summary>
    public int? PeakDay
    {
        get
        {
            if (DayCount == 0) return null;
            int best = 0;
            for (int i = 1; i < DayCount; i++) if (DayTotal(i) > DayTotal(best)) best = i;
            return FirstDay + best;
        }
    }

    /// <summary>Rows on the peak day over the median daily rows (the lower median for an even count); NaN for an empty log.</summary>
    public double PeakToMedian
    {
        get
        {
            if (PeakDay is not { } peak) return double.NaN;
            var totals = Enumerable.Range(0, DayCount).Select(DayTotal).Order().ToArray();
            long median = totals[(totals.Length - 1) / 2];
            return median == 0 ? double.PositiveInfinity : (double)DayTotal(peak - FirstDay) / median;
        }
    }

    /// <summary>The date text yyyy-MM-dd of day index <paramref name="day"/>.</summary>
    public static string DayText(int day) => TianchiTime.ToText(day * 24)[..10];
}
