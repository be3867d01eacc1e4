using Cvr.MLNet.Data;
using Cvr.MLNet.Samples;

namespace Cvr.MLNet.Tests.Samples;

[TestClass]
public sealed class SampleTests
{
    internal static int H(string t) => TianchiTime.Parse(t);

    [TestMethod]
    public void ClickIsLabelledBySameHourAndHorizonEvents_DuplicatesCollapse()
    {
        var b = new EventLogBuilder();
        b.Add(1, 100, BehaviorType.Click, "", 7, "2014-12-01 10");
        b.Add(1, 100, BehaviorType.Click, "", 7, "2014-12-01 10"); // exact duplicate
        b.Add(1, 100, BehaviorType.Cart, "", 7, "2014-12-01 10"); // same hour counts as after
        b.Add(1, 100, BehaviorType.Buy, "", 7, "2014-12-02 09"); // t + 23 h: inside H = 24
        b.Add(1, 200, BehaviorType.Click, "", 8, "2014-12-01 10");
        b.Add(1, 200, BehaviorType.Buy, "", 8, "2014-12-02 10"); // t + 24 h: outside
        b.Add(2, 300, BehaviorType.Click, "", 9, "2014-12-01 11");
        b.Add(2, 300, BehaviorType.Favorite, "", 9, "2014-12-01 12");
        b.Add(9, 1, BehaviorType.Click, "", 1, "2014-12-05 23"); // end of log
        var s = CvrSampleSet.Build(b.Build());
        // Clicks on 12-05 23 are censored (horizon past the end).
        Assert.AreEqual(3, s.Count);
        Assert.AreEqual(1, s.CensoredCount);
        CollectionAssert.AreEqual(new[] { 1, 1, 2 }, s.UserIds);
        CollectionAssert.AreEqual(new[] { 100, 200, 300 }, s.ItemIds);
        CollectionAssert.AreEqual(new[] { true, false, true }, s.FavCart);
        CollectionAssert.AreEqual(new[] { true, false, false }, s.Buy);
        CollectionAssert.AreEqual(new[] { 23, -1, -1 }, s.BuyDelays);
        CollectionAssert.AreEqual(new byte[] { (byte)BuyPath.AfterCart, 0, 0 }, s.Paths);
        CollectionAssert.AreEqual(new[] { H("2014-12-01 10"), H("2014-12-01 10"), H("2014-12-01 11") }, s.Hours);
    }

    [TestMethod]
    public void BuyPathsDistinguishDirectFavoriteAndCart()
    {
        var b = new EventLogBuilder();
        b.Add(1, 1, BehaviorType.Click, "", 1, "2014-12-01 10");
        b.Add(1, 1, BehaviorType.Buy, "", 1, "2014-12-01 12");
        b.Add(1, 2, BehaviorType.Click, "", 1, "2014-12-01 10");
        b.Add(1, 2, BehaviorType.Favorite, "", 1, "2014-12-01 11");
        b.Add(1, 2, BehaviorType.Buy, "", 1, "2014-12-01 11");
        b.Add(1, 3, BehaviorType.Buy, "", 1, "2014-12-01 09"); // before the click: not a label
        b.Add(1, 3, BehaviorType.Click, "", 1, "2014-12-01 10");
        b.Add(1, 9, BehaviorType.Click, "", 1, "2014-12-09 00");
        var s = CvrSampleSet.Build(b.Build());
        Assert.AreEqual(3, s.Count);
        CollectionAssert.AreEqual(new byte[] { (byte)BuyPath.Direct, (byte)BuyPath.AfterFavorite, 0 }, s.Paths);
        CollectionAssert.AreEqual(new[] { 2, 1, -1 }, s.BuyDelays);
        CollectionAssert.AreEqual(new[] { false, true, false }, s.FavCart);
    }

    [TestMethod]
    public void NegativeDownSamplingKeepsPositivesWeightsNegativesAndIsDeterministic()
    {
        var b = new EventLogBuilder();
        for (int i = 0; i < 2000; i++)
        {
            b.Add(i % 50, 1000 + i, BehaviorType.Click, "", 1, H("2014-12-01 00") + i % 48);
            if (i % 10 == 0) b.Add(i % 50, 1000 + i, BehaviorType.Buy, "", 1, H("2014-12-01 00") + i % 48 + 1);
        }
        b.Add(1, 1, BehaviorType.Click, "", 1, "2014-12-10 00");
        var log = b.Build();
        var all = CvrSampleSet.Build(log);
        var o = new CvrSampleOptions { NegativeKeepRate = 0.25, Seed = 3 };
        var s1 = CvrSampleSet.Build(log, o);
        var s2 = CvrSampleSet.Build(log, o);
        CollectionAssert.AreEqual(s1.ItemIds, s2.ItemIds);
        Assert.AreEqual(all.Buy.Count(x => x), s1.Buy.Count(x => x));
        int neg = s1.Count - s1.Buy.Count(x => x);
        int negAll = all.Count - all.Buy.Count(x => x);
        Assert.AreEqual(negAll, neg + s1.NegativesDropped);
        Assert.IsTrue(neg > negAll * 0.18 && neg < negAll * 0.32, $"kept {neg} of {negAll}");
        for (int i = 0; i < s1.Count; i++) Assert.AreEqual(s1.Buy[i] ? 1f : 4f, s1.Weights[i]);
        var s3 = CvrSampleSet.Build(log, new CvrSampleOptions { NegativeKeepRate = 0.25, Seed = 4 });
        CollectionAssert.AreNotEqual(s1.ItemIds, s3.ItemIds);
    }

    [TestMethod]
    public void OptionsAreValidatedByName()
    {
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new CvrSampleOptions { NegativeKeepRate = 0 }.Check());
        Assert.AreEqual("NegativeKeepRate", ex.ParamName);
        ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new CvrSampleOptions { HorizonHours = 0 }.Check());
        Assert.AreEqual("HorizonHours", ex.ParamName);
    }
}
