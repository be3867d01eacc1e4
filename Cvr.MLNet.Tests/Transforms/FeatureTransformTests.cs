using Cvr.MLNet.Data;
using Cvr.MLNet.Samples;
using Cvr.MLNet.Serving;
using Cvr.MLNet.Transforms;
using Cvr.MLNet.Transforms.Vocabulary;
using Microsoft.ML;
using Microsoft.ML.Data;
using static Cvr.MLNet.Tests.Samples.SampleTests;

namespace Cvr.MLNet.Tests.Transforms;

[TestClass]
public sealed class FeatureTransformTests
{
    private static readonly IdVocabularyOptions Vocab = new() { UserSize = 50, ItemSize = 50, CategorySize = 20, OovShare = 0.1, SequenceLength = 4 };

    private static EventLog HandLog()
    {
        var b = new EventLogBuilder();
        b.Add(1, 10, BehaviorType.Click, "", 100, "2014-12-01 08"); // Monday
        b.Add(1, 11, BehaviorType.Cart, "", 101, "2014-12-01 09");
        b.Add(1, 12, BehaviorType.Click, "", 102, "2014-12-02 10");
        b.Add(1, 12, BehaviorType.Buy, "", 102, "2014-12-02 10");
        b.Add(2, 10, BehaviorType.Click, "", 100, "2014-12-06 23"); // Saturday
        b.Add(3, 99, BehaviorType.Click, "", 100, "2014-12-07 23"); // log end
        return b.Build();
    }

    private static T[] Column<T>(IDataView view, string name) => view.GetColumn<T>(view.Schema[name]).ToArray();

    // Vector getters reuse their buffer: copy each row.
    private static T[][] Vec<T>(IDataView view, string name) => view.GetColumn<VBuffer<T>>(view.Schema[name]).Select(v => v.DenseValues().ToArray()).ToArray();

    [TestMethod]
    public void TransformsComputeExactPointInTimeValuesThroughMLNet()
    {
        var ml = new MLContext(1);
        var log = HandLog();
        var samples = CvrSampleSet.Build(log).ToDataView(); // clicks: (1,10,12-01 08), (1,12,12-02 10), (2,10,12-06 23)
        var fitted = ml.Transforms.CvrFeatures(log, Vocab).Fit(samples);
        var x = fitted.Transform(samples);
        CollectionAssert.AreEqual(new[] { 1, 1, 2 }, Column<int>(x, CvrColumns.UserId));
        CollectionAssert.AreEqual(new[] { 0, 1, 5 }, Column<int>(x, CvrColumns.Weekday));
        CollectionAssert.AreEqual(new[] { 0f, 0f, 1f }, Column<float>(x, CvrColumns.IsWeekend));
        CollectionAssert.AreEqual(new[] { 8, 10, 23 }, Column<int>(x, CvrColumns.HourOfDay));
        float span = H("2014-12-07 23") - H("2014-12-01 08") + 1;
        var ts = Column<float>(x, CvrColumns.Timestamp);
        Assert.AreEqual(0f, ts[0]);
        Assert.AreEqual((H("2014-12-02 10") - H("2014-12-01 08")) / span, ts[1], 1e-6);
        Assert.AreEqual((H("2014-12-07 23") - H("2014-12-06 23")) / span, Column<float>(x, CvrColumns.TimeDelta)[2], 1e-6);

        var lens = Column<int>(x, CvrColumns.SeqLength);
        CollectionAssert.AreEqual(new[] { 0, 2, 0 }, lens); // user 2's first event is the sample itself
        var seq = Vec<int>(x, CvrColumns.SeqItemIds)[1];
        CollectionAssert.AreEqual(new[] { 11, 10, 0, 0 }, seq);
        CollectionAssert.AreEqual(new[] { 3, 1, 0, 0 }, Vec<int>(x, CvrColumns.SeqBehaviors)[1]);
        CollectionAssert.AreEqual(new[] { 25f, 26f, 0f, 0f }, Vec<float>(x, CvrColumns.SeqHoursAgo)[1]);
        var counts = Vec<float>(x, CvrColumns.BehaviorCounts)[1];
        Assert.AreEqual(1f, counts[0]); Assert.AreEqual(1f, counts[2]); Assert.AreEqual(2f, counts.Sum()); // day-1: click + cart

        // Candidate and sequence items share one index space; padding stays 0.
        var itemIdx = Column<int>(x, CvrColumns.ItemIndex);
        var seqIdx = Vec<int>(x, CvrColumns.SeqItemIndices)[1];
        var vocab = ((IdVocabularyTransformer)fitted.LastTransformer).Items;
        Assert.AreEqual(vocab.IndexOf(10), itemIdx[0]);
        Assert.AreEqual(vocab.IndexOf(10), seqIdx[1]);
        Assert.AreEqual(0, seqIdx[2]);
        Assert.IsTrue(vocab.Contains(10) && !vocab.Contains(123456));
        int oov = vocab.IndexOf(123456);
        Assert.IsTrue(oov > vocab.Ids.Length && oov < vocab.Size, $"OOV index {oov} of {vocab.Size}");
    }

    [TestMethod]
    public void FeatureTransformsSaveAndLoadAndServeRequestsAfterTheLogEnd()
    {
        var ml = new MLContext(1);
        var log = HandLog();
        var samples = CvrSampleSet.Build(log).ToDataView();
        var fitted = ml.Transforms.CvrFeatures(log, Vocab).Fit(samples);
        var path = Path.Combine(Path.GetTempPath(), $"cvr-features-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(fitted, samples.Schema, path);
            var loaded = new MLContext().Model.Load(path, out _);
            var req = new[] { new CvrRequest { UserId = 1, ItemId = 12, CategoryId = 102, Time = TianchiTime.FromHour(H("2014-12-08 05")) } };
            IDataView Run(ITransformer t) => t.Transform(ml.Data.LoadFromEnumerable(req));
            foreach (var col in new[] { CvrColumns.SeqItemIndices, CvrColumns.SeqCategoryIndices, CvrColumns.SeqBehaviors })
                CollectionAssert.AreEqual(Column<VBuffer<int>>(Run(fitted), col)[0].DenseValues().ToArray(), Column<VBuffer<int>>(Run(loaded), col)[0].DenseValues().ToArray(), col);
            CollectionAssert.AreEqual(Column<VBuffer<float>>(Run(fitted), CvrColumns.BehaviorCounts)[0].DenseValues().ToArray(),
                Column<VBuffer<float>>(Run(loaded), CvrColumns.BehaviorCounts)[0].DenseValues().ToArray());
            Assert.AreEqual(4, Column<int>(Run(loaded), CvrColumns.SeqLength)[0]);

            // Live events reach every behavior transform of the loaded chain (counts, sequence, interactions).
            Assert.AreEqual(3, loaded.AppendEvent(1, 77, 5, BehaviorType.Cart, TianchiTime.FromHour(H("2014-12-08 01"))));
            var after = Run(loaded);
            Assert.AreEqual(77, Vec<int>(after, CvrColumns.SeqItemIds)[0].First());
            // Same calendar day as the request: in the sequence, not yet in the day counts; next day it is day-1.
            CollectionAssert.AreEqual(Vec<float>(Run(fitted), CvrColumns.BehaviorCounts)[0], Vec<float>(after, CvrColumns.BehaviorCounts)[0]);
            var nextDay = loaded.Transform(ml.Data.LoadFromEnumerable(new[] { new CvrRequest { UserId = 1, ItemId = 12, CategoryId = 102, Time = TianchiTime.FromHour(H("2014-12-09 05")) } }));
            Assert.AreEqual(1f, Vec<float>(nextDay, CvrColumns.BehaviorCounts)[0][2]);
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void SchemaErrorsNameTheColumn()
    {
        var ml = new MLContext(1);
        var log = HandLog();
        var noTime = ml.Data.LoadFromEnumerable(new[] { new { UserId = 1, ItemId = 2, CategoryId = 3 } });
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.CvrTimeFeatures(log).Fit(noTime));
        StringAssert.Contains(ex.Message, "column 'Time' (role time) not found");
        var wrongType = ml.Data.LoadFromEnumerable(new[] { new WrongUser { UserId = 1f, Time = DateTime.UnixEpoch } });
        var ex2 = Assert.ThrowsExactly<InvalidOperationException>(() => ml.Transforms.CvrBehaviorCounts(log).Fit(wrongType));
        StringAssert.Contains(ex2.Message, "column 'UserId' (role user) has type Single, expected Int32");
        var fitted = ml.Transforms.CvrBehaviorSequence(log, 4).Fit(ml.Data.LoadFromEnumerable(new[] { new CvrRequest() }));
        var ex3 = Assert.ThrowsExactly<InvalidOperationException>(() => fitted.GetOutputSchema(wrongType.Schema));
        StringAssert.Contains(ex3.Message, "'UserId'");
    }

    private sealed class WrongUser
    {
        public float UserId { get; set; }
        public DateTime Time { get; set; }
    }
}
