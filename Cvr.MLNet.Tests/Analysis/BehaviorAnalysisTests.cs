using Cvr.MLNet.Analysis;
using Cvr.MLNet.Data;

namespace Cvr.MLNet.Tests.Analysis;

[TestClass]
public sealed class BehaviorAnalysisTests
{
    private static readonly int B = TianchiTime.Parse("2014-12-10 00");

    /// <summary>
    /// U1: item 10 click 0, fav 1, cart 3, buy 5 · item 11 click 2, buy 2 · item 12 fav 0, fav 10, buy 10 · item 13 cart 4, buy 40.
    /// U2: item 10 click 1, cart 1, buy 30 · item 20 click 5 (twice, a duplicate row), click 6, fav 6 · item 21 fav 90.
    /// U3: item 99 click 100 (the log's last hour).
    /// </summary>
    internal static EventLog HandLog()
    {
        var b = new EventLogBuilder("hand-log");
        void E(int user, int item, BehaviorType t, int hour) => b.Add(user, item, t, "", 1, B + hour);
        E(1, 10, BehaviorType.Click, 0); E(1, 10, BehaviorType.Favorite, 1); E(1, 10, BehaviorType.Cart, 3); E(1, 10, BehaviorType.Buy, 5);
        E(1, 11, BehaviorType.Click, 2); E(1, 11, BehaviorType.Buy, 2);
        E(1, 12, BehaviorType.Favorite, 0); E(1, 12, BehaviorType.Favorite, 10); E(1, 12, BehaviorType.Buy, 10);
        E(1, 13, BehaviorType.Cart, 4); E(1, 13, BehaviorType.Buy, 40);
        E(2, 10, BehaviorType.Click, 1); E(2, 10, BehaviorType.Cart, 1); E(2, 10, BehaviorType.Buy, 30);
        E(2, 20, BehaviorType.Click, 5); E(2, 20, BehaviorType.Click, 5); E(2, 20, BehaviorType.Click, 6); E(2, 20, BehaviorType.Favorite, 6);
        E(2, 21, BehaviorType.Favorite, 90);
        E(3, 99, BehaviorType.Click, 100);
        return b.Build();
    }

    [TestMethod]
    public void DelaysAreMeasuredFromThePairsLatestFavoriteAndCartAtOrBeforeTheBuy()
    {
        var (fav, cart) = CvrAnalysis.ConversionDelays(HandLog());
        // Favorite → buy: item 10 (5 − 1 = 4), item 12 (latest favorite at 10, same hour as the buy: 0).
        Assert.AreEqual(BehaviorType.Favorite, fav.From);
        Assert.AreEqual(2L, fav.Buys);
        CollectionAssert.AreEqual(new long[] { 1, 0, 0, 1, 0, 0, 0, 0, 0, 0 }, fav.Counts.ToArray());
        Assert.AreEqual(0.0, fav.MedianHours);
        Assert.AreEqual(2.0, fav.MeanHours);
        // Cart → buy: U1 item 10 (2), U1 item 13 (36), U2 item 10 (29).
        Assert.AreEqual(3L, cart.Buys);
        CollectionAssert.AreEqual(new long[] { 0, 0, 1, 0, 0, 0, 2, 0, 0, 0 }, cart.Counts.ToArray());
        Assert.AreEqual(29.0, cart.MedianHours);
        Assert.AreEqual(67.0 / 3, cart.MeanHours, 1e-12);

        Assert.AreEqual("0 h", cart.BucketLabel(0));
        Assert.AreEqual("3–5 h", cart.BucketLabel(3));
        Assert.AreEqual("24–47 h", cart.BucketLabel(6));
        Assert.AreEqual("≥120 h", cart.BucketLabel(9));
    }

    [TestMethod]
    public void CustomBucketsAreValidated()
    {
        var (fav, cart) = CvrAnalysis.ConversionDelays(HandLog(), [0, 3, 30]);
        CollectionAssert.AreEqual(new long[] { 1, 1, 0 }, fav.Counts.ToArray());
        CollectionAssert.AreEqual(new long[] { 1, 1, 1 }, cart.Counts.ToArray());
        var e = Assert.ThrowsExactly<ArgumentException>(() => CvrAnalysis.ConversionDelays(HandLog(), [1, 3]));
        StringAssert.StartsWith(e.Message, "bucketStarts must start at 0.");
        e = Assert.ThrowsExactly<ArgumentException>(() => CvrAnalysis.ConversionDelays(HandLog(), [0, 5, 5]));
        StringAssert.StartsWith(e.Message, "bucketStarts must ascend strictly; 5 follows 5 at index 2.");
    }

    [TestMethod]
    public void ConversionRatesCountClicksByPathAndFavoritesAndCartsBoughtWithinTheHorizon()
    {
        var c = CvrAnalysis.ConversionRates(HandLog(), 24);
        // Labelled clicks (t ≤ 100 − 24 + 1): U1 (10,0) after cart, U1 (11,2) direct, U2 (10,1) bought at 30 (too late), U2 (20,5), (20,6).
        Assert.AreEqual(new ConversionPaths(24, 5, 1, 0, 1, 4, 3, 3, 1), c);
        Assert.AreEqual(0.4, c.ClickBuyRate, 1e-12);
        Assert.AreEqual(0.2, c.DirectRate, 1e-12);
        Assert.AreEqual(0.0, c.ClickAfterFavoriteRate);
        Assert.AreEqual(0.75, c.FavoriteBuyRate, 1e-12);
        Assert.AreEqual(1.0 / 3, c.CartBuyRate, 1e-12);
        // A 48 h horizon: U2's cart at 1 now converts at 30, U1's cart at 4 converts at 40; the favorite at 90 is still censored.
        var c48 = CvrAnalysis.ConversionRates(HandLog(), 48);
        Assert.AreEqual(3L, c48.CartsBought);
        Assert.AreEqual(4L, c48.Favorites);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => CvrAnalysis.ConversionRates(HandLog(), 0));
    }

    [TestMethod]
    public void VolumesCountRowsPerDayAndHourOfDayByBehavior()
    {
        var v = CvrAnalysis.Volumes(HandLog());
        Assert.AreEqual(TianchiTime.DayOf(B), v.FirstDay);
        Assert.AreEqual(5, v.DayCount);
        CollectionAssert.AreEqual(new long[] { 6, 0, 0, 0, 1 }, v.Daily[0]); // the duplicate click row counts
        CollectionAssert.AreEqual(new long[] { 4, 0, 0, 1, 0 }, v.Daily[1]);
        CollectionAssert.AreEqual(new long[] { 3, 0, 0, 0, 0 }, v.Daily[2]);
        CollectionAssert.AreEqual(new long[] { 3, 2, 0, 0, 0 }, v.Daily[3]);
        Assert.AreEqual(TianchiTime.DayOf(B), v.PeakDay);
        Assert.AreEqual(16.0, v.PeakToMedian); // totals 16, 2, 0, 1, 1: median 1
        var clicks = new long[24]; clicks[0] = 1; clicks[1] = 1; clicks[2] = 1; clicks[4] = 1; clicks[5] = 2; clicks[6] = 1;
        CollectionAssert.AreEqual(clicks, v.Hourly[0]);
        var buys = new long[24]; buys[2] = 1; buys[5] = 1; buys[6] = 1; buys[10] = 1; buys[16] = 1;
        CollectionAssert.AreEqual(buys, v.Hourly[3]);
        Assert.AreEqual("2014-12-10", EventVolumes.DayText(v.FirstDay));

        var empty = CvrAnalysis.Volumes(new EventLogBuilder().Build());
        Assert.AreEqual(0, empty.DayCount);
        Assert.IsNull(empty.PeakDay);
        Assert.IsTrue(double.IsNaN(empty.PeakToMedian));
    }

    [TestMethod]
    public void CalibrationCutsSortedProbabilitiesIntoEqualCountBins()
    {
        bool[] y = [false, true, false, true, true, false];
        float[] p = [0.1f, 0.9f, 0.2f, 0.8f, 0.3f, 0.05f];
        var bins = CvrAnalysis.Calibration(y, p, 3);
        Assert.AreEqual(3, bins.Count);
        double[] mean = [(0.05 + 0.1) / 2, (0.2 + 0.3) / 2, (0.8 + 0.9) / 2], rate = [0, 0.5, 1];
        for (int i = 0; i < 3; i++)
        {
            Assert.AreEqual(2, bins[i].Count);
            Assert.AreEqual(mean[i], bins[i].MeanPredicted, 1e-6);
            Assert.AreEqual(rate[i], bins[i].ObservedRate, 1e-12);
        }
        Assert.AreEqual(0.2, bins[1].MinPredicted, 1e-6);
        Assert.AreEqual(0.3, bins[1].MaxPredicted, 1e-6);
        Assert.AreEqual(6, CvrAnalysis.Calibration(y, p, 10).Count); // never more bins than samples
        Assert.AreEqual(0, CvrAnalysis.Calibration([], [], 10).Count);
        var e = Assert.ThrowsExactly<ArgumentException>(() => CvrAnalysis.Calibration(y, p.AsSpan(0, 5), 3));
        Assert.AreEqual("labels (6) and probabilities (5) differ in length.", e.Message);
    }
}
