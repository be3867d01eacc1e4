namespace Cvr.MLNet.Data.Generation;

/// <summary>
/// The time profiles and delay distributions of the generator: the real log's hour-of-day shares,
/// weekday and sales-day factors, per-behaviour day effects and the hour-resolution delay
/// distributions of conversions (all documented in <c>data/README.md</c>).
/// </summary>
internal static class GeneratorProfiles
{
    /// <summary>Longest conversion delay in hours (15 days).</summary>
    public const int MaxDelay = 360;

    /// <summary>Hour-of-day shares of clicks (%): low 0–7 h with the trough at 4 h, peak at 21 h.</summary>
    private static readonly double[] HourShares =
        [5.0, 2.6, 1.3, 0.65, 0.3, 0.3, 0.75, 1.7, 2.7, 3.6, 4.3, 4.3, 4.2, 4.4, 4.3, 4.4, 4.4, 4.1, 4.3, 5.4, 7.3, 8.1, 7.9, 6.4];

    /// <summary>Weekday factors of activity, Monday = 0 (Friday is the quiet day: ×0.91).</summary>
    private static readonly double[] WeekdayFactors = [1.00, 1.01, 0.99, 0.97, 0.91, 0.95, 1.01];

    public static readonly int Dec11 = TianchiTime.DayOf(TianchiTime.Parse("2014-12-11 00"));
    public static readonly int Dec12 = Dec11 + 1;

    /// <summary>Click intensity of a day relative to an ordinary Monday (12-11 ×1.26, 12-12 ×1.83).</summary>
    public static double DayFactor(int day)
    {
        if (day == Dec12) return 1.83;
        if (day == Dec11) return 1.26;
        return WeekdayFactors[TianchiTime.WeekdayOf(day * 24)];
    }

    /// <summary>Relative rate of direct buys (no click on the pair) per click on <paramref name="day"/>: ×2.4 on 12-12, ×0.74 on 12-11.</summary>
    public static double DirectBuyDayFactor(int day) => day == Dec12 ? 4.4 / 1.83 : day == Dec11 ? 0.93 / 1.26 : 1.0;

    /// <summary>Cumulative hour-of-day distribution of sessions on <paramref name="day"/> (12-12 adds a midnight peak, 0–1 h ×2.5).</summary>
    public static double[] HourCdf(int day)
    {
        var w = (double[])HourShares.Clone();
        if (day == Dec12) { w[0] *= 2.5; w[1] *= 2.5; }
        return Cumulative(w);
    }

    /// <summary>
    /// Logit offsets of favourite, cart and buy for a click on <paramref name="hour"/>: the sales day's
    /// per-behaviour multipliers relative to clicks (12-12: favs ×1.35, carts ×2.3, buys ×4.4 against clicks ×1.83;
    /// 12-11: carts ×1.48, buys ×0.93 against clicks ×1.26), more carts/favourites at night, more buys late morning.
    /// </summary>
    public static (double Fav, double Cart, double Buy) Offsets(int hour)
    {
        int day = TianchiTime.DayOf(hour), h = TianchiTime.HourOfDay(hour);
        double fav = 0, cart = 0, buy = 0;
        // On 12-12 the click-day offsets exceed the day ratios: delayed conversions of earlier clicks
        // dilute the sales-day spike, so its own clicks must convert more (measured, see data/README.md).
        if (day == Dec12) { fav = Math.Log(1.35 / 1.83); cart = Math.Log(2.3 / 1.83) + 0.3; buy = Math.Log(4.4 / 1.83) + 0.7; }
        else if (day == Dec11) { cart = Math.Log(1.48 / 1.26); buy = Math.Log(0.93 / 1.26); }
        if (h >= 21 || h <= 5) { fav += 0.15; cart += 0.15; }
        if (h is >= 10 and <= 12 or 16) buy += 0.2;
        return (fav, cart, buy);
    }

    /// <summary>Click → buy without cart or favourite: same hour 46 %, next hour 11 %, 2–23 h 21 %, 24–71 h 11 %, later 11 %.</summary>
    public static readonly double[] ClickToBuy = Pmf(0.46, 0.11, 0.21, 0.11, 0.11);
    /// <summary>Click → cart.</summary>
    public static readonly double[] ClickToCart = Pmf(0.62, 0.10, 0.16, 0.07, 0.05);
    /// <summary>Click → favourite.</summary>
    public static readonly double[] ClickToFav = Pmf(0.70, 0.08, 0.12, 0.05, 0.05);
    /// <summary>Cart → buy: carts convert fast.</summary>
    public static readonly double[] CartToBuy = Pmf(0.40, 0.10, 0.25, 0.15, 0.10);
    /// <summary>Favourite → buy: slower than carts.</summary>
    public static readonly double[] FavToBuy = Pmf(0.30, 0.08, 0.25, 0.17, 0.20);

    /// <summary>A delay pmf over 0..MaxDelay hours from the masses of five ranges, decaying inside each range.</summary>
    private static double[] Pmf(double h0, double h1, double h2To23, double h24To71, double later)
    {
        var p = new double[MaxDelay + 1];
        p[0] = h0; p[1] = h1;
        Spread(p, 2, 23, h2To23, 8);
        Spread(p, 24, 71, h24To71, 24);
        Spread(p, 72, MaxDelay, later, 72);
        return p;
    }

    private static void Spread(double[] p, int from, int to, double mass, double tau)
    {
        double sum = 0;
        for (int h = from; h <= to; h++) sum += Math.Exp(-(h - from) / tau);
        for (int h = from; h <= to; h++) p[h] = mass * Math.Exp(-(h - from) / tau) / sum;
    }

    /// <summary>The distribution of the sum of two independent delays.</summary>
    public static double[] Convolve(double[] a, double[] b)
    {
        var c = new double[a.Length + b.Length - 1];
        for (int i = 0; i < a.Length; i++)
            for (int j = 0; j < b.Length; j++) c[i + j] += a[i] * b[j];
        return c;
    }

    /// <summary>Cumulative sums, last entry 1 (normalised).</summary>
    public static double[] Cumulative(double[] w)
    {
        var c = new double[w.Length];
        double s = 0;
        for (int i = 0; i < w.Length; i++) { s += w[i]; c[i] = s; }
        for (int i = 0; i < c.Length; i++) c[i] /= s;
        c[^1] = 1;
        return c;
    }

    /// <summary>Index drawn from a cumulative distribution.</summary>
    public static int Sample(double[] cdf, double u)
    {
        int i = Array.BinarySearch(cdf, u);
        if (i < 0) i = ~i;
        return Math.Min(i, cdf.Length - 1);
    }

    /// <summary>Index drawn from a cumulative distribution of floats in [lo, hi).</summary>
    public static int Sample(float[] cdf, int lo, int hi, double u)
    {
        float target = (float)(u * cdf[hi - 1]);
        int i = Array.BinarySearch(cdf, lo, hi - lo, target);
        if (i < 0) i = ~i;
        else while (i + 1 < hi && cdf[i + 1] == target) i++; // land after a zero-width step
        return Math.Min(i, hi - 1);
    }
}

/// <summary>A delay distribution with its cumulative table, for exact window probabilities.</summary>
internal sealed class DelayDistribution
{
    private readonly double[] _cdf;

    public DelayDistribution(double[] pmf) => _cdf = GeneratorProfiles.Cumulative(pmf);

    /// <summary>P(delay in [from, to)) for integer hours (the range is clipped to the support).</summary>
    public double Window(int from, int to)
    {
        from = Math.Max(from, 0);
        if (to <= from) return 0;
        double hi = to - 1 >= _cdf.Length ? 1 : _cdf[to - 1];
        double lo = from == 0 ? 0 : from - 1 >= _cdf.Length ? 1 : _cdf[from - 1];
        return hi - lo;
    }

    /// <summary>A delay drawn from the distribution.</summary>
    public int Sample(Xoshiro256 rng) => GeneratorProfiles.Sample(_cdf, rng.NextDouble());
}
