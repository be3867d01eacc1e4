using Cvr.MLNet.Data;

namespace Cvr.MLNet.Tests.Data;

[TestClass]
public sealed class EventLogSummaryTests
{
    [TestMethod]
    public void ComputesEveryStatisticOfAHandBuiltLog()
    {
        var b = new EventLogBuilder();
        b.Add(1, 10, BehaviorType.Click, "", 100, "2014-11-18 00");
        b.Add(1, 10, BehaviorType.Click, "", 100, "2014-11-18 00");    // duplicate of row 0
        b.Add(1, 10, BehaviorType.Buy, "", 100, "2014-11-18 00");      // behavior differs
        b.Add(2, 11, BehaviorType.Cart, "abc", 100, "2014-12-18 23");
        b.Add(2, 10, BehaviorType.Favorite, "abc", 200, "2014-11-20 05");
        b.Add(1, 10, BehaviorType.Click, "x", 100, "2014-11-18 00");   // geohash differs
        b.Add(1, 10, BehaviorType.Click, "", 100, "2014-11-18 00");    // duplicate again
        b.Add(1, 10, BehaviorType.Click, "", 100, "2014-11-18 01");    // hour differs
        b.Add(1, 10, BehaviorType.Click, "", 101, "2014-11-18 00");    // category differs
        var s = EventLogSummary.Compute(b.Build());

        Assert.AreEqual(9L, s.Rows);
        Assert.AreEqual(2, s.Users);
        Assert.AreEqual(2, s.Items);
        Assert.AreEqual(3, s.Categories);
        Assert.AreEqual("2014-11-18 00", s.First);
        Assert.AreEqual("2014-12-18 23", s.Last);
        Assert.AreEqual(TianchiTime.Parse("2014-11-18 00"), s.FirstHour);
        CollectionAssert.AreEquivalent(new[] { "1", "2", "3", "4" }, s.BehaviorShares.Keys.ToArray());
        Assert.AreEqual(6.0 / 9, s.BehaviorShares["1"], 1e-12);
        Assert.AreEqual(1.0 / 9, s.BehaviorShares["2"], 1e-12);
        Assert.AreEqual(1.0 / 9, s.BehaviorShares["3"], 1e-12);
        Assert.AreEqual(1.0 / 9, s.BehaviorShares["4"], 1e-12);
        Assert.AreEqual(6.0 / 9, s.EmptyGeohashShare, 1e-12);
        Assert.AreEqual(2L, s.DuplicateRows);
        Assert.AreEqual(2.0 / 9, s.DuplicateShare, 1e-12);
        Assert.AreEqual(0L, s.BadRows);
    }

    [TestMethod]
    public void EmptyLogHasZeroesAndNoTimeRange()
    {
        var s = EventLogSummary.Compute(new EventLogBuilder().Build());
        Assert.AreEqual(0L, s.Rows);
        Assert.AreEqual(0, s.Users);
        Assert.IsNull(s.First);
        Assert.IsNull(s.Last);
        Assert.AreEqual(0.0, s.BehaviorShares["4"]);
        Assert.AreEqual(0.0, s.DuplicateShare);
    }

    [TestMethod]
    public void BadRowsComeFromTheRead()
    {
        using var dir = new TempTianchiDir();
        dir.WriteEvents("1,2,1,,3,2014-12-01 10", "1,2,9,,3,2014-12-01 10", "x,2,1,,3,2014-12-01 10", "4,2,1,,3,2014-12-01 10");
        var log = TianchiReader.ReadEvents(dir.EventsPath, new TianchiReadOptions { SkipBadRows = true });
        var s = EventLogSummary.Compute(log);
        Assert.AreEqual(2L, s.Rows);
        Assert.AreEqual(2L, s.BadRows);
        Assert.AreEqual(2, s.Users);
    }

    [TestMethod]
    public void DuplicatesMatchANaiveCountOnRandomLogs()
    {
        var rnd = new Random(7);
        var b = new EventLogBuilder();
        var seen = new HashSet<(int, int, int, string, int, int)>();
        long naive = 0;
        for (int i = 0; i < 5000; i++)
        {
            var row = (rnd.Next(20), rnd.Next(5), rnd.Next(1, 5), rnd.Next(3) == 0 ? "g" + rnd.Next(2) : "", rnd.Next(2), 390000 + rnd.Next(3));
            if (!seen.Add(row)) naive++;
            b.Add(row.Item1, row.Item2, (BehaviorType)row.Item3, row.Item4, row.Item5, row.Item6);
        }
        Assert.AreEqual(naive, EventLogSummary.Compute(b.Build()).DuplicateRows);
    }
}
