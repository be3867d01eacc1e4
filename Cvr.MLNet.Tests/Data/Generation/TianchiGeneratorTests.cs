using System.Globalization;
using System.Text.RegularExpressions;
using Cvr.MLNet.Data;
using Cvr.MLNet.Data.Generation;

namespace Cvr.MLNet.Tests.Data.Generation;

[TestClass]
public sealed class TianchiGeneratorTests
{
    private static TinyLog Log => TinyLog.Default;
    private static readonly int FirstHour = TianchiTime.Parse("2014-11-18 00");
    private static readonly int EndHour = TianchiTime.Parse("2014-12-19 00");

    [TestMethod]
    public void SameSeedGivesIdenticalBytesAndOtherSeedDiffers()
    {
        var again = TinyLog.Generate(GeneratorOptions.Tiny());
        Assert.AreEqual(Log.EventsText, again.Events);
        Assert.AreEqual(Log.ItemsText, again.Items);
        Assert.AreEqual(Log.TruthText, again.Truth);

        var other = GeneratorOptions.Tiny();
        other.Seed = 2;
        var b = TinyLog.Generate(other);
        Assert.AreNotEqual(Log.EventsText, b.Events);
        Assert.AreNotEqual(Log.ItemsText, b.Items);
        Assert.AreNotEqual(Log.TruthText, b.Truth);
    }

    [TestMethod]
    public void FilesOnDiskMatchTheWriterOutputAndCrlfChangesOnlyLineEndings()
    {
        string dir = Path.Combine(Path.GetTempPath(), "cvr-gen-" + Guid.NewGuid().ToString("N"));
        try
        {
            var options = GeneratorOptions.Tiny();
            options.Crlf = true;
            var report = new TianchiGenerator(options).Generate(dir);
            CollectionAssert.AreEqual(new[] { TianchiFiles.EventsFileName, TianchiFiles.ItemsFileName, TianchiFiles.TruthFileName },
                report.Files.Select(Path.GetFileName).ToArray());
            Assert.AreEqual(Log.EventsText.Replace("\n", "\r\n", StringComparison.Ordinal), File.ReadAllText(report.Files[0]));
            Assert.AreEqual(Log.ItemsText.Replace("\n", "\r\n", StringComparison.Ordinal), File.ReadAllText(report.Files[1]));
            Assert.AreEqual(Log.TruthText.Replace("\n", "\r\n", StringComparison.Ordinal), File.ReadAllText(report.Files[2]));
            Assert.IsGreaterThan(0, report.Seconds);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [TestMethod]
    public void ProgressRisesToOneAndCancellationStops()
    {
        var seen = new List<double>();
        new TianchiGenerator(GeneratorOptions.Tiny()).Generate(TextWriter.Null, TextWriter.Null, TextWriter.Null, new Recorder(seen));
        Assert.IsGreaterThan(10, seen.Count);
        for (int i = 1; i < seen.Count; i++) Assert.IsGreaterThanOrEqualTo(seen[i - 1], seen[i]);
        Assert.AreEqual(1.0, seen[^1], 1e-12);

        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsExactly<OperationCanceledException>(() =>
            new TianchiGenerator(GeneratorOptions.Tiny()).Generate(TextWriter.Null, TextWriter.Null, TextWriter.Null, null, cts.Token));
    }

    private sealed class Recorder(List<double> values) : IProgress<double>
    {
        public void Report(double value) => values.Add(value);
    }

    [TestMethod]
    public void RowsAreWellFormedAndTheReportCountsThem()
    {
        var timeFormat = new Regex(@"^2014-1[12]-\d\d (0\d|1\d|2[0-3])$");
        var users = new HashSet<string>();
        foreach (var f in Log.Events)
        {
            Assert.HasCount(6, f);
            int user = int.Parse(f[0], CultureInfo.InvariantCulture), item = int.Parse(f[1], CultureInfo.InvariantCulture);
            int cat = int.Parse(f[4], CultureInfo.InvariantCulture);
            Assert.IsTrue(user is >= 492 and <= 142_442_955, $"user_id {user} out of range");
            Assert.IsTrue(item is >= 37 and <= 404_562_488, $"item_id {item} out of range");
            Assert.IsTrue(cat is >= 2 and <= 14_080, $"item_category {cat} out of range");
            Assert.IsTrue(f[2] is "1" or "2" or "3" or "4", $"behavior_type '{f[2]}'");
            Assert.IsTrue(f[3].Length == 0 || (f[3].Length == 7 && f[3].All(c => "0123456789abcdefghijklmnopqrstuvw".Contains(c) && c != '8')),
                $"user_geohash '{f[3]}'");
            Assert.IsTrue(timeFormat.IsMatch(f[5]), $"time '{f[5]}'");
            int h = TinyLog.Hour(f[5]);
            Assert.IsTrue(h >= FirstHour && h < EndHour, $"time {f[5]} outside 2014-11-18..2014-12-18");
            users.Add(f[0]);
        }
        var r = Log.Report;
        Assert.AreEqual(Log.Events.Count, r.Rows);
        Assert.AreEqual(200, users.Count);
        Assert.AreEqual(200, r.Users);
        Assert.AreEqual(Log.Events.Count(f => f[2] == "4"), r.BehaviorRows[3]);
        Assert.AreEqual(Log.Events.Select(f => string.Join(',', f)).Distinct().LongCount(), r.DistinctRows);
        Assert.IsTrue(r.Rows is >= 15_000 and <= 25_000, $"tiny preset wrote {r.Rows} rows");
        Assert.AreEqual(Log.Events.Select(f => f[1]).Distinct().Count(), r.ItemsSeen);
    }

    [TestMethod]
    public void EveryItemHasExactlyOneCategoryAcrossBothFiles()
    {
        var category = new Dictionary<string, string>();
        foreach (var f in Log.Events.Concat(Log.Items.Select(i => new[] { "", i[0], "", "", i[2], "" })))
        {
            if (category.TryGetValue(f[1], out var c)) Assert.AreEqual(c, f[4], $"item {f[1]} has two categories");
            else category[f[1]] = f[4];
        }
        foreach (var i in Log.Items)
        {
            Assert.HasCount(3, i);
            Assert.IsTrue(i[1].Length == 0 || (i[1].Length == 7 && i[1][0] == '9' && !i[1].Contains('8')), $"item_geohash '{i[1]}'");
        }
        int distinct = Log.Items.Select(i => i[0]).Distinct().Count();
        Assert.AreEqual(Log.Report.SubsetItems, distinct);
        Assert.AreEqual(Log.Report.ItemFileRows, Log.Items.Count);
        Assert.IsTrue(Log.Items.Count > distinct, "some P items have extra rows like the real item file");
        Assert.IsTrue(Log.Items.Count(i => i[1].Length == 0) > 0.8 * Log.Items.Count, "item_geohash is mostly empty");
    }

    [TestMethod]
    public void MarginalsMatchTheRealLogWithinTinyTolerances()
    {
        double n = Log.Events.Count;
        double Share(string b) => Log.Events.Count(f => f[2] == b) / n;
        Assert.AreEqual(0.943, Share("1"), 0.01, "browse share");
        Assert.AreEqual(0.0195, Share("2"), 0.005, "favourite share");
        Assert.AreEqual(0.0276, Share("3"), 0.006, "cart share");
        Assert.AreEqual(0.0099, Share("4"), 0.003, "buy share");

        var distinct = Log.Events.Select(f => string.Join(',', f)).Distinct().ToList();
        Assert.AreEqual(0.334, 1 - distinct.Count / n, 0.03, "exact-duplicate share");
        Assert.AreEqual(0.528, distinct.Count(l => l.Split(',')[3].Length == 0) / (double)distinct.Count, 0.03, "empty geohash share of distinct rows");
    }

    [TestMethod]
    public void HourProfileAndTheDoubleTwelveSpike()
    {
        var byHour = new double[24];
        var byDay = new Dictionary<int, int>();
        var buysByDay = new Dictionary<int, int>();
        foreach (var f in Log.Events)
        {
            int h = TinyLog.Hour(f[5]);
            byHour[TianchiTime.HourOfDay(h)]++;
            byDay[TianchiTime.DayOf(h)] = byDay.GetValueOrDefault(TianchiTime.DayOf(h)) + 1;
            if (f[2] == "4") buysByDay[TianchiTime.DayOf(h)] = buysByDay.GetValueOrDefault(TianchiTime.DayOf(h)) + 1;
        }
        double n = Log.Events.Count;
        Assert.IsLessThan(0.01, byHour[4] / n, "4 h is the trough");
        Assert.IsGreaterThan(0.06, byHour[21] / n, "21 h is the peak");
        Assert.IsLessThan(byHour[21], byHour[4]);
        Assert.IsLessThan(byHour[12], byHour[3], "night is quieter than midday");

        int d1212 = TianchiTime.DayOf(TianchiTime.Parse("2014-12-12 00")), d1211 = d1212 - 1;
        double ordinary = byDay.Where(kv => kv.Key != d1212 && kv.Key != d1211).Average(kv => kv.Value);
        double ordinaryBuys = buysByDay.Where(kv => kv.Key != d1212 && kv.Key != d1211).Sum(kv => kv.Value) / 29.0;
        Assert.IsGreaterThan(1.5, byDay[d1212] / ordinary, "12-12 has the sales spike");
        Assert.IsGreaterThan(1.1, byDay[d1211] / ordinary, "12-11 is busier than an ordinary day");
        Assert.IsGreaterThan(2.5, buysByDay[d1212] / ordinaryBuys, "12-12 buys spike more than page views");
    }

    [TestMethod]
    public void AboutHalfOfThePurchasesHaveNoClickOfTheirOwn()
    {
        var clicked = Log.Events.Where(f => f[2] == "1").Select(f => (f[0], f[1])).ToHashSet();
        var buys = Log.Events.Where(f => f[2] == "4").ToList();
        double withClick = buys.Count(f => clicked.Contains((f[0], f[1]))) / (double)buys.Count;
        Assert.IsTrue(withClick is >= 0.35 and <= 0.6, $"buys with a same-pair click: {withClick:P1}");
        var carts = Log.Events.Where(f => f[2] == "3").ToList();
        double cartsWithClick = carts.Count(f => clicked.Contains((f[0], f[1]))) / (double)carts.Count;
        Assert.IsTrue(cartsWithClick is >= 0.3 and <= 0.6, $"carts with a same-pair click: {cartsWithClick:P1}");
        Assert.AreEqual(Log.Report.BuysWithPairClickShare, withClick, 0.02, "the report counts buy events, the text buy rows");
    }

    [TestMethod]
    public void TruthHasOneRowPerDistinctClickWithValidProbabilitiesAndCensoredFlags()
    {
        var clicks = Log.Events.Where(f => f[2] == "1").Select(f => (f[0], f[1], f[5])).ToHashSet();
        var keys = new HashSet<(string, string, string)>();
        int last = TianchiTime.Parse("2014-12-18 00");
        var itemCategory = Log.Events.GroupBy(f => f[1]).ToDictionary(g => g.Key, g => g.First()[4]);
        foreach (var t in Log.Truth)
        {
            Assert.HasCount(10, t);
            Assert.IsTrue(keys.Add((t[0], t[1], t[3])), $"duplicate truth row {string.Join(',', t)}");
            Assert.AreEqual(itemCategory[t[1]], t[2]);
            double pfc = double.Parse(t[4], CultureInfo.InvariantCulture), pb = double.Parse(t[5], CultureInfo.InvariantCulture);
            Assert.IsTrue(pfc is >= 0 and <= 1 && pb is >= 0 and <= 1, $"probabilities out of [0,1]: {string.Join(',', t)}");
            Assert.IsTrue(double.IsFinite(double.Parse(t[6], CultureInfo.InvariantCulture)));
            Assert.AreEqual(TinyLog.Hour(t[3]) > last ? "1" : "0", t[7], $"censored flag of {t[3]}");
        }
        Assert.IsTrue(clicks.SetEquals(keys), "truth rows = distinct (user, item, hour) clicks");
        Assert.AreEqual(keys.Count, Log.Report.TruthRows);
        Assert.AreEqual(Log.Truth.Count(t => t[7] == "1"), Log.Report.TruthRowsCensored);
    }

    [TestMethod]
    public void PointInTimeTruthLeavesOutExactlyTheLaterClicksOfThePair()
    {
        // The point-in-time columns multiply over the pair's clicks up to t's hour only: a row whose pair has
        // no later click inside the horizon has them equal to the full columns (same product, same text);
        // otherwise they are at most the full ones, and the later clicks do add probability.
        var hoursByPair = Log.Truth.GroupBy(t => (t[0], t[1])).ToDictionary(g => g.Key, g => g.Select(t => TinyLog.Hour(t[3])).ToArray());
        int withLater = 0, lowerFc = 0, lowerBuy = 0;
        foreach (var t in Log.Truth)
        {
            int h = TinyLog.Hour(t[3]);
            bool later = hoursByPair[(t[0], t[1])].Any(x => x > h && x < h + 24);
            double P(int i) => double.Parse(t[i], CultureInfo.InvariantCulture);
            Assert.IsTrue(P(8) is >= 0 and <= 1 && P(9) is >= 0 and <= 1, $"point-in-time probabilities out of [0,1]: {string.Join(',', t)}");
            if (!later)
            {
                Assert.AreEqual(t[4], t[8], $"fav/cart of a row without later clicks: {string.Join(',', t)}");
                Assert.AreEqual(t[5], t[9], $"buy of a row without later clicks: {string.Join(',', t)}");
                continue;
            }
            withLater++;
            Assert.IsLessThanOrEqualTo(P(4), P(8), $"fav/cart: {string.Join(',', t)}");
            Assert.IsLessThanOrEqualTo(P(5), P(9), $"buy: {string.Join(',', t)}");
            if (P(8) < P(4)) lowerFc++;
            if (P(9) < P(5)) lowerBuy++;
        }
        Assert.IsGreaterThan(50, withLater, "the tiny log has revisits inside the horizon");
        Assert.AreEqual(withLater, lowerFc, "every later click adds fav/cart probability");
        Assert.IsGreaterThan(withLater / 2, lowerBuy, "later clicks of buyers add buy probability (non-buyers stay at 0)");
    }

    [TestMethod]
    public void TruthProbabilitiesAgreeWithTheRealisedOutcomes()
    {
        // Every uncensored click sample's outcome (a same-pair fav/cart or buy in [t, t+24h)) is a Bernoulli
        // draw with the stated probability, so realised counts must sit within a few standard deviations.
        var byPair = new Dictionary<(string, string), List<(int Hour, string Behavior)>>();
        foreach (var f in Log.Events)
        {
            if (!byPair.TryGetValue((f[0], f[1]), out var list)) byPair[(f[0], f[1])] = list = [];
            list.Add((TinyLog.Hour(f[5]), f[2]));
        }
        double eFc = 0, vFc = 0, eB = 0, vB = 0;
        int hitsFc = 0, hitsB = 0;
        foreach (var t in Log.Truth.Where(t => t[7] == "0"))
        {
            int h = TinyLog.Hour(t[3]);
            double pfc = double.Parse(t[4], CultureInfo.InvariantCulture), pb = double.Parse(t[5], CultureInfo.InvariantCulture);
            eFc += pfc; vFc += pfc * (1 - pfc); eB += pb; vB += pb * (1 - pb);
            var events = byPair[(t[0], t[1])];
            if (events.Any(e => e.Behavior is "2" or "3" && e.Hour >= h && e.Hour < h + 24)) hitsFc++;
            if (events.Any(e => e.Behavior == "4" && e.Hour >= h && e.Hour < h + 24)) hitsB++;
        }
        Assert.IsGreaterThan(20, eB, "enough expected buys for the check to mean something");
        Assert.AreEqual(eFc, hitsFc, 4 * Math.Sqrt(vFc) + 2, $"fav/cart: expected {eFc:F1}, realised {hitsFc}");
        Assert.AreEqual(eB, hitsB, 4 * Math.Sqrt(vB) + 2, $"buy: expected {eB:F1}, realised {hitsB}");
    }

    [TestMethod]
    public void ReportCarriesTheDifficultyStatistics()
    {
        var r = Log.Report;
        Assert.AreEqual(r.BuysByDay.Sum(), r.BehaviorRows[3]);
        Assert.AreEqual(r.RowsByDay.Sum(), r.Rows);
        Assert.AreEqual(r.RowsByHourOfDay.Sum(), r.Rows);
        Assert.IsTrue(r.CartRuleHits <= r.CartRulePredicted && r.CartRuleHits <= r.SubsetBuyPairDays);
        Assert.IsTrue(r.SubsetRows > 0 && r.SubsetRows < r.Rows / 3, $"P rows {r.SubsetRows} of {r.Rows}");
        Assert.IsTrue(r.ItemsSeenOnOneDay > r.ItemsSeen / 3);
    }

    [TestMethod]
    public void TheCartYesterdayRuleIsWeakButNotUseless()
    {
        // Tiny has too few next-day P buys for a stable F1: use 1,000 users at the tiny per-user volume.
        var o = GeneratorOptions.Tiny();
        o.Users = 1_000;
        var r = new TianchiGenerator(o).Generate(TextWriter.Null, TextWriter.Null, TextWriter.Null);
        Assert.IsTrue(r.CartRuleF1 is > 0.01 and < 0.10, $"cart-yesterday rule F1 {r.CartRuleF1:F3} (real log 0.04-0.06)");
        double cartNextDay = r.CartedPairDaysBoughtNextDay / (double)r.CartedPairDays;
        double clickNextDay = r.ClickedPairDaysBoughtNextDay / (double)r.ClickedPairDays;
        Assert.IsTrue(cartNextDay > 5 * clickNextDay, $"a cart predicts a next-day buy far better than a click ({cartNextDay:P2} vs {clickNextDay:P2})");
        Assert.IsTrue(clickNextDay is > 0.001 and < 0.01, $"clicked pairs bought next day {clickNextDay:P2} (real log 0.30 %)");
    }
}
