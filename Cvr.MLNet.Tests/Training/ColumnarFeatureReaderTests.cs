using System.Runtime.InteropServices;
using Cvr.MLNet.Data;
using Cvr.MLNet.Data.Generation;
using Cvr.MLNet.Samples;
using Cvr.MLNet.Training;
using Cvr.MLNet.Transforms;
using Cvr.MLNet.Transforms.Vocabulary;
using Microsoft.ML;

namespace Cvr.MLNet.Tests.Training;

/// <summary>The columnar fast path of <c>FeatureTable.Read</c> against the cursor path, and when it must not apply.</summary>
[TestClass]
public sealed class ColumnarFeatureReaderTests
{
    private static EventLog? _generated;

    /// <summary>A small generated log (duplicates, orphan favorites, skewed items: the real process).</summary>
    internal static EventLog Generated()
    {
        if (_generated is not null) return _generated;
        var dir = Path.Combine(Path.GetTempPath(), $"cvr-columnar-{Guid.NewGuid():N}");
        try
        {
            new TianchiGenerator(new GeneratorOptions { Users = 120, RowsPerUser = 160, Seed = 5 }).Generate(dir);
            return _generated = TianchiReader.ReadEvents(TianchiPaths.Resolve(dir).EventsPath);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    internal static void AssertSame(FeatureTable expected, FeatureTable actual)
    {
        Assert.AreEqual(expected.Count, actual.Count);
        Assert.AreEqual(expected.T, actual.T);
        static void Same<T>(T[] a, T[] b, string name) where T : struct =>
            Assert.IsTrue(MemoryMarshal.AsBytes(a.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(b.AsSpan())), $"column {name} differs");
        Same(expected.User, actual.User, "User"); Same(expected.Item, actual.Item, "Item"); Same(expected.Category, actual.Category, "Category");
        Same(expected.Weekday, actual.Weekday, "Weekday"); Same(expected.Hour, actual.Hour, "Hour");
        Same(expected.TimeDense, actual.TimeDense, "TimeDense");
        Assert.AreEqual(expected.RawCountMode, actual.RawCountMode);
        // Counts row by row, wherever each table keeps them (rows of one user-day may share them).
        Same(CountsByRow(expected, x => x.Counts), CountsByRow(actual, x => x.Counts), "Counts");
        Same(CountsByRow(expected, x => x.RawCounts), CountsByRow(actual, x => x.RawCounts), "RawCounts");
        Assert.AreEqual(expected.RawHoursAgoMode, actual.RawHoursAgoMode);
        // Sequences row by row, wherever each table keeps them (rows may share one).
        Same(SequencesByRow(expected, x => x.SeqLen, 1), SequencesByRow(actual, x => x.SeqLen, 1), "SeqLen");
        Same(SequencesByRow(expected, x => x.RawHoursAgo), SequencesByRow(actual, x => x.RawHoursAgo), "RawHoursAgo");
        Same(SequencesByRow(expected, x => x.SeqItems), SequencesByRow(actual, x => x.SeqItems), "SeqItems");
        Same(SequencesByRow(expected, x => x.SeqCategories), SequencesByRow(actual, x => x.SeqCategories), "SeqCategories");
        Same(SequencesByRow(expected, x => x.SeqBehaviors), SequencesByRow(actual, x => x.SeqBehaviors), "SeqBehaviors");
        Same(SequencesByRow(expected, x => x.SeqHoursAgo), SequencesByRow(actual, x => x.SeqHoursAgo), "SeqHoursAgo");
        Assert.AreEqual(expected.K, actual.K);
        Same(expected.RawInteractions, actual.RawInteractions, "RawInteractions");
        Same(expected.FavCart, actual.FavCart, "FavCart"); Same(expected.Buy, actual.Buy, "Buy"); Same(expected.Weight, actual.Weight, "Weight");
    }

    /// <summary>A shared column laid out one entry of <paramref name="width"/> values per row: row r's values from entry <paramref name="entryOf"/>(r).</summary>
    private static T[] ByRow<T>(FeatureTable table, T[] column, int width, Func<int, int> entryOf)
    {
        if (column.Length == 0) return column;
        var byRow = new T[table.Count * width];
        for (int r = 0; r < table.Count; r++) column.AsSpan(entryOf(r) * width, width).CopyTo(byRow.AsSpan(r * width, width));
        return byRow;
    }

    /// <summary>A sequence column one entry per row, through <see cref="FeatureTable.SequenceOf"/> (T values, or one for <c>SeqLen</c>).</summary>
    internal static T[] SequencesByRow<T>(FeatureTable table, Func<FeatureTable, T[]> column, int width = -1) =>
        ByRow(table, column(table), width < 0 ? table.T : width, table.SequenceOf);

    /// <summary>A count column one row of counts per row, through <see cref="FeatureTable.CountsOf"/>.</summary>
    internal static T[] CountsByRow<T>(FeatureTable table, Func<FeatureTable, T[]> column) =>
        ByRow(table, column(table), FeatureTable.CountLength, table.CountsOf);

    // Views of the default CvrFeatures chain carry interaction features: read them too, on both paths.
    private static int K(IDataView view) => view.Schema.GetColumnOrNull(CvrColumns.Interactions) is null ? 0 : InteractionFeatures.Length;

    private static FeatureTable Fast(IDataView view, bool labels = true)
    {
        int t = FeatureTable.SequenceLengthOf(view.Schema);
        Assert.IsNotNull(ColumnarFeatureReader.TryCreate(view, t, labels ? CvrColumns.FavCart : null, labels ? CvrColumns.Buy : null,
            labels ? CvrColumns.Weight : null, K(view)), "the columnar path should apply");
        var table = labels ? FeatureTable.Read(view, CvrColumns.FavCart, CvrColumns.Buy, CvrColumns.Weight, interactions: K(view))
            : FeatureTable.Read(view, null, null, null, interactions: K(view));
        Assert.AreEqual(K(view), table.K);
        return table;
    }

    private static FeatureTable Rows(IDataView view, bool labels = true) =>
        FeatureTable.ReadRows(view, FeatureTable.SequenceLengthOf(view.Schema), labels ? CvrColumns.FavCart : null,
            labels ? CvrColumns.Buy : null, labels ? CvrColumns.Weight : null, interactions: K(view));

    [TestMethod]
    [DataRow(20)]
    [DataRow(7)]
    [DataRow(1)]
    public void FastPathIsBitIdenticalToTheCursorPathOnAGeneratedLog(int t)
    {
        var ml = new MLContext(1);
        var log = Generated();
        var (first, last) = log.HourRange();
        // Fit on the first two thirds: later samples read the compact serving state, users who only appear
        // later have empty histories, and their items are unknown to the small vocabularies (OOV buckets).
        var fitLog = log.Before(first + (last - first) * 2 / 3);
        var vocab = new IdVocabularyOptions { UserSize = 64, ItemSize = 300, CategorySize = 40, OovShare = 0.1, SequenceLength = t };
        var samples = CvrSampleSet.Build(log, new CvrSampleOptions { NegativeKeepRate = 0.5, Seed = 3 });
        Assert.IsTrue(samples.Count > 1000, $"{samples.Count} samples");
        Assert.IsTrue(samples.Hours.Any(h => h > fitLog.HourRange().Last), "some samples after the fitted log");
        var view = samples.ToDataView();
        var features = ml.Transforms.CvrFeatures(fitLog, vocab).Fit(view);
        var x = features.Transform(view);

        var fast = Fast(x);
        AssertSame(Rows(x), fast);
        AssertSame(Rows(x, labels: false), Fast(x, labels: false));
        // Rows of one (user, hour) share one stored sequence; rows after the fitted log keep their own.
        int inside = samples.Hours.Count(h => h <= fitLog.HourRange().Last);
        int runs = Enumerable.Range(0, inside).Count(r => r == 0 || samples.UserIds[r] != samples.UserIds[r - 1] || samples.Hours[r] != samples.Hours[r - 1]);
        Assert.IsNotNull(fast.SeqRow);
        Assert.IsNotNull(fast.CountRow);
        Assert.IsTrue(fast.SequenceCount <= runs + 1 + (samples.Count - inside), $"{fast.SequenceCount} sequences for {runs} runs");
        Assert.IsTrue(fast.RawCounts.Length / FeatureTable.CountLength < fast.SequenceCount, "counts are shared per user-day");
        Assert.IsTrue(inside - runs > 500 && fast.SequenceCount <= samples.Count - 500, $"{fast.SequenceCount} sequences for {samples.Count} rows");
        // The cases the test is about really occur.
        Assert.IsTrue(fast.SeqLen.Any(l => l == 0) && fast.SeqLen.Any(l => l == t), "empty and full sequences");

        // Rows in any order (a user's hours out of order, runs broken up): the same values row by row.
        var order = Enumerable.Range(0, samples.Count).ToArray();
        new Random(t).Shuffle(order);
        var shuffled = new CvrSampleSet(Permute(samples.UserIds, order), Permute(samples.ItemIds, order), Permute(samples.CategoryIds, order),
            Permute(samples.Hours, order), Permute(samples.FavCart, order), Permute(samples.Buy, order), Permute(samples.Weights, order),
            Permute(samples.Paths, order), Permute(samples.BuyDelays, order), samples.CensoredCount, samples.NegativesDropped, samples.HorizonHours).ToDataView();
        var xs = features.Transform(shuffled);
        var fastShuffled = Fast(xs);
        AssertSame(Rows(xs), fastShuffled);

        // The bulk fill's run passes cut into chunks (runs crossing a chunk boundary): the same table.
        int savedRows = UserRuns.ParallelRows;
        try
        {
            UserRuns.ParallelRows = 1;
            AssertSame(fast, Fast(x));
            AssertSame(fastShuffled, Fast(xs));
        }
        finally { UserRuns.ParallelRows = savedRows; }
        Assert.IsNotNull(fastShuffled.SeqRow);
        Assert.IsNotNull(fastShuffled.CountRow);
        Assert.IsTrue(fast.Weight.Any(w => w != 1f), "down-sampling weights");
        var oovItem = features.Flatten().OfType<IdVocabularyTransformer>().Single().Items;
        Assert.IsTrue(samples.ItemIds.Any(i => !oovItem.Contains(i)), "unknown items");
    }

    private static T[] Permute<T>(T[] a, int[] order) => order.Select(i => a[i]).ToArray();

    [TestMethod]
    public void FastPathAppliesThroughAFittedTrainerChainAndALoadedModel()
    {
        var ml = new MLContext(1);
        var log = Generated();
        var (first, last) = log.HourRange();
        var fitLog = log.Before(first + (last - first) / 2);
        var vocab = new IdVocabularyOptions { UserSize = 64, ItemSize = 300, CategorySize = 40, OovShare = 0.1, SequenceLength = 5 };
        var features = ml.Transforms.CvrFeatures(fitLog, vocab).Fit(CvrSampleSet.Build(fitLog).ToDataView());
        var path = Path.Combine(Path.GetTempPath(), $"cvr-columnar-{Guid.NewGuid():N}.zip");
        try
        {
            var all = CvrSampleSet.Build(log);
            ml.Model.Save(features, all.ToDataView().Schema, path);
            var loaded = ml.Model.Load(path, out _);
            // After the fitted log's end a loaded model serves from the compact state: both paths agree.
            var later = all.Slice(fitLog.HourRange().Last + 1, int.MaxValue).ToDataView();
            var x = loaded.Transform(later);
            AssertSame(Rows(x), Fast(x));
            // Inside the fitted log a loaded model has no history: both paths throw the same error.
            var early = loaded.Transform(all.Slice(first, fitLog.HourRange().Last).ToDataView());
            var rowError = Assert.ThrowsExactly<InvalidOperationException>(() => Rows(early));
            var fastError = Assert.ThrowsExactly<InvalidOperationException>(() => FeatureTable.Read(early, CvrColumns.FavCart, CvrColumns.Buy, CvrColumns.Weight));
            StringAssert.Contains(fastError.Message, "lies inside the fitted log");
            StringAssert.Contains(rowError.Message, "lies inside the fitted log");
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void ValuesBeyond16BitsSwitchTheFastPathToFloatsLikeTheCursorPath()
    {
        // User 1: 65,536 distinct clicks on one day (a count past 16 bits), then a click the next day.
        // User 2: an event 70,000 hours (8 years) before a click (an hours-ago past 16 bits).
        var b = new EventLogBuilder();
        int day0 = TianchiTime.Parse("2014-12-01 00");
        for (int i = 0; i < 65_536; i++) b.Add(1, 10_000 + i / 24, BehaviorType.Click, "", 5, day0 + i % 24);
        b.Add(1, 7, BehaviorType.Click, "", 5, day0 + 30);
        b.Add(2, 8, BehaviorType.Cart, "", 6, day0 + 30 - 70_000);
        b.Add(2, 9, BehaviorType.Click, "", 6, day0 + 30);
        b.Add(3, 9, BehaviorType.Click, "", 6, day0 + 31);
        b.Add(3, 9, BehaviorType.Click, "", 6, day0 + 80);
        var log = b.Build();
        var ml = new MLContext(1);
        var samples = CvrSampleSet.Build(log, new CvrSampleOptions { HorizonHours = 1 });
        var view = samples.ToDataView();
        var x = ml.Transforms.CvrFeatures(log, new IdVocabularyOptions { SequenceLength = 3 }).Fit(view).Transform(view);
        var fast = Fast(x);
        Assert.IsFalse(fast.RawCountMode);
        Assert.IsFalse(fast.RawHoursAgoMode);
        AssertSame(Rows(x), fast);
        Assert.IsTrue(fast.Counts.Any(c => c == MathF.Log(1f + 65_536f)));
        Assert.IsTrue(fast.SeqHoursAgo.Any(h => h == 70_000f));
    }

    [TestMethod]
    public void ViewsItDoesNotRecogniseFallBackToTheCursorPath()
    {
        var ml = new MLContext(1);
        var log = Generated();
        var vocab = new IdVocabularyOptions { UserSize = 64, ItemSize = 300, CategorySize = 40, OovShare = 0.1, SequenceLength = 6 };
        var samples = CvrSampleSet.Build(log);
        var view = samples.ToDataView();
        var features = ml.Transforms.CvrFeatures(log, vocab).Fit(view);
        var reference = Rows(features.Transform(view));
        AssertSame(reference, Fast(features.Transform(view)));

        void Fallback(IDataView x, Func<FeatureTable, bool>? check = null)
        {
            Assert.IsNull(ColumnarFeatureReader.TryCreate(x, 6, CvrColumns.FavCart, CvrColumns.Buy, CvrColumns.Weight, K(x)));
            var table = FeatureTable.Read(x, CvrColumns.FavCart, CvrColumns.Buy, CvrColumns.Weight, interactions: K(x));
            if (check is null) AssertSame(Rows(x), table);
            else Assert.IsTrue(check(table));
        }
        // A foreign transform on top (hides the user id the table does not read, but is not ours).
        Fallback(ml.Transforms.CopyColumns(CvrColumns.Weight, CvrColumns.Weight).Fit(features.Transform(view)).Transform(features.Transform(view)));
        // A cache and a filter between the root and the features.
        Fallback(features.Transform(ml.Data.Cache(view)));
        var filtered = ml.Data.FilterRowsByColumn(view, CvrColumns.Weight, lowerBound: 0, upperBound: 2);
        Fallback(features.Transform(filtered));
        // A foreign transform that hides a root input (the user id) below our transforms.
        var remapped = ml.Transforms.CopyColumns(CvrColumns.UserId, CvrColumns.ItemId).Fit(view).Transform(view);
        Fallback(features.Transform(remapped), t => t.Count == samples.Count);
        // The labels hidden by an own transform's output name cannot come from the root.
        Assert.IsNull(ColumnarFeatureReader.TryCreate(features.Transform(view), 6, CvrColumns.SeqLength, null, null));
    }

    [TestMethod]
    public void CompactRowBytesIsWhatATableHolds_SoTheCollectionThresholdSeesTheRealSize()
    {
        foreach (var (t, k) in new[] { (20, 19), (20, 0), (7, 19), (1, 4) })
        {
            var table = FeatureTable.Create(1000, t, compact: true, interactions: k);
            Assert.AreEqual(table.Bytes, 1000 * FeatureTable.CompactRowBytes(t, k), $"T = {t}, K = {k}");
        }
        Assert.AreEqual(356, FeatureTable.CompactRowBytes(20, 19));
    }
}
