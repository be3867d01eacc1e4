using System.Runtime.CompilerServices;
using Cvr.MLNet.Data;
using Cvr.MLNet.Pipeline;
using Cvr.MLNet.Transforms;
using Microsoft.ML;

namespace Cvr.MLNet.Samples;

/// <summary>
/// Click samples with their ESM² labels, column by column, in (hour, user, item) order.
/// A sample is a distinct click (user, item, hour t); <c>FavCart</c> = the user favorites or carts
/// the item within [t, t+H), <c>Buy</c> = the user buys it within [t, t+H). Censored samples
/// (t+H past the log's last hour) are never produced.
/// </summary>
public sealed class CvrSampleSet
{
    internal CvrSampleSet(int[] users, int[] items, int[] categories, int[] hours, bool[] favCart, bool[] buy, float[] weights,
        byte[] paths, int[] delays, int censored, int negativesDropped, int horizon)
    {
        UserIds = users; ItemIds = items; CategoryIds = categories; Hours = hours; FavCart = favCart; Buy = buy;
        Weights = weights; Paths = paths; BuyDelays = delays; CensoredCount = censored; NegativesDropped = negativesDropped;
        HorizonHours = horizon;
    }

    public int Count => UserIds.Length;
    public int[] UserIds { get; }
    public int[] ItemIds { get; }
    public int[] CategoryIds { get; }
    /// <summary>Hour index of each click.</summary>
    public int[] Hours { get; }
    public bool[] FavCart { get; }
    public bool[] Buy { get; }
    /// <summary>1 for kept positives, 1/r for negatives kept at rate r.</summary>
    public float[] Weights { get; }
    /// <summary><see cref="BuyPath"/> of each sample.</summary>
    public byte[] Paths { get; }
    /// <summary>Hours from the click to the first buy within the horizon; -1 when not bought.</summary>
    public int[] BuyDelays { get; }
    /// <summary>Distinct clicks excluded because their horizon runs past the log's end.</summary>
    public int CensoredCount { get; }
    /// <summary>Negatives removed by down-sampling.</summary>
    public int NegativesDropped { get; }
    public int HorizonHours { get; }

    /// <summary>Samples whose click hour is in [fromHour, toHour).</summary>
    public CvrSampleSet Slice(int fromHour, int toHour)
    {
        int lo = LowerBound(fromHour), hi = LowerBound(toHour);
        T[] S<T>(T[] a) => a[lo..hi];
        return new CvrSampleSet(S(UserIds), S(ItemIds), S(CategoryIds), S(Hours), S(FavCart), S(Buy), S(Weights), S(Paths), S(BuyDelays),
            0, 0, HorizonHours);
    }

    private int LowerBound(int hour)
    {
        int lo = 0, hi = Count;
        while (lo < hi) { int mid = (lo + hi) >>> 1; if (Hours[mid] < hour) lo = mid + 1; else hi = mid; }
        return lo;
    }

    /// <summary>
    /// The samples as an ML.NET view: <c>UserId, ItemId, CategoryId</c> (Int32), <c>Time</c> (DateTime),
    /// <c>FavCart, Buy</c> (Boolean), <c>Weight</c> (Single), <c>BuyPath, BuyDelayHours</c> (Int32).
    /// </summary>
    public IDataView ToDataView()
    {
        var paths = Array.ConvertAll(Paths, p => (int)p);
        return new ArrayDataView(Count,
        [
            ArrayColumn.Int32(CvrColumns.UserId, UserIds), ArrayColumn.Int32(CvrColumns.ItemId, ItemIds),
            ArrayColumn.Int32(CvrColumns.CategoryId, CategoryIds), ArrayColumn.HourTime(CvrColumns.Time, Hours),
            ArrayColumn.Boolean(CvrColumns.FavCart, FavCart), ArrayColumn.Boolean(CvrColumns.Buy, Buy),
            ArrayColumn.Single(CvrColumns.Weight, Weights), ArrayColumn.Int32(CvrColumns.BuyPath, paths),
            ArrayColumn.Int32(CvrColumns.BuyDelayHours, BuyDelays),
        ]);
    }

    /// <summary>Builds the samples of <paramref name="log"/>.</summary>
    public static CvrSampleSet Build(EventLog log, CvrSampleOptions? options = null) =>
        Build(UserHistory.Build(log), options);

    /// <summary>Builds the samples from an already indexed log.</summary>
    public static CvrSampleSet Build(UserHistory history, CvrSampleOptions? options = null)
    {
        options ??= new CvrSampleOptions();
        options.Check();
        int h = options.HorizonHours;
        int from = options.FromHour ?? int.MinValue, to = options.ToHour ?? int.MaxValue;
        int lastValid = history.LastHour - h + 1; // a click at t is labelled iff t + H - 1 <= last hour
        float negWeight = (float)(1.0 / options.NegativeKeepRate);
        ulong keepThreshold = options.NegativeKeepRate >= 1 ? ulong.MaxValue : (ulong)(options.NegativeKeepRate * ulong.MaxValue);

        // Users are independent: contiguous user ranges in parallel. A first pass counts each range's clicks per hour
        // (the samples before down-sampling), which places every sample: the output is in (hour, user, item) order,
        // so range k's samples of hour t go after ranges 0..k−1's of hour t, and each range writes its samples
        // straight into their final slots. Negatives dropped by down-sampling leave a marked hole, closed at the end.
        int rangeCount = Math.Max(1, Math.Min(history.UserCount, Environment.ProcessorCount * 8));
        int RangeStart(int k) => (int)((long)history.UserCount * k / rangeCount);
        // The hours a sample can have: the log's, cut by the options' window and the horizon.
        int first = Math.Max(history.FirstHour, from), span = (int)Math.Clamp((long)Math.Min(lastValid, (long)to - 1) - first + 1, 0, int.MaxValue);
        var slots = new int[rangeCount][];
        var censoredOf = new int[rangeCount];
        Parallel.For(0, rangeCount, k =>
        {
            var perHour = new int[span];
            int censoredHere = 0;
            for (int u = RangeStart(k), end = RangeStart(k + 1); u < end; u++)
            {
                var ev = history.EventsOf(u);
                for (int i = 0; i < ev.Hours.Length; i++)
                {
                    int t = ev.Hours[i];
                    if (ev.Behaviors[i] != (byte)BehaviorType.Click || t < from || t >= to) continue;
                    if (t > lastValid) censoredHere++;
                    else perHour[t - first]++;
                }
            }
            slots[k] = perHour; censoredOf[k] = censoredHere;
        });
        int count = 0;
        for (int t = 0; t < span; t++)
            for (int k = 0; k < rangeCount; k++) { int size = slots[k][t]; slots[k][t] = count; count += size; }

        var users = new int[count]; var items = new int[count]; var cats = new int[count]; var hours = new int[count];
        var fav = new bool[count]; var buy = new bool[count]; var wts = new float[count]; var paths = new byte[count]; var delays = new int[count];
        var droppedOf = new int[rangeCount];
        Parallel.For(0, rangeCount, () => new ItemGroups(), [MethodImpl(MethodImplOptions.AggressiveOptimization)] (k, _, groups) =>
        {
            var slot = slots[k];
            int droppedHere = 0;
            for (int u = RangeStart(k), end = RangeStart(k + 1); u < end; u++)
            {
                var ev = history.EventsOf(u);
                var evHours = ev.Hours; var evItems = ev.Items; var evBehaviors = ev.Behaviors;
                // The user's events grouped by item, each group in (hour, behavior) order (a stable counting sort of the
                // (hour, behavior, item)-ordered events): a click's label window is the rest of its group, and within an
                // hour the click (behavior 1) comes before fav/cart/buy, so same-hour events count as after it.
                var (order, position, groupEnd, groupOf) = groups.Group(evItems);
                int userId = history.UserIds[u];
                // Clicks in event order, (hour, item): the order of the user's samples in the set.
                for (int i = 0; i < evHours.Length; i++)
                {
                    int t = evHours[i];
                    if (evBehaviors[i] != (byte)BehaviorType.Click || t < from || t >= to || t > lastValid) continue;
                    bool isFav = false, isBuy = false, sawFav = false, sawCart = false;
                    int delay = -1;
                    byte path = 0;
                    for (int j = position[i] + 1, groupStop = groupEnd[groupOf[i]]; j < groupStop; j++)
                    {
                        int f = order[j];
                        if (evHours[f] >= t + h) break;
                        switch ((BehaviorType)evBehaviors[f])
                        {
                            case BehaviorType.Favorite: isFav = true; sawFav = true; break;
                            case BehaviorType.Cart: isFav = true; sawCart = true; break;
                            case BehaviorType.Buy when !isBuy:
                                isBuy = true;
                                delay = evHours[f] - t;
                                path = (byte)(sawCart ? BuyPath.AfterCart : sawFav ? BuyPath.AfterFavorite : BuyPath.Direct);
                                // Same-hour favs/carts sort before the buy (behavior 2, 3 < 4), so they count as preceding it.
                                break;
                        }
                    }
                    int d = slot[t - first]++;
                    int item = evItems[i];
                    float weight = 1f;
                    if (!isFav && !isBuy && keepThreshold != ulong.MaxValue)
                    {
                        if (Mix(options.Seed, userId, item, t) > keepThreshold) { hours[d] = DroppedHour; droppedHere++; continue; }
                        weight = negWeight;
                    }
                    users[d] = userId; items[d] = item; cats[d] = ev.Categories[i]; hours[d] = t;
                    fav[d] = isFav; buy[d] = isBuy; wts[d] = weight; paths[d] = path; delays[d] = delay;
                }
            }
            droppedOf[k] = droppedHere;
            return groups;
        }, _ => { });
        int censored = censoredOf.Sum(), dropped = droppedOf.Sum();
        if (dropped > 0)
        {
            // Close the holes, keeping the order.
            int kept = count - dropped;
            T[] Keep<T>(T[] a)
            {
                var r = new T[kept];
                for (int i = 0, w = 0; i < count; i++) if (hours[i] != DroppedHour) r[w++] = a[i];
                return r;
            }
            (users, items, cats, fav, buy, wts, paths, delays) = (Keep(users), Keep(items), Keep(cats), Keep(fav), Keep(buy), Keep(wts), Keep(paths), Keep(delays));
            hours = Keep(hours);
        }
        return new CvrSampleSet(users, items, cats, hours, fav, buy, wts, paths, delays, censored, dropped, h);
    }

    /// <summary>Marks a dropped negative's slot until the holes are closed (no real hour is this).</summary>
    private const int DroppedHour = int.MinValue;

    /// <summary>A worker's buffers for grouping one user's events by item.</summary>
    private sealed class ItemGroups
    {
        private readonly SlotTable _slots = new();
        private int[] _order = new int[64], _position = new int[64], _groupOf = new int[64], _groupEnd = new int[64];

        /// <summary>
        /// Stable grouping of events by item: <c>order</c> lists the events group after group (groups in order of first
        /// appearance), <c>position</c>[i] is event i's place in it, <c>groupOf</c>[i] its group, and
        /// <c>groupEnd</c>[g] the end of group g in <c>order</c>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public (int[] Order, int[] Position, int[] GroupEnd, int[] GroupOf) Group(ReadOnlySpan<int> items)
        {
            int n = items.Length;
            if (_order.Length < n)
            {
                int size = Math.Max(n, 2 * _order.Length);
                _order = new int[size]; _position = new int[size]; _groupOf = new int[size]; _groupEnd = new int[size];
            }
            var order = _order; var position = _position; var groupOf = _groupOf; var groupEnd = _groupEnd;
            _slots.Reset(n);
            for (int i = 0; i < n; i++)
            {
                int g = _slots.GetOrAdd(items[i], out bool added);
                if (added) groupEnd[g] = 0;
                groupEnd[g]++;
                groupOf[i] = g;
            }
            for (int g = 0, at = 0; g < _slots.Count; g++) { at += groupEnd[g]; groupEnd[g] = at; }
            // Filled back to front, so each group's events land in event order and groupEnd[g] ends at the group's start;
            // then it is moved back to the end.
            for (int i = n - 1; i >= 0; i--) { int p = --groupEnd[groupOf[i]]; order[p] = i; position[i] = p; }
            for (int g = 0; g < _slots.Count; g++) groupEnd[g] = g + 1 < _slots.Count ? groupEnd[g + 1] : n;
            return (order, position, groupEnd, groupOf);
        }
    }

    /// <summary>A 64-bit mix of (seed, user, item, hour): down-sampling independent of row order.</summary>
    private static ulong Mix(int seed, int user, int item, int hour)
    {
        ulong x = (ulong)(uint)seed * 0x9E3779B97F4A7C15UL ^ (ulong)(uint)user << 32 ^ (uint)item;
        x ^= (ulong)(uint)hour * 0xBF58476D1CE4E5B9UL;
        x ^= x >> 30; x *= 0xBF58476D1CE4E5B9UL; x ^= x >> 27; x *= 0x94D049BB133111EBUL; x ^= x >> 31;
        return x;
    }
}
