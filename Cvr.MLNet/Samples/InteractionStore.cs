using System.Collections.Concurrent;
using Cvr.MLNet.Data;

namespace Cvr.MLNet.Samples;

/// <summary>
/// What the interaction features read, for any (user, item, category, hour) — the same split as
/// <see cref="BehaviorStore"/>:
/// <list type="bullet">
/// <item>in the fitting process, the exact point-in-time <see cref="InteractionIndex"/> (transient, never saved);</item>
/// <item>for requests after the fitted log's end, a compact state: per user the totals over the log, per
/// user×category and user×item the totals and last hour, the user's events of the log's last 24 hours
/// (category and hour only), and every item's totals — plus the live events appended since, kept raw so
/// that a request still sees only events strictly before its hour.</item>
/// </list>
/// Reads are lock-free (per-user immutable snapshots swapped atomically on append).
/// </summary>
public sealed class InteractionStore
{
    private readonly InteractionIndex? _index;
    // The compact state is built on first need (a request after the log's end, an append, a save), so that
    // fitting for training alone never pays for it.
    private readonly Lazy<(ConcurrentDictionary<int, UserState> Users, Dictionary<int, InteractionTotals> Items)> _compact;
    private ConcurrentDictionary<int, UserState> _users => _compact.Value.Users;
    private Dictionary<int, InteractionTotals> _items => _compact.Value.Items;
    private readonly ConcurrentDictionary<int, LiveItemEvent[]> _itemLive = new();
    private readonly object _appendLock = new();

    private InteractionStore(int firstHour, int lastHour, InteractionIndex? index,
        Func<(ConcurrentDictionary<int, UserState>, Dictionary<int, InteractionTotals>)> compact)
    {
        FittedFirstHour = firstHour; FittedLastHour = lastHour; _index = index;
        _compact = new(compact, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>First hour of the fitted log.</summary>
    public int FittedFirstHour { get; }
    /// <summary>Last hour of the fitted log: requests after it read the compact state.</summary>
    public int FittedLastHour { get; }
    /// <summary>The exact index, while attached (in the process that fitted it).</summary>
    internal InteractionIndex? Index => _index;
    /// <summary>True while the exact index is attached (in the process that fitted it).</summary>
    public bool HasFullHistory => _index is not null;
    /// <summary>Users in the compact state.</summary>
    public int UserCount => _users.Count;
    /// <summary>Items in the compact state.</summary>
    public int ItemCount => _items.Count;
    /// <summary>User×item runs held by the compact state (its largest part).</summary>
    public long UserItemPairCount => _users.Values.Sum(s => (long)s.Items.Count);

    /// <summary>Builds the store (exact index + compact state) from an indexed log.</summary>
    public static InteractionStore Fit(UserHistory history) => Fit(InteractionIndex.Build(history));

    /// <summary>Builds the compact state from <paramref name="index"/> and keeps the index for in-log times.</summary>
    public static InteractionStore Fit(InteractionIndex index)
    {
        ArgumentNullException.ThrowIfNull(index);
        return new InteractionStore(index.History.FirstHour, index.History.LastHour, index, () => Compact(index));
    }

    private static (ConcurrentDictionary<int, UserState>, Dictionary<int, InteractionTotals>) Compact(InteractionIndex index)
    {
        var h = index.History;
        var users = new ConcurrentDictionary<int, UserState>();
        int recentFrom = h.LastHour - InteractionFeatures.RecentHours + 1;
        Parallel.For(0, h.UserCount, u =>
        {
            Span<int> c = stackalloc int[4];
            index.UserTotals(u, c);
            var cats = index.UserRuns(u, byItem: false).ToDictionary(r => r.Key, r => r.Totals);
            var items = index.UserRuns(u, byItem: true).ToDictionary(r => r.Key, r => r.Totals);
            var ev = h.EventsOf(u);
            var recent = new List<RecentEvent>();
            for (int p = ev.CountBefore(recentFrom); p < ev.Hours.Length; p++) recent.Add(new RecentEvent(ev.Categories[p], ev.Hours[p]));
            users[h.UserIds[u]] = new UserState(new InteractionTotals(c[0], c[1], c[2], c[3], int.MinValue), cats, items, [.. recent], []);
        });
        return (users, index.ItemTotals().ToDictionary(r => r.Item, r => r.Totals));
    }

    /// <summary>
    /// Fills the <see cref="InteractionFeatures.Length"/> values of a sample or request: exact from the
    /// index inside the fitted log, from the compact state (plus live events) after it.
    /// </summary>
    /// <exception cref="InvalidOperationException">A time inside the fitted log after the index was dropped (a loaded model).</exception>
    public void Fill(int userId, int itemId, int categoryId, int hour, Span<float> values)
    {
        if (hour <= FittedLastHour)
        {
            if (_index is null)
                throw new InvalidOperationException(
                    $"Time {TianchiTime.ToText(hour)} lies inside the fitted log ({TianchiTime.ToText(FittedFirstHour)} .. {TianchiTime.ToText(FittedLastHour)}). " +
                    "A saved model keeps only the compact serving state, which is exact for times after the log's end; " +
                    "score historical samples with the transformer returned by Fit.");
            _index.Fill(userId, itemId, categoryId, hour, values);
            return;
        }
        values[..InteractionFeatures.Length].Clear();
        int catLast = int.MinValue, itemLast = int.MinValue;
        if (_users.TryGetValue(userId, out var s))
        {
            s.Totals.AddTo(values, InteractionFeatures.UserCounts);
            if (s.Categories.TryGetValue(categoryId, out var ct)) { ct.AddTo(values, InteractionFeatures.UserCategoryCounts); catLast = ct.LastHour; }
            if (s.Items.TryGetValue(itemId, out var it)) { it.AddTo(values, InteractionFeatures.UserItemCounts); itemLast = it.LastHour; }
            int recentFrom = hour - InteractionFeatures.RecentHours;
            foreach (var r in s.Recent) if (r.Category == categoryId && r.Hour >= recentFrom) values[InteractionFeatures.UserCategoryRecent]++;
            foreach (var e in s.Live)
            {
                if (e.Hour >= hour) continue;
                values[InteractionFeatures.UserCounts + e.Behavior - 1]++;
                if (e.Category == categoryId)
                {
                    values[InteractionFeatures.UserCategoryCounts + e.Behavior - 1]++;
                    if (e.Hour >= recentFrom) values[InteractionFeatures.UserCategoryRecent]++;
                    catLast = Math.Max(catLast, e.Hour);
                }
                if (e.Item == itemId) { values[InteractionFeatures.UserItemCounts + e.Behavior - 1]++; itemLast = Math.Max(itemLast, e.Hour); }
            }
        }
        values[InteractionFeatures.UserCategoryHoursSince] = InteractionFeatures.HoursSince(hour, catLast);
        values[InteractionFeatures.UserItemHoursSince] = InteractionFeatures.HoursSince(hour, itemLast);
        if (_items.TryGetValue(itemId, out var itemTotals)) itemTotals.AddTo(values, InteractionFeatures.ItemCounts);
        if (_itemLive.TryGetValue(itemId, out var live))
            foreach (var e in live) if (e.Hour < hour) values[InteractionFeatures.ItemCounts + e.Behavior - 1]++;
    }

    /// <summary>
    /// Appends a live event (after the fitted log's end). Exact duplicates of an appended event
    /// (same user, item, behavior and hour) are ignored, as duplicate rows of the log are.
    /// </summary>
    public void Append(int userId, int itemId, int categoryId, BehaviorType behavior, int hour)
    {
        if (behavior is < BehaviorType.Click or > BehaviorType.Buy) throw new ArgumentOutOfRangeException(nameof(behavior), behavior, "behavior must be 1..4.");
        if (hour <= FittedLastHour)
            throw new ArgumentOutOfRangeException(nameof(hour), TianchiTime.ToText(hour),
                $"Live events must come after the fitted log's end ({TianchiTime.ToText(FittedLastHour)}).");
        var e = new LiveEvent(itemId, categoryId, (byte)behavior, hour);
        lock (_appendLock)
        {
            var old = _users.TryGetValue(userId, out var s) ? s : UserState.Empty;
            foreach (var x in old.Live) if (x.Item == e.Item && x.Behavior == e.Behavior && x.Hour == e.Hour) return;
            _users[userId] = old with { Live = [.. old.Live, e] };
            AddItemLive(itemId, new LiveItemEvent(e.Behavior, hour));
        }
    }

    private void AddItemLive(int item, LiveItemEvent e) =>
        _itemLive.AddOrUpdate(item, _ => [e], (_, old) => [.. old, e]);

    /// <summary>Writes the compact state (never the index), in a deterministic order.</summary>
    public void Write(BinaryWriter w)
    {
        w.Write(FittedFirstHour); w.Write(FittedLastHour);
        var ids = _users.Keys.ToArray();
        Array.Sort(ids);
        w.Write(ids.Length);
        foreach (var id in ids)
        {
            var s = _users[id];
            w.Write(id);
            s.Totals.Write(w);
            WriteRuns(w, s.Categories);
            WriteRuns(w, s.Items);
            w.Write(s.Recent.Length);
            foreach (var r in s.Recent) { w.Write(r.Category); w.Write(r.Hour); }
            w.Write(s.Live.Length);
            foreach (var e in s.Live) { w.Write(e.Item); w.Write(e.Category); w.Write(e.Behavior); w.Write(e.Hour); }
        }
        WriteRuns(w, _items);
    }

    private static void WriteRuns(BinaryWriter w, Dictionary<int, InteractionTotals> runs)
    {
        var keys = runs.Keys.ToArray();
        Array.Sort(keys);
        w.Write(keys.Length);
        foreach (var k in keys) { w.Write(k); runs[k].Write(w); }
    }

    /// <summary>Reads a state written by <see cref="Write"/>, validating every count.</summary>
    public static InteractionStore Read(BinaryReader r)
    {
        int first = r.ReadInt32(), last = r.ReadInt32(), n = r.ReadInt32();
        if (last < first || n < 0) throw new InvalidDataException($"Corrupt interaction state header (hours {first}..{last}, users {n}).");
        var users = new ConcurrentDictionary<int, UserState>();
        for (int u = 0; u < n; u++)
        {
            int id = r.ReadInt32();
            var totals = InteractionTotals.Read(r, $"user {id}");
            var cats = ReadRuns(r, $"user {id} categories");
            var items = ReadRuns(r, $"user {id} items");
            var recent = new RecentEvent[ReadLength(r, $"user {id} recent events")];
            for (int i = 0; i < recent.Length; i++) recent[i] = new RecentEvent(r.ReadInt32(), r.ReadInt32());
            var live = new LiveEvent[ReadLength(r, $"user {id} live events")];
            for (int i = 0; i < live.Length; i++)
            {
                live[i] = new LiveEvent(r.ReadInt32(), r.ReadInt32(), r.ReadByte(), r.ReadInt32());
                if (live[i].Behavior is < 1 or > 4 || live[i].Hour <= last)
                    throw new InvalidDataException($"Corrupt interaction state: user {id} live event {i} (behavior {live[i].Behavior}, hour {live[i].Hour}).");
            }
            users[id] = new UserState(totals, cats, items, recent, live);
        }
        var itemTotals = ReadRuns(r, "items");
        var store = new InteractionStore(first, last, null, () => (users, itemTotals));
        foreach (var (_, s) in users)
            foreach (var e in s.Live) store.AddItemLive(e.Item, new LiveItemEvent(e.Behavior, e.Hour));
        return store;
    }

    private static Dictionary<int, InteractionTotals> ReadRuns(BinaryReader r, string what)
    {
        int n = ReadLength(r, what);
        var d = new Dictionary<int, InteractionTotals>(n);
        for (int i = 0; i < n; i++)
        {
            int key = r.ReadInt32();
            if (!d.TryAdd(key, InteractionTotals.Read(r, $"{what} key {key}"))) throw new InvalidDataException($"Corrupt interaction state: {what} key {key} repeated.");
        }
        return d;
    }

    private static int ReadLength(BinaryReader r, string what)
    {
        int n = r.ReadInt32();
        if (n < 0 || n > 100_000_000) throw new InvalidDataException($"Corrupt interaction state: {what} count {n}.");
        return n;
    }

    private readonly record struct RecentEvent(int Category, int Hour);
    private readonly record struct LiveEvent(int Item, int Category, byte Behavior, int Hour);
    private readonly record struct LiveItemEvent(byte Behavior, int Hour);

    /// <summary>One user's compact state; never mutated (appends swap in a copy with a longer live list).</summary>
    private sealed record UserState(InteractionTotals Totals, Dictionary<int, InteractionTotals> Categories,
        Dictionary<int, InteractionTotals> Items, RecentEvent[] Recent, LiveEvent[] Live)
    {
        public static readonly UserState Empty = new(new InteractionTotals(), [], [], [], []);
    }
}
