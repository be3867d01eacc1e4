using Cvr.MLNet.Training;
using static TorchSharp.torch;

namespace Cvr.MLNet.Tests.Training;

/// <summary>The compact <c>FeatureTable</c> storage (raw 16-bit counts, byte behaviors) batches exactly like the float form.</summary>
[TestClass]
public sealed class FeatureTableStorageTests
{
    private static float[] Row(Random rng, bool whole) =>
        Enumerable.Range(0, FeatureTable.CountLength).Select(_ => whole ? rng.Next(-2, 70_000) is var c && c < 65_536 ? c : 65_535 : (float)(rng.NextDouble() * 9)).ToArray();

    private static float[] BatchCounts(FeatureTable table)
    {
        using var batch = table.MakeBatch(Enumerable.Range(0, table.Count).ToArray(), CPU);
        return batch.Counts.data<float>().ToArray();
    }

    [TestMethod]
    public void RawCountsBatchBitIdenticallyToLog1pFloats()
    {
        var rng = new Random(4);
        var raw = FeatureTable.Create(50, 3, compact: true);
        var floats = FeatureTable.Create(50, 3);
        for (int r = 0; r < 50; r++)
        {
            var counts = Row(rng, whole: true);
            if (r == 7) counts[0] = -3; // negative counts read as 0 in both forms
            if (r == 8) counts[1] = 65_535;
            raw.StoreCounts(r, counts);
            floats.StoreCounts(r, counts);
        }
        Assert.IsTrue(raw.RawCountMode);
        Assert.IsFalse(floats.RawCountMode);
        Assert.AreEqual(0, raw.Counts.Length);
        Assert.AreEqual(50 * 28, raw.RawCounts.Length);
        CollectionAssert.AreEqual(BatchCounts(floats), BatchCounts(raw));
        Assert.AreEqual(MathF.Log(1f + 65_535f), BatchCounts(raw)[8 * 28 + 1]);
        Assert.AreEqual(0f, BatchCounts(raw)[7 * 28]);
    }

    [TestMethod]
    [DataRow(2.5f)]
    [DataRow(65_536f)]
    [DataRow(float.NaN)]
    public void CountsThatAreNotRaw16BitCountsSwitchTheTableToFloats(float odd)
    {
        var rng = new Random(5);
        var table = FeatureTable.Create(4, 2, compact: true);
        var reference = FeatureTable.Create(4, 2);
        for (int r = 0; r < 4; r++)
        {
            var counts = Row(rng, whole: r != 2);
            if (r == 2) counts[5] = odd;
            table.StoreCounts(r, counts);
            reference.StoreCounts(r, counts);
            Assert.AreEqual(r < 2, table.RawCountMode, $"row {r}");
        }
        Assert.AreEqual(0, table.RawCounts.Length);
        var a = BatchCounts(reference); var b = BatchCounts(table);
        Assert.AreEqual(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++) Assert.AreEqual(BitConverter.SingleToInt32Bits(a[i]), BitConverter.SingleToInt32Bits(b[i]), $"value {i}");
    }

    private static float[] BatchHoursAgo(FeatureTable table)
    {
        using var batch = table.MakeBatch(Enumerable.Range(0, table.Count).ToArray(), CPU);
        return batch.SeqHoursAgo.data<float>().ToArray();
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void WholeHoursAgoBatchExactlyAndOtherValuesSwitchToFloats(bool odd)
    {
        var rng = new Random(6);
        var compact = FeatureTable.Create(30, 5, compact: true);
        var floats = FeatureTable.Create(30, 5);
        for (int i = 0; i < 30 * 5; i++)
        {
            float v = i % 7 == 0 ? 0f : i == 11 ? 65_535f : rng.Next(1, 800);
            if (odd && i == 77) v = -0f;
            if (odd && i == 78) v = 2.5f;
            compact.StoreHoursAgo(i, v);
            floats.StoreHoursAgo(i, v);
            Assert.AreEqual(!odd || i < 77, compact.RawHoursAgoMode, $"value {i}");
        }
        Assert.IsFalse(floats.RawHoursAgoMode);
        Assert.AreEqual(odd ? 0 : 150, compact.RawHoursAgo.Length);
        var a = BatchHoursAgo(floats); var b = BatchHoursAgo(compact);
        for (int i = 0; i < a.Length; i++) Assert.AreEqual(BitConverter.SingleToInt32Bits(a[i]), BitConverter.SingleToInt32Bits(b[i]), $"value {i}");
        Assert.IsFalse(FeatureTable.IsWholeHours(float.NaN));
        Assert.IsFalse(FeatureTable.IsWholeHours(65_536f));
        Assert.IsFalse(FeatureTable.IsWholeHours(-1f));
    }

    [TestMethod]
    public void BehaviorsAreBytesAndOutOfRangeValuesFailWithTheRangeCheckMessage()
    {
        Assert.AreEqual((byte)4, FeatureTable.Behavior(4, 0));
        Assert.AreEqual((byte)255, FeatureTable.Behavior(255, 0));
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => FeatureTable.Behavior(256, 12));
        StringAssert.Contains(ex.Message, "value 256 at row 12 is outside 0..4");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => FeatureTable.Behavior(-1, 0));
        var table = FeatureTable.Create(2, 3);
        table.SeqBehaviors[4] = 7;
        var range = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => table.CheckRanges(new Cvr.MLNet.Model.CvrNetworkOptions()));
        StringAssert.Contains(range.Message, "value 7 at row 1 is outside 0..4");
    }
}
