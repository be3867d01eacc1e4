using Cvr.MLNet.Samples;
using CsCheck;

namespace Cvr.MLNet.Tests.Samples;

/// <summary><see cref="ItemDenseIndex"/> and <see cref="DenseIdMap"/>: a bijection between the log's items and 0..Count−1.</summary>
[TestClass]
public sealed class ItemDenseIndexTests
{
    [TestMethod]
    public void DenseIndicesAreABijectionOverTheItems_UnknownIsMinusOne_Deterministic()
    {
        // Few distinct ids (most partitions empty), many (tables grow), negative and extreme ids.
        Gen.Int[-5, 5].Select(Gen.Int, Gen.Int[0, 40], (a, b, c) => c < 20 ? a : c < 30 ? b : c == 30 ? int.MinValue : int.MaxValue)
            .Array[0, 3000].Sample(items =>
        {
            var dense = new int[items.Length];
            var index = ItemDenseIndex.Build(items, dense);
            var distinct = items.Distinct().ToArray();
            if (index.Count != distinct.Length) return false;
            for (int i = 0; i < items.Length; i++)
                if (index.IndexOf(items[i]) != dense[i] || index.IdAt(dense[i]) != items[i]) return false;
            if (Enumerable.Range(0, index.Count).Select(index.IdAt).Distinct().Count() != index.Count) return false;
            if (Enumerable.Range(-7, 3).Where(id => !items.Contains(id)).Any(id => index.IndexOf(id) != -1)) return false;
            var again = new int[items.Length];
            ItemDenseIndex.Build(items, again);
            return again.SequenceEqual(dense);
        }, iter: 200);
    }

    [TestMethod]
    public void DenseIdMapNumbersIdsInOrderOfFirstAppearanceAcrossGrowth()
    {
        var map = new DenseIdMap();
        var rng = new Random(7);
        var order = new List<int>();
        var seen = new HashSet<int>();
        for (int k = 0; k < 50_000; k++)
        {
            int id = rng.Next(-30_000, 30_000);
            int d = map.GetOrAdd(id);
            if (seen.Add(id)) { Assert.AreEqual(order.Count, d); order.Add(id); }
            else Assert.AreEqual(order.IndexOf(id), d);
        }
        Assert.AreEqual(order.Count, map.Count);
        for (int d = 0; d < order.Count; d++) { Assert.AreEqual(order[d], map.IdAt(d)); Assert.AreEqual(d, map.IndexOf(order[d])); }
        Assert.AreEqual(-1, map.IndexOf(30_001));
    }
}
