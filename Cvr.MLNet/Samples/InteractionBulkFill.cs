using System.Collections.Concurrent;
using System.Numerics;

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
        ushort[] destination, int stride, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stride);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(stride, InteractionFeatures.Length);
        var history = index.History;
        int last = history.LastHour;

        // Users: one index probe per (hour, user) run of rows, then a stable counting sort of the rows by user.
        var starts = new int[history.UserCount + 1];
        var scratch = new int[count];
        Span<int> none = stackalloc int[InteractionFeatures.ItemCounts];
        none.Clear(); none[InteractionFeatures.UserCategoryHoursSince] = Since; none[InteractionFeatures.UserItemHoursSince] = Since;
        int prevId = 0, prevU = -1;
        for (int r = 0; r < count; r++)
        {
            if (hours[r] > last) { scratch[r] = -1; continue; }
            if (r == 0 || users[r] != prevId) { prevId = users[r]; prevU = history.IndexOf(prevId); }
            scratch[r] = prevU;
            if (prevU < 0) Store(destination, r, stride, none, 0);
            else starts[prevU + 1]++;
        }
        for (int u = 0; u < history.UserCount; u++) starts[u + 1] += starts[u];
        var rowsByUser = new int[starts[^1]];
        var next = starts.AsSpan(0, history.UserCount).ToArray();
        for (int r = 0; r < count; r++) if (scratch[r] >= 0) rowsByUser[next[scratch[r]]++] = r;
        next = null;

        // Items: each row's dense item (−1 unknown, −2 after the log), probed in parallel; rows in hour order.
        // Item blocks: at least one per core, and small enough that a block's counters (16 B per item) stay in
        // cache while its sweep hits them in item order, which is random.
        int parts = stride > InteractionFeatures.ItemCounts
            ? Math.Max(Math.Clamp(Environment.ProcessorCount, 1, 8), (int)Math.Min(1024, ((long)index.ItemIndex.Count * 16 + ItemBlockBytes - 1) / ItemBlockBytes))
            : 0;
        var itemOf = scratch;
        int[]? order = null;
        if (parts > 0)
        {
            var itemIndex = index.ItemIndex;
            Parallel.For(0, (count + ProbeRows - 1) / ProbeRows, new ParallelOptions { CancellationToken = ct }, c =>
            {
                for (int r = c * ProbeRows, end = Math.Min(count, r + ProbeRows); r < end; r++)
                    itemOf[r] = hours[r] > last ? -2 : itemIndex.IndexOf(items[r]);
            });
            for (int r = 1; r < count; r++)
                if (hours[r] < hours[r - 1]) { order = HourOrder(hours, count, history.FirstHour, last); break; }
        }

        // One work list: the item sweeps (one per block of dense items) first, as they are the longest, then user ranges.
        int userChunk = Math.Max(64, history.UserCount / 256);
        int userRanges = (history.UserCount + userChunk - 1) / userChunk;
        Parallel.ForEach(Partitioner.Create(Enumerable.Range(0, parts + userRanges), EnumerablePartitionerOptions.NoBuffering),
            new ParallelOptions { CancellationToken = ct }, () => new UserSweep(),
            (work, _, sweep) =>
            {
                if (work < parts)
                {
                    FillItemCounts(index, work, parts, itemOf, order, hours, count, destination, stride, ct);
                    return sweep;
                }
                int from = (work - parts) * userChunk, to = Math.Min(history.UserCount, from + userChunk);
                for (int u = from; u < to; u++)
                    if (starts[u + 1] > starts[u])
                        sweep.Run(history, u, rowsByUser.AsSpan(starts[u], starts[u + 1] - starts[u]), items, categories, hours, destination, stride);
                return sweep;
            }, _ => { });
    }

    private const int ProbeRows = 65_536;

    /// <summary>Target size of one item block's counters.</summary>
    internal static long ItemBlockBytes { get; set; } = 8L << 20;

    /// <summary>Writes values [from, from + values.Length) of row <paramref name="r"/> that fall inside the stride, saturated.</summary>
    private static void Store(ushort[] destination, int r, int stride, ReadOnlySpan<int> values, int from)
    {
        var row = destination.AsSpan(r * stride, stride);
        for (int k = from, n = Math.Min(stride, from + values.Length); k < n; k++) row[k] = (ushort)Math.Min(values[k - from], ushort.MaxValue);
    }

    // Block `part` of `parts` of the dense items: every event in hour order once, counting only the block's
    // items; a sample of the block reads its item's four counters when its hour comes. Block 0 also writes
    // the zeros of unknown items.
    private static void FillItemCounts(InteractionIndex index, int part, int parts, int[] itemOf, int[]? order, int[] hours, int count,
        ushort[] destination, int stride, CancellationToken ct)
    {
        var history = index.History;
        int first = history.FirstHour;
        var keys = index.KeysByHour; var hourStarts = index.HourStarts;
        int span = hourStarts.Length - 1, items = index.ItemIndex.Count;
        int lo = (int)((long)items * part / parts), hi = (int)((long)items * (part + 1) / parts);
        uint keyLo = (uint)lo * 4, keyCount = (uint)(hi - lo) * 4;
        var counters = new int[keyCount];
        Span<int> v = stackalloc int[4];
        int e = 0;
        for (int i = 0, n = order?.Length ?? count; i < n; i++)
        {
            if ((i & 0xFFFF) == 0) ct.ThrowIfCancellationRequested();
            int r = order is null ? i : order[i];
            int d = itemOf[r];
            if (d < lo || d >= hi)
            {
                if (d == -1 && part == 0) { v.Clear(); Store(destination, r, stride, v, InteractionFeatures.ItemCounts); }
                continue;
            }
            int upto = hourStarts[Math.Clamp(hours[r] - first, 0, span)];
            for (; e < upto; e++)
            {
                uint k = (uint)keys[e] - keyLo;
                if (k < keyCount) counters[k]++;
            }
            counters.AsSpan((d - lo) * 4, 4).CopyTo(v);
            Store(destination, r, stride, v, InteractionFeatures.ItemCounts);
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
        private int[] _sampleHours = new int[64], _eventCatSlot = new int[64];
        private readonly SlotTable _cats = new(), _items = new();
        // Per category slot: counts 1..4, last hour, events in the 24-hour window; per item slot: counts, last hour.
        private int[] _catCounts = new int[256], _catLast = new int[64], _catRecent = new int[64];
        private int[] _itemCounts = new int[256], _itemLast = new int[64];

        public void Run(UserHistory history, int u, Span<int> rows, int[] items, int[] categories, int[] hours, ushort[] destination, int stride)
        {
            int m = rows.Length;
            Grow(ref _sampleHours, m);
            var sh = _sampleHours.AsSpan(0, m);
            bool sorted = true;
            for (int i = 0; i < m; i++) { sh[i] = hours[rows[i]]; if (i > 0 && sh[i] < sh[i - 1]) sorted = false; }
            // Ties in any order: every value is a function of the row's own inputs.
            if (!sorted) sh.Sort(rows);

            var ev = history.EventsOf(u);
            var evHours = ev.Hours; var evItems = ev.Items; var evCats = ev.Categories; var evBehs = ev.Behaviors;
            int len = ev.CountBefore(sh[m - 1]); // events the last sample can see
            _cats.Reset(len); _items.Reset(len);
            Grow(ref _eventCatSlot, len);
            Grow(ref _catCounts, len * 4); Grow(ref _catLast, len); Grow(ref _catRecent, len);
            Grow(ref _itemCounts, len * 4); Grow(ref _itemLast, len);

            Span<int> v = stackalloc int[InteractionFeatures.ItemCounts];
            Span<int> user = stackalloc int[4];
            user.Clear();
            int p = 0, w = 0;
            for (int i = 0; i < m; i++)
            {
                int t = sh[i], r = rows[i];
                for (; p < len && evHours[p] < t; p++)
                {
                    int b = evBehs[p] - 1, h = evHours[p];
                    user[b]++;
                    int c = _cats.GetOrAdd(evCats[p], out bool newCat);
                    if (newCat) { _catCounts.AsSpan(c * 4, 4).Clear(); _catRecent[c] = 0; }
                    _catCounts[c * 4 + b]++; _catLast[c] = h; _catRecent[c]++;
                    _eventCatSlot[p] = c;
                    int it = _items.GetOrAdd(evItems[p], out bool newItem);
                    if (newItem) _itemCounts.AsSpan(it * 4, 4).Clear();
                    _itemCounts[it * 4 + b]++; _itemLast[it] = h;
                }
                // The 24-hour window [t − 24, t): events that fell out of it leave their category's count.
                for (long from = (long)t - InteractionFeatures.RecentHours; w < p && evHours[w] < from; w++) _catRecent[_eventCatSlot[w]]--;

                user.CopyTo(v.Slice(InteractionFeatures.UserCounts, 4));
                int cs = _cats.Find(categories[r]);
                if (cs >= 0)
                {
                    _catCounts.AsSpan(cs * 4, 4).CopyTo(v.Slice(InteractionFeatures.UserCategoryCounts, 4));
                    v[InteractionFeatures.UserCategoryRecent] = _catRecent[cs];
                    v[InteractionFeatures.UserCategoryHoursSince] = Math.Min(t - _catLast[cs], Since);
                }
                else
                {
                    v.Slice(InteractionFeatures.UserCategoryCounts, 5).Clear();
                    v[InteractionFeatures.UserCategoryHoursSince] = Since;
                }
                int its = _items.Find(items[r]);
                if (its >= 0)
                {
                    _itemCounts.AsSpan(its * 4, 4).CopyTo(v.Slice(InteractionFeatures.UserItemCounts, 4));
                    v[InteractionFeatures.UserItemHoursSince] = Math.Min(t - _itemLast[its], Since);
                }
                else
                {
                    v.Slice(InteractionFeatures.UserItemCounts, 4).Clear();
                    v[InteractionFeatures.UserItemHoursSince] = Since;
                }
                Store(destination, r, stride, v, 0);
            }
        }

        private static void Grow(ref int[] a, int n)
        {
            if (a.Length < n) a = new int[Math.Max(n, a.Length * 2)];
        }
    }

    /// <summary>
    /// Open-addressing map from a key to a dense slot 0, 1, …, emptied in O(1) by a generation stamp (a user's
    /// categories or items; sized to twice the keys it can get, so probes stay short and in L1/L2).
    /// </summary>
    private sealed class SlotTable
    {
        private int[] _keys = new int[16], _slots = new int[16], _stamps = new int[16];
        private int _stamp, _shift = 28, _count;

        public void Reset(int maxKeys)
        {
            int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, maxKeys * 2));
            if (_keys.Length < size) { _keys = new int[size]; _slots = new int[size]; _stamps = new int[size]; _stamp = 0; }
            _shift = 32 - BitOperations.Log2((uint)size);
            _stamp++; _count = 0;
        }

        private int Home(int key) => (int)(((uint)key * 0x9E3779B9u) >> _shift);

        public int GetOrAdd(int key, out bool added)
        {
            int mask = (1 << (32 - _shift)) - 1;
            for (int i = Home(key); ; i = (i + 1) & mask)
            {
                if (_stamps[i] != _stamp)
                {
                    _stamps[i] = _stamp; _keys[i] = key; added = true;
                    return _slots[i] = _count++;
                }
                if (_keys[i] == key) { added = false; return _slots[i]; }
            }
        }

        public int Find(int key)
        {
            int mask = (1 << (32 - _shift)) - 1;
            for (int i = Home(key); ; i = (i + 1) & mask)
            {
                if (_stamps[i] != _stamp) return -1;
                if (_keys[i] == key) return _slots[i];
            }
        }
    }
}
