using Cvr.MLNet.Data;

namespace Cvr.MLNet.Samples;

/// <summary>
/// The exact point-in-time index behind <see cref="InteractionFeatures"/> for samples inside the
/// fitted log (training and evaluation). Built once from a <see cref="UserHistory"/> (duplicates already
/// collapsed); transient, never saved. Two ways to read it:
/// <list type="bullet">
/// <item>many samples at once (<see cref="InteractionBulkFill"/>, what the columnar table read uses): merge
/// sweeps over each user's events and over every event in hour order, with no per-sample search;</item>
/// <item>one sample at a time (<see cref="Fill"/>: cursors, single rows): each user's events re-sorted by
/// (category, hour) and by (item, hour) with prefix counts, and every item's events per behavior sorted by
/// hour, so each value is one or two binary searches. That part is ≈ 0.7 GB at full scale and built on
/// first use only, so a columnar fit never pays for it.</item>
/// </list>
/// </summary>
public sealed class InteractionIndex
{
    private readonly UserHistory _history;
    // Every item gets a dense index d; every event's key d · 4 + (b − 1), in hour order, with the start of each hour.
    private readonly PartitionedIdMap _itemIndex;
    private readonly int[] _keysByHour, _hourStarts, _eventItems;
    private readonly Lazy<RowIndex> _rows;

    private InteractionIndex(UserHistory history, PartitionedIdMap itemIndex, int[] eventItems, int[] keysByHour, int[] hourStarts)
    {
        _history = history; _itemIndex = itemIndex; _eventItems = eventItems; _keysByHour = keysByHour; _hourStarts = hourStarts;
        _rows = new Lazy<RowIndex>(() => RowIndex.Build(this), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The user index this was built from.</summary>
    public UserHistory History => _history;

    /// <summary>True once a per-sample <see cref="Fill"/> has built the search structures.</summary>
    internal bool HasRowIndex => _rows.IsValueCreated;

    /// <summary>Dense index of an item of the log, for <see cref="KeysByHour"/>.</summary>
    internal PartitionedIdMap ItemIndex => _itemIndex;
    /// <summary>Every event's dense item, in the history's order.</summary>
    internal int[] EventItems => _eventItems;
    /// <summary>Every event's dense item · 4 + behavior − 1, in hour order.</summary>
    internal int[] KeysByHour => _keysByHour;
    /// <summary>Position in <see cref="KeysByHour"/> of the first event of hour <c>FirstHour + h</c> (length span + 1).</summary>
    internal int[] HourStarts => _hourStarts;

    /// <summary>Builds the index of <paramref name="history"/>.</summary>
    public static InteractionIndex Build(UserHistory history)
    {
        ArgumentNullException.ThrowIfNull(history);
        int n = history.EventCount;
        var hours = history.Hours; var items = history.Items; var behs = history.Behaviors;
        // Dense item index, then a stable counting sort of the keys by hour.
        var dense = new int[n];
        var itemIndex = PartitionedIdMap.Build(items, dense);
        int first = history.FirstHour, span = n == 0 ? 0 : history.LastHour - first + 1;
        var hourStarts = new int[span + 1];
        for (int i = 0; i < n; i++) hourStarts[hours[i] - first + 1]++;
        for (int h = 0; h < span; h++) hourStarts[h + 1] += hourStarts[h];
        var fill = hourStarts.AsSpan(0, span).ToArray();
        var keysByHour = new int[n];
        for (int i = 0; i < n; i++) keysByHour[fill[hours[i] - first]++] = dense[i] * 4 + behs[i] - 1;
        return new InteractionIndex(history, itemIndex, dense, keysByHour, hourStarts);
    }

    /// <summary>
    /// Fills the <see cref="InteractionFeatures.Length"/> values of (<paramref name="userId"/>,
    /// <paramref name="itemId"/>, <paramref name="categoryId"/>) at <paramref name="hour"/> from events strictly before it.
    /// </summary>
    public void Fill(int userId, int itemId, int categoryId, int hour, Span<float> values)
    {
        var x = _rows.Value;
        values[..InteractionFeatures.Length].Clear();
        values[InteractionFeatures.UserCategoryHoursSince] = InteractionFeatures.NoEventHours;
        values[InteractionFeatures.UserItemHoursSince] = InteractionFeatures.NoEventHours;
        int u = _history.IndexOf(userId);
        if (u >= 0)
        {
            int s = _history.Offsets[u], e = _history.Offsets[u + 1];
            // User totals: prefix counts over the user's hour-ordered events (no scan: heavy users have thousands a day).
            CountsFromPrefix(x.UserPrefix, s, s + _history.EventsOf(u).CountBefore(hour), values, InteractionFeatures.UserCounts);
            FillRun(x.ByCatKey, x.ByCatHour, x.ByCatPrefix, s, e, categoryId, hour, values, InteractionFeatures.UserCategoryCounts,
                InteractionFeatures.UserCategoryRecent, InteractionFeatures.UserCategoryHoursSince);
            FillRun(x.ByItemKey, x.ByItemHour, x.ByItemPrefix, s, e, itemId, hour, values, InteractionFeatures.UserItemCounts,
                -1, InteractionFeatures.UserItemHoursSince);
        }
        if (_itemIndex.IndexOf(itemId) is var d and >= 0)
            for (int b = 0; b < 4; b++)
            {
                int lo = x.ItemOffsets[d * 4 + b];
                values[InteractionFeatures.ItemCounts + b] = LowerBound(x.ItemHours, lo, x.ItemOffsets[d * 4 + b + 1], hour) - lo;
            }
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

    /// <summary>The user's runs by category (<paramref name="byItem"/> false) or by item, by key: key, totals per behavior, last hour.</summary>
    /// <remarks>Sorts the user's events locally, so building the compact state never needs the per-sample structures.</remarks>
    internal IEnumerable<(int Key, InteractionTotals Totals)> UserRuns(int u, bool byItem)
    {
        int s = _history.Offsets[u], len = _history.Offsets[u + 1] - s;
        var key = byItem ? _history.Items : _history.Categories;
        var order = new long[len];
        for (int j = 0; j < len; j++) order[j] = ((long)key[s + j] << 32) | (uint)(s + j);
        Array.Sort(order);
        for (int p = 0; p < len;)
        {
            int k = (int)(order[p] >> 32);
            var t = new InteractionTotals();
            for (; p < len && (int)(order[p] >> 32) == k; p++)
            {
                int e = (int)(uint)order[p];
                t = t.With(_history.Behaviors[e], _history.Hours[e]);
            }
            yield return (k, t);
        }
    }

    /// <summary>Every item's totals per behavior over the whole log, in dense (first appearance) order.</summary>
    internal IEnumerable<(int Item, InteractionTotals Totals)> ItemTotals()
    {
        var counts = new int[_itemIndex.Count * 4];
        var last = new int[_itemIndex.Count];
        for (int h = 0; h + 1 < _hourStarts.Length; h++)
            for (int p = _hourStarts[h]; p < _hourStarts[h + 1]; p++)
            {
                int k = _keysByHour[p];
                counts[k]++;
                last[k >> 2] = _history.FirstHour + h;
            }
        for (int d = 0; d < _itemIndex.Count; d++)
        {
            var t = new InteractionTotals();
            for (int b = 0; b < 4; b++)
                if (counts[d * 4 + b] > 0) t = t.WithCount(b + 1, counts[d * 4 + b], last[d]);
            yield return (_itemIndex.IdAt(d), t);
        }
    }

    /// <summary>
    /// The per-sample search structures: per user u, positions [Offsets[u], Offsets[u+1]) of the history
    /// re-sorted by (category, hour) and by (item, hour); prefix counts of behaviors 2..4 over each order
    /// (length n + 1, so a run's counts are two reads, not a scan); every item's events of behavior b
    /// sorted by hour (key = dense item · 4 + b − 1).
    /// </summary>
    private sealed class RowIndex
    {
        public required int[] ByCatKey, ByCatHour, ByItemKey, ByItemHour, ItemOffsets, ItemHours;
        public required int[][] ByCatPrefix, ByItemPrefix, UserPrefix;

        public static RowIndex Build(InteractionIndex index)
        {
            var history = index._history;
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

            // Items: a stable counting sort of the hour-ordered keys.
            int keys = index._itemIndex.Count * 4;
            var itemOffsets = new int[keys + 1];
            foreach (int k in index._keysByHour) itemOffsets[k + 1]++;
            for (int k = 0; k < keys; k++) itemOffsets[k + 1] += itemOffsets[k];
            var fill = itemOffsets.AsSpan(0, keys).ToArray();
            var itemHours = new int[n];
            var starts = index._hourStarts;
            for (int h = 0; h + 1 < starts.Length; h++)
                for (int p = starts[h]; p < starts[h + 1]; p++) itemHours[fill[index._keysByHour[p]]++] = history.FirstHour + h;
            return new RowIndex
            {
                ByCatKey = byCatKey, ByCatHour = byCatHour, ByItemKey = byItemKey, ByItemHour = byItemHour,
                ItemOffsets = itemOffsets, ItemHours = itemHours,
                ByCatPrefix = Prefix(byCatBeh), ByItemPrefix = Prefix(byItemBeh), UserPrefix = Prefix(behs),
            };
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
    }
}
