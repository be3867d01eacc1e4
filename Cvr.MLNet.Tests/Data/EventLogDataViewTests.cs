using Cvr.MLNet.Data;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Cvr.MLNet.Tests.Data;

[TestClass]
public sealed class EventLogDataViewTests
{
    private static EventLog Sample(int n)
    {
        var b = new EventLogBuilder("sample");
        for (int i = 0; i < n; i++)
            b.Add(i % 97, 1000 + i % 13, (BehaviorType)(i % 4 + 1), i % 3 == 0 ? "" : "g" + i % 5, 50 + i % 7, 390000 + i % 800);
        return b.Build();
    }

    private static void AssertSameRows(EventLog expected, EventLog actual)
    {
        Assert.AreEqual(expected.Count, actual.Count);
        CollectionAssert.AreEqual(expected.UserIdSpan.ToArray(), actual.UserIdSpan.ToArray());
        CollectionAssert.AreEqual(expected.ItemIdSpan.ToArray(), actual.ItemIdSpan.ToArray());
        CollectionAssert.AreEqual(expected.BehaviorSpan.ToArray(), actual.BehaviorSpan.ToArray());
        CollectionAssert.AreEqual(expected.CategoryIdSpan.ToArray(), actual.CategoryIdSpan.ToArray());
        CollectionAssert.AreEqual(expected.HourSpan.ToArray(), actual.HourSpan.ToArray());
        for (int r = 0; r < expected.Count; r++) Assert.AreEqual(expected.Geohash(r), actual.Geohash(r));
    }

    [TestMethod]
    public void SchemaMatchesTianchiEvent()
    {
        var view = Sample(10).ToDataView();
        var expected = new MLContext().Data.LoadFromEnumerable(new List<TianchiEvent>()).Schema;
        Assert.AreEqual(expected.Count, view.Schema.Count);
        for (int c = 0; c < expected.Count; c++)
        {
            Assert.AreEqual(expected[c].Name, view.Schema[c].Name);
            Assert.AreEqual(expected[c].Type, view.Schema[c].Type);
        }
        CollectionAssert.AreEqual(TianchiFiles.EventsHeader.Split(','), view.Schema.Select(c => c.Name).ToArray());
        Assert.AreEqual(10L, view.GetRowCount());
        Assert.IsFalse(view.CanShuffle);
    }

    [TestMethod]
    public void CreateEnumerableSeesEveryRowWithTextTime()
    {
        var log = Sample(500);
        var rows = new MLContext().Data.CreateEnumerable<TianchiEvent>(log.ToDataView(), reuseRowObject: false).ToList();
        Assert.HasCount(500, rows);
        for (int r = 0; r < 500; r++)
        {
            var e = log[r];
            Assert.AreEqual(e.UserId, rows[r].UserId);
            Assert.AreEqual(e.ItemId, rows[r].ItemId);
            Assert.AreEqual(e.BehaviorType, rows[r].BehaviorType);
            Assert.AreEqual(e.UserGeohash, rows[r].UserGeohash);
            Assert.AreEqual(e.ItemCategory, rows[r].ItemCategory);
            Assert.AreEqual(e.Time, rows[r].Time);
        }
        Assert.AreEqual(TianchiTime.ToText(390000 + 499 % 800), rows[499].Time);
    }

    [TestMethod]
    public void RoundTripReturnsTheSameLog()
    {
        var log = Sample(100);
        Assert.AreSame(log, EventLog.FromDataView(log.ToDataView()));
    }

    [TestMethod]
    public void ForeignViewsAreReadByColumnName()
    {
        var ml = new MLContext(seed: 1);
        var log = Sample(300);
        var events = Enumerable.Range(0, log.Count).Select(r => log[r]).ToList();
        AssertSameRows(log, EventLog.FromDataView(ml.Data.LoadFromEnumerable(events)));

        // A transformed view (extra column first, not ours) still maps by name.
        var transformed = ml.Transforms.Concatenate("both", "user_id", "item_id").Fit(log.ToDataView()).Transform(log.ToDataView());
        Assert.IsFalse(ReferenceEquals(transformed, log.ToDataView()));
        AssertSameRows(log, EventLog.FromDataView(transformed));
    }

    private sealed class NoTime
    {
        [ColumnName("user_id")] public int UserId { get; set; }
        [ColumnName("item_id")] public int ItemId { get; set; }
        [ColumnName("behavior_type")] public int BehaviorType { get; set; }
        [ColumnName("user_geohash")] public string UserGeohash { get; set; } = "";
        [ColumnName("item_category")] public int ItemCategory { get; set; }
    }

    private sealed class FloatUser
    {
        [ColumnName("user_id")] public float UserId { get; set; }
        [ColumnName("item_id")] public int ItemId { get; set; }
        [ColumnName("behavior_type")] public int BehaviorType { get; set; }
        [ColumnName("user_geohash")] public string UserGeohash { get; set; } = "";
        [ColumnName("item_category")] public int ItemCategory { get; set; }
        [ColumnName("time")] public string Time { get; set; } = "";
    }

    [TestMethod]
    public void ForeignViewErrorsNameColumnTypeAndRow()
    {
        var data = new MLContext().Data;
        var ex = Assert.ThrowsExactly<ArgumentException>(() => EventLog.FromDataView(data.LoadFromEnumerable(new List<NoTime> { new() })));
        StringAssert.StartsWith(ex.Message, $"The IDataView has no column 'time' (expected columns {TianchiFiles.EventsHeader}).");

        var ex2 = Assert.ThrowsExactly<ArgumentException>(() => EventLog.FromDataView(data.LoadFromEnumerable(new List<FloatUser> { new() })));
        StringAssert.StartsWith(ex2.Message, "The IDataView column 'user_id' has type Single but Int32 is expected.");

        var rows = new List<TianchiEvent>
        {
            new() { UserId = 1, ItemId = 2, BehaviorType = 1, ItemCategory = 3, Time = "2014-12-01 10" },
            new() { UserId = 1, ItemId = 2, BehaviorType = 1, ItemCategory = 3, Time = "2014-12-01 25" },
        };
        var ex3 = Assert.ThrowsExactly<TianchiFormatException>(() => EventLog.FromDataView(data.LoadFromEnumerable(rows)));
        Assert.AreEqual("IDataView row 1, column 'time': '2014-12-01 25' is not a time in the format yyyy-MM-dd HH (valid date, hour 00..23)", ex3.Message);
        Assert.AreEqual(1L, ex3.Line);
        Assert.AreEqual("time", ex3.Column);

        rows[1].Time = "2014-12-01 10";
        rows[0].BehaviorType = 5;
        var ex4 = Assert.ThrowsExactly<TianchiFormatException>(() => EventLog.FromDataView(data.LoadFromEnumerable(rows)));
        Assert.AreEqual("IDataView row 0, column 'behavior_type': '5' is not a behavior type (expected 1..4)", ex4.Message);
    }

    [TestMethod]
    public void CursorSetCoversEveryRowOnceInBlocks()
    {
        var log = Sample(50_000);
        var view = log.ToDataView();
        var itemCol = view.Schema["item_id"];
        var cursors = view.GetRowCursorSet([itemCol], 3);
        Assert.HasCount(3, cursors);
        var seen = new int[log.Count];
        foreach (var cur in cursors)
        {
            using var _ = cur;
            var id = cur.GetIdGetter();
            var item = cur.GetGetter<int>(itemCol);
            Assert.IsFalse(cur.IsColumnActive(view.Schema["time"]));
            long lastBatch = -1, pos = -1;
            DataViewRowId rid = default;
            int v = 0;
            while (cur.MoveNext())
            {
                Assert.AreEqual(++pos, cur.Position);
                Assert.IsGreaterThanOrEqualTo(lastBatch, cur.Batch);
                lastBatch = cur.Batch;
                id(ref rid);
                item(ref v);
                int row = (int)rid.Low;
                Assert.AreEqual(row / 16384, (int)cur.Batch);
                Assert.AreEqual(log.ItemIdSpan[row], v);
                seen[row]++;
            }
        }
        Assert.IsTrue(seen.All(c => c == 1));

        // ML.NET consolidates the set back into file order.
        var ml = new MLContext();
        var copied = ml.Data.CreateEnumerable<TianchiEvent>(ml.Data.Cache(view), reuseRowObject: false).Select(e => e.ItemId).ToArray();
        CollectionAssert.AreEqual(log.ItemIdSpan.ToArray(), copied);
    }

    [TestMethod]
    public void GetterErrorsAreExplicit()
    {
        var view = Sample(3).ToDataView();
        using var cur = view.GetRowCursor([view.Schema["user_id"]]);
        var ex = Assert.ThrowsExactly<InvalidOperationException>(() => cur.GetGetter<ReadOnlyMemory<char>>(view.Schema["user_id"]));
        Assert.AreEqual("Column 'user_id' has type Int32, not ReadOnlyMemory`1.", ex.Message);
        var ex2 = Assert.ThrowsExactly<InvalidOperationException>(() => cur.GetGetter<int>(view.Schema["item_id"]));
        Assert.AreEqual("Column 'item_id' was not requested when the cursor was created.", ex2.Message);
    }

    [TestMethod]
    public void LoadTianchiEventsReadsAFolder()
    {
        using var dir = new TempTianchiDir();
        dir.WriteEvents("1,2,3,,4,2014-12-01 10", "5,6,4,ab,7,2014-12-02 11");
        var view = new MLContext().Data.LoadTianchiEvents(dir.Path);
        Assert.AreEqual(2L, view.GetRowCount());
        var log = EventLog.FromDataView(view);
        Assert.AreEqual(dir.EventsPath, log.Source);
        Assert.AreEqual("ab", log.Geohash(1));
        Assert.AreEqual("2014-12-02 11", log[1].Time);
    }
}
