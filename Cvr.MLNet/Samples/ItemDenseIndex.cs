namespace Cvr.MLNet.Samples;

/// <summary>
/// Dense indices 0..Count−1 of every item of a log, built in parallel: the items are split by a hash into
/// 16 partitions, each mapped by its own <see cref="DenseIdMap"/> (a 16th of the 2.6 M items: a table that
/// mostly stays in cache), and partition p's indices follow partitions 0..p−1. Deterministic: each partition
/// sees its events in log order.
/// </summary>
internal sealed class ItemDenseIndex
{
    private const int Bits = 4, Parts = 1 << Bits;
    private readonly DenseIdMap[] _parts;
    private readonly int[] _offsets; // Parts + 1

    private ItemDenseIndex(DenseIdMap[] parts)
    {
        _parts = parts;
        _offsets = new int[Parts + 1];
        for (int p = 0; p < Parts; p++) _offsets[p + 1] = _offsets[p] + parts[p].Count;
    }

    /// <summary>Items indexed.</summary>
    public int Count => _offsets[Parts];

    // A different multiplier from DenseIdMap's, so the slots inside a partition stay spread.
    private static int PartOf(int id) => (int)(((uint)id * 0x85EBCA6Bu) >> (32 - Bits));

    /// <summary>The dense index of <paramref name="id"/>, or −1 when the log has no such item.</summary>
    public int IndexOf(int id)
    {
        int p = PartOf(id), i = _parts[p].IndexOf(id);
        return i < 0 ? -1 : _offsets[p] + i;
    }

    /// <summary>The item of dense index <paramref name="index"/>.</summary>
    public int IdAt(int index)
    {
        int p = Array.BinarySearch(_offsets, index);
        p = p >= 0 ? p : ~p - 1;
        while (_offsets[p + 1] == index) p++; // skip empty partitions that end at the index
        return _parts[p].IdAt(index - _offsets[p]);
    }

    /// <summary>Indexes <paramref name="items"/> and writes each event's dense index to <paramref name="dense"/>.</summary>
    public static ItemDenseIndex Build(int[] items, int[] dense)
    {
        int n = items.Length;
        // Events of each partition, in log order (a stable counting sort by partition).
        var start = new int[Parts + 1];
        foreach (int id in items) start[PartOf(id) + 1]++;
        for (int p = 0; p < Parts; p++) start[p + 1] += start[p];
        var next = start.AsSpan(0, Parts).ToArray();
        var byPart = new int[n];
        for (int i = 0; i < n; i++) byPart[next[PartOf(items[i])]++] = i;
        var parts = new DenseIdMap[Parts];
        Parallel.For(0, Parts, p =>
        {
            var map = new DenseIdMap();
            for (int k = start[p]; k < start[p + 1]; k++) { int i = byPart[k]; dense[i] = map.GetOrAdd(items[i]); }
            parts[p] = map;
        });
        var index = new ItemDenseIndex(parts);
        Parallel.For(0, Parts, p =>
        {
            int offset = index._offsets[p];
            for (int k = start[p]; k < start[p + 1]; k++) dense[byPart[k]] += offset;
        });
        return index;
    }
}
