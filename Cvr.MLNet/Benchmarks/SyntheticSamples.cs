using Cvr.MLNet.Training;

namespace Cvr.MLNet.Benchmarks;

/// <summary>
/// A pool of model-input rows drawn like the PyTorch reference's <c>make_data</c>
/// (<c>shared/bench/reference/cvr_torch.py</c>): Zipf-like item popularity over 400 k raw items hashed
/// into the item table, one raw category per item, 60% full histories (the rest 0–19 behaviors),
/// 30% of candidates revisiting a history item, diurnal hours, Poisson counts × per-user activity,
/// ≈3% fav/cart and ≈1% buy labels. Not bit-identical to the reference (different RNG), but the same
/// shapes, index spread and padding share, which is what the speed depends on.
/// </summary>
internal static class SyntheticSamples
{
    private const int RawItems = 400_000, RawCategories = 9_000, RawUsers = 10_000;

    /// <summary>Multiplicative (Knuth) hash into <paramref name="n"/> buckets, as the reference's <c>hash_bucket</c>.</summary>
    internal static int Bucket(long raw, int n) => (int)((ulong)(raw * 2654435761L) % 4294967296UL % (ulong)n);

    public static FeatureTable Create(int n, int t, int userBuckets, int itemBuckets, int categoryBuckets, int seed = 0, int interactions = 0)
    {
        var rng = new Random(seed);
        var rawItem = new long[RawItems]; var itemCat = new int[RawItems];
        for (int i = 0; i < RawItems; i++) { rawItem[i] = rng.NextInt64(1, 400_000_000); itemCat[i] = rng.Next(RawCategories); }
        var rawCat = new long[RawCategories];
        for (int i = 0; i < RawCategories; i++) rawCat[i] = rng.NextInt64(1, 15_000);
        var rawUser = new long[RawUsers];
        for (int i = 0; i < RawUsers; i++) rawUser[i] = rng.NextInt64(1, 150_000_000);
        var itemCdf = Cdf(RawItems, r => Math.Pow(r + 50.0, -0.9));
        var userCdf = Cdf(RawUsers, r => Math.Pow(r + 20.0, -0.5));
        var hourCdf = Cdf(24, h => new[] { 1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 6, 7, 8, 8, 6, 3 }[h]);
        double[] typeCdf = [0.90, 0.93, 0.98, 1.0];
        double[] rates = [4.0, 0.1, 0.15, 0.05];

        var tb = FeatureTable.Create(n, t, interactions: interactions);
        var seqRaw = new int[t];
        for (int s = 0; s < n; s++)
        {
            tb.User[s] = Bucket(rawUser[Draw(userCdf, rng)], userBuckets);
            int len = rng.NextDouble() < 0.6 ? t : rng.Next(t);
            tb.SeqLen[s] = len;
            bool favCartInSeq = false;
            int hoursAgo = 0;
            for (int p = 0; p < t; p++)
            {
                int d = s * t + p;
                if (p >= len) continue; // padding at the end: zeros
                int raw = Draw(itemCdf, rng);
                seqRaw[p] = raw;
                tb.SeqItems[d] = Bucket(rawItem[raw], itemBuckets);
                tb.SeqCategories[d] = Bucket(rawCat[itemCat[raw]], categoryBuckets);
                tb.SeqBehaviors[d] = (byte)(1 + Draw(typeCdf, rng));
                hoursAgo += rng.Next(0, 12);
                tb.SeqHoursAgo[d] = hoursAgo;
            }
            int cand = Draw(itemCdf, rng);
            bool revisit = len > 0 && rng.NextDouble() < 0.3;
            if (revisit)
            {
                int p = rng.Next(len);
                cand = seqRaw[p];
                favCartInSeq = tb.SeqBehaviors[s * t + p] is 2 or 3;
            }
            tb.Item[s] = Bucket(rawItem[cand], itemBuckets);
            tb.Category[s] = Bucket(rawCat[itemCat[cand]], categoryBuckets);
            int weekday = rng.Next(7);
            tb.Weekday[s] = weekday;
            tb.Hour[s] = Draw(hourCdf, rng);
            tb.TimeDense[s * 3] = weekday >= 5 ? 1f : 0f;
            tb.TimeDense[s * 3 + 1] = (float)rng.NextDouble();
            tb.TimeDense[s * 3 + 2] = (float)rng.NextDouble();
            double activity = Math.Exp(0.7 * Gaussian(rng));
            for (int k = 0; k < 28; k++) tb.Counts[s * 28 + k] = MathF.Log(1f + Poisson(rates[k % 4] * activity, rng));
            // Labels: a learnable lift for revisits; ≈3% fav/cart and ≈1% buy overall.
            double pFav = revisit ? (favCartInSeq ? 0.20 : 0.08) : 0.015;
            bool fav = rng.NextDouble() < pFav;
            bool buy = fav ? rng.NextDouble() < 0.15 : rng.NextDouble() < (revisit ? 0.012 : 0.004);
            tb.FavCart[s] = fav; tb.Buy[s] = buy; tb.Weight[s] = 1f;
        }
        // Interaction features (counts and hours) from their own stream, so the other columns do not depend on K.
        var ri = new Random(seed ^ 0x1A7E);
        for (int i = 0; i < tb.RawInteractions.Length; i++) tb.RawInteractions[i] = (ushort)(ri.NextDouble() < 0.5 ? 0 : ri.Next(1, 800));
        return tb;
    }

    private static double[] Cdf(int n, Func<int, double> weight)
    {
        var c = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) { sum += weight(i); c[i] = sum; }
        for (int i = 0; i < n; i++) c[i] /= sum;
        return c;
    }

    private static int Draw(double[] cdf, Random rng)
    {
        int i = Array.BinarySearch(cdf, rng.NextDouble());
        return Math.Min(i < 0 ? ~i : i, cdf.Length - 1);
    }

    private static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    private static int Poisson(double lambda, Random rng)
    {
        double l = Math.Exp(-lambda), p = 1;
        int k = 0;
        do { k++; p *= rng.NextDouble(); } while (p > l);
        return k - 1;
    }
}
