using Cvr.MLNet.Data;

namespace Cvr.MLNet.Evaluation;

/// <summary>
/// The (user, item) pairs scored for a day of the Tianchi task: every pair the user interacted with in
/// the <c>lookbackDays</c> days before the day, restricted to the item subset P. Sorted by (user, item);
/// the category is the one of the pair's latest event.
/// </summary>
public sealed class TianchiCandidates
{
    private TianchiCandidates(int dayStartHour, int[] users, int[] items, int[] categories)
    {
        DayStartHour = dayStartHour; UserIds = users; ItemIds = items; CategoryIds = categories;
    }

    /// <summary>Hour index of the scored day's 00:00.</summary>
    public int DayStartHour { get; }
    public int Count => UserIds.Length;
    public int[] UserIds { get; }
    public int[] ItemIds { get; }
    public int[] CategoryIds { get; }

    /// <summary>The pair at <paramref name="i"/>.</summary>
    public (int User, int Item) this[int i] => (UserIds[i], ItemIds[i]);

    /// <summary>Builds the candidates of the day starting at <paramref name="dayStartHour"/> from events in [day − lookback, day).</summary>
    /// <param name="log">The event log.</param>
    /// <param name="dayStartHour">Hour index of the scored day's 00:00.</param>
    /// <param name="lookbackDays">Days of history that make a pair a candidate.</param>
    /// <param name="items">The item subset P; null means every item.</param>
    public static TianchiCandidates Build(EventLog log, int dayStartHour, int lookbackDays, ItemCatalog? items)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentOutOfRangeException.ThrowIfLessThan(lookbackDays, 1);
        int from = dayStartHour - lookbackDays * 24;
        var latest = new Dictionary<(int User, int Item), (int Hour, int Category)>();
        var hours = log.HourSpan; var users = log.UserIdSpan; var its = log.ItemIdSpan; var cats = log.CategoryIdSpan;
        for (int r = 0; r < log.Count; r++)
        {
            int h = hours[r];
            if (h < from || h >= dayStartHour) continue;
            if (items is not null && !items.Contains(its[r])) continue;
            var key = (users[r], its[r]);
            if (!latest.TryGetValue(key, out var v) || h >= v.Hour) latest[key] = (h, cats[r]);
        }
        var keys = latest.Keys.ToArray();
        Array.Sort(keys);
        return new TianchiCandidates(dayStartHour, keys.Select(k => k.User).ToArray(), keys.Select(k => k.Item).ToArray(),
            keys.Select(k => latest[k].Category).ToArray());
    }

    /// <summary>
    /// The day's truth as the competition defined it: distinct (user, item ∈ P) pairs bought in
    /// [dayStartHour, dayStartHour + 24).
    /// </summary>
    public static HashSet<(int User, int Item)> Purchases(EventLog log, int dayStartHour, ItemCatalog? items)
    {
        ArgumentNullException.ThrowIfNull(log);
        var truth = new HashSet<(int, int)>();
        var hours = log.HourSpan; var beh = log.BehaviorSpan;
        for (int r = 0; r < log.Count; r++)
        {
            if (beh[r] != (byte)BehaviorType.Buy || hours[r] < dayStartHour || hours[r] >= dayStartHour + 24) continue;
            int item = log.ItemIdSpan[r];
            if (items is null || items.Contains(item)) truth.Add((log.UserIdSpan[r], item));
        }
        return truth;
    }

    /// <summary>Share of <paramref name="truth"/> present among the candidates (it caps recall).</summary>
    public double Recall(HashSet<(int User, int Item)> truth)
    {
        if (truth.Count == 0) return double.NaN;
        int hit = 0;
        for (int i = 0; i < Count; i++) if (truth.Contains(this[i])) hit++;
        return (double)hit / truth.Count;
    }

    /// <summary>Whether each candidate is in <paramref name="truth"/>.</summary>
    public bool[] Labels(HashSet<(int User, int Item)> truth)
    {
        var y = new bool[Count];
        for (int i = 0; i < Count; i++) y[i] = truth.Contains(this[i]);
        return y;
    }
}
