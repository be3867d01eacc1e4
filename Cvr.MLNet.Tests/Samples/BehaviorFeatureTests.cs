using Cvr.MLNet.Data;
using Cvr.MLNet.Samples;
using static Cvr.MLNet.Tests.Samples.SampleTests;

namespace Cvr.MLNet.Tests.Samples;

[TestClass]
public sealed class BehaviorFeatureTests
{
    private static (int Len, int[] Items, int[] Cats, int[] Behs, float[] Ago) Seq(UserHistory h, int user, int hour, int t = 20)
    {
        var items = new int[t]; var cats = new int[t]; var behs = new int[t]; var ago = new float[t];
        int len = h.IndexOf(user) is var u and >= 0 ? BehaviorFeatures.FillSequence(h.EventsOf(u), hour, items, cats, behs, ago) : 0;
        return (len, items, cats, behs, ago);
    }

    private static float[] Counts(UserHistory h, int user, int hour)
    {
        var c = new float[28];
        BehaviorFeatures.FillCounts(h.EventsOf(h.IndexOf(user)), hour, c);
        return c;
    }

    [TestMethod]
    public void SequenceIsMostRecentFirstStrictlyBeforeTheHourAndPadded()
    {
        var b = new EventLogBuilder();
        b.Add(1, 10, BehaviorType.Click, "", 100, "2014-12-01 08");
        b.Add(1, 11, BehaviorType.Cart, "", 101, "2014-12-01 09");
        b.Add(1, 11, BehaviorType.Click, "", 101, "2014-12-01 09"); // same hour: behavior 1 sorts before 3
        b.Add(1, 12, BehaviorType.Click, "", 102, "2014-12-01 10"); // same hour as the sample: excluded
        b.Add(1, 12, BehaviorType.Click, "", 102, "2014-12-01 10");
        var h = UserHistory.Build(b.Build());
        Assert.AreEqual(4, h.EventCount);
        var s = Seq(h, 1, H("2014-12-01 10"));
        Assert.AreEqual(3, s.Len);
        CollectionAssert.AreEqual(new[] { 11, 11, 10 }, s.Items[..3]);
        CollectionAssert.AreEqual(new[] { 101, 101, 100 }, s.Cats[..3]);
        CollectionAssert.AreEqual(new[] { 3, 1, 1 }, s.Behs[..3]);
        CollectionAssert.AreEqual(new[] { 1f, 1f, 2f }, s.Ago[..3]);
        Assert.IsTrue(s.Items[3..].All(x => x == 0) && s.Behs[3..].All(x => x == 0) && s.Ago[3..].All(x => x == 0));
        // One hour later the 10 h click is history.
        Assert.AreEqual(4, Seq(h, 1, H("2014-12-01 11")).Len);
        // A user with no history, and a time before all events.
        Assert.AreEqual(0, Seq(h, 2, H("2014-12-01 11")).Len);
        Assert.AreEqual(0, Seq(h, 1, H("2014-12-01 08")).Len);
    }

    [TestMethod]
    public void SequenceKeepsOnlyTheLastT()
    {
        var b = new EventLogBuilder();
        for (int i = 0; i < 30; i++) b.Add(1, 1000 + i, BehaviorType.Click, "", 5, H("2014-12-01 00") + i);
        var h = UserHistory.Build(b.Build());
        var s = Seq(h, 1, H("2014-12-03 00"));
        Assert.AreEqual(20, s.Len);
        Assert.AreEqual(1029, s.Items[0]);
        Assert.AreEqual(1010, s.Items[19]);
        Assert.AreEqual(19f, s.Ago[0]);
    }

    [TestMethod]
    public void CountsCoverTheSevenPreviousCalendarDaysOnly()
    {
        var b = new EventLogBuilder();
        b.Add(1, 1, BehaviorType.Click, "", 1, "2014-12-10 00"); // sample day: not counted
        b.Add(1, 1, BehaviorType.Click, "", 1, "2014-12-09 23"); // day-1, last hour
        b.Add(1, 2, BehaviorType.Click, "", 1, "2014-12-09 00"); // day-1, first hour
        b.Add(1, 2, BehaviorType.Click, "", 1, "2014-12-09 00"); // duplicate: collapses
        b.Add(1, 2, BehaviorType.Buy, "", 1, "2014-12-08 12");   // day-2
        b.Add(1, 3, BehaviorType.Favorite, "", 1, "2014-12-03 00"); // day-7: counted
        b.Add(1, 3, BehaviorType.Cart, "", 1, "2014-12-02 23");  // day-8: not counted
        var h = UserHistory.Build(b.Build());
        var c = Counts(h, 1, H("2014-12-10 05"));
        var expected = new float[28];
        expected[0] = 2;          // day-1 clicks
        expected[4 + 3] = 1;      // day-2 buys
        expected[6 * 4 + 1] = 1;  // day-7 favorites
        CollectionAssert.AreEqual(expected, c);
        // At midnight of 12-09 the 12-09 events are the sample's day: not counted; 12-02 is now day-7.
        var c2 = Counts(h, 1, H("2014-12-09 00"));
        Assert.AreEqual(0f, c2[0]);
        Assert.AreEqual(1f, c2[3]);        // 12-08 buy is day-1
        Assert.AreEqual(1f, c2[5 * 4 + 1]); // 12-03 fav is day-6
        Assert.AreEqual(1f, c2[6 * 4 + 2]); // 12-02 cart is day-7
    }

    [TestMethod]
    public void StoreServesAfterTheLogEndAndAcceptsLiveEvents()
    {
        var b = new EventLogBuilder();
        for (int i = 0; i < 25; i++) b.Add(1, 500 + i, BehaviorType.Click, "", 9, H("2014-12-10 00") + i);
        b.Add(2, 7, BehaviorType.Cart, "", 3, "2014-12-11 05");
        var h = UserHistory.Build(b.Build());
        var store = BehaviorStore.Fit(h, 20);
        int req = H("2014-12-12 10");
        Assert.IsTrue(store.TryGetEvents(1, req, out var ev));
        var items = new int[20]; var cats = new int[20]; var behs = new int[20]; var ago = new float[20];
        Assert.AreEqual(20, BehaviorFeatures.FillSequence(ev, req, items, cats, behs, ago));
        Assert.AreEqual(524, items[0]);
        // Same answer as the full history.
        var items2 = new int[20];
        BehaviorFeatures.FillSequence(h.EventsOf(h.IndexOf(1)), req, items2, new int[20], new int[20], new float[20]);
        CollectionAssert.AreEqual(items2, items);

        // Round trip through the compact form, then live events.
        var ms = new MemoryStream();
        store.Write(new BinaryWriter(ms));
        ms.Position = 0;
        var loaded = BehaviorStore.Read(new BinaryReader(ms));
        Assert.IsFalse(loaded.HasFullHistory);
        Assert.IsTrue(loaded.TryGetEvents(1, req, out var ev2));
        Assert.AreEqual(524, ev2.Items[^1]);
        var ex = Assert.ThrowsExactly<InvalidOperationException>(() => loaded.TryGetEvents(1, H("2014-12-10 05"), out _));
        StringAssert.Contains(ex.Message, "2014-12-10 05");
        loaded.Append(3, 42, 4, BehaviorType.Cart, H("2014-12-12 08"));
        loaded.Append(3, 42, 4, BehaviorType.Cart, H("2014-12-12 08")); // duplicate ignored
        Assert.IsTrue(loaded.TryGetEvents(3, req, out var ev3));
        Assert.AreEqual(1, ev3.Hours.Length);
        var c = new float[28];
        BehaviorFeatures.FillCounts(ev3, H("2014-12-13 01"), c);
        Assert.AreEqual(1f, c[2]);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => loaded.Append(3, 1, 1, BehaviorType.Click, H("2014-12-11 00")));
    }
}
