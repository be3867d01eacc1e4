using System.Numerics;
using System.Runtime.CompilerServices;

namespace Cvr.MLNet.Samples;

/// <summary>
/// The interaction values of many samples at once, the same numbers as <see cref="InteractionIndex.Fill"/>
/// per sample but with no per-sample search (binary searches over 12 M events are cache misses; sweeps are not):
/// <list type="bullet">
/// <item>user, user×category and user×item values [0..14]: samples grouped by user, then per user one sweep
/// over the user's events in hour order against the user's samples in hour order, with running counts per
/// category and per item in a small per-user hash table and a trailing pointer for the 24-hour window;
/// parallel over users;</item>
/// <item>every user's events on the item [15..18]: a sweep over all events in hour order with a counter per
/// (item, behavior), each sample reading its item's counters when its hour comes; one sweep per block of
/// dense items (one block per core), in the same parallel work list as the user ranges.</item>
/// </list>
/// Values go straight into the <c>FeatureTable</c>'s raw form: whole numbers saturated at 65,535, the first
/// <c>stride</c> of the <see cref="InteractionFeatures.Length"/> values per row.
/// </summary>
internal static class InteractionBulkFill
{
    private const int Since = InteractionFeatures.NoEventHours;

    /// <summary>
    /// Fills row r of <paramref name="destination"/> (<paramref name="stride"/> values from r · stride) for every
    /// r in [0, <paramref name="count"/>) with <paramref name="hours"/>[r] ≤ the index's last hour; other rows
    /// are left alone (the caller reads them from the compact state).
    /// </summary>
    public static void Fill(InteractionIndex index, int[] users, int[] items, int[] categories, int[] hours, int count,
        ushort[] destination, int stride, CancellationToken ct = default, UserRuns? runs = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stride);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(stride, InteractionFeatures.Length);
        var history = index.History;
        int last = history.LastHour;
        if (runs is null || !runs.Cuts(history, users, hours, count, last)) runs = UserRuns.Build(history, users, hours, count, last);

        // Each row's dense item (−1 unknown, −2 after the log), for the item blocks: rows of known users get it in their
        // user's sweep, from the user's own events (a lookup in the 2.6 M-item map is a cache miss); the other rows here.
        // Rows of users the index does not know get the zeros of a user with no events.
        bool itemCounts = stride > InteractionFeatures.ItemCounts;
        int[]? itemOf = itemCounts ? new int[count] : null;
        if (itemOf is not null && runs.AfterLog > 0) Array.Fill(itemOf, -2);
        Span<int> none = stackalloc int[InteractionFeatures.ItemCounts];
        none.Clear(); none[InteractionFeatures.UserCategoryHoursSince] = Since; none[InteractionFeatures.UserItemHoursSince] = Since;
        foreach (var run in runs.UnknownUsers)
        {
            for (int r = run.Start; r < run.End; r++)
            {
                Store(destination, r, stride, none, 0);
                if (itemOf is not null) itemOf[r] = index.ItemIndex.IndexOf(items[r]);
            }
        }

        // The user sweeps (parallel over user ranges), then the item blocks; at most one worker per core (more would
        // share the caches the blocks are sized for).
        var options = new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = Environment.ProcessorCount };
        int userChunk = Math.Max(64, history.UserCount / 256);
        Parallel.For(0, (history.UserCount + userChunk - 1) / userChunk, options, () => new UserSweep(), (c, _, sweep) =>
        {
            for (int u = c * userChunk, to = Math.Min(history.UserCount, u + userChunk); u < to; u++)
                if (runs.UserStart[u + 1] > runs.UserStart[u])
                    sweep.Run(index, u, runs, items, categories, destination, stride, itemOf);
            return sweep;
        }, _ => { });
        if (!itemCounts) return;

        int[]? order = null;
        for (int r = 1; r < count; r++)
            if (hours[r] < hours[r - 1]) { order = HourOrder(hours, count, history.FirstHour, last); break; }
        var blocks = ItemBlocks.Build(index, itemOf!, order, hours, count, destination, stride);
        Parallel.For(0, blocks.Count, options, () => new Counters(), (b, _, counters) =>
        {
            blocks.Fill(b, destination, stride, counters);
            return counters;
        }, _ => { });
    }

    /// <summary>Target size of one item block's counters (16 B per item): they stay in a core's L2 while its rows hit them at random.</summary>
    internal static long ItemBlockBytes { get; set; } = 256L << 10;

    /// <summary>
    /// Every user's events on the item [15..18], by blocks of dense items: the events (in hour order) and the rows (in
    /// hour order) are first bucketed by their item's block, so each block sweeps only its own events against its own
    /// rows with a counter per (item, behavior) that stays in cache, each row reading its item's counters when its hour
    /// comes. (One sweep of every event and row per block of 8 MB counters spilled out of the shared L3 on two cores.)
    /// </summary>
    private sealed class ItemBlocks
    {
        private readonly int _blockItems;
        // Per block: its events' keys and hours (hour order), and its rows with their hours and dense items (hour order).
        private readonly int[] _eventStarts, _eventKeys, _eventHours, _rowStarts, _rows, _rowHours, _rowItems;

        private ItemBlocks(int count, int blockItems, int[] eventStarts, int[] eventKeys, int[] eventHours, int[] rowStarts, int[] rows,
            int[] rowHours, int[] rowItems)
        {
            Count = count; _blockItems = blockItems; _eventStarts = eventStarts; _eventKeys = eventKeys; _eventHours = eventHours;
            _rowStarts = rowStarts; _rows = rows; _rowHours = rowHours; _rowItems = rowItems;
        }

        /// <summary>Blocks.</summary>
        public int Count { get; }

        /// <summary>Buckets events and rows by block (stable; the two in parallel); rows of unknown items (−1) get their zeros here.</summary>
        public static ItemBlocks Build(InteractionIndex index, int[] itemOf, int[]? order, int[] hours, int count, ushort[] destination, int stride)
        {
            var history = index.History;
            int items = Math.Max(1, index.ItemIndex.Count);
            int blockItems = (int)Math.Clamp(ItemBlockBytes / 16, 1, items);
            int blocks = (items + blockItems - 1) / blockItems;
            var keys = index.KeysByHour; var hourStarts = index.HourStarts;

            var eventStarts = new int[blocks + 1];
            var eventKeys = new int[keys.Length]; var eventHours = new int[keys.Length];
            var rowStarts = new int[blocks + 1];
            int[] rows = [], rowHours = [], rowItems = [];
            Parallel.Invoke(() =>
            {
                foreach (int k in keys) eventStarts[(k >> 2) / blockItems + 1]++;
                for (int b = 0; b < blocks; b++) eventStarts[b + 1] += eventStarts[b];
                var next = eventStarts.AsSpan(0, blocks).ToArray();
                for (int h = 0; h + 1 < hourStarts.Length; h++)
                    for (int p = hourStarts[h]; p < hourStarts[h + 1]; p++)
                    {
                        int k = keys[p], d = next[(k >> 2) / blockItems]++;
                        eventKeys[d] = k; eventHours[d] = history.FirstHour + h;
                    }
            }, () =>
            {
                Span<int> zeros = stackalloc int[4];
                zeros.Clear();
                int n = order?.Length ?? count;
                for (int i = 0; i < n; i++)
                {
                    int r = order is null ? i : order[i], d = itemOf[r];
                    if (d >= 0) rowStarts[d / blockItems + 1]++;
                    else if (d == -1) Store(destination, r, stride, zeros, InteractionFeatures.ItemCounts);
                }
                for (int b = 0; b < blocks; b++) rowStarts[b + 1] += rowStarts[b];
                var next = rowStarts.AsSpan(0, blocks).ToArray();
                rows = new int[rowStarts[^1]]; rowHours = new int[rows.Length]; rowItems = new int[rows.Length];
                for (int i = 0; i < n; i++)
                {
                    int r = order is null ? i : order[i], d = itemOf[r];
                    if (d < 0) continue;
                    int at = next[d / blockItems]++;
                    rows[at] = r; rowHours[at] = hours[r]; rowItems[at] = d;
                }
            });
            return new ItemBlocks(blocks, blockItems, eventStarts, eventKeys, eventHours, rowStarts, rows, rowHours, rowItems);
        }

        /// <summary>Block <paramref name="block"/>'s rows, with <paramref name="counters"/> as scratch (grown to the block).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Fill(int block, ushort[] destination, int stride, Counters counters)
        {
            int lo = block * _blockItems;
            var c = counters.Take(_blockItems * 4);
            int e = _eventStarts[block], eventEnd = _eventStarts[block + 1], keyLo = lo * 4;
            var eventHours = _eventHours; var eventKeys = _eventKeys; var rows = _rows; var rowHours = _rowHours; var rowItems = _rowItems;
            Span<int> v = stackalloc int[4];
            for (int i = _rowStarts[block], end = _rowStarts[block + 1]; i < end; i++)
            {
                int hour = rowHours[i];
                for (; e < eventEnd && eventHours[e] < hour; e++) c[eventKeys[e] - keyLo]++;
                c.Slice((rowItems[i] - lo) * 4, 4).CopyTo(v);
                Store(destination, rows[i], stride, v, InteractionFeatures.ItemCounts);
            }
        }
    }

    /// <summary>Writes values [from, from + values.Length) of row <paramref name="r"/> that fall inside the stride, saturated.</summary>
    private static void Store(ushort[] destination, int r, int stride, ReadOnlySpan<int> values, int from)
    {
        var row = destination.AsSpan(r * stride, stride);
        for (int k = from, n = Math.Min(stride, from + values.Length); k < n; k++) row[k] = (ushort)Math.Min(values[k - from], ushort.MaxValue);
    }

    /// <summary>A worker's item-block counters, zero whenever handed out.</summary>
    private sealed class Counters
    {
        private int[] _values = [];
        private int _used;

        public Span<int> Take(int length)
        {
            if (_values.Length < length) _values = new int[length];
            else _values.AsSpan(0, _used).Clear();
            _used = length;
            return _values.AsSpan(0, length);
        }
    }

    private static int[] HourOrder(int[] hours, int count, int first, int last)
    {
        // Bucket 0: before the log (no events precede them); bucket h − first + 1: hour h; rows after the log are dropped.
        var start = new int[Math.Max(0, last - first + 1) + 2];
        int n = 0;
        for (int r = 0; r < count; r++) if (hours[r] <= last) { start[Math.Max(0, hours[r] - first + 1) + 1]++; n++; }
        for (int b = 1; b < start.Length; b++) start[b] += start[b - 1];
        var order = new int[n];
        for (int r = 0; r < count; r++) if (hours[r] <= last) order[start[Math.Max(0, hours[r] - first + 1)]++] = r;
        return order;
    }

    /// <summary>Per-worker buffers of the per-user sweep.</summary>
    private sealed class UserSweep
    {
        private int[] _eventCatSlot = new int[64];
        private readonly SlotTable _cats = new(), _items = new();
        // Per category slot: counts 1..4, last hour, events in the 24-hour window; per item slot: counts, last hour.
        private int[] _catCounts = new int[256], _catLast = new int[64], _catRecent = new int[64];
        private int[] _itemCounts = new int[256], _itemLast = new int[64];

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(InteractionIndex index, int u, UserRuns runs, int[] items, int[] categories, ushort[] destination, int stride,
            int[]? itemOf)
        {
            var history = index.History;
            var userRuns = runs.RunsOf(u);
            var ev = history.EventsOf(u);
            var evHours = ev.Hours; var evItems = ev.Items; var evCats = ev.Categories; var evBehs = ev.Behaviors;
            int len = ev.CountBefore(userRuns[^1].Hour); // events the last run can see
            _cats.Reset(len); _items.Reset(len);
            Grow(ref _eventCatSlot, len);
            Grow(ref _catCounts, len * 4); Grow(ref _catLast, len); Grow(ref _catRecent, len);
            Grow(ref _itemCounts, len * 4); Grow(ref _itemLast, len);

            var dense = index.EventItems.AsSpan(history.Offsets[u], ev.Hours.Length);
            Span<int> v = stackalloc int[InteractionFeatures.ItemCounts];
            Span<int> user = stackalloc int[4];
            user.Clear();
            // The buffers in locals: the loop's stores would make the JIT reload each field per event.
            var catCounts = _catCounts; var catLast = _catLast; var catRecent = _catRecent; var eventCatSlot = _eventCatSlot;
            var itemCounts = _itemCounts; var itemLast = _itemLast; var cats = _cats; var itemSlots = _items;
            int p = 0, w = 0;
            foreach (var run in userRuns)
            {
                int t = run.Hour;
                for (; p < len && evHours[p] < t; p++)
                {
                    int b = evBehs[p] - 1, h = evHours[p];
                    user[b]++;
                    int c = cats.GetOrAdd(evCats[p], out bool newCat);
                    if (newCat) { catCounts.AsSpan(c * 4, 4).Clear(); catRecent[c] = 0; }
                    catCounts[c * 4 + b]++; catLast[c] = h; catRecent[c]++;
                    eventCatSlot[p] = c;
                    int it = itemSlots.GetOrAdd(evItems[p], out bool newItem);
                    if (newItem) itemCounts.AsSpan(it * 4, 4).Clear();
                    itemCounts[it * 4 + b]++; itemLast[it] = h;
                }
                // The 24-hour window [t − 24, t): events that fell out of it leave their category's count.
                for (long from = (long)t - InteractionFeatures.RecentHours; w < p && evHours[w] < from; w++) catRecent[eventCatSlot[w]]--;
                user.CopyTo(v.Slice(InteractionFeatures.UserCounts, 4));

                int click = p; // the hour's clicks come first, in item order, and so do a sample set's rows of the run
                for (int r = run.Start, end = run.End; r < end; r++)
                {
                    int item = items[r];
                    if (itemOf is not null)
                    {
                        // A sample is its user's click at its own hour: its dense item from the user's events of that hour (p is
                        // the first of them; a pointer over the clicks, else a scan of the hour), else from the 2.6 M-item map
                        // (a cache miss).
                        int d = -1;
                        while (click < evHours.Length && evHours[click] == t && evBehs[click] == 1 && (uint)evItems[click] < (uint)item) click++;
                        if (click < evHours.Length && evHours[click] == t && evItems[click] == item) d = dense[click];
                        else for (int e = p; e < evHours.Length && evHours[e] == t; e++) if (evItems[e] == item) { d = dense[e]; break; }
                        itemOf[r] = d >= 0 ? d : index.ItemIndex.IndexOf(item);
                    }
                    int cs = cats.Find(categories[r]);
                    if (cs >= 0)
                    {
                        catCounts.AsSpan(cs * 4, 4).CopyTo(v.Slice(InteractionFeatures.UserCategoryCounts, 4));
                        v[InteractionFeatures.UserCategoryRecent] = catRecent[cs];
                        v[InteractionFeatures.UserCategoryHoursSince] = Math.Min(t - catLast[cs], Since);
                    }
                    else
                    {
                        v.Slice(InteractionFeatures.UserCategoryCounts, 5).Clear();
                        v[InteractionFeatures.UserCategoryHoursSince] = Since;
                    }
                    int its = itemSlots.Find(item);
                    if (its >= 0)
                    {
                        itemCounts.AsSpan(its * 4, 4).CopyTo(v.Slice(InteractionFeatures.UserItemCounts, 4));
                        v[InteractionFeatures.UserItemHoursSince] = Math.Min(t - itemLast[its], Since);
                    }
                    else
                    {
                        v.Slice(InteractionFeatures.UserItemCounts, 4).Clear();
                        v[InteractionFeatures.UserItemHoursSince] = Since;
                    }
                    Store(destination, r, stride, v, 0);
                }
            }
        }

        private static void Grow(ref int[] a, int n)
        {
            if (a.Length < n) a = new int[Math.Max(n, a.Length * 2)];
        }
    }
}
