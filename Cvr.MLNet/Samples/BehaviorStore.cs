using System.Collections.Concurrent;
using Cvr.MLNet.Data;

namespace Cvr.MLNet.Samples;

/// <summary>
/// What the behavior features read, for any (user, hour):
/// <list type="bullet">
/// <item>in the fitting process, the full <see cref="UserHistory"/> (exact point-in-time history of
/// every past sample; transient, never saved);</item>
/// <item>for requests after the fitted log's end, a compact per-user state — the last
/// <see cref="SequenceLength"/> events and the daily counts of the last 8 days — which is all that
/// serving needs, is what gets saved, and can be extended with live events between retrainings.</item>
/// </list>
/// Reads are lock-free (each user's state is an immutable snapshot swapped atomically on append).
/// </summary>
public sealed class BehaviorStore
{
    private const int KeptDays = BehaviorFeatures.CountDays + 1;
    private readonly ConcurrentDictionary<int, Snapshot> _live;
    private readonly UserHistory? _history;
    private readonly object _appendLock = new();

    private BehaviorStore(int sequenceLength, int fittedFirstHour, int fittedLastHour, UserHistory? history, ConcurrentDictionary<int, Snapshot> live)
    {
        SequenceLength = sequenceLength; FittedFirstHour = fittedFirstHour; FittedLastHour = fittedLastHour; _history = history; _live = live;
    }

    /// <summary>Events kept per user for serving.</summary>
    public int SequenceLength { get; }
    /// <summary>First hour of the fitted log.</summary>
    public int FittedFirstHour { get; }
    /// <summary>Last hour of the fitted log: requests after it read the compact state.</summary>
    public int FittedLastHour { get; }
    /// <summary>True while the full history is attached (in the process that fitted it).</summary>
    public bool HasFullHistory => _history is not null;
    /// <summary>The full history while attached (what <see cref="TryGetEvents"/> reads up to <see cref="FittedLastHour"/>), else null.</summary>
    internal UserHistory? History => _history;
    /// <summary>Users in the compact state.</summary>
    public int UserCount => _live.Count;

    /// <summary>Builds the store from an indexed log.</summary>
    public static BehaviorStore Fit(UserHistory history, int sequenceLength)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentOutOfRangeException.ThrowIfLessThan(sequenceLength, 1);
        var live = new ConcurrentDictionary<int, Snapshot>(Environment.ProcessorCount, Math.Max(31, history.UserCount)); // sized once
        int lastDay = TianchiTime.DayOf(history.LastHour);
        for (int u = 0; u < history.UserCount; u++)
        {
            var ev = history.EventsOf(u);
            int n = ev.Hours.Length, s = Math.Max(0, n - sequenceLength);
            int d0 = 0;
            while (d0 < ev.Days.Length && ev.Days[d0] <= lastDay - KeptDays) d0++;
            live[history.UserIds[u]] = new Snapshot(ev.Hours[s..].ToArray(), ev.Items[s..].ToArray(), ev.Categories[s..].ToArray(),
                ev.Behaviors[s..].ToArray(), ev.Days[d0..].ToArray(), ev.DayCounts[(d0 * 4)..].ToArray());
        }
        return new BehaviorStore(sequenceLength, history.FirstHour, history.LastHour, history, live);
    }

    /// <summary>
    /// The events to compute features of (<paramref name="userId"/>, <paramref name="hour"/>) from;
    /// false when the user has no known events (features are then all padding/zero).
    /// </summary>
    /// <exception cref="InvalidOperationException">A time inside the fitted log after the full history was dropped (a loaded model).</exception>
    public bool TryGetEvents(int userId, int hour, out UserEvents events)
    {
        if (hour > FittedLastHour)
        {
            if (_live.TryGetValue(userId, out var snap)) { events = snap.View(); return true; }
            events = default;
            return false;
        }
        if (_history is null)
            throw new InvalidOperationException(
                $"Time {TianchiTime.ToText(hour)} lies inside the fitted log ({TianchiTime.ToText(FittedFirstHour)} .. {TianchiTime.ToText(FittedLastHour)}). " +
                "A saved model keeps only the compact serving state, which is exact for times after the log's end; " +
                "score historical samples with the transformer returned by Fit.");
        int u = _history.IndexOf(userId);
        if (u < 0) { events = default; return false; }
        events = _history.EventsOf(u);
        return true;
    }

    /// <summary>
    /// Appends a live event (after the fitted log's end) so serving features stay fresh between
    /// retrainings. Exact duplicates of a kept event are ignored, like duplicate rows in the log.
    /// </summary>
    public void Append(int userId, int itemId, int categoryId, BehaviorType behavior, int hour)
    {
        if (behavior is < BehaviorType.Click or > BehaviorType.Buy) throw new ArgumentOutOfRangeException(nameof(behavior), behavior, "behavior must be 1..4.");
        if (hour <= FittedLastHour)
            throw new ArgumentOutOfRangeException(nameof(hour), TianchiTime.ToText(hour),
                $"Live events must come after the fitted log's end ({TianchiTime.ToText(FittedLastHour)}).");
        lock (_appendLock)
        {
            var old = _live.TryGetValue(userId, out var s) ? s : Snapshot.Empty;
            _live[userId] = old.With(itemId, categoryId, (byte)behavior, hour, SequenceLength);
        }
    }

    /// <summary>Writes the compact state (never the full history).</summary>
    public void Write(BinaryWriter w)
    {
        w.Write(SequenceLength); w.Write(FittedFirstHour); w.Write(FittedLastHour);
        var users = _live.Keys.ToArray();
        Array.Sort(users); // deterministic bytes
        w.Write(users.Length);
        foreach (var id in users)
        {
            var s = _live[id];
            w.Write(id);
            w.Write(s.Hours.Length);
            for (int i = 0; i < s.Hours.Length; i++) { w.Write(s.Hours[i]); w.Write(s.Items[i]); w.Write(s.Categories[i]); w.Write(s.Behaviors[i]); }
            w.Write(s.Days.Length);
            for (int i = 0; i < s.Days.Length; i++) { w.Write(s.Days[i]); for (int b = 0; b < 4; b++) w.Write(s.DayCounts[i * 4 + b]); }
        }
    }

    /// <summary>Reads a state written by <see cref="Write"/>, validating every count.</summary>
    public static BehaviorStore Read(BinaryReader r)
    {
        int seq = r.ReadInt32(), first = r.ReadInt32(), last = r.ReadInt32(), users = r.ReadInt32();
        if (seq < 1 || seq > 10_000 || users < 0 || last < first) throw new InvalidDataException($"Corrupt behavior state header (sequence {seq}, users {users}).");
        var live = new ConcurrentDictionary<int, Snapshot>();
        for (int u = 0; u < users; u++)
        {
            int id = r.ReadInt32(), n = r.ReadInt32();
            if (n < 0 || n > seq) throw new InvalidDataException($"Corrupt behavior state: user {id} has {n} events (max {seq}).");
            var h = new int[n]; var it = new int[n]; var c = new int[n]; var b = new byte[n];
            for (int i = 0; i < n; i++) { h[i] = r.ReadInt32(); it[i] = r.ReadInt32(); c[i] = r.ReadInt32(); b[i] = r.ReadByte(); }
            int nd = r.ReadInt32();
            if (nd < 0 || nd > 366) throw new InvalidDataException($"Corrupt behavior state: user {id} has {nd} day entries.");
            var d = new int[nd]; var dc = new int[nd * 4];
            for (int i = 0; i < nd; i++) { d[i] = r.ReadInt32(); for (int k = 0; k < 4; k++) dc[i * 4 + k] = r.ReadInt32(); }
            live[id] = new Snapshot(h, it, c, b, d, dc);
        }
        return new BehaviorStore(seq, first, last, null, live);
    }

    /// <summary>One user's compact state: arrays sorted like <see cref="UserHistory"/>; never mutated.</summary>
    private sealed record Snapshot(int[] Hours, int[] Items, int[] Categories, byte[] Behaviors, int[] Days, int[] DayCounts)
    {
        public static readonly Snapshot Empty = new([], [], [], [], [], []);

        public UserEvents View() => new(Hours, Items, Categories, Behaviors, Days, DayCounts);

        public Snapshot With(int item, int category, byte behavior, int hour, int keep)
        {
            // Insert at the (hour, behavior, item) position; skip exact duplicates.
            int pos = 0;
            while (pos < Hours.Length && Compare(Hours[pos], Behaviors[pos], Items[pos], hour, behavior, item) < 0) pos++;
            if (pos < Hours.Length && Compare(Hours[pos], Behaviors[pos], Items[pos], hour, behavior, item) == 0) return this;
            int[] Ins(int[] a, int v) => [.. a.AsSpan(0, pos), v, .. a.AsSpan(pos)];
            var h = Ins(Hours, hour); var it = Ins(Items, item); var c = Ins(Categories, category);
            byte[] b = [.. Behaviors.AsSpan(0, pos), behavior, .. Behaviors.AsSpan(pos)];
            int drop = Math.Max(0, h.Length - keep);
            // Day counts: add to the event's day, keep only the last 8 days.
            int day = TianchiTime.DayOf(hour);
            var days = new List<int>(Days); var counts = new List<int>(DayCounts);
            int di = days.BinarySearch(day);
            if (di < 0) { di = ~di; days.Insert(di, day); counts.InsertRange(di * 4, [0, 0, 0, 0]); }
            counts[di * 4 + behavior - 1]++;
            int maxDay = days[^1], firstKept = 0;
            while (days[firstKept] <= maxDay - KeptDays) firstKept++;
            return new Snapshot(h[drop..], it[drop..], c[drop..], b[drop..], [.. days.Skip(firstKept)], [.. counts.Skip(firstKept * 4)]);
        }

        private static int Compare(int h1, byte b1, int i1, int h2, byte b2, int i2) =>
            h1 != h2 ? h1.CompareTo(h2) : b1 != b2 ? b1.CompareTo(b2) : ((uint)i1).CompareTo((uint)i2);
    }
}
