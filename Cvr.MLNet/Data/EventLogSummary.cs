namespace Cvr.MLNet.Data;

/// <summary>
/// Descriptive statistics of an <see cref="EventLog"/> (what <c>cvr inspect</c> prints). Computed by
/// sorting packed 64-bit keys, so a 12 M-row log takes a few seconds and ~200 MB of scratch memory.
/// </summary>
public sealed class EventLogSummary
{
    private EventLogSummary() { }

    /// <summary>Number of events.</summary>
    public long Rows { get; private init; }
    /// <summary>Distinct user ids.</summary>
    public int Users { get; private init; }
    /// <summary>Distinct item ids.</summary>
    public int Items { get; private init; }
    /// <summary>Distinct item categories.</summary>
    public int Categories { get; private init; }
    /// <summary>Earliest hour index, or null for an empty log.</summary>
    public int? FirstHour { get; private init; }
    /// <summary>Latest hour index, or null for an empty log.</summary>
    public int? LastHour { get; private init; }
    /// <summary>Earliest time as <c>yyyy-MM-dd HH</c>, or null for an empty log.</summary>
    public string? First => FirstHour is { } h ? TianchiTime.ToText(h) : null;
    /// <summary>Latest time as <c>yyyy-MM-dd HH</c>, or null for an empty log.</summary>
    public string? Last => LastHour is { } h ? TianchiTime.ToText(h) : null;
    /// <summary>Share of rows per behavior type, keys "1".."4" (all present; 0 for an empty log).</summary>
    public IReadOnlyDictionary<string, double> BehaviorShares { get; private init; } = new Dictionary<string, double>();
    /// <summary>Share of rows with an empty <c>user_geohash</c>.</summary>
    public double EmptyGeohashShare { get; private init; }
    /// <summary>Rows identical in every column to an earlier row.</summary>
    public long DuplicateRows { get; private init; }
    /// <summary><see cref="DuplicateRows"/> / <see cref="Rows"/>.</summary>
    public double DuplicateShare => Rows == 0 ? 0 : (double)DuplicateRows / Rows;
    /// <summary>Rows skipped as bad when the log was read (<see cref="EventLog.Diagnostics"/>; 0 when not read from a file).</summary>
    public long BadRows { get; private init; }

    /// <summary>Computes the summary of <paramref name="log"/>.</summary>
    public static EventLogSummary Compute(EventLog log)
    {
        ArgumentNullException.ThrowIfNull(log);
        int n = log.Count;
        var behCounts = new long[5];
        long emptyGeo = 0;
        var beh = log.BehaviorSpan;
        var geo = log.GeohashIndex.AsSpan(0, n);
        for (int r = 0; r < n; r++)
        {
            behCounts[beh[r]]++;
            if (geo[r] == 0) emptyGeo++;
        }
        var shares = new Dictionary<string, double>(4);
        for (int b = 1; b <= 4; b++) shares[b.ToString(System.Globalization.CultureInfo.InvariantCulture)] = n == 0 ? 0 : (double)behCounts[b] / n;

        var (users, duplicates) = UsersAndDuplicates(log);
        (int? first, int? last) = n == 0 ? ((int?)null, (int?)null) : log.HourRange();
        return new EventLogSummary
        {
            Rows = n,
            Users = users,
            Items = CountDistinct(log.ItemIdSpan),
            Categories = CountDistinct(log.CategoryIdSpan),
            FirstHour = first,
            LastHour = last,
            BehaviorShares = shares,
            EmptyGeohashShare = n == 0 ? 0 : (double)emptyGeo / n,
            DuplicateRows = duplicates,
            BadRows = log.Diagnostics?.BadRowCount ?? 0,
        };
    }

    private static int CountDistinct(ReadOnlySpan<int> values)
    {
        if (values.IsEmpty) return 0;
        var copy = values.ToArray();
        Array.Sort(copy);
        int distinct = 1;
        for (int i = 1; i < copy.Length; i++) if (copy[i] != copy[i - 1]) distinct++;
        return distinct;
    }

    /// <summary>Distinct users and exact duplicate rows: sort rows by (user, item), then compare the
    /// remaining columns only inside each (user, item) run, which is short.</summary>
    private static (int Users, long Duplicates) UsersAndDuplicates(EventLog log)
    {
        int n = log.Count;
        if (n == 0) return (0, 0);
        var keys = new long[n];
        var rows = new int[n];
        var u = log.UserIdSpan;
        var it = log.ItemIdSpan;
        for (int r = 0; r < n; r++)
        {
            // Ids are validated non-negative, so the packed key sorts by user then item.
            keys[r] = ((long)u[r] << 32) | (uint)it[r];
            rows[r] = r;
        }
        Array.Sort(keys, rows);

        int users = 0;
        long duplicates = 0;
        var run = new List<(long, long)>();
        for (int start = 0; start < n;)
        {
            if (start == 0 || (keys[start] >> 32) != (keys[start - 1] >> 32)) users++;
            int end = start + 1;
            while (end < n && keys[end] == keys[start]) end++;
            if (end - start > 1)
            {
                run.Clear();
                for (int i = start; i < end; i++)
                {
                    int r = rows[i];
                    run.Add((((long)log.Hours[r] << 32) | (uint)log.CategoryIds[r], ((long)log.GeohashIndex[r] << 8) | log.Behaviors[r]));
                }
                run.Sort();
                for (int i = 1; i < run.Count; i++) if (run[i] == run[i - 1]) duplicates++;
            }
            start = end;
        }
        return (users, duplicates);
    }
}
