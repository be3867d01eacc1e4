using Cvr.MLNet.Data;
using Cvr.MLNet.Samples;
using Cvr.MLNet.Serving;
using Cvr.MLNet.Transforms;
using Microsoft.ML;
using Microsoft.ML.Data;
using CsCheck;
using static Cvr.MLNet.Tests.Samples.SampleTests;
using F = Cvr.MLNet.Samples.InteractionFeatures;

namespace Cvr.MLNet.Tests.Samples;

[TestClass]
public sealed class InteractionFeatureTests
{
    private static readonly int Start = TianchiTime.Parse("2014-12-01 00");

    private static float[] Fill(InteractionStore s, int user, int item, int cat, int hour)
    {
        var v = new float[F.Length];
        s.Fill(user, item, cat, hour, v);
        return v;
    }

    /// <summary>Reference computation straight from the definition: distinct events strictly before the hour.</summary>
    internal static float[] Naive(IEnumerable<(int User, int Item, int Cat, int Beh, int Hour)> rows, int user, int item, int cat, int hour)
    {
        var ev = rows.Where(r => r.Hour < hour).Select(r => (r.User, r.Item, r.Beh, r.Hour, r.Cat)).Distinct().ToList();
        var v = new float[F.Length];
        foreach (var e in ev.Where(e => e.User == user))
        {
            v[F.UserCounts + e.Beh - 1]++;
            if (e.Cat == cat) { v[F.UserCategoryCounts + e.Beh - 1]++; if (e.Hour >= hour - 24) v[F.UserCategoryRecent]++; }
            if (e.Item == item) v[F.UserItemCounts + e.Beh - 1]++;
        }
        var catHours = ev.Where(e => e.User == user && e.Cat == cat).Select(e => e.Hour).ToList();
        var itemHours = ev.Where(e => e.User == user && e.Item == item).Select(e => e.Hour).ToList();
        v[F.UserCategoryHoursSince] = catHours.Count == 0 ? F.NoEventHours : Math.Min(hour - catHours.Max(), F.NoEventHours);
        v[F.UserItemHoursSince] = itemHours.Count == 0 ? F.NoEventHours : Math.Min(hour - itemHours.Max(), F.NoEventHours);
        foreach (var e in ev.Where(e => e.Item == item)) v[F.ItemCounts + e.Beh - 1]++;
        return v;
    }

    private static EventLog Build(IEnumerable<(int User, int Item, int Cat, int Beh, int Hour)> rows)
    {
        var b = new EventLogBuilder();
        foreach (var (u, i, c, beh, h) in rows) b.Add(u, i, (BehaviorType)beh, "", c, h);
        return b.Build();
    }

    [TestMethod]
    public void HandBuiltLogGivesExactValuesAtTheBoundaries()
    {
        var rows = new List<(int, int, int, int, int)>
        {
            (1, 10, 100, 1, H("2014-12-01 08")),
            (1, 10, 100, 1, H("2014-12-01 08")),   // exact duplicate: one event
            (1, 10, 100, 3, H("2014-12-01 09")),   // cart of the candidate item
            (1, 11, 100, 1, H("2014-12-02 09")),   // exactly 24 h before the sample: in the recent window
            (1, 12, 200, 2, H("2014-12-02 10")),   // other category
            (1, 10, 100, 1, H("2014-12-03 09")),   // the sample's own hour: future
            (2, 10, 100, 4, H("2014-12-01 12")),   // another user's buy of the item
            (2, 10, 100, 1, H("2014-12-03 09")),   // another user's event in the sample's hour: future
        };
        var store = InteractionStore.Fit(UserHistory.Build(Build(rows)));
        var v = Fill(store, 1, 10, 100, H("2014-12-03 09"));
        float[] expected =
        [
            2, 1, 1, 0,          // user: clicks 10, 11; fav 12; cart 10
            2, 0, 1, 0,          // user × category 100: clicks 10, 11; cart 10
            1, 24,               // last 24 h: the click of 11 at 12-02 09 (24 h ago)
            1, 0, 1, 0, 48,      // user × item 10: click + cart, last at 12-01 09
            1, 0, 1, 1,          // item 10 by everyone: click, cart, user 2's buy
        ];
        CollectionAssert.AreEqual(expected, v);
        // One hour later the 24-hour window has lost 12-02 09 but gained the 12-03 09 click.
        var later = Fill(store, 1, 10, 100, H("2014-12-03 10"));
        Assert.AreEqual(1f, later[F.UserCategoryRecent]);
        Assert.AreEqual(1f, later[F.UserItemHoursSince]);
        Assert.AreEqual(3f, later[F.ItemCounts]);          // both users clicked it at 12-03 09
        // Unknown user, item and category: zero counts, "no event" gaps.
        var none = Fill(store, 99, 999, 999, H("2014-12-03 09"));
        CollectionAssert.AreEqual(Enumerable.Repeat(0f, F.Length).Select((x, i) => i is F.UserCategoryHoursSince or F.UserItemHoursSince ? F.NoEventHours : x).ToArray(), none);
        // Before the user's first event.
        Assert.AreEqual(0f, Fill(store, 1, 10, 100, H("2014-12-01 08")).Take(8).Sum());
    }

    private static readonly Gen<(int User, int Item, int Cat, int Beh, int Hour)[]> GenLog =
        Gen.Select(Gen.Int[1, 4], Gen.Int[1, 8], Gen.Int[1, 4], Gen.Int[0, 24 * 10]).Select(t => (t.Item1, t.Item2, t.Item2 % 3, t.Item3, Start + t.Item4)).Array[1, 150];

    [TestMethod]
    public void IndexEqualsTheDefinitionOnRandomLogs_SoNothingAtOrAfterTheHourIsRead()
    {
        GenLog.Sample(rows =>
        {
            var store = InteractionStore.Fit(UserHistory.Build(Build(rows)));
            foreach (int hour in rows.Select(r => r.Hour).Distinct().Take(6).Append(Start + 100))
                for (int user = 1; user <= 4; user++)
                    for (int item = 1; item <= 8; item += 3)
                        if (!Fill(store, user, item, item % 3, hour).SequenceEqual(Naive(rows, user, item, item % 3, hour))) return false;
            return true;
        }, iter: 120);
    }

    [TestMethod]
    public void DeletingEventsAtOrAfterTheSampleHourChangesNoValue()
    {
        GenLog.Sample(rows =>
        {
            var full = InteractionStore.Fit(UserHistory.Build(Build(rows.Append((9, 9, 0, 1, Start + 24 * 10)))));
            foreach (var s in rows.Where(r => r.Beh == 1).Take(8))
            {
                var past = rows.Where(r => r.Hour < s.Hour).Append((9, 9, 0, 1, Start)).Append((9, 9, 0, 1, Start + 24 * 10));
                var cut = InteractionStore.Fit(UserHistory.Build(Build(past)));
                if (!Fill(full, s.User, s.Item, s.Cat, s.Hour).SequenceEqual(Fill(cut, s.User, s.Item, s.Cat, s.Hour))) return false;
            }
            return true;
        }, iter: 100);
    }

    [TestMethod]
    public void CompactStatePlusLiveEventsEqualsTheIndexOfTheLongerLog_AndRoundTrips()
    {
        GenLog.Sample(rows =>
        {
            int end = Start + 24 * 10;
            var log = rows.Append((9, 9, 0, 1, end)).ToArray();
            // Live events after the log's end (including a duplicate), and the index of log + live as the reference.
            var live = new[] { (1, 2, 2, 3, end + 2), (1, 2, 2, 3, end + 2), (2, 5, 2, 1, end + 5), (1, 4, 1, 4, end + 30) };
            var reference = InteractionStore.Fit(UserHistory.Build(Build(log.Concat(live))));
            var store = InteractionStore.Fit(UserHistory.Build(Build(log)));
            foreach (var (u, i, c, b, h) in live) store.Append(u, i, c, (BehaviorType)b, h);
            using var ms = new MemoryStream();
            using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) store.Write(w);
            ms.Position = 0;
            var loaded = InteractionStore.Read(new BinaryReader(ms));
            // Requests after the reference log's end read its index: compare at hours past every live event too.
            var refAfter = InteractionStore.Fit(UserHistory.Build(Build(log.Concat(live).Append((9, 9, 0, 1, end + 60)))));
            foreach (int hour in new[] { end + 1, end + 3, end + 6, end + 26, end + 31, end + 55 })
                for (int user = 1; user <= 4; user++)
                    for (int item = 1; item <= 8; item++)
                    {
                        var expected = Naive(log.Concat(live), user, item, item % 3, hour);
                        if (!Fill(store, user, item, item % 3, hour).SequenceEqual(expected)) return false;
                        if (!Fill(loaded, user, item, item % 3, hour).SequenceEqual(expected)) return false;
                        if (!Fill(refAfter, user, item, item % 3, hour).SequenceEqual(expected)) return false;
                    }
            return !loaded.HasFullHistory && reference.HasFullHistory;
        }, iter: 60);
    }

    [TestMethod]
    public void LoadedStateRefusesInLogTimesAndLiveEventsBeforeTheEnd()
    {
        var store = InteractionStore.Fit(UserHistory.Build(Build([(1, 1, 1, 1, Start), (1, 2, 1, 1, Start + 10)])));
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => store.Append(1, 1, 1, BehaviorType.Click, Start + 10));
        StringAssert.Contains(ex.Message, "after the fitted log's end (2014-12-01 10)");
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) store.Write(w);
        ms.Position = 0;
        var loaded = InteractionStore.Read(new BinaryReader(ms));
        var ex2 = Assert.ThrowsExactly<InvalidOperationException>(() => Fill(loaded, 1, 1, 1, Start + 5));
        StringAssert.Contains(ex2.Message, "lies inside the fitted log");
        // A truncated state is a clear error, not garbage.
        var bytes = ms.ToArray();
        Assert.ThrowsExactly<EndOfStreamException>(() => InteractionStore.Read(new BinaryReader(new MemoryStream(bytes[..^3]))));
    }

    [TestMethod]
    public void TransformSavesLoadsServesAndNamesMissingColumns()
    {
        var ml = new MLContext(1);
        var log = Build([(1, 10, 100, 1, H("2014-12-01 08")), (1, 10, 100, 3, H("2014-12-01 09")), (2, 10, 100, 4, H("2014-12-02 10"))]);
        var samples = CvrSampleSet.Build(log).ToDataView();
        var fitted = ml.Transforms.CvrInteractionFeatures(log).Fit(samples);
        var x = fitted.Transform(samples);
        var values = x.GetColumn<VBuffer<float>>(x.Schema[CvrColumns.Interactions]).Select(v => v.DenseValues().ToArray()).ToArray();
        Assert.AreEqual(1, values.Length);                     // one click sample (1, 10, 12-01 08): nothing before it
        Assert.AreEqual(0f, values[0][F.UserCounts]);
        Assert.AreEqual((float)F.NoEventHours, values[0][F.UserItemHoursSince]);

        var path = Path.Combine(Path.GetTempPath(), $"cvr-interactions-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(fitted, samples.Schema, path);
            var loaded = new MLContext().Model.Load(path, out _);
            var req = new[] { new CvrRequest { UserId = 1, ItemId = 10, CategoryId = 100, Time = TianchiTime.FromHour(H("2014-12-02 12")) } };
            float[] Run(ITransformer t)
            {
                var v = t.Transform(ml.Data.LoadFromEnumerable(req));
                return v.GetColumn<VBuffer<float>>(v.Schema[CvrColumns.Interactions]).Single().DenseValues().ToArray();
            }
            CollectionAssert.AreEqual(Run(fitted), Run(loaded));
            CollectionAssert.AreEqual(new float[] { 1, 0, 1, 0, 1, 0, 1, 0, 0, 27, 1, 0, 1, 0, 27, 1, 0, 1, 1 }, Run(loaded));
            Assert.AreEqual(1, loaded.AppendEvent(1, 10, 100, BehaviorType.Buy, TianchiTime.FromHour(H("2014-12-02 11"))));
            var after = Run(loaded);
            Assert.AreEqual(1f, after[F.UserItemCounts + 3]);
            Assert.AreEqual(1f, after[F.UserItemHoursSince]);
            Assert.AreEqual(2f, after[F.ItemCounts + 3]);
        }
        finally { File.Delete(path); }

        var noItem = ml.Data.LoadFromEnumerable(new[] { new { UserId = 1, CategoryId = 3, Time = DateTime.UnixEpoch } });
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.CvrInteractionFeatures(log).Fit(noItem));
        StringAssert.Contains(ex.Message, "column 'ItemId' (role item) not found");
    }
}
