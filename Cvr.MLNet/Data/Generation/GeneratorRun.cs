using System.Globalization;
using System.Runtime.InteropServices;

namespace Cvr.MLNet.Data.Generation;

/// <summary>
/// One generation: the catalog, the user population, the calibrated conversion constants, then each
/// user simulated in three phases (click stream → outcomes → truth) and written in shuffled blocks.
/// </summary>
internal sealed class GeneratorRun
{
    // Conversion structure (logit scale); the intercepts are calibrated, these are fixed.
    private const double KappaFav = 1.5, KappaCart = 2.8;      // buy hazard after a favourite / a cart
    private const double TasteWeight = 0.6, RecencyWeight = 0.4;
    private const double HotItemShare = 0.05, SecondCategoryShare = 0.3, TasteSessionShare = 0.7;
    private const double BuyRepeatShare = 0.005, DirectBuyActivityExponent = 0.3;
    private static readonly double MaxDirectBuyDayFactor = GeneratorProfiles.DirectBuyDayFactor(GeneratorProfiles.Dec12);
    private const double CalibrationProgress = 0.25;
    private const int PilotUsers = 300, CalibrationSamplesPerUser = 48, RevisitWindow = 168;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private readonly GeneratorOptions _o;
    private readonly GeneratorCatalog _cat;
    private readonly int _firstDay, _days, _firstHour, _endHour;
    private readonly string[] _hourText;
    private readonly double[][] _hourCdf;
    private readonly double[] _dayFactor;
    private readonly (double Fav, double Cart, double Buy)[] _offsets;
    private readonly DelayDistribution _fav = new(GeneratorProfiles.ClickToFav), _cart = new(GeneratorProfiles.ClickToCart),
        _buyDirect = new(GeneratorProfiles.ClickToBuy), _cartToBuy = new(GeneratorProfiles.CartToBuy), _favToBuy = new(GeneratorProfiles.FavToBuy);
    private readonly DelayDistribution _buyViaCart, _buyViaFav;
    private readonly string _nl;

    // Population.
    private readonly int[] _userIds;
    private readonly double[] _activity, _fill, _dupR, _beta, _gamma, _phi;
    private readonly int[] _activeDays;
    private readonly bool[] _nonBuyer;
    private readonly double _meanActivity;
    private double _cFav, _cCart, _cBuy, _directBuysPerWeight;

    // Accumulated statistics.
    private readonly GeneratorReport _report = new();
    private readonly uint[] _itemDays;
    private readonly int[] _itemBuys;
    private readonly bool[] _categorySeen;

    public GeneratorRun(GeneratorOptions o)
    {
        _o = o;
        _nl = o.Crlf ? "\r\n" : "\n";
        _firstDay = o.FirstDay; _days = o.Days;
        _firstHour = _firstDay * 24; _endHour = (_firstDay + _days) * 24;
        _hourText = new string[_endHour - _firstHour];
        for (int h = 0; h < _hourText.Length; h++) _hourText[h] = TianchiTime.ToText(_firstHour + h);
        _hourCdf = new double[_days][]; _dayFactor = new double[_days];
        for (int d = 0; d < _days; d++) { _hourCdf[d] = GeneratorProfiles.HourCdf(_firstDay + d); _dayFactor[d] = GeneratorProfiles.DayFactor(_firstDay + d); }
        _offsets = new (double, double, double)[_hourText.Length];
        for (int h = 0; h < _offsets.Length; h++) _offsets[h] = GeneratorProfiles.Offsets(_firstHour + h);
        _buyViaCart = new(GeneratorProfiles.Convolve(GeneratorProfiles.ClickToCart, GeneratorProfiles.CartToBuy));
        _buyViaFav = new(GeneratorProfiles.Convolve(GeneratorProfiles.ClickToFav, GeneratorProfiles.FavToBuy));

        _cat = new GeneratorCatalog(o, new Xoshiro256(o.Seed, 0));
        _itemDays = new uint[_cat.ItemCount];
        _itemBuys = new int[_cat.ItemCount];
        _categorySeen = new bool[_cat.CategoryCount];

        int u = o.Users;
        var rng = new Xoshiro256(o.Seed, 1);
        _userIds = GeneratorCatalog.DistinctIds(rng, u, 492, 142_442_955);
        _activity = new double[u]; _fill = new double[u]; _dupR = new double[u];
        _beta = new double[u]; _gamma = new double[u]; _phi = new double[u];
        _activeDays = new int[u]; _nonBuyer = new bool[u];
        for (int k = 0; k < u; k++)
        {
            double zA = rng.Normal();
            _activity[k] = Math.Exp(1.05 * zA); // lognormal σ = 1.05: median ≈ 0.58 × mean
            // Active days follow activity through a Gaussian copula (ρ = 0.7).
            double zD = 0.7 * zA + Math.Sqrt(1 - 0.49) * rng.Normal();
            _activeDays[k] = Math.Clamp((int)Math.Round(ActiveDaysOf31(Phi(zD)) * _days / 31.0), 1, _days);
            double zB = 0.25 * zA + Math.Sqrt(1 - 0.0625) * rng.Normal();
            _nonBuyer[k] = rng.NextDouble() < o.NonBuyerShare;
            _beta[k] = 0.5 * zB;
            _gamma[k] = 0.6 * (0.6 * zB + 0.8 * rng.Normal());
            _phi[k] = 0.6 * (0.6 * zB + 0.8 * rng.Normal());
            _fill[k] = rng.NextDouble() < 0.25 ? 0 : rng.Beta(0.9, 1.6);
            // Duplicates are heavy-tailed per user: most users rarely repeat, a minority repeats a lot.
            _dupR[k] = rng.NextDouble() < 0.7 ? 0.05 : 0.5 + 0.25 * rng.NextDouble();
        }
        double mean = _activity.Average();
        for (int k = 0; k < u; k++) _activity[k] = Math.Min(_activity[k], 50 * mean);
        // Distinct click samples: rows × (click share − duplicate share).
        double clickShare = o.BehaviorShares[0];
        double samples = o.TargetRows * (clickShare - o.DuplicateShare);
        double scale = samples / _activity.Sum();
        for (int k = 0; k < u; k++) _activity[k] *= scale;
        _meanActivity = samples / u;

        // Scale duplicate odds so the activity-weighted mean copies per sample hits the target share.
        double wantOdds = o.DuplicateShare / (clickShare - o.DuplicateShare), haveOdds = 0;
        for (int k = 0; k < u; k++) haveOdds += _activity[k] * _dupR[k] / (1 - _dupR[k]);
        haveOdds /= samples;
        for (int k = 0; k < u; k++)
        {
            double odds = _dupR[k] / (1 - _dupR[k]) * (haveOdds > 0 ? wantOdds / haveOdds : 0);
            _dupR[k] = Math.Min(odds / (1 + odds), 0.98);
        }

        // Scale the per-user geohash fill rates so the activity-weighted fill hits 1 − empty share.
        double lo = 0, hi = 100, wantFill = 1 - o.EmptyGeohashShare;
        for (int it = 0; it < 60; it++)
        {
            double mid = (lo + hi) / 2, fill = 0;
            for (int k = 0; k < u; k++) fill += _activity[k] * Math.Min(1, mid * _fill[k]);
            if (fill / samples < wantFill) lo = mid; else hi = mid;
        }
        for (int k = 0; k < u; k++) _fill[k] = Math.Min(1, lo * _fill[k]);
    }

    /// <summary>Active days out of 31 from a uniform: 0.7 % one day, 7 % all 31, the rest 2–30 (mean ≈ 20).</summary>
    private static int ActiveDaysOf31(double q)
    {
        if (q > 0.93) return 31;
        if (q < 0.007) return 1;
        return 2 + (int)Math.Floor(29 * Math.Pow((q - 0.007) / 0.923, 0.675));
    }

    /// <summary>Standard normal CDF (Abramowitz–Stegun 7.1.26, |error| &lt; 1.5e-7).</summary>
    private static double Phi(double x)
    {
        double z = Math.Abs(x) / Math.Sqrt(2), t = 1 / (1 + 0.3275911 * z);
        double erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.Exp(-z * z);
        return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    public GeneratorReport Execute(TextWriter events, TextWriter items, TextWriter truth, IProgress<double>? progress, CancellationToken ct)
    {
        // Calibration replays every user's click stream: it takes about a quarter of the time.
        Calibrate(progress, ct);
        _report.Users = _o.Users;
        _report.Items = _cat.ItemCount;
        _report.SubsetItems = _cat.SubsetItems.Length;
        _report.RowsByDay = new long[_days];
        _report.BuysByDay = new long[_days];
        _report.ItemFileRows = _cat.WriteItemFile(items, _nl, new Xoshiro256(_o.Seed, 2));

        events.Write(TianchiFiles.EventsHeader); events.Write(_nl);
        truth.Write("user_id,item_id,item_category,time,p_favcart_24h,p_buy_24h,z,censored,p_favcart_pit_24h,p_buy_pit_24h".Replace("24h", $"{_o.TruthHorizonHours}h", StringComparison.Ordinal));
        truth.Write(_nl);

        var sim = new UserSimulation(this);
        var block = new List<BlockRow>();
        var pools = new string[_o.ShuffleBlockUsers][];
        var shuffle = new Xoshiro256(_o.Seed, 3);
        int inBlock = 0;
        for (int u = 0; u < _o.Users; u++)
        {
            ct.ThrowIfCancellationRequested();
            sim.Run(u);
            sim.WriteTruth(truth);
            sim.Measure();
            foreach (var r in sim.Rows) block.Add(new BlockRow(inBlock, r));
            pools[inBlock] = sim.GeoPool;
            inBlock++;
            if (inBlock == _o.ShuffleBlockUsers || u == _o.Users - 1)
            {
                // The real file interleaves users: shuffle a block of users' rows together.
                var span = CollectionsMarshal.AsSpan(block);
                shuffle.Shuffle(span);
                int first = u - inBlock + 1;
                foreach (var r in span) WriteRow(events, _userIds[first + r.Slot], r.Row, pools[r.Slot]);
                block.Clear();
                inBlock = 0;
                progress?.Report(CalibrationProgress + (1 - CalibrationProgress) * (u + 1) / _o.Users);
            }
        }

        for (int i = 0; i < _itemDays.Length; i++)
        {
            if (_itemDays[i] == 0) continue;
            _report.ItemsSeen++;
            if (System.Numerics.BitOperations.PopCount(_itemDays[i]) == 1) _report.ItemsSeenOnOneDay++;
        }
        _report.CategoriesSeen = _categorySeen.Count(s => s);
        _report.TopItemBuys = _itemBuys.Length == 0 ? 0 : _itemBuys.Max();
        return _report;
    }

    private void WriteRow(TextWriter w, int userId, OutRow r, string[] pool)
    {
        Span<char> buf = stackalloc char[96];
        int p = 0, n;
        userId.TryFormat(buf, out n, provider: Inv); p += n; buf[p++] = ',';
        _cat.ItemIds[r.Item].TryFormat(buf[p..], out n, provider: Inv); p += n; buf[p++] = ',';
        buf[p++] = (char)('0' + r.Behavior); buf[p++] = ',';
        if (r.Geo >= 0) { pool[r.Geo].AsSpan().CopyTo(buf[p..]); p += pool[r.Geo].Length; }
        buf[p++] = ',';
        _cat.CategoryIds[_cat.ItemCategory[r.Item]].TryFormat(buf[p..], out n, provider: Inv); p += n; buf[p++] = ',';
        var t = _hourText[r.Hour - _firstHour];
        t.AsSpan().CopyTo(buf[p..]); p += t.Length;
        w.Write(buf[..p]);
        w.Write(_nl);
    }

    /// <summary>
    /// Solves the favourite, cart and buy intercepts on the users' real click streams so that the
    /// expected written rows hit the target behaviour shares.
    /// </summary>
    private void Calibrate(IProgress<double>? progress, CancellationToken ct)
    {
        var sim = new UserSimulation(this);
        int pilot = Math.Min(PilotUsers, _o.Users);
        // Clicks on the same item in the same hour merge into one sample: rescale activity so the
        // realised samples (not the intended clicks) hit the row target.
        double intended = 0, realised = 0;
        for (int u = 0; u < pilot; u++) { sim.RunClicks(u); intended += _activity[u]; realised += sim.Samples.Length; }
        if (realised > 0)
            for (int u = 0; u < _activity.Length; u++) _activity[u] *= intended / realised;

        // The intercepts are solved over every user (user-level propensities are heavy-tailed, so a pilot
        // of a few hundred users misses by tens of percent), with at most 48 weighted samples per user.
        var xf = new List<double>(); var xc = new List<double>(); var xb = new List<double>();
        var left = new List<int>(); var weight = new List<double>();
        var pick = new Xoshiro256(_o.Seed, 4);
        double clickRows = 0;
        for (int u = 0; u < _o.Users; u++)
        {
            ct.ThrowIfCancellationRequested();
            if (u % 64 == 63) progress?.Report(CalibrationProgress * u / _o.Users);
            sim.RunClicks(u);
            var samples = sim.Samples;
            clickRows += samples.Length / (1 - _dupR[u]);
            int m = Math.Min(samples.Length, CalibrationSamplesPerUser);
            for (int i = 0; i < m; i++)
            {
                ref readonly var s = ref samples[m == samples.Length ? i : pick.NextInt(samples.Length)];
                xf.Add(s.XFav); xc.Add(s.XCart);
                xb.Add(_nonBuyer[u] ? double.NegativeInfinity : s.XBuy);
                left.Add(_endHour - s.Hour);
                weight.Add(samples.Length / (double)m);
            }
        }
        var sh = _o.BehaviorShares;
        var favWin = left.Select((l, k) => weight[k] * _fav.Window(0, l)).ToArray();
        var cartWin = left.Select((l, k) => weight[k] * _cart.Window(0, l)).ToArray();
        _cFav = Solve(c => Sum(xf.Count, k => Sigmoid(xf[k] + c) * favWin[k]), clickRows * sh[1] / sh[0]);
        _cCart = Solve(c => Sum(xc.Count, k => Sigmoid(xc[k] + c) * cartWin[k]), clickRows * sh[2] / sh[0]);
        double buyTarget = clickRows * sh[3] / sh[0] * (1 - _o.DirectBuyShare) / (1 + BuyRepeatShare);
        _cBuy = Solve(c => Sum(xb.Count, k => weight[k] * ExpectedBuys(xf[k] + _cFav, xc[k] + _cCart, xb[k] + c, left[k])), buyTarget);

        // Direct buys are spread more evenly than clicks (∝ activity^0.3): light users buy without browsing much.
        double spread = 0;
        for (int u = 0; u < _o.Users; u++) if (!_nonBuyer[u]) spread += Math.Pow(_activity[u], DirectBuyActivityExponent);
        _directBuysPerWeight = spread > 0 ? buyTarget * _o.DirectBuyShare / (1 - _o.DirectBuyShare) / spread : 0;
    }

    private static double Sum(int n, Func<int, double> f)
    {
        double s = 0;
        for (int k = 0; k < n; k++) s += f(k);
        return s;
    }

    private static double Solve(Func<double, double> expected, double target)
    {
        double lo = -25, hi = 15;
        for (int it = 0; it < 50; it++)
        {
            double mid = (lo + hi) / 2;
            if (expected(mid) < target) lo = mid; else hi = mid;
        }
        return (lo + hi) / 2;
    }

    /// <summary>Expected buys of one click landing in delay window [from, to): the sum over fav/cart outcomes.</summary>
    /// <remarks>
    /// <paramref name="keepPlain"/> and <paramref name="keepCart"/> weight the buys without and with a cart (the
    /// share that stays on the clicked pair, for the truth; 1 to count every buy).
    /// </remarks>
    private double ExpectedBuys(double favLogit, double cartLogit, double buyLogit, int to, int from = 0, double keepPlain = 1, double keepCart = 1)
    {
        if (double.IsNegativeInfinity(buyLogit)) return 0;
        double pf = Sigmoid(favLogit), pc = Sigmoid(cartLogit);
        return keepPlain * ((1 - pf) * (1 - pc) * Sigmoid(buyLogit) * _buyDirect.Window(from, to)
                          + pf * (1 - pc) * Sigmoid(buyLogit + KappaFav) * _buyViaFav.Window(from, to))
             + keepCart * ((1 - pf) * pc * Sigmoid(buyLogit + KappaCart)
                          + pf * pc * Sigmoid(buyLogit + KappaFav + KappaCart)) * _buyViaCart.Window(from, to);
    }

    /// <summary>A click sample: one distinct (user, item, hour) click and its logits.</summary>
    private struct ClickSample
    {
        public int Hour, Item, Copies;
        public short Geo;
        public float Z, XFav, XCart, XBuy;
    }

    /// <summary>An output row (user implied).</summary>
    private readonly record struct OutRow(int Hour, int Item, byte Behavior, short Geo);

    private readonly record struct BlockRow(int Slot, OutRow Row);

    /// <summary>Simulates one user at a time; buffers are reused across users.</summary>
    private sealed class UserSimulation(GeneratorRun g)
    {
        private ClickSample[] _samples = new ClickSample[256];
        private int _n;
        private readonly List<OutRow> _rows = [];
        private readonly List<(int Item, int Hour)> _buys = [];
        private readonly HashSet<int> _clicked = [];
        private readonly Dictionary<int, int> _firstClick = [];
        private readonly Dictionary<int, int> _catCount = [];
        private readonly Dictionary<int, float> _taste = [];
        private int[] _tasteCats = [];
        private double[] _tasteCdf = [];
        private double[] _geoCdf = [];
        private Xoshiro256 _rng = new(0);
        private int _u;
        private double[] _pFavCart = [], _pBuy = [], _pFavCartPit = [], _pBuyPit = [];

        public ReadOnlySpan<ClickSample> Samples => _samples.AsSpan(0, _n);
        public List<OutRow> Rows => _rows;
        public string[] GeoPool { get; private set; } = [];

        /// <summary>Phase 1: the user's click stream (independent of outcomes, so the truth can condition on it).</summary>
        public void RunClicks(int u)
        {
            var o = g._o;
            _u = u; _n = 0;
            _rng = new Xoshiro256(o.Seed, 1000 + (ulong)u);
            var rng = _rng;
            double relActivity = g._activity[u] / g._meanActivity;

            // Taste: 5–40 interest categories (more for active users), Zipf 1.2 over them.
            int k = Math.Clamp((int)Math.Round(8 * Math.Pow(relActivity, 0.35) * Math.Exp(0.3 * rng.Normal())), 5, 40);
            var cats = new List<int>(k);
            for (int t = 0; t < 4 * k && cats.Count < k; t++)
            {
                int c = g._cat.SampleCategory(rng);
                if (!cats.Contains(c)) cats.Add(c);
            }
            _tasteCats = [.. cats];
            var tw = new double[_tasteCats.Length];
            for (int i = 0; i < tw.Length; i++) tw[i] = Math.Pow(i + 1, -1.2);
            _tasteCdf = GeneratorProfiles.Cumulative(tw);
            double tws = tw.Sum();
            _taste.Clear();
            for (int i = 0; i < tw.Length; i++) _taste[_tasteCats[i]] = (float)(tw[i] / tws);

            MakeGeoPool(relActivity);

            // Active days: weighted by the day's intensity and the user's weekday taste, without replacement.
            var weekday = new double[7];
            for (int i = 0; i < 7; i++) weekday[i] = Math.Exp(0.25 * rng.Normal());
            var keys = new (double Key, int Day)[g._days];
            for (int d = 0; d < g._days; d++)
            {
                double w = g._dayFactor[d] * weekday[TianchiTime.WeekdayOf((g._firstDay + d) * 24)];
                keys[d] = (Math.Log(rng.NextDoubleNonZero()) / w, d);
            }
            Array.Sort(keys, (a, b) => b.Key.CompareTo(a.Key));
            int active = g._activeDays[u];
            var days = new int[active];
            for (int i = 0; i < active; i++) days[i] = keys[i].Day;
            Array.Sort(days);
            var volume = new double[active];
            for (int i = 0; i < active; i++) volume[i] = Math.Pow(g._dayFactor[days[i]], 0.7) * Math.Exp(0.4 * rng.Normal());
            double vs = volume.Sum();

            _catCount.Clear();
            int winStart = 0, added = 0, currentHour = int.MinValue;
            var hourItems = new HashSet<int>();
            for (int di = 0; di < active; di++)
            {
                int day = days[di];
                int e = rng.Poisson(g._activity[u] * volume[di] / vs);
                if (e == 0) continue;
                int sessions = Math.Min(e, 1 + rng.Poisson((e - 1) / 5.0));
                var ses = new (int Hour, int Cat1, int Cat2, int Count)[sessions];
                for (int s = 0; s < sessions; s++)
                    ses[s] = ((g._firstDay + day) * 24 + GeneratorProfiles.Sample(g._hourCdf[day], rng.NextDouble()),
                        SessionCategory(), rng.NextDouble() < SecondCategoryShare ? SessionCategory() : -1, 0);
                for (int i = 0; i < e; i++) ses[rng.NextInt(sessions)].Count++;
                Array.Sort(ses, (a, b) => a.Hour.CompareTo(b.Hour));
                foreach (var s in ses)
                {
                    if (s.Hour != currentHour)
                    {
                        // Recency = the user's clicks per category in the 24 hours before this hour.
                        for (; added < _n; added++)
                        {
                            int c = g._cat.ItemCategory[_samples[added].Item];
                            _catCount[c] = _catCount.GetValueOrDefault(c) + 1;
                        }
                        for (; winStart < added && _samples[winStart].Hour < s.Hour - 24; winStart++)
                            _catCount[g._cat.ItemCategory[_samples[winStart].Item]]--;
                        currentHour = s.Hour;
                        hourItems.Clear();
                    }
                    for (int i = 0; i < s.Count; i++)
                    {
                        int cat = s.Cat2 >= 0 && rng.NextDouble() < 0.3 ? s.Cat2 : s.Cat1;
                        int item = ChooseItem(s.Hour, cat);
                        if (hourItems.Add(item)) AddSample(s.Hour, item);
                    }
                }
            }
            if (_n == 0)
            {
                // Every user has at least one click (ids are only known through the log).
                int day = days[rng.NextInt(active)];
                int hour = (g._firstDay + day) * 24 + GeneratorProfiles.Sample(g._hourCdf[day], rng.NextDouble());
                AddSample(hour, g._cat.SampleItem(SessionCategory(), rng));
            }
        }

        private int SessionCategory() => _rng.NextDouble() < TasteSessionShare
            ? _tasteCats[GeneratorProfiles.Sample(_tasteCdf, _rng.NextDouble())]
            : g._cat.SampleCategory(_rng);

        private int ChooseItem(int hour, int cat)
        {
            var rng = _rng;
            double r = rng.NextDouble();
            if (r < g._o.RevisitProbability)
            {
                // Revisit: go back 1 + Exp(24 h) hours and take the item clicked last before then.
                double back = 1 + rng.Exponential(24);
                if (back <= RevisitWindow && _n > 0)
                {
                    int target = hour - (int)back, lo = 0, hi = _n;
                    while (lo < hi) { int mid = (lo + hi) >> 1; if (_samples[mid].Hour <= target) lo = mid + 1; else hi = mid; }
                    if (lo > 0 && _samples[lo - 1].Hour >= hour - RevisitWindow) return _samples[lo - 1].Item;
                }
            }
            else if (r < g._o.RevisitProbability + HotItemShare) return g._cat.SampleHotItem(rng);
            return g._cat.SampleItem(cat, rng);
        }

        private void AddSample(int hour, int item)
        {
            var rng = _rng;
            int cat = g._cat.ItemCategory[item];
            double theta = TasteSessionShare * _taste.GetValueOrDefault(cat) + (1 - TasteSessionShare) * g._cat.CategoryWeight[cat];
            double taste = TasteWeight * Math.Clamp(Math.Log(theta * _tasteCats.Length), -3, 1.5);
            double z = g._cat.Quality[item] + taste + RecencyWeight * Math.Log(1 + _catCount.GetValueOrDefault(cat));
            var off = g._offsets[hour - g._firstHour];
            if (_n == _samples.Length) Array.Resize(ref _samples, _n * 2);
            _samples[_n++] = new ClickSample
            {
                Hour = hour, Item = item,
                Geo = rng.NextDouble() < g._fill[_u] ? GeoIndex() : (short)-1,
                Copies = rng.Geometric(g._dupR[_u]),
                Z = (float)z,
                XFav = (float)(z + g._phi[_u] + off.Fav),
                XCart = (float)(z + g._gamma[_u] + off.Cart),
                XBuy = (float)(z + g._beta[_u] + off.Buy),
            };
        }

        private short GeoIndex() => (short)GeneratorProfiles.Sample(_geoCdf, _rng.NextDouble());

        /// <summary>Home prefix (9-rooted mostly), one or two 4-character areas, a Zipf-weighted pool of full values.</summary>
        private void MakeGeoPool(double relActivity)
        {
            var rng = _rng;
            double f = rng.NextDouble();
            char c1 = f < 0.90 ? '9' : f < 0.97 ? 'm' : f < 0.99 ? 'f' : 't';
            char c2 = c1 == '9'
                ? "549r67qth"[GeneratorProfiles.Sample(GeneratorProfiles.Cumulative([24, 19, 18, 16, 14, 6, 4, 1, 0.5]), rng.NextDouble())]
                : Geohash.Allowed[rng.NextInt(Geohash.Allowed.Length)];
            string prefix3 = $"{c1}{c2}{Geohash.RandomChars(rng, 1)}";
            string[] areas = rng.NextDouble() < 0.3
                ? [prefix3 + Geohash.RandomChars(rng, 1), prefix3 + Geohash.RandomChars(rng, 1)]
                : [prefix3 + Geohash.RandomChars(rng, 1)];
            int size = Math.Clamp((int)Math.Round(18 * Math.Sqrt(relActivity / 0.6) * Math.Exp(0.4 * rng.Normal())), 1, 100);
            var pool = new string[size];
            for (int i = 0; i < size; i++) pool[i] = areas[rng.NextDouble() < 0.7 ? 0 : areas.Length - 1] + Geohash.RandomChars(rng, 3);
            GeoPool = pool;
            var w = new double[size];
            for (int i = 0; i < size; i++) w[i] = 1.0 / (i + 1);
            _geoCdf = GeneratorProfiles.Cumulative(w);
        }

        /// <summary>Phases 1–3 for user <paramref name="u"/>: clicks, outcomes (rows), truth probabilities.</summary>
        public void Run(int u)
        {
            RunClicks(u);
            var o = g._o;
            var rng = _rng;
            bool buyer = !g._nonBuyer[u];
            double fill = g._fill[u], buyFill = Math.Min(1, 1.3 * fill);
            _rows.Clear(); _buys.Clear(); _clicked.Clear(); _firstClick.Clear();
            for (int k = 0; k < _n; k++)
            {
                _clicked.Add(_samples[k].Item);
                _firstClick.TryAdd(_samples[k].Item, _samples[k].Hour);
            }

            for (int k = 0; k < _n; k++)
            {
                ref var s = ref _samples[k];
                for (int c = 0; c <= s.Copies; c++) _rows.Add(new OutRow(s.Hour, s.Item, 1, s.Geo));
                double pf = Sigmoid(s.XFav + g._cFav), pc = Sigmoid(s.XCart + g._cCart);
                bool fav = rng.NextDouble() < pf, cart = rng.NextDouble() < pc;
                int dFav = 0, dCart = 0, cartItem = -1;
                int cat = g._cat.ItemCategory[s.Item];
                if (fav)
                {
                    dFav = g._fav.Sample(rng);
                    Emit(s.Hour + dFav, rng.NextDouble() < o.OrphanFavoriteShare ? Sibling(cat) : s.Item, 2, fill);
                }
                if (cart)
                {
                    dCart = g._cart.Sample(rng);
                    cartItem = rng.NextDouble() < o.OrphanCartShare ? Sibling(cat) : s.Item;
                    Emit(s.Hour + dCart, cartItem, 3, fill);
                }
                if (!buyer) continue;
                double pb = Sigmoid(s.XBuy + g._cBuy + (fav ? KappaFav : 0) + (cart ? KappaCart : 0));
                if (rng.NextDouble() >= pb) continue;
                int delay = cart ? dCart + g._cartToBuy.Sample(rng) : fav ? dFav + g._favToBuy.Sample(rng) : g._buyDirect.Sample(rng);
                // A buy after a cart lands on the carted item (the pair's own or a sibling SKU); others are routed independently.
                EmitBuy(s.Hour + delay, cart ? cartItem : rng.NextDouble() < o.OrphanBuyShare ? Sibling(cat) : s.Item, buyFill);
            }

            // Direct buys: no click on the pair, in one of the user's active hours.
            if (buyer && o.DirectBuyShare > 0)
            {
                int direct = rng.Poisson(g._directBuysPerWeight * Math.Pow(g._activity[u], DirectBuyActivityExponent));
                for (int i = 0; i < direct; i++)
                {
                    // An active hour of the user, thinned by the day's buy factor (the sales-day spike).
                    int hour;
                    do hour = _samples[rng.NextInt(_n)].Hour;
                    while (rng.NextDouble() * MaxDirectBuyDayFactor > GeneratorProfiles.DirectBuyDayFactor(TianchiTime.DayOf(hour)));
                    EmitBuy(hour, Sibling(SessionCategory()), buyFill);
                }
            }
            ComputeTruth();
        }

        /// <summary>An unclicked item of the category (a sibling SKU), else of a popular category; −1 when none is found, and the event is dropped.</summary>
        private int Sibling(int cat)
        {
            for (int t = 0; t < 20; t++)
            {
                // Small catalogs have categories of one or two items: then fall back to a popular
                // category (bought through another channel) so the orphan share holds at every scale.
                int j = g._cat.SampleItem(t < 10 ? cat : g._cat.SampleCategory(_rng), _rng);
                if (!_clicked.Contains(j)) return j;
            }
            return -1;
        }

        private void Emit(int hour, int item, byte behavior, double fill)
        {
            if (item < 0 || hour >= g._endHour) return; // right-censored like the real file
            _rows.Add(new OutRow(hour, item, behavior, _rng.NextDouble() < fill ? GeoIndex() : (short)-1));
        }

        private void EmitBuy(int hour, int item, double fill)
        {
            if (item < 0 || hour >= g._endHour) return;
            var row = new OutRow(hour, item, 4, _rng.NextDouble() < fill ? GeoIndex() : (short)-1);
            _rows.Add(row);
            if (_rng.NextDouble() < BuyRepeatShare) _rows.Add(row);
            _buys.Add((item, hour));
        }

        /// <summary>
        /// Phase 3: for each click sample, P(fav or cart of the same pair in [t, t+H)) and P(buy of the same pair in
        /// [t, t+H)) given the user's click stream: every click of the pair contributes independently, and orphan
        /// routing to siblings never lands on a clicked pair, so the product over the pair's clicks is exact.
        /// The point-in-time columns take the product over the pair's clicks up to t's hour only: the full truth
        /// also knows whether the user clicks the pair again before t + H, which no model scoring at t can know.
        /// </summary>
        private void ComputeTruth()
        {
            int h = g._o.TruthHorizonHours;
            if (_pFavCart.Length < _n)
            {
                _pFavCart = new double[_samples.Length]; _pBuy = new double[_samples.Length];
                _pFavCartPit = new double[_samples.Length]; _pBuyPit = new double[_samples.Length];
            }
            var order = new long[_n];
            for (int k = 0; k < _n; k++) order[k] = ((long)_samples[k].Item << 36) | ((long)(_samples[k].Hour - g._firstHour) << 24) | (uint)k;
            Array.Sort(order);
            bool buyer = !g._nonBuyer[_u];
            var o = g._o;
            int maxDelay = 2 * GeneratorProfiles.MaxDelay;
            for (int a = 0; a < _n;)
            {
                int b = a;
                while (b < _n && order[b] >> 36 == order[a] >> 36) b++;
                for (int x = a; x < b; x++)
                {
                    int k = (int)(order[x] & 0xFFFFFF);
                    int t = _samples[k].Hour;
                    // Clicks of the pair up to t's hour are what a point-in-time model can know; later clicks
                    // inside the horizon are future information the full truth conditions on too.
                    double noFc = 1, noBuy = 1, noFcPit = 1, noBuyPit = 1;
                    for (int y = a; y < b; y++)
                    {
                        ref var j = ref _samples[(int)(order[y] & 0xFFFFFF)];
                        if (j.Hour >= t + h || j.Hour < t - maxDelay) continue;
                        int from = t - j.Hour, to = t + h - j.Hour; // j's delay window that lands in [t, t+H)
                        double pf = Sigmoid(j.XFav + g._cFav), pc = Sigmoid(j.XCart + g._cCart);
                        double keepFc = (1 - pf * (1 - o.OrphanFavoriteShare) * g._fav.Window(from, to))
                                      * (1 - pc * (1 - o.OrphanCartShare) * g._cart.Window(from, to));
                        double keepBuy = buyer
                            ? 1 - g.ExpectedBuys(j.XFav + g._cFav, j.XCart + g._cCart, j.XBuy + g._cBuy, to, from, 1 - o.OrphanBuyShare, 1 - o.OrphanCartShare)
                            : 1;
                        noFc *= keepFc; noBuy *= keepBuy;
                        if (j.Hour <= t) { noFcPit *= keepFc; noBuyPit *= keepBuy; }
                    }
                    _pFavCart[k] = 1 - noFc;
                    _pBuy[k] = 1 - noBuy;
                    _pFavCartPit[k] = 1 - noFcPit;
                    _pBuyPit[k] = 1 - noBuyPit;
                }
                a = b;
            }
        }

        public void WriteTruth(TextWriter w)
        {
            Span<char> buf = stackalloc char[160];
            int uid = g._userIds[_u];
            for (int k = 0; k < _n; k++)
            {
                ref var s = ref _samples[k];
                int p = 0, n;
                uid.TryFormat(buf, out n, provider: Inv); p += n; buf[p++] = ',';
                g._cat.ItemIds[s.Item].TryFormat(buf[p..], out n, provider: Inv); p += n; buf[p++] = ',';
                g._cat.CategoryIds[g._cat.ItemCategory[s.Item]].TryFormat(buf[p..], out n, provider: Inv); p += n; buf[p++] = ',';
                g._hourText[s.Hour - g._firstHour].AsSpan().CopyTo(buf[p..]); p += 13; buf[p++] = ',';
                _pFavCart[k].TryFormat(buf[p..], out n, "0.0#######", Inv); p += n; buf[p++] = ',';
                _pBuy[k].TryFormat(buf[p..], out n, "0.0#######", Inv); p += n; buf[p++] = ',';
                s.Z.TryFormat(buf[p..], out n, "0.0####", Inv); p += n; buf[p++] = ',';
                bool censored = s.Hour + g._o.TruthHorizonHours > g._endHour;
                buf[p++] = censored ? '1' : '0'; buf[p++] = ',';
                _pFavCartPit[k].TryFormat(buf[p..], out n, "0.0#######", Inv); p += n; buf[p++] = ',';
                _pBuyPit[k].TryFormat(buf[p..], out n, "0.0#######", Inv); p += n;
                w.Write(buf[..p]); w.Write(g._nl);
                g._report.TruthRows++;
                if (censored) g._report.TruthRowsCensored++;
            }
        }

        /// <summary>Adds this user's rows to the report's acceptance statistics.</summary>
        public void Measure()
        {
            var r = g._report;
            var distinct = new HashSet<OutRow>();
            var clickDays = new HashSet<long>(); var cartDays = new HashSet<long>(); var buyDays = new HashSet<long>();
            static long Key(int item, int day) => ((long)item << 8) | (uint)day;
            foreach (var row in _rows)
            {
                int day = TianchiTime.DayOf(row.Hour) - g._firstDay;
                r.Rows++;
                r.BehaviorRows[row.Behavior - 1]++;
                r.RowsByHourOfDay[TianchiTime.HourOfDay(row.Hour)]++;
                r.RowsByDay[day]++;
                if (g._cat.InSubset[row.Item]) r.SubsetRows++;
                g._itemDays[row.Item] |= 1u << day;
                g._categorySeen[g._cat.ItemCategory[row.Item]] = true;
                if (distinct.Add(row))
                {
                    r.DistinctRows++;
                    if (row.Geo < 0) r.DistinctRowsEmptyGeohash++;
                }
                switch (row.Behavior)
                {
                    case 1: clickDays.Add(Key(row.Item, day)); break;
                    case 3: cartDays.Add(Key(row.Item, day)); break;
                    case 4: r.BuysByDay[day]++; buyDays.Add(Key(row.Item, day)); break;
                }
            }
            foreach (var (item, hour) in _buys)
            {
                r.BuyEvents++;
                g._itemBuys[item]++;
                if (!_clicked.Contains(item)) continue;
                r.BuysWithPairClick++;
                int first = _firstClick[item];
                if (first > hour) continue;
                r.BuysWithEarlierPairClick++;
                if (first == hour) r.BuysSameHourAsFirstClick++;
                if (hour - first < 24) r.BuysWithinDayOfFirstClick++;
            }
            if (_buys.Count > 0) r.UsersWithBuy++;
            int last = g._days - 1;
            foreach (long key in clickDays)
            {
                if ((key & 0xFF) == last) continue;
                r.ClickedPairDays++;
                if (buyDays.Contains(key + 1)) r.ClickedPairDaysBoughtNextDay++;
            }
            foreach (long key in cartDays)
            {
                if ((key & 0xFF) == last) continue;
                r.CartedPairDays++;
                bool next = buyDays.Contains(key + 1);
                if (next) r.CartedPairDaysBoughtNextDay++;
                if (g._cat.InSubset[(int)(key >> 8)] && !buyDays.Contains(key))
                {
                    r.CartRulePredicted++;
                    if (next) r.CartRuleHits++;
                }
            }
            foreach (long key in buyDays)
                if ((key & 0xFF) > 0 && g._cat.InSubset[(int)(key >> 8)]) r.SubsetBuyPairDays++;
        }
    }
}
