using Cvr.MLNet.Data;
using Cvr.MLNet.Samples;
using Cvr.MLNet.Tests.Training;
using Cvr.MLNet.Transforms.Vocabulary;

namespace Cvr.MLNet.Tests.Samples;

/// <summary>The parallel index, sample and vocabulary builders against plain one-pass references on a generated log.</summary>
[TestClass]
public sealed class ParallelBuildTests
{
    [TestMethod]
    [DataRow(int.MaxValue, 0)] // one chunk (the small-log path)
    [DataRow(1, 2)]
    [DataRow(1, 3)]
    [DataRow(1, 7)]
    public void UserHistoryMatchesAPlainGroupBy(int threshold, int chunks)
    {
        var log = ColumnarFeatureReaderTests.Generated();
        UserHistory history;
        int oldThreshold = UserHistory.ParallelRowThreshold;
        var oldChunks = UserHistory.ChunksOverride;
        try
        {
            UserHistory.ParallelRowThreshold = threshold;
            UserHistory.ChunksOverride = chunks == 0 ? null : chunks;
            history = UserHistory.Build(log);
        }
        finally { UserHistory.ParallelRowThreshold = oldThreshold; UserHistory.ChunksOverride = oldChunks; }
        var rows = Enumerable.Range(0, log.Count)
            .Select(r => (User: log.UserIdSpan[r], Hour: log.HourSpan[r], Beh: log.BehaviorSpan[r], Item: log.ItemIdSpan[r], Cat: log.CategoryIdSpan[r]))
            .ToArray();
        var byUser = rows.GroupBy(x => x.User).OrderBy(g => g.Key).ToArray();
        CollectionAssert.AreEqual(byUser.Select(g => g.Key).ToArray(), history.UserIds);
        Assert.IsTrue(log.Count > history.EventCount, "the log has duplicates to collapse");
        for (int u = 0; u < byUser.Length; u++)
        {
            // Distinct (hour, behavior, item), in that order; a duplicate keeps its first row's category.
            var expected = byUser[u].GroupBy(x => (x.Hour, x.Beh, x.Item)).Select(g => g.First())
                .OrderBy(x => x.Hour).ThenBy(x => x.Beh).ThenBy(x => (uint)x.Item).ToArray();
            var ev = history.EventsOf(u);
            CollectionAssert.AreEqual(expected.Select(x => x.Hour).ToArray(), ev.Hours.ToArray(), $"user {u} hours");
            CollectionAssert.AreEqual(expected.Select(x => x.Item).ToArray(), ev.Items.ToArray(), $"user {u} items");
            CollectionAssert.AreEqual(expected.Select(x => x.Beh).ToArray(), ev.Behaviors.ToArray(), $"user {u} behaviors");
            CollectionAssert.AreEqual(expected.Select(x => x.Cat).ToArray(), ev.Categories.ToArray(), $"user {u} categories (an item has one category)");
            var days = expected.GroupBy(x => TianchiTime.DayOf(x.Hour)).OrderBy(g => g.Key).ToArray();
            CollectionAssert.AreEqual(days.Select(g => g.Key).ToArray(), ev.Days.ToArray(), $"user {u} days");
            CollectionAssert.AreEqual(days.SelectMany(g => Enumerable.Range(1, 4).Select(b => g.Count(x => x.Beh == b))).ToArray(), ev.DayCounts.ToArray(), $"user {u} day counts");
        }
    }

    [TestMethod]
    [DataRow(10)]   // few rows: one group per user (insertion-sorted runs, then merges)
    [DataRow(400)]  // counted by hour first, then each hour's group (insertion sort, or a merge sort: two passes)
    [DataRow(3000)] // groups of ≈ 500 rows: five merge passes, the result copied back from the buffers
    public void ADuplicateEventKeepsItsFirstRowsCategory_WhateverTheSortPath(int rows)
    {
        // Exact duplicates (user, item, behavior, hour) that disagree on the category: the first row in file order wins.
        var b = new EventLogBuilder();
        int h0 = TianchiTime.Parse("2014-12-01 00");
        var rng = new Random(rows);
        var first = new Dictionary<(int Item, int Beh, int Hour), int>();
        for (int i = 0; i < rows; i++)
        {
            int item = rng.Next(6), beh = 1 + rng.Next(4), hour = h0 + rng.Next(i < rows / 2 ? 3 : 40), cat = i;
            b.Add(7, item, (BehaviorType)beh, "", cat, hour);
            first.TryAdd((item, beh, hour), cat);
        }
        var ev = UserHistory.Build(b.Build()).EventsOf(0);
        var expected = first.OrderBy(x => x.Key.Hour).ThenBy(x => x.Key.Beh).ThenBy(x => x.Key.Item).ToArray();
        CollectionAssert.AreEqual(expected.Select(x => x.Key.Hour).ToArray(), ev.Hours.ToArray());
        CollectionAssert.AreEqual(expected.Select(x => x.Key.Item).ToArray(), ev.Items.ToArray());
        CollectionAssert.AreEqual(expected.Select(x => x.Value).ToArray(), ev.Categories.ToArray(), "first row's category");
    }

    [TestMethod]
    [DataRow(1.0, false)]
    [DataRow(0.3, false)]
    [DataRow(1.0, true)]
    [DataRow(0.3, true)]
    public void SamplesMatchAPlainScanOfEachClick(double keepRate, bool hourRange)
    {
        var log = ColumnarFeatureReaderTests.Generated();
        var history = UserHistory.Build(log);
        int? fromHour = hourRange ? history.FirstHour + 100 : null, toHour = hourRange ? history.LastHour - 60 : null;
        var options = new CvrSampleOptions { HorizonHours = 24, NegativeKeepRate = keepRate, Seed = 9, FromHour = fromHour, ToHour = toHour };
        var set = CvrSampleSet.Build(history, options);
        int lastValid = history.LastHour - 24 + 1;
        var expected = new List<(int Hour, int User, int Item, int Category, bool Fav, bool Buy, int Delay, byte Path)>();
        int censored = 0;
        for (int u = 0; u < history.UserCount; u++)
        {
            var ev = history.EventsOf(u);
            var events = new (int Hour, int Item, int Category, byte Beh)[ev.Hours.Length];
            for (int i = 0; i < events.Length; i++) events[i] = (ev.Hours[i], ev.Items[i], ev.Categories[i], ev.Behaviors[i]);
            foreach (var c in events.Where(x => x.Beh == 1 && x.Hour >= (fromHour ?? int.MinValue) && x.Hour < (toHour ?? int.MaxValue)))
            {
                if (c.Hour > lastValid) { censored++; continue; }
                var window = events.Where(x => x.Item == c.Item && x.Hour >= c.Hour && x.Hour < c.Hour + 24).ToArray();
                bool fav = window.Any(x => x.Beh is 2 or 3), buy = window.Any(x => x.Beh == 4);
                int buyHour = buy ? window.Where(x => x.Beh == 4).Min(x => x.Hour) : -1;
                // Favs/carts before the first buy, same-hour ones included (they sort before it).
                var before = window.Where(x => buy && (x.Hour < buyHour || (x.Hour == buyHour && x.Beh < 4))).ToArray();
                var path = !buy ? BuyPath.None : before.Any(x => x.Beh == 3) ? BuyPath.AfterCart : before.Any(x => x.Beh == 2) ? BuyPath.AfterFavorite : BuyPath.Direct;
                expected.Add((c.Hour, history.UserIds[u], c.Item, c.Category, fav, buy, buy ? buyHour - c.Hour : -1, (byte)path));
            }
        }
        Assert.IsTrue(expected.Count > 1000 && expected.Any(x => x.Buy) && expected.Any(x => x.Path == (byte)BuyPath.AfterCart), "a log that exercises the labels");
        Assert.AreEqual(censored, set.CensoredCount);
        // The set is in (hour, user, item) order; down-sampling only removes negatives.
        var ordered = expected.OrderBy(x => x.Hour).ThenBy(x => x.User).ThenBy(x => (uint)x.Item).ToList();
        var actual = Enumerable.Range(0, set.Count)
            .Select(i => (set.Hours[i], set.UserIds[i], set.ItemIds[i], set.CategoryIds[i], set.FavCart[i], set.Buy[i], set.BuyDelays[i], set.Paths[i])).ToList();
        if (keepRate == 1.0)
        {
            CollectionAssert.AreEqual(ordered, actual);
            Assert.IsTrue(set.Weights.All(w => w == 1f));
            Assert.AreEqual(0, set.NegativesDropped);
        }
        else
        {
            CollectionAssert.AreEqual(ordered.Where(x => x.Fav || x.Buy).ToList(), actual.Where(x => x.Item5 || x.Item6).ToList());
            var negatives = ordered.Where(x => !x.Fav && !x.Buy).ToList();
            var kept = actual.Where(x => !x.Item5 && !x.Item6).ToList();
            // The kept negatives are a subsequence of the negatives, in order.
            int at = 0;
            foreach (var k in kept) { while (at < negatives.Count && negatives[at] != k) at++; Assert.IsTrue(at++ < negatives.Count, $"kept negative {k} out of order or unknown"); }
            Assert.AreEqual(negatives.Count, kept.Count + set.NegativesDropped);
            Assert.IsTrue(set.NegativesDropped > 0);
            for (int i = 0; i < set.Count; i++)
                Assert.AreEqual(set.FavCart[i] || set.Buy[i] ? 1f : (float)(1 / keepRate), set.Weights[i], $"weight of sample {i}");
        }
        Assert.AreEqual(CvrSampleSet.Build(history, options).UserIds.Length, set.Count, "deterministic");
        CollectionAssert.AreEqual(CvrSampleSet.Build(history, options).Weights, set.Weights, "deterministic weights");
    }

    [TestMethod]
    public void VocabularyKeepsTheMostFrequentIdsThenAscendingIds()
    {
        var rng = new Random(2);
        var ids = Enumerable.Range(0, 20_000).Select(_ => rng.Next(-300, 300) * (rng.Next(3) == 0 ? 1_000_000 : 1)).ToArray();
        var vocab = IdVocabulary.Fit(ids, maxSize: 200, oovShare: 0.05);
        var expected = ids.GroupBy(i => i).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).Select(g => g.Key).Take(vocab.Ids.Length).ToArray();
        CollectionAssert.AreEqual(expected, vocab.Ids);
        Assert.AreEqual(200, vocab.Size);
        Assert.AreEqual(10, vocab.OovBuckets);
    }

    [TestMethod]
    [DataRow(0, false, 0)]
    [DataRow(1, true, 0)]
    [DataRow(3, false, 0)]
    [DataRow(3, true, 0)]
    [DataRow(10, true, 0)]
    [DataRow(-1, false, 1 << 14)] // few distinct ids: one table
    [DataRow(-1, true, 1 << 14)]  // few distinct ids: one table per chunk, summed
    [DataRow(-1, true, -1)]       // each chunk fits, their sum (every distinct id but one) does not: partitions
    [DataRow(-1, true, 1_000)]    // a chunk overflows: partitions
    public void VocabularyCountedOverHashPartitionsKeepsTheExactOrder(int partitionBits, bool chunkedScatter, int fewDistinct)
    {
        // Ids with heavy ties, negatives, extremes, hot ids past the count histogram's cap and one id of each
        // count: every partitioning and every kept length gives the order of a plain group-and-sort.
        var rng = new Random(partitionBits);
        var ids = Enumerable.Range(0, 60_000).Select(i => i % 97 == 0 ? 42 : i % 41 == 0 ? -7 : i % 53 == 0 ? int.MinValue
            : rng.Next(4) switch { 0 => int.MinValue + rng.Next(3), 1 => int.MaxValue - rng.Next(3), _ => rng.Next(-5_000, 5_000) * 7 })
            .Concat(Enumerable.Range(1, 300).SelectMany(c => Enumerable.Repeat(1_000_000 + c, c))).ToArray();
        rng.Shuffle(ids);
        var expected = ids.GroupBy(i => i).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).Select(g => g.Key).ToArray();
        int saved = IdCounts.PartitionBitsOverride ?? -1, savedRows = IdCounts.ParallelScatterRows, savedFew = IdCounts.FewDistinct;
        try
        {
            IdCounts.PartitionBitsOverride = partitionBits < 0 ? null : partitionBits;
            if (fewDistinct != 0) IdCounts.FewDistinct = fewDistinct > 0 ? fewDistinct : expected.Length - 1;
            if (fewDistinct < 0)
            {
                int half = ids.Length / 2;
                Assert.IsTrue(ids[..half].Distinct().Count() < expected.Length - 1 && ids[half..].Distinct().Count() < expected.Length - 1, "each chunk fits");
            }
            if (chunkedScatter) IdCounts.ParallelScatterRows = 1;
            var counts = IdCounts.Count(ids);
            Assert.AreEqual(expected.Length, counts.Distinct);
            foreach (int keep in new[] { 0, 1, 2, 3, 50, 299, 300, 301, 1_000, 4_000, expected.Length - 1, expected.Length })
                CollectionAssert.AreEqual(expected.Take(keep).ToArray(), counts.MostFrequent(keep), $"keep {keep}");
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => counts.MostFrequent(expected.Length + 1));

            var empty = IdCounts.Count([]);
            Assert.AreEqual(0, empty.Distinct);
            Assert.AreEqual(0, empty.MostFrequent(0).Length);

            var vocab = IdVocabulary.Fit(ids, maxSize: 3_000, oovShare: 0.02);
            CollectionAssert.AreEqual(expected.Take(vocab.Ids.Length).ToArray(), vocab.Ids);
            Assert.AreEqual(3_000, vocab.Size);
        }
        finally { IdCounts.PartitionBitsOverride = saved < 0 ? null : saved; IdCounts.ParallelScatterRows = savedRows; IdCounts.FewDistinct = savedFew; }
    }

    [TestMethod]
    public void SelectingTheSmallestKeysMatchesASort()
    {
        var rng = new Random(5);
        var inputs = new List<long[]>
        {
            Enumerable.Range(0, 10_000).Select(_ => rng.NextInt64()).Distinct().ToArray(),
            Enumerable.Range(0, 10_000).Select(i => (long)i).ToArray(),              // sorted
            Enumerable.Range(0, 10_000).Select(i => (long)(10_000 - i)).ToArray(),  // reversed
            Enumerable.Range(0, 10_000).Select(i => (long)(i % 2 == 0 ? i : -i)).ToArray(), // organ pipe
            new long[] { long.MaxValue, long.MinValue, 0, -1, 1 },
            Array.Empty<long>(),
        };
        foreach (var input in inputs)
            foreach (int k in new[] { 0, 1, input.Length / 3, input.Length / 2, input.Length - 1, input.Length }.Where(k => k >= 0).Distinct())
            {
                var a = (long[])input.Clone();
                IdCounts.SelectSmallest(a, k);
                var first = a.Take(k).Order().ToArray();
                CollectionAssert.AreEqual(input.Order().Take(k).ToArray(), first, $"n {input.Length}, k {k}");
                CollectionAssert.AreEquivalent(input, a, "a permutation");
            }
    }
}
