using Cvr.MLNet.Data;
using Cvr.MLNet.Samples;
using CsCheck;
using static Cvr.MLNet.Tests.Samples.SampleTests;
using F = Cvr.MLNet.Samples.InteractionFeatures;

namespace Cvr.MLNet.Tests.Samples;

/// <summary>
/// <see cref="InteractionBulkFill"/> (the sweeps the columnar read uses) against the per-sample index
/// (<see cref="InteractionIndex.Fill"/>) and against the definition, value for value in the table's raw form.
/// </summary>
[TestClass]
public sealed class InteractionBulkFillTests
{
    private static readonly int Start = TianchiTime.Parse("2014-12-01 00");
    private const ushort Untouched = 0xBEEF;

    private static EventLog Build(IEnumerable<(int User, int Item, int Cat, int Beh, int Hour)> rows)
    {
        var b = new EventLogBuilder();
        foreach (var (u, i, c, beh, h) in rows) b.Add(u, i, (BehaviorType)beh, "", c, h);
        return b.Build();
    }

    /// <summary>The bulk fill of <paramref name="samples"/> (destination pre-set to <see cref="Untouched"/>).</summary>
    private static ushort[] Bulk(InteractionIndex index, (int User, int Item, int Cat, int Hour)[] samples, int stride)
    {
        var dst = Enumerable.Repeat(Untouched, samples.Length * stride).ToArray();
        InteractionBulkFill.Fill(index, samples.Select(s => s.User).ToArray(), samples.Select(s => s.Item).ToArray(),
            samples.Select(s => s.Cat).ToArray(), samples.Select(s => s.Hour).ToArray(), samples.Length, dst, stride);
        return dst;
    }

    /// <summary>What the per-row path stores: the index's values, saturated at 65,535, first <paramref name="stride"/>.</summary>
    private static ushort[] PerRow(InteractionIndex index, (int User, int Item, int Cat, int Hour) s, int stride)
    {
        var v = new float[F.Length];
        index.Fill(s.User, s.Item, s.Cat, s.Hour, v);
        return v.Take(stride).Select(x => (ushort)Math.Min(x, ushort.MaxValue)).ToArray();
    }

    private static ushort[] Row(ushort[] dst, int r, int stride) => dst.AsSpan(r * stride, stride).ToArray();

    private static readonly Gen<(int User, int Item, int Cat, int Beh, int Hour)[]> GenLog =
        Gen.Select(Gen.Int[1, 5], Gen.Int[1, 9], Gen.Int[1, 4], Gen.Int[0, 24 * 40]).Select(t => (t.Item1, t.Item2, t.Item2 % 3, t.Item3, Start + t.Item4)).Array[1, 200];

    // Samples of known and unknown users (6), items (10, 11) and categories (5), at hours before, inside, at the end
    // of and after the log, in (hour, user, item) order or shuffled.
    private static readonly Gen<((int User, int Item, int Cat, int Hour)[] Samples, bool Shuffle)> GenSamples =
        Gen.Select(Gen.Int[1, 6], Gen.Int[1, 11], Gen.Int[0, 5], Gen.Int[-30, 24 * 40 + 30]).Select(t => (t.Item1, t.Item2, t.Item3, Start + t.Item4))
            .Array[0, 120].Select(Gen.Bool, (a, b) => (a, b));

    [TestMethod]
    [DataRow(256L << 10)] // the default: one item block on these small logs
    [DataRow(16L)]      // one item per block: many sweeps, every block boundary exercised
    [DataRow(48L)]      // three items per block
    [DataRow(48L, true)] // and the grouping by user over chunks of rows
    public void BulkEqualsThePerRowIndexAndTheDefinition_OnRandomLogsAndSampleOrders(long itemBlockBytes, bool chunked = false)
    {
        long saved = InteractionBulkFill.ItemBlockBytes;
        int savedRows = UserRuns.ParallelRows;
        InteractionBulkFill.ItemBlockBytes = itemBlockBytes;
        if (chunked) UserRuns.ParallelRows = 1;
        try { BulkEqualsThePerRowIndexAndTheDefinition(); }
        finally { InteractionBulkFill.ItemBlockBytes = saved; UserRuns.ParallelRows = savedRows; }
    }

    private static void BulkEqualsThePerRowIndexAndTheDefinition()
    {
        Gen.Select(GenLog, GenSamples, Gen.Int[0, 5].Select(i => new[] { 1, 4, 10, 15, 16, 19 }[i])).Sample((rows, gs, stride) =>
        {
            var index = InteractionIndex.Build(UserHistory.Build(Build(rows)));
            var samples = gs.Shuffle ? gs.Samples : [.. gs.Samples.OrderBy(s => s.Hour).ThenBy(s => s.User).ThenBy(s => s.Item)];
            var dst = Bulk(index, samples, stride);
            for (int r = 0; r < samples.Length; r++)
            {
                var s = samples[r];
                var got = Row(dst, r, stride);
                if (s.Hour > index.History.LastHour)
                {
                    if (got.Any(x => x != Untouched)) return false; // left for the compact state
                    continue;
                }
                if (!got.SequenceEqual(PerRow(index, s, stride))) return false;
                var naive = Naive(rows, s.User, s.Item, s.Cat, s.Hour).Take(stride).Select(x => (ushort)x);
                if (!got.SequenceEqual(naive)) return false;
            }
            return true;
        }, iter: 300);
    }

    private static float[] Naive(IEnumerable<(int User, int Item, int Cat, int Beh, int Hour)> rows, int user, int item, int cat, int hour) =>
        InteractionFeatureTests.Naive(rows, user, item, cat, hour);

    [TestMethod]
    public void BoundaryCases_NoHistory_ItemFirstSeenAtTheHour_SameHourEvents_TheCap()
    {
        int t = H("2015-01-20 12");
        var rows = new List<(int, int, int, int, int)>
        {
            (1, 10, 100, 1, t - 800),      // 800 h before: counts, but hours-since is capped at 744
            (1, 10, 100, 1, t - 800),      // duplicate: one event
            (1, 11, 100, 3, t - 25),       // just outside the 24-hour window
            (1, 12, 100, 1, t - 24),       // exactly 24 h before: inside
            (1, 13, 200, 2, t - 1),
            (1, 14, 100, 1, t),            // same hour as the sample: future, for the user and for the item
            (2, 14, 100, 4, t),            // item 14 first seen at the sample's hour, by someone else
            (2, 10, 100, 4, t - 3),
            (2, 10, 100, 1, t + 5),        // after the sample
        };
        var index = InteractionIndex.Build(UserHistory.Build(Build(rows)));
        (int, int, int, int)[] samples =
        [
            (1, 10, 100, t),   // capped hours-since for the item, windows at both edges
            (1, 14, 100, t),   // item first seen at the sample's hour: no item or user×item events yet
            (3, 10, 100, t),   // user without history: zeros, 744s, but the item's counts by everyone
            (1, 10, 100, t - 800), // at the user's first hour: nothing before it
            (2, 10, 300, t),   // unknown category for a known user
        ];
        var dst = Bulk(index, samples, F.Length);
        ushort[][] expected =
        [
            [2, 1, 1, 0,  2, 0, 1, 0, 1, 24,  1, 0, 0, 0, 744,  1, 0, 0, 1],
            [2, 1, 1, 0,  2, 0, 1, 0, 1, 24,  0, 0, 0, 0, 744,  0, 0, 0, 0],
            [0, 0, 0, 0,  0, 0, 0, 0, 0, 744, 0, 0, 0, 0, 744,  1, 0, 0, 1],
            [0, 0, 0, 0,  0, 0, 0, 0, 0, 744, 0, 0, 0, 0, 744,  0, 0, 0, 0],
            [0, 0, 0, 1,  0, 0, 0, 0, 0, 744, 0, 0, 0, 1, 3,    1, 0, 0, 1],
        ];
        for (int r = 0; r < samples.Length; r++)
        {
            CollectionAssert.AreEqual(expected[r], Row(dst, r, F.Length), $"sample {r}");
            CollectionAssert.AreEqual(PerRow(index, samples[r], F.Length), Row(dst, r, F.Length), $"sample {r} vs the per-row index");
        }
    }

    [TestMethod]
    public void BulkFillAndCompactStateNeverBuildThePerSampleSearchIndex()
    {
        var rows = new List<(int, int, int, int, int)> { (1, 10, 100, 1, Start), (2, 10, 100, 4, Start + 3), (1, 11, 200, 2, Start + 5) };
        var index = InteractionIndex.Build(UserHistory.Build(Build(rows)));
        var store = InteractionStore.Fit(index);
        var dst = Bulk(index, [(1, 10, 100, Start + 5), (3, 11, 200, Start + 4)], F.Length);
        using (var w = new BinaryWriter(new MemoryStream())) store.Write(w); // builds the compact state
        Assert.IsFalse(index.HasRowIndex, "the columnar read and saving must not pay for the per-sample index");
        // The compact state equals the definition at the log's end (the per-row path is exact there too).
        var v = new float[F.Length];
        store.Fill(1, 10, 100, Start + 6, v);
        CollectionAssert.AreEqual(Naive(rows, 1, 10, 100, Start + 6), v);
        CollectionAssert.AreEqual(PerRow(index, (1, 10, 100, Start + 5), F.Length), Row(dst, 0, F.Length));
        Assert.IsTrue(index.HasRowIndex);
    }

    [TestMethod]
    public void CountsPast16BitsSaturateLikeThePerRowPath()
    {
        // 70,000 distinct clicks of item 7 (700 users × 100 hours), then a sample after them.
        var rows = new List<(int, int, int, int, int)>();
        for (int u = 1; u <= 700; u++)
            for (int h = 0; h < 100; h++) rows.Add((u, 7, 1, 1, Start + h));
        rows.Add((1, 8, 1, 1, Start + 200));
        var index = InteractionIndex.Build(UserHistory.Build(Build(rows)));
        (int, int, int, int)[] samples = [(1, 7, 1, Start + 150), (1, 7, 1, Start + 50)];
        var dst = Bulk(index, samples, F.Length);
        Assert.AreEqual(ushort.MaxValue, dst[F.ItemCounts]);
        Assert.AreEqual((ushort)(700 * 50), dst[F.Length + F.ItemCounts]);
        for (int r = 0; r < samples.Length; r++) CollectionAssert.AreEqual(PerRow(index, samples[r], F.Length), Row(dst, r, F.Length));
    }

    [TestMethod]
    public void EmptyInputAndAHeavyUserWithManyKeys()
    {
        // One user with 3,000 distinct items over 600 categories (the per-user tables grow), samples at every 7th hour.
        var rows = new List<(int, int, int, int, int)>();
        var rng = new Random(3);
        for (int i = 0; i < 6000; i++) rows.Add((1, rng.Next(3000), rng.Next(600), 1 + rng.Next(4), Start + rng.Next(24 * 30)));
        var index = InteractionIndex.Build(UserHistory.Build(Build(rows)));
        Assert.AreEqual(0, Bulk(index, [], F.Length).Length);
        var samples = Enumerable.Range(0, 24 * 30 / 7).Select(k => (1, rng.Next(3000), rng.Next(600), Start + 7 * k))
            .Where(s => s.Item4 <= index.History.LastHour).ToArray();
        Assert.IsTrue(samples.Length > 90);
        var dst = Bulk(index, samples, F.Length);
        for (int r = 0; r < samples.Length; r++) CollectionAssert.AreEqual(PerRow(index, samples[r], F.Length), Row(dst, r, F.Length), $"sample {r}");
    }
}
