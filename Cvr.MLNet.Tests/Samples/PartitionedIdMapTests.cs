using Cvr.MLNet.Samples;

namespace Cvr.MLNet.Tests.Samples;

/// <summary><see cref="PartitionedIdMap"/>: a bijection between the distinct ids and 0..Count−1, the same whatever the chunking.</summary>
[TestClass]
public sealed class PartitionedIdMapTests
{
    [TestMethod]
    [DataRow(0, false)]
    [DataRow(1, true)]
    [DataRow(4, false)]
    [DataRow(4, true)]
    [DataRow(10, true)]
    public void EveryOccurrenceGetsItsIdsIndex_ABijectionOntoTheDistinctIds(int partitionBits, bool chunked)
    {
        var rng = new Random(partitionBits);
        var ids = Enumerable.Range(0, 60_000).Select(i => i % 50 == 0 ? 0 : i % 71 == 0 ? int.MinValue : i % 73 == 0 ? int.MaxValue
            : rng.Next(-20_000, 20_000) * 3).ToArray();
        var savedBits = PartitionedIdMap.PartitionBitsOverride; var savedRows = PartitionedIdMap.ParallelRows;
        try
        {
            PartitionedIdMap.PartitionBitsOverride = partitionBits;
            if (chunked) PartitionedIdMap.ParallelRows = 1;
            var index = new int[ids.Length];
            var map = PartitionedIdMap.Build(ids, index);
            var distinct = ids.Distinct().ToArray();
            Assert.AreEqual(distinct.Length, map.Count);
            // Each id has one index, distinct ids have distinct indices covering 0..Count−1, and IndexOf agrees.
            var indexOfId = new Dictionary<int, int>();
            for (int i = 0; i < ids.Length; i++)
            {
                if (indexOfId.TryGetValue(ids[i], out var d)) Assert.AreEqual(d, index[i], $"occurrence {i} of id {ids[i]}");
                else indexOfId[ids[i]] = index[i];
                Assert.AreEqual(index[i], map.IndexOf(ids[i]));
                Assert.AreEqual(ids[i], map.IdAt(index[i]));
            }
            CollectionAssert.AreEquivalent(Enumerable.Range(0, map.Count).ToArray(), indexOfId.Values.ToArray());
            foreach (var absent in new[] { 1, -1, 20_000 * 3 + 1, 59_999 }) Assert.AreEqual(-1, map.IndexOf(absent), $"id {absent}");

            // The numbering does not depend on the chunking (deterministic whatever the machine's cores).
            PartitionedIdMap.ParallelRows = chunked ? int.MaxValue : 1;
            var again = new int[ids.Length];
            PartitionedIdMap.Build(ids, again);
            CollectionAssert.AreEqual(index, again);

            var none = PartitionedIdMap.Build([], []);
            Assert.AreEqual(0, none.Count);
            Assert.AreEqual(-1, none.IndexOf(0));
        }
        finally { PartitionedIdMap.PartitionBitsOverride = savedBits; PartitionedIdMap.ParallelRows = savedRows; }
    }
}
