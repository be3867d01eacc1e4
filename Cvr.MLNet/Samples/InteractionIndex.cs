using Cvr.MLNet.Data;

namespace Cvr.MLNet.Samples;

/// <summary>
/// The exact point-in-time index behind <see cref="InteractionFeatures"/> for samples inside the
/// fitted log (training and evaluation): each user's events re-sorted by (category, hour) and by
/// (item, hour), and every item's events per behavior sorted by hour, so each value is one or two
/// binary searches plus a scan of a short user×category or user×item run. Built once from a
/// <see cref="UserHistory"/> (duplicates already collapsed), in parallel over users; transient, never saved.
/// </summary>
public sealed class InteractionIndex
{
    private readonly UserHistory _history;
    // Per user u, positions [Offsets[u], Offsets[u+1]) of the history re-sorted by (category, hour) and by (item, hour).
    private readonly int[] _byCatKey, _byCatHour, _byItemKey, _byItemHour;
    private readonly byte[] _byCatBehavior, _byItemBehavior;
    // Prefix counts of behaviors 2..4 over each re-sorted order (length n + 1), so a run's counts are two reads, not a scan.
    private readonly int[][] _byCatPrefix, _byItemPrefix, _userPrefix;
    // Every item's events of behavior b, sorted by hour: key = dense item · 4 + (b − 1).
    private readonly Dictionary<int, int> _itemIndex;
    private readonly int[] _itemOffsets, _itemHours;

    private InteractionIndex(UserHistory history, int[] byCatKey, int[] byCatHour, byte[] byCatBehavior,
        int[] byItemKey, int[] byItemHour, byte[] byItemBehavior, Dictionary<int, int> itemIndex, int[] itemOffsets, int[] itemHours)
    {
        _history = history; _byCatKey = byCatKey; _byCatHour = byCatHour; _byCatBehavior = byCatBehavior;
        _byItemKey = byItemKey; _byItemHour = byItemHour; _byItemBehavior = byItemBehavior;
        _itemIndex = itemIndex; _itemOffsets = itemOffsets; _itemHours = itemHours;
        _byCatPrefix = Prefix(byCatBehavior); _byItemPrefix = Prefix(byItemBehavior); _userPrefix = Prefix(history.Behaviors);
    }

    private static int[][] Prefix(byte[] behaviors)
    {
        var p = new int[3][];
        for (int b = 0; b < 3; b++) p[b] = new int[behaviors.Length + 1];
        int f = 0, c = 0, y = 0;
        for (int i = 0; i < behaviors.Length; i++)
        {
            switch (behaviors[i]) { case 2: f++; break; case 3: c++; break; case 4: y++; break; }
            p[0][i + 1] = f; p[1][i + 1] = c; p[2][i + 1] = y;
        }
        return p;
    }

    /// <summary>The user index this was built from.</summary>
    public UserHistory History => _history;

    /// <summary>Builds the index of <paramref name="history"/>.</summary>
    public static InteractionIndex Build(UserHistory history)
    {
        ArgumentNullException.ThrowIfNull(history);
        int n = history.EventCount;
        var offsets = history.Offsets;
        var hours = history.Hours; var items = history.Items; var cats = history.Categories; var behs = history.Behaviors;
        var byCatKey = new int[n]; var byCatHour = new int[n]; var byCatBeh = new byte[n];
        var byItemKey = new int[n]; var byItemHour = new int[n]; var byItemBeh = new byte[n];

        // Per user: a stable sort by key of the (hour-ordered) segment gives (key, hour) order.
        Parallel.For(0, history.UserCount, () => (Keys: new long[64], Pos: new int[64]), (u, _, buf) =>
        {
            int s = offsets[u], len = offsets[u + 1] - s;
            if (buf.Keys.Length < len) buf = (new long[len * 2], new int[len * 2]);
            ResortByKey(cats, s, len, buf.Keys, buf.Pos, hours, behs, byCatKey, byCatHour, byCatBeh);
            ResortByKey(items, s, len, buf.Keys, buf.Pos, hours, behs, byItemKey, byItemHour, byItemBeh);
            return buf;
        }, _ => { });

        // Items: dense index, then two stable counting sorts (by hour, then by item·4 + behavior).
        var itemIndex = new Dictionary<int, int>();
        var dense = new int[n];
        for (int i = 0; i < n; i++)
        {
            if (!itemIndex.TryGetValue(items[i], out int d)) { d = itemIndex.Count; itemIndex.Add(items[i], d); }
            dense[i] = d;
        }
        int first = history.FirstHour, span = history.LastHour - first + 1;
        var hourStart = new int[span + 1];
        for (int i = 0; i < n; i++) hourStart[hours[i] - first + 1]++;
        for (int h = 0; h < span; h++) hourStart[h + 1] += hourStart[h];
        var byHour = new int[n];
        for (int i = 0; i < n; i++) byHour[hourStart[hours[i] - first]++] = i;
        int keys = itemIndex.Count * 4;
        var itemOffsets = new int[keys + 1];
        for (int i = 0; i < n; i++) itemOffsets[dense[i] * 4 + behs[i]]++; // (key + 1) with key = dense·4 + b − 1
        for (int k = 0; k < keys; k++) itemOffsets[k + 1] += itemOffsets[k];
        var fill = itemOffsets.AsSpan(0, keys).ToArray();
        var itemHours = new int[n];
        foreach (int i in byHour) itemHours[fill[dense[i] * 4 + behs[i] - 1]++] = hours[i];
        return new InteractionIndex(history, byCatKey, byCatHour, byCatBeh, byItemKey, byItemHour, byItemBeh, itemIndex, itemOffsets, itemHours);
    }

    private static void ResortByKey(int[] key, int s, int len, long[] sortKeys, int[] pos, int[] hours, byte[] behs,
        int[] outKey, int[] outHour, byte[] outBeh)
    {
        for (int j = 0; j < len; j++) { sortKeys[j] = ((long)key[s + j] << 32) | (uint)j; pos[j] = s + j; }
        Array.Sort(sortKeys, pos, 0, len);
        for (int j = 0; j < len; j++)
        {
            int p = pos[j];
            outKey[s + j] = key[p]; outHour[s + j] = hours[p]; outBeh[s + j] = behs[p];
        }
    }

    /// <summary>
    /// Fills the <see cref="InteractionFeatures.Length"/> values of (<paramref name="userId"/>,
    /// <paramref name="itemId"/>, <paramref name="categoryId"/>) at <paramref name="hour"/> from events strictly before it.
    /// </summary>
    public void Fill(int userId, int itemId, int categoryId, int hour, Span<float> values)
    {
        values[..InteractionFeatures.Length].Clear();
        values[InteractionFeatures.UserCategoryHoursSince] = InteractionFeatures.NoEventHours;
        values[InteractionFeatures.UserItemHoursSince] = InteractionFeatures.NoEventHours;
        int u = _history.IndexOf(userId);
        if (u >= 0)
        {
            FillUser(u, hour, values);
            int s = _history.Offsets[u], e = _history.Offsets[u + 1];
            FillRun(_byCatKey, _byCatHour, _byCatPrefix, s, e, categoryId, hour, values, InteractionFeatures.UserCategoryCounts,
                InteractionFeatures.UserCategoryRecent, InteractionFeatures.UserCategoryHoursSince);
            FillRun(_byItemKey, _byItemHour, _byItemPrefix, s, e, itemId, hour, values, InteractionFeatures.UserItemCounts,
                -1, InteractionFeatures.UserItemHoursSince);
        }
        if (_itemIndex.TryGetValue(itemId, out int d))
            for (int b = 0; b < 4; b++)
            {
                int lo = _itemOffsets[d * 4 + b];
                values[InteractionFeatures.ItemCounts + b] = LowerBound(_itemHours, lo, _itemOffsets[d * 4 + b + 1], hour) - lo;
            }
    }

    // User totals: prefix counts over the user's hour-ordered events (no scan: heavy users have thousands a day).
    private void FillUser(int u, int hour, Span<float> values)
    {
        int s = _history.Offsets[u];
        CountsFromPrefix(_userPrefix, s, s + _history.EventsOf(u).CountBefore(hour), values, InteractionFeatures.UserCounts);
    }

    /// <summary>Counts of behaviors 1..4 in positions [lo, end) of an order with prefix counts of 2..4 (clicks are the rest).</summary>
    private static void CountsFromPrefix(int[][] prefix, int lo, int end, Span<float> values, int at)
    {
        int others = 0;
        for (int b = 0; b < 3; b++)
        {
            int n = prefix[b][end] - prefix[b][lo];
            values[at + 1 + b] = n;
            others += n;
        }
        values[at] = end - lo - others;
    }

    private static void FillRun(int[] keys, int[] hours, int[][] prefix, int s, int e, int key, int hour, Span<float> values,
        int countsAt, int recentAt, int sinceAt)
    {
        int lo = LowerBound(keys, s, e, key), hi = LowerBound(keys, lo, e, key + 1L);
        int end = LowerBound(hours, lo, hi, hour);
        if (end == lo) return;
        CountsFromPrefix(prefix, lo, end, values, countsAt);
        if (recentAt >= 0) values[recentAt] = end - LowerBound(hours, lo, end, (long)hour - InteractionFeatures.RecentHours);
        values[sinceAt] = InteractionFeatures.HoursSince(hour, hours[end - 1]);
    }

    /// <summary>First position in [lo, hi) of sorted <paramref name="a"/> whose value is ≥ <paramref name="value"/>.</summary>
    private static int LowerBound(int[] a, int lo, int hi, long value)
    {
        while (lo < hi) { int mid = (lo + hi) >>> 1; if (a[mid] < value) lo = mid + 1; else hi = mid; }
        return lo;
    }

    // ---- aggregates as of the log's end, for the compact serving state ----

    /// <summary>Per-behavior totals of user index <paramref name="u"/> over the whole log.</summary>
    internal void UserTotals(int u, Span<int> counts)
    {
        var ev = _history.EventsOf(u);
        counts[..4].Clear();
        for (int i = 0; i < ev.Days.Length; i++) for (int b = 0; b < 4; b++) counts[b] += ev.DayCounts[i * 4 + b];
    }

    /// <summary>The user's runs by category (<paramref name="byItem"/> false) or by item: key, totals per behavior, last hour.</summary>
    internal IEnumerable<(int Key, InteractionTotals Totals)> UserRuns(int u, bool byItem)
    {
        var keys = byItem ? _byItemKey : _byCatKey;
        var hours = byItem ? _byItemHour : _byCatHour;
        var behs = byItem ? _byItemBehavior : _byCatBehavior;
        int s = _history.Offsets[u], e = _history.Offsets[u + 1];
        for (int p = s; p < e;)
        {
            int q = p;
            var t = new InteractionTotals();
            while (q < e && keys[q] == keys[p]) { t = t.With(behs[q], hours[q]); q++; }
            yield return (keys[p], t);
            p = q;
        }
    }

    /// <summary>Every item's totals per behavior over the whole log.</summary>
    internal IEnumerable<(int Item, InteractionTotals Totals)> ItemTotals()
    {
        foreach (var (item, d) in _itemIndex)
        {
            var t = new InteractionTotals();
            for (int b = 0; b < 4; b++)
            {
                int lo = _itemOffsets[d * 4 + b], hi = _itemOffsets[d * 4 + b + 1];
                if (hi > lo) t = t.WithCount(b + 1, hi - lo, _itemHours[hi - 1]);
            }
            yield return (item, t);
        }
    }
}
