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

        // Users are independent: contiguous user ranges in parallel, each into its own lists, then
        // stitched in range order by a stable counting sort on the hour (the sequential result exactly).
        int rangeCount = Math.Max(1, Math.Min(history.UserCount, Environment.ProcessorCount * 8));
        var ranges = new RangeSamples[rangeCount];
        Parallel.For(0, rangeCount, k =>
        {
            var part = new RangeSamples();
            var keys = new long[64];
            var idx = new int[64];
            int uEnd = (int)((long)history.UserCount * (k + 1) / rangeCount);
            for (int u = (int)((long)history.UserCount * k / rangeCount); u < uEnd; u++)
            {
                var ev = history.EventsOf(u);
                int n = ev.Hours.Length;
                if (keys.Length < n) { keys = new long[Math.Max(n, keys.Length * 2)]; idx = new int[keys.Length]; }
                // Per-user order by (item, hour, behavior): a pair's events are contiguous, and within an
                // hour the click (behavior 1) sorts before fav/cart/buy, so same-hour events count as after it.
                for (int i = 0; i < n; i++)
                {
                    keys[i] = ((long)(uint)ev.Items[i] << 31) | ((long)(ev.Hours[i] - history.FirstHour) << 3) | ev.Behaviors[i];
                    idx[i] = i;
                }
                Array.Sort(keys, idx, 0, n);
                int userId = history.UserIds[u];
                for (int i = 0; i < n; i++)
                {
                    int e = idx[i];
                    if (ev.Behaviors[e] != (byte)BehaviorType.Click) continue;
                    int t = ev.Hours[e];
                    if (t < from || t >= to) continue;
                    if (t > lastValid) { part.Censored++; continue; }
                    int item = ev.Items[e];
                    bool isFav = false, isBuy = false, sawFav = false, sawCart = false;
                    int delay = -1;
                    byte path = 0;
                    for (int j = i + 1; j < n; j++)
                    {
                        int f = idx[j];
                        if (ev.Items[f] != item || ev.Hours[f] >= t + h) break;
                        switch ((BehaviorType)ev.Behaviors[f])
                        {
                            case BehaviorType.Favorite: isFav = true; sawFav = true; break;
                            case BehaviorType.Cart: isFav = true; sawCart = true; break;
                            case BehaviorType.Buy when !isBuy:
                                isBuy = true;
                                delay = ev.Hours[f] - t;
                                path = (byte)(sawCart ? BuyPath.AfterCart : sawFav ? BuyPath.AfterFavorite : BuyPath.Direct);
                                // Same-hour favs/carts sort before the buy (behavior 2, 3 < 4), so they count as preceding it.
                                break;
                        }
                    }
                    float weight = 1f;
                    if (!isFav && !isBuy)
                    {
                        if (keepThreshold != ulong.MaxValue && Mix(options.Seed, userId, item, t) > keepThreshold) { part.Dropped++; continue; }
                        weight = keepThreshold == ulong.MaxValue ? 1f : negWeight;
                    }
                    part.Add(userId, item, ev.Categories[e], t, isFav, isBuy, weight, path, delay);
                }
            }
            ranges[k] = part;
        });

        // Stable counting sort by hour over the ranges in order: (hour, user, item) order. Each range's slots per hour
        // follow the earlier ranges' (hour-major), so the ranges scatter in parallel into disjoint slots.
        int count = 0, censored = 0, dropped = 0, minH = int.MaxValue, maxH = int.MinValue;
        foreach (var part in ranges)
        {
            count += part.Hours.Count; censored += part.Censored; dropped += part.Dropped;
            foreach (var t in part.Hours) { minH = Math.Min(minH, t); maxH = Math.Max(maxH, t); }
        }
        var users = new int[count]; var items = new int[count]; var cats = new int[count]; var hours = new int[count];
        var fav = new bool[count]; var buy = new bool[count]; var wts = new float[count]; var paths = new byte[count]; var delays = new int[count];
        if (count > 0)
        {
            int span = maxH - minH + 1;
            var next = new int[rangeCount][];
            Parallel.For(0, rangeCount, k =>
            {
                var perHour = new int[span];
                foreach (var t in ranges[k].Hours) perHour[t - minH]++;
                next[k] = perHour;
            });
            for (int t = 0, at = 0; t < span; t++)
                for (int k = 0; k < rangeCount; k++) { int size = next[k][t]; next[k][t] = at; at += size; }
            Parallel.For(0, rangeCount, k =>
            {
                var part = ranges[k]; var slot = next[k];
                for (int i = 0; i < part.Hours.Count; i++)
                {
                    int d = slot[part.Hours[i] - minH]++;
                    users[d] = part.Users[i]; items[d] = part.Items[i]; cats[d] = part.Categories[i]; hours[d] = part.Hours[i];
                    fav[d] = part.FavCart[i]; buy[d] = part.Buy[i]; wts[d] = part.Weights[i]; paths[d] = part.Paths[i]; delays[d] = part.Delays[i];
                }
            });
        }
        return new CvrSampleSet(users, items, cats, hours, fav, buy, wts, paths, delays, censored, dropped, h);
    }

    /// <summary>The samples of one range of users, in user order.</summary>
    private sealed class RangeSamples
    {
        public readonly List<int> Users = [], Items = [], Categories = [], Hours = [], Delays = [];
        public readonly List<bool> FavCart = [], Buy = [];
        public readonly List<float> Weights = [];
        public readonly List<byte> Paths = [];
        public int Censored, Dropped;

        public void Add(int user, int item, int category, int hour, bool favCart, bool buy, float weight, byte path, int delay)
        {
            Users.Add(user); Items.Add(item); Categories.Add(category); Hours.Add(hour);
            FavCart.Add(favCart); Buy.Add(buy); Weights.Add(weight); Paths.Add(path); Delays.Add(delay);
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
