using Cvr.MLNet.Samples;

namespace Cvr.MLNet.Tests.Samples;

/// <summary><see cref="DenseIdMap"/>: a bijection between the ids added and 0..Count−1, in order of first appearance.</summary>
[TestClass]
public sealed class DenseIdMapTests
{
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
