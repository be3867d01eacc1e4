using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Cvr.MLNet.Data;

namespace Cvr.MLNet.Samples;

/// <summary>
/// The event log regrouped by user: each user's distinct events sorted by (hour, behavior, item),
/// plus each user's per-day behavior counts. This is the index that makes point-in-time features
/// exact and cheap: the history of (user, hour h) is a prefix of the user's segment, found by binary
/// search. Exact duplicate rows (same user, item, behavior and hour — repeated clicks within the
/// hour) collapse into one event, so sequences and counts are of distinct events.
/// Build cost: one counting sort by user, then a small sort per user (no global comparison sort), users in parallel.
/// </summary>
public sealed class UserHistory
{
    private readonly Dictionary<int, int> _userIndex;

    private UserHistory(int[] userIds, Dictionary<int, int> userIndex, int[] offsets, int[] hours, int[] items,
        int[] categories, byte[] behaviors, int[] dayOffsets, int[] days, int[] dayCounts, int firstHour, int lastHour, int rawCount)
    {
        UserIds = userIds; _userIndex = userIndex; Offsets = offsets; Hours = hours; Items = items;
        Categories = categories; Behaviors = behaviors; DayOffsets = dayOffsets; Days = days; DayCounts = dayCounts;
        FirstHour = firstHour; LastHour = lastHour; RawEventCount = rawCount;
    }

    /// <summary>Distinct user ids, ascending; a user's index is its position here.</summary>
    public int[] UserIds { get; }
    /// <summary>User u's events are [Offsets[u], Offsets[u+1]).</summary>
    internal int[] Offsets { get; }
    internal int[] Hours { get; }
    internal int[] Items { get; }
    internal int[] Categories { get; }
    internal byte[] Behaviors { get; }
    /// <summary>User u's active days are [DayOffsets[u], DayOffsets[u+1]) in <see cref="Days"/>, ascending.</summary>
    internal int[] DayOffsets { get; }
    internal int[] Days { get; }
    /// <summary>4 counts (behaviors 1..4) per entry of <see cref="Days"/>.</summary>
    internal int[] DayCounts { get; }

    /// <summary>First and last hour of the log.</summary>
    public int FirstHour { get; }
    public int LastHour { get; }
    /// <summary>Rows in the source log (before collapsing duplicates).</summary>
    public int RawEventCount { get; }
    /// <summary>Distinct events kept.</summary>
    public int EventCount => Hours.Length;
    public int UserCount => UserIds.Length;

    /// <summary>Index of a user id, or -1 if the user has no events.</summary>
    public int IndexOf(int userId) => _userIndex.TryGetValue(userId, out var u) ? u : -1;

    /// <summary>The events of user index <paramref name="u"/>.</summary>
    public UserEvents EventsOf(int u)
    {
        int s = Offsets[u], n = Offsets[u + 1] - s;
        int ds = DayOffsets[u], dn = DayOffsets[u + 1] - ds;
        return new UserEvents(Hours.AsSpan(s, n), Items.AsSpan(s, n), Categories.AsSpan(s, n), Behaviors.AsSpan(s, n),
            Days.AsSpan(ds, dn), DayCounts.AsSpan(ds * 4, dn * 4));
    }

    /// <summary>Rows from which <see cref="Build"/> indexes users and scatters rows in parallel chunks.</summary>
    internal static int ParallelRowThreshold { get; set; } = 1 << 20;
    /// <summary>Chunk count instead of the processor count (tests: a chunking the machine would not pick).</summary>
    internal static int? ChunksOverride { get; set; }

    /// <summary>Builds the index of <paramref name="log"/>.</summary>
    public static UserHistory Build(EventLog log)
    {
        ArgumentNullException.ThrowIfNull(log);
        var (firstHour, lastHour) = log.HourRange();
        int n = log.Count;

        // Dense user index in ascending id order (deterministic whatever the file order). The rows are cut into
        // contiguous chunks handled in parallel: one dictionary probe per row gives a chunk-local first-seen index,
        // the chunks' ids are merged and ranked, and a small remap per chunk turns local indices into ranks.
        int chunks = Math.Max(1, Math.Min(n, n >= ParallelRowThreshold ? ChunksOverride ?? Math.Clamp(Environment.ProcessorCount, 1, 8) : 1));
        var bounds = new int[chunks + 1];
        for (int c = 0; c <= chunks; c++) bounds[c] = (int)((long)n * c / chunks);
        var rowUser = new int[n];
        var localIds = new int[chunks][];
        var userArr = log.UserIds;
        Parallel.For(0, chunks, c =>
        {
            var firstSeen = new Dictionary<int, int>();
            for (int r = bounds[c]; r < bounds[c + 1]; r++)
            {
                ref int slot = ref CollectionsMarshal.GetValueRefOrAddDefault(firstSeen, userArr[r], out bool exists);
                if (!exists) slot = firstSeen.Count - 1;
                rowUser[r] = slot;
            }
            var ids = new int[firstSeen.Count];
            foreach (var (id, i) in firstSeen) ids[i] = id;
            localIds[c] = ids;
        });
        var userIndex = new Dictionary<int, int>();
        foreach (var ids in localIds) foreach (var id in ids) userIndex.TryAdd(id, 0);
        var userIds = new int[userIndex.Count];
        userIndex.Keys.CopyTo(userIds, 0);
        Array.Sort(userIds);
        for (int i = 0; i < userIds.Length; i++) userIndex[userIds[i]] = i;
        int userCount = userIds.Length;

        // Counting sort of rows by user, stable (file order within a user): chunk c's rows of user u go after
        // chunks 0..c−1's rows of u, so the chunks scatter in parallel into disjoint slots.
        var chunkCounts = new int[chunks][];
        Parallel.For(0, chunks, c =>
        {
            var rank = new int[localIds[c].Length];
            for (int i = 0; i < rank.Length; i++) rank[i] = userIndex[localIds[c][i]];
            var cc = new int[userCount];
            for (int r = bounds[c]; r < bounds[c + 1]; r++) { int u = rank[rowUser[r]]; rowUser[r] = u; cc[u]++; }
            chunkCounts[c] = cc;
        });
        var counts = new int[userCount + 1];
        var starts = new int[chunks][];
        for (int c = 0; c < chunks; c++) starts[c] = new int[userCount];
        for (int u = 0, at = 0; u < userCount; u++)
        {
            counts[u] = at;
            for (int c = 0; c < chunks; c++) { starts[c][u] = at; at += chunkCounts[c][u]; }
            counts[u + 1] = at;
        }
        // The scatter reads the log once, in file order, and writes each row's sort key and category side by side:
        // key = (hour - firstHour) << 35 | behavior << 32 | (uint)item holds every other field. A user's rows land in
        // file order and every sort below is stable, so a duplicate's first row stays first (and keeps its category)
        // without carrying row numbers, and the category is never gathered from the log at random.
        var keyCategories = new int[n];
        var keys = new long[n];
        int[] hoursArr = log.Hours, itemsArr = log.ItemIds, catsArr = log.CategoryIds;
        byte[] behArr = log.Behaviors;
        Parallel.For(0, chunks, c =>
        {
            var fill = starts[c];
            for (int r = bounds[c]; r < bounds[c + 1]; r++)
            {
                int d = fill[rowUser[r]]++;
                keyCategories[d] = catsArr[r];
                keys[d] = ((long)(hoursArr[r] - firstHour) << 35) | ((long)behArr[r] << 32) | (uint)itemsArr[r];
            }
        });

        // Users are independent: sort and de-duplicate each segment in parallel, then size the outputs
        // from the per-user counts and fill them in parallel (same result as one user after another).
        var distinctEvents = new int[userCount + 1];
        var distinctDays = new int[userCount + 1];
        // Per user: sort by key (stable: a duplicate keeps its first row), drop equal keys.
        int hourSpan = lastHour - firstHour + 1;
        Parallel.For(0, userCount, () => new SortBuffers(), [MethodImpl(MethodImplOptions.AggressiveOptimization)] (u, _, buffers) =>
        {
            int s = counts[u], e = counts[u + 1];
            SortSegment(keys, keyCategories, s, e - s, hourSpan, buffers);
            int events = 0, dayCount = 0, curDay = int.MinValue;
            long prev = -1;
            for (int i = s; i < e; i++)
            {
                if (keys[i] == prev) continue; // exact duplicate (same hour, behavior, item)
                prev = keys[i];
                events++;
                int day = TianchiTime.DayOf((int)(keys[i] >> 35) + firstHour);
                if (day != curDay) { curDay = day; dayCount++; }
            }
            distinctEvents[u + 1] = events; distinctDays[u + 1] = dayCount;
            return buffers;
        }, _ => { });
        for (int u = 0; u < userCount; u++) { distinctEvents[u + 1] += distinctEvents[u]; distinctDays[u + 1] += distinctDays[u]; }
        var offsets = distinctEvents;
        var dayOffsets = distinctDays;
        int w = offsets[userCount];
        var hours = new int[w]; var items = new int[w]; var cats = new int[w]; var behs = new byte[w];
        var days = new int[dayOffsets[userCount]];
        var dayCounts = new int[days.Length * 4];
        Parallel.For(0, userCount, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (u) =>
        {
            int s = counts[u], e = counts[u + 1], o = offsets[u], d = dayOffsets[u] - 1;
            long prev = -1;
            int curDay = int.MinValue;
            for (int i = s; i < e; i++)
            {
                if (keys[i] == prev) continue;
                prev = keys[i];
                long k = keys[i];
                hours[o] = (int)(k >> 35) + firstHour; behs[o] = (byte)((k >> 32) & 7); items[o] = (int)(uint)k; cats[o] = keyCategories[i];
                int day = TianchiTime.DayOf(hours[o]);
                if (day != curDay) { curDay = day; d++; days[d] = day; }
                dayCounts[d * 4 + behs[o] - 1]++;
                o++;
            }
        });
        return new UserHistory(userIds, userIndex, offsets, hours, items, cats, behs, dayOffsets, days, dayCounts, firstHour, lastHour, n);
    }

    /// <summary>Hour spans up to which <see cref="SortSegment"/> counts by hour first (a month of the log is 744).</summary>
    private const int CountingSortHours = 1 << 14;

    private sealed class SortBuffers
    {
        public long[] Keys = new long[64];
        public int[] Values = new int[64], HourStarts = [];

        public void Grow(int len)
        {
            if (Keys.Length < len) { Keys = new long[Math.Max(len, 2 * Keys.Length)]; Values = new int[Keys.Length]; }
        }
    }

    /// <summary>
    /// Sorts keys[s..s+len) (hour in the top bits, from bit 35) with their values, stably: a counting sort by hour, then
    /// each hour's few events by the whole key (insertion sort; larger groups by a merge sort).
    /// A user's events span hundreds of hours with one or two events each, so this is a few linear passes where a
    /// comparison sort of the segment took ≈ 4 % of the feature pipeline.
    /// </summary>
    // Per-user kernels like this one are compiled optimized at once (AggressiveOptimization): the pipeline runs once, and
    // their tier-0 code ran for a few hundred ms before the runtime tiered them up.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SortSegment(long[] keys, int[] values, int s, int len, int hourSpan, SortBuffers b)
    {
        if (len < 2) return;
        b.Grow(len);
        if (hourSpan > CountingSortHours || len < 32)
        {
            SortGroup(keys.AsSpan(s, len), values.AsSpan(s, len), b);
            return;
        }
        if (b.HourStarts.Length < hourSpan + 1) b.HourStarts = new int[hourSpan + 1];
        var starts = b.HourStarts.AsSpan(0, hourSpan + 1);
        starts.Clear();
        for (int i = s; i < s + len; i++) starts[(int)(keys[i] >> 35) + 1]++;
        for (int h = 0; h < hourSpan; h++) starts[h + 1] += starts[h];
        for (int i = s; i < s + len; i++)
        {
            int d = starts[(int)(keys[i] >> 35)]++;
            b.Keys[d] = keys[i]; b.Values[d] = values[i];
        }
        b.Keys.AsSpan(0, len).CopyTo(keys.AsSpan(s, len));
        b.Values.AsSpan(0, len).CopyTo(values.AsSpan(s, len));
        // starts[h] is now the end of hour h's group.
        for (int h = 0, lo = 0; h < hourSpan && lo < len; h++)
        {
            int hi = starts[h];
            if (hi - lo > 1) SortGroup(keys.AsSpan(s + lo, hi - lo), values.AsSpan(s + lo, hi - lo), b);
            lo = hi;
        }
    }

    /// <summary>Runs that <see cref="SortGroup"/> sorts by insertion before merging them.</summary>
    private const int InsertionRun = 24;

    // Stable sort of a group by key: insertion-sorted runs, then bottom-up merges through the buffers (a tie takes the
    // left element, so equal keys keep their order).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SortGroup(Span<long> keys, Span<int> values, SortBuffers b)
    {
        int n = keys.Length;
        for (int lo = 0; lo < n; lo += InsertionRun)
        {
            int hi = Math.Min(n, lo + InsertionRun);
            for (int i = lo + 1; i < hi; i++)
            {
                long k = keys[i]; int v = values[i];
                int j = i - 1;
                for (; j >= lo && keys[j] > k; j--) { keys[j + 1] = keys[j]; values[j + 1] = values[j]; }
                keys[j + 1] = k; values[j + 1] = v;
            }
        }
        if (n <= InsertionRun) return;
        var srcK = keys; var srcV = values;
        var dstK = b.Keys.AsSpan(0, n); var dstV = b.Values.AsSpan(0, n);
        for (int width = InsertionRun; width < n; width *= 2)
        {
            for (int lo = 0; lo < n; lo += 2 * width)
            {
                int mid = Math.Min(n, lo + width), hi = Math.Min(n, lo + 2 * width), i = lo, j = mid, d = lo;
                while (i < mid && j < hi)
                {
                    if (srcK[j] < srcK[i]) { dstK[d] = srcK[j]; dstV[d++] = srcV[j++]; }
                    else { dstK[d] = srcK[i]; dstV[d++] = srcV[i++]; }
                }
                for (; i < mid; i++, d++) { dstK[d] = srcK[i]; dstV[d] = srcV[i]; }
                for (; j < hi; j++, d++) { dstK[d] = srcK[j]; dstV[d] = srcV[j]; }
            }
            var tk = srcK; srcK = dstK; dstK = tk;
            var tv = srcV; srcV = dstV; dstV = tv;
        }
        if (srcK != keys) { srcK.CopyTo(keys); srcV.CopyTo(values); }
    }
}

/// <summary>
/// One user's distinct events sorted by (hour, behavior, item) and the user's active days (ascending)
/// with 4 behavior counts each. The shared view that both training-time (full history) and
/// serving-time (compact live state) feature lookups read.
/// </summary>
public readonly ref struct UserEvents
{
    public UserEvents(ReadOnlySpan<int> hours, ReadOnlySpan<int> items, ReadOnlySpan<int> categories, ReadOnlySpan<byte> behaviors,
        ReadOnlySpan<int> days, ReadOnlySpan<int> dayCounts)
    {
        Hours = hours; Items = items; Categories = categories; Behaviors = behaviors; Days = days; DayCounts = dayCounts;
    }

    public ReadOnlySpan<int> Hours { get; }
    public ReadOnlySpan<int> Items { get; }
    public ReadOnlySpan<int> Categories { get; }
    public ReadOnlySpan<byte> Behaviors { get; }
    public ReadOnlySpan<int> Days { get; }
    public ReadOnlySpan<int> DayCounts { get; }

    /// <summary>Number of events strictly before <paramref name="hour"/> (events are sorted by hour).</summary>
    public int CountBefore(int hour)
    {
        int lo = 0, hi = Hours.Length;
        while (lo < hi) { int mid = (lo + hi) >>> 1; if (Hours[mid] < hour) lo = mid + 1; else hi = mid; }
        return lo;
    }
}
