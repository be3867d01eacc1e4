using Cvr.MLNet.Model;
using Cvr.MLNet.Samples;
using Cvr.MLNet.Training;
using Cvr.MLNet.Transforms;
using Cvr.MLNet.Transforms.Vocabulary;
using Microsoft.ML;
using static TorchSharp.torch;

namespace Cvr.MLNet.Tests.Training;

/// <summary>
/// Training in windows of rows (<see cref="CvrTrainerOptions.MaxRowsInMemory"/>): a window holds exactly the rows a
/// whole table holds, one window trains exactly as the whole table, and the rows held stay flat as the data grows.
/// </summary>
[TestClass]
public sealed class WindowedTrainingTests
{
    private static readonly IdVocabularyOptions Vocab = new() { UserSize = 64, ItemSize = 300, CategorySize = 40, OovShare = 0.1, SequenceLength = 20 };

    /// <summary>Features of the generated log's samples, the vocabulary and state fitted on its first two thirds.</summary>
    private static IDataView Featurized()
    {
        var ml = new MLContext(1);
        var log = ColumnarFeatureReaderTests.Generated();
        var (first, last) = log.HourRange();
        var fitLog = log.Before(first + (last - first) * 2 / 3);
        var view = CvrSampleSet.Build(log, new CvrSampleOptions { NegativeKeepRate = 0.5, Seed = 3 }).ToDataView();
        return ml.Transforms.CvrFeatures(fitLog, Vocab).Fit(view).Transform(view);
    }

    private static int K(IDataView view) => view.Schema.GetColumnOrNull(CvrColumns.Interactions) is null ? 0 : InteractionFeatures.Length;

    /// <summary>The rows <paramref name="rows"/> of a whole table, as a table.</summary>
    private static FeatureTable Pick(FeatureTable whole, int[] rows)
    {
        Assert.IsTrue(whole.RawCountMode && whole.RawHoursAgoMode, "compact table");
        var t = whole.T; var k = whole.K;
        var p = FeatureTable.Create(rows.Length, t, compact: true, k);
        static void Copy<T>(T[] from, T[] to, int r, int i, int stride) => from.AsSpan(r * stride, stride).CopyTo(to.AsSpan(i * stride, stride));
        for (int i = 0; i < rows.Length; i++)
        {
            int r = rows[i];
            Copy(whole.User, p.User, r, i, 1); Copy(whole.Item, p.Item, r, i, 1); Copy(whole.Category, p.Category, r, i, 1);
            Copy(whole.Weekday, p.Weekday, r, i, 1); Copy(whole.Hour, p.Hour, r, i, 1);
            int q = whole.SequenceOf(r);
            Copy(whole.SeqLen, p.SeqLen, q, i, 1);
            Copy(whole.TimeDense, p.TimeDense, r, i, 3); Copy(whole.RawCounts, p.RawCounts, whole.CountsOf(r), i, FeatureTable.CountLength);
            Copy(whole.RawInteractions, p.RawInteractions, r, i, k);
            Copy(whole.SeqItems, p.SeqItems, q, i, t); Copy(whole.SeqCategories, p.SeqCategories, q, i, t);
            Copy(whole.SeqBehaviors, p.SeqBehaviors, q, i, t); Copy(whole.RawHoursAgo, p.RawHoursAgo, q, i, t);
            Copy(whole.FavCart, p.FavCart, r, i, 1); Copy(whole.Buy, p.Buy, r, i, 1); Copy(whole.Weight, p.Weight, r, i, 1);
        }
        return p;
    }

    [TestMethod]
    public void AWindowHoldsExactlyTheWholeTablesRows_OnTheColumnarAndTheCursorPath()
    {
        var x = Featurized();
        var whole = FeatureTable.Read(x, CvrColumns.FavCart, CvrColumns.Buy, CvrColumns.Weight, interactions: K(x));
        var columnar = FeatureTable.OpenRows(x, CvrColumns.FavCart, CvrColumns.Buy, CvrColumns.Weight, K(x));
        Assert.IsInstanceOfType<ColumnarFeatureReader>(columnar);
        // A filter that keeps every row hides the chain: the cursor path, over the same rows.
        var ml = new MLContext(1);
        var cursor = FeatureTable.OpenRows(ml.Data.FilterRowsByColumn(x, CvrColumns.Weight, lowerBound: 0, upperBound: 1e9),
            CvrColumns.FavCart, CvrColumns.Buy, CvrColumns.Weight, K(x));
        Assert.IsInstanceOfType<CursorFeatureRows>(cursor);

        var random = new Random(11);
        var scattered = Enumerable.Range(0, whole.Count).Where(_ => random.NextDouble() < 0.3).ToArray();
        var after = Enumerable.Range(whole.Count - 500, 500).ToArray(); // the latest rows: after the fitted log, per-row state
        var first = new[] { 0 };
        foreach (var rows in new[] { scattered, after, first, Array.Empty<int>() })
        {
            var expected = Pick(whole, rows);
            ColumnarFeatureReaderTests.AssertSame(expected, columnar.Fill(rows));
            ColumnarFeatureReaderTests.AssertSame(expected, cursor.Fill(rows));
        }

        var labels = columnar.ReadLabels();
        var cursorLabels = cursor.ReadLabels();
        var ofWhole = RowLabels.Of(whole);
        foreach (var l in new[] { labels, cursorLabels })
        {
            Assert.AreEqual(whole.Count, l.Count);
            CollectionAssert.AreEqual(ofWhole.Timestamp, l.Timestamp);
            CollectionAssert.AreEqual(ofWhole.FavCart, l.FavCart);
            CollectionAssert.AreEqual(ofWhole.Buy, l.Buy);
            CollectionAssert.AreEqual(ofWhole.Weight, l.Weight);
        }
        Assert.IsTrue(labels.Timestamp.Distinct().Count() > 100 && labels.Buy.Any(b => b) && labels.Weight.Any(w => w != 1f), "the columns vary");

        var descending = new[] { 5, 3 };
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => columnar.Fill(descending));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => cursor.Fill(descending));
        var tooFar = new[] { 1, whole.Count };
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => columnar.Fill(tooFar));
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => cursor.Fill(tooFar));
        StringAssert.Contains(e.Message, $"row {whole.Count}");
    }

    [TestMethod]
    public void TheEpochPlanSeesEveryTrainingRowOnce_InWindowsOfAtMostTheLimit_ShuffledBySeed()
    {
        var x = Featurized();
        var source = FeatureTable.OpenRows(x, CvrColumns.FavCart, CvrColumns.Buy, CvrColumns.Weight, K(x));
        var network = CvrTrainer.WithVocabularySizes(new CvrNetworkOptions(), x.Schema);
        var data = TrainingRows.Windowed(source, source.ReadLabels(), 640, network);
        var train = Enumerable.Range(0, source.Count).Where(r => r % 5 != 0).ToArray();
        Assert.IsTrue(train.Length > 4 * 640, $"{train.Length} rows: several windows");

        var plan = data.Plan(train, new Random(3));
        Assert.IsTrue(plan.Windows.Count >= 4);
        foreach (var w in plan.Windows)
        {
            Assert.IsTrue(w.Length <= 640, $"window of {w.Length}");
            for (int i = 1; i < w.Length; i++) Assert.IsTrue(w[i] > w[i - 1], "ascending source rows");
        }
        CollectionAssert.AreEqual(train, plan.Windows.SelectMany(w => w).Order().ToArray(), "every training row exactly once");
        Assert.AreEqual(plan.Windows.Sum(w => (w.Length + 63) / 64), plan.Batches(64));
        // Blocks are shuffled: the first window is not simply the earliest rows; the same seed plans the same epoch.
        Assert.IsFalse(plan.Windows[0].SequenceEqual(train[..plan.Windows[0].Length]), "shuffled blocks");
        CollectionAssert.AreEqual(plan.Windows[0], data.Plan(train, new Random(3)).Windows[0]);
        CollectionAssert.AreNotEqual(plan.Windows[0], data.Plan(train, new Random(4)).Windows[0]);

        var read = plan.Read().Select(w => (w.Table.Count, w.Order.Order().ToArray())).ToList();
        Assert.AreEqual(plan.Windows.Count, read.Count);
        for (int i = 0; i < read.Count; i++)
            CollectionAssert.AreEqual(Enumerable.Range(0, plan.Windows[i].Length).ToArray(), read[i].Item2, "a window's order is a permutation of its rows");
        Assert.IsTrue(data.PeakRowsHeld <= 640 && data.PeakRowsHeld > 0);
    }

    [TestMethod]
    public void OneWindowTrainsExactlyAsTheWholeTable()
    {
        var x = Featurized();
        var whole = FeatureTable.Read(x, CvrColumns.FavCart, CvrColumns.Buy, CvrColumns.Weight, interactions: K(x));
        var source = FeatureTable.OpenRows(x, CvrColumns.FavCart, CvrColumns.Buy, CvrColumns.Weight, K(x));
        var network = CvrTrainer.WithVocabularySizes(CvrPipelineTests.SmallTrainer().Network, x.Schema);
        network.SequenceLength = 20;
        var valid = Enumerable.Range(0, whole.Count).Where(r => r % 4 == 0).ToArray();
        var train = Enumerable.Range(0, whole.Count).Where(r => r % 4 != 0).ToArray();
        (Dictionary<string, float[]> Weights, List<EpochRecord> History) Fit(TrainingRows data)
        {
            var o = new CvrTrainerOptions { Network = network, Threads = 1, Epochs = 2, BatchSize = 64, Seed = 9, EarlyStoppingPatience = 5 }.Check();
            var loop = new CvrTrainingLoop(o, CPU, _ => { });
            using var net = loop.Train(data, train, valid, network);
            return (net.named_parameters().ToDictionary(p => p.name, p => p.parameter.data<float>().ToArray()), loop.History);
        }
        var a = Fit(TrainingRows.Whole(whole));
        var windowed = TrainingRows.Windowed(source, source.ReadLabels(), whole.Count, network);
        var b = Fit(windowed);
        Assert.IsTrue(windowed.IsWindowed);
        for (int e = 0; e < 2; e++)
        {
            Assert.AreEqual(a.History[e].TrainLoss, b.History[e].TrainLoss, 0.0, $"train loss of epoch {e + 1}");
            Assert.AreEqual(a.History[e].ValidationLoss!.Value, b.History[e].ValidationLoss!.Value, 0.0, $"validation loss of epoch {e + 1}");
        }
        foreach (var (name, w) in a.Weights) Assert.IsTrue(w.AsSpan().SequenceEqual(b.Weights[name]), $"{name} differs");
    }

    [TestMethod]
    public void TheTrainerHoldsAtMostMaxRowsInMemory_FlatAsTheLogGrows_AndStillLearns()
    {
        var ml = new MLContext(1);
        var log = ColumnarFeatureReaderTests.Generated();
        var (first, last) = log.HourRange();
        var half = log.Before(first + (last - first) / 2);
        var vocab = Vocab;
        (CvrTrainer Trainer, double Auc, int Samples) Fit(Cvr.MLNet.Data.EventLog events, int maxRows)
        {
            var o = CvrPipelineTests.SmallTrainer(epochs: 2);
            o.MaxRowsInMemory = maxRows;
            o.Network.UserBuckets = vocab.UserSize; o.Network.ItemBuckets = vocab.ItemSize; o.Network.CategoryBuckets = vocab.CategorySize;
            var trainer = new CvrTrainer(o);
            var view = CvrSampleSet.Build(events).ToDataView();
            var model = ml.Transforms.CvrFeatures(events, vocab).Append(trainer).Fit(view);
            var m = ml.BinaryClassification.EvaluateNonCalibrated(model.Transform(view), labelColumnName: CvrColumns.Buy);
            return (trainer, m.AreaUnderRocCurve, (int)view.GetRowCount()!.Value);
        }
        int limit = 1000;
        var all = Fit(log, 0);
        var windowed = Fit(log, limit);
        var windowedHalf = Fit(half, limit);
        Assert.IsTrue(all.Samples > 4 * limit && windowedHalf.Samples > 2 * limit, $"{all.Samples} and {windowedHalf.Samples} samples");
        Assert.AreEqual(all.Samples, all.Trainer.LastPeakFeatureRows, "MaxRowsInMemory = 0 holds every row");
        Assert.AreEqual(all.Samples, windowed.Trainer.LastSampleCount);
        Assert.IsTrue(windowed.Trainer.LastPeakFeatureRows is > 0 and <= 1000, $"held {windowed.Trainer.LastPeakFeatureRows} rows");
        Assert.IsTrue(windowedHalf.Trainer.LastPeakFeatureRows is > 0 and <= 1000, $"held {windowedHalf.Trainer.LastPeakFeatureRows} rows");
        // Twice the log, the same feature memory; holding every row takes several times more.
        Assert.AreEqual(windowedHalf.Trainer.LastPeakFeatureBytes, windowed.Trainer.LastPeakFeatureBytes, 0.05 * windowed.Trainer.LastPeakFeatureBytes);
        Assert.IsTrue(all.Trainer.LastPeakFeatureBytes > 3 * windowed.Trainer.LastPeakFeatureBytes);
        // Shuffling in windows trains about as well as shuffling the whole table (same seed, same epochs).
        Assert.IsTrue(windowed.Auc > 0.6 && windowed.Auc > all.Auc - 0.05, $"AUC windowed {windowed.Auc:F3}, whole {all.Auc:F3}");
        Assert.IsNotNull(windowed.Trainer.LastValidation);
        Assert.AreEqual(all.Trainer.LastValidation!.Samples, windowed.Trainer.LastValidation!.Samples);
    }

    [TestMethod]
    public void ScoringInWindowsGivesTheWholeTablesPredictions_OnTheColumnarAndTheCursorPath()
    {
        var ml = new MLContext(1);
        var log = ColumnarFeatureReaderTests.Generated();
        var view = CvrSampleSet.Build(log).ToDataView();
        var o = CvrPipelineTests.SmallTrainer(epochs: 1);
        o.Network.UserBuckets = Vocab.UserSize; o.Network.ItemBuckets = Vocab.ItemSize; o.Network.CategoryBuckets = Vocab.CategorySize;
        var chain = ml.Transforms.CvrFeatures(log, Vocab).Append(new CvrTrainer(o)).Fit(view);
        var features = chain.Take(chain.Count() - 1).Aggregate(view, (v, t) => t.Transform(v));
        var model = (CvrModelTransformer)chain.LastTransformer;
        var filtered = ml.Data.FilterRowsByColumn(features, CvrColumns.Weight, lowerBound: 0, upperBound: 1e9); // cursor path, no row count
        Assert.IsNull(filtered.GetRowCount());
        foreach (var input in new[] { features, filtered })
        {
            var whole = model.Score(input, maxRowsInMemory: 0);
            Assert.IsTrue(whole.PBuy.Length > 3 * 700);
            var windowed = model.Score(input, batchSize: 256, maxRowsInMemory: 700);
            CollectionAssert.AreEqual(whole.PBuy, windowed.PBuy);
            CollectionAssert.AreEqual(whole.PFavCart, windowed.PFavCart);
        }
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => model.Score(features, maxRowsInMemory: -1));
    }

    [TestMethod]
    public void MaxRowsInMemoryIsValidated()
    {
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new CvrTrainerOptions { MaxRowsInMemory = -1 }.Check());
        Assert.AreEqual(nameof(CvrTrainerOptions.MaxRowsInMemory), e.ParamName);
        Assert.AreEqual(1 << 20, new CvrTrainerOptions().MaxRowsInMemory);
    }
}
