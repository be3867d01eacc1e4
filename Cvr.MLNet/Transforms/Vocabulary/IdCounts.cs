using System.Numerics;
using System.Runtime.CompilerServices;
using Cvr.MLNet.Samples;

namespace Cvr.MLNet.Transforms.Vocabulary;

/// <summary>
/// How often each distinct id occurs, and the most frequent ids (ties by ascending id), without a cache miss
/// per occurrence or a sort of every distinct id: the occurrences are scattered by hash into partitions small
/// enough that a partition's counting table stays in the core's cache, the partitions are counted in parallel,
/// and the kept ids are chosen by a histogram of the counts and a selection, so only they are sorted.
/// (12 M item occurrences of 2.6 M distinct ids, 196 k kept: one dictionary and a full sort took ≈ 1.2 s on two
/// cores of the Zen 3 VM.)
/// </summary>
internal sealed class IdCounts
{
    // One key per distinct id: (int.MaxValue − count) << 32 | (id with its sign bit flipped), so ascending
    // key order is count descending, then id ascending (signed). One array per partition.
    private readonly long[][] _keys;

    private IdCounts(long[][] keys)
    {
        _keys = keys;
        foreach (var k in keys) Distinct += k.Length;
    }

    /// <summary>Distinct ids counted.</summary>
    public int Distinct { get; }

    /// <summary>Partition bits instead of the size's choice (tests: a partitioning the size would not pick).</summary>
    internal static int? PartitionBitsOverride { get; set; }

    internal static long Key(int id, int count) => ((long)(int.MaxValue - count) << 32) | (uint)(id ^ int.MinValue);
    private static int IdOf(long key) => (int)(uint)key ^ int.MinValue;
    private static int CountOf(long key) => int.MaxValue - (int)(key >> 32);

    /// <summary>Counts <paramref name="occurrences"/> (one entry per occurrence).</summary>
    public static IdCounts Count(ReadOnlySpan<int> occurrences)
    {
        int n = occurrences.Length;
        // Few distinct ids (users, categories: ≈ 10 k) fit one cache-sized table per core: no scatter needed.
        if (PartitionBitsOverride is null && CountFew(occurrences) is { } few) return few;
        int bits = PartitionBitsOverride ?? HashPartitions.BitsFor(n);
        int parts = 1 << bits;
        var starts = new int[parts + 1];
        var scattered = GC.AllocateUninitializedArray<int>(n);
        HashPartitions.Scatter(occurrences, bits, n >= ParallelScatterRows ? Math.Clamp(Environment.ProcessorCount, 1, 8) : 1, scattered, starts);
        var keys = new long[parts][];
        int largest = 0;
        for (int q = 0; q < parts; q++) largest = Math.Max(largest, starts[q + 1] - starts[q]);
        int tableBits = HashPartitions.TableBits(largest);
        Parallel.For(0, parts, () => new long[1 << tableBits], (q, _, table) =>
        {
            keys[q] = CountPartition(scattered.AsSpan(starts[q], starts[q + 1] - starts[q]), bits, table);
            return table;
        }, _ => { });
        return new IdCounts(keys);
    }

    /// <summary>Distinct ids up to which <see cref="CountFew"/> counts in one table per chunk (its 2× slots stay in L2).</summary>
    internal static int FewDistinct { get; set; } = 1 << 14;

    /// <summary>
    /// The counts when there are at most <see cref="FewDistinct"/> distinct ids: contiguous chunks (one per core)
    /// each count into their own table, which are then summed; null as soon as a chunk sees more distinct ids.
    /// </summary>
    private static IdCounts? CountFew(ReadOnlySpan<int> occurrences)
    {
        int n = occurrences.Length, limit = FewDistinct;
        int chunks = n >= ParallelScatterRows ? Math.Clamp(Environment.ProcessorCount, 1, 8) : 1;
        int tableBits = BitOperations.Log2(BitOperations.RoundUpToPowerOf2((uint)limit)) + 1; // at most half full: 256 KB at 16 k ids
        var tables = new long[chunks][];
        bool tooMany = false;
        unsafe
        {
            fixed (int* p = occurrences)
            {
                var at = (IntPtr)p;
                Parallel.For(0, chunks, c =>
                {
                    int from = (int)((long)n * c / chunks), to = (int)((long)n * (c + 1) / chunks);
                    var ids = new ReadOnlySpan<int>((int*)at + from, to - from);
                    var table = new long[1 << tableBits];
                    if (CountInto(ids, table, tableBits, limit) < 0) tooMany = true;
                    tables[c] = table;
                });
            }
        }
        if (tooMany) return null;
        // Sum the chunks' tables into the first (each distinct id at most `limit` per table, so the sum fits if the union does).
        var total = tables[0];
        int mask = (1 << tableBits) - 1, distinct = 0;
        foreach (var v in total) if (v != 0) distinct++;
        for (int c = 1; c < chunks; c++)
            foreach (var v in tables[c])
            {
                if (v == 0) continue;
                int id = (int)(v >> 32);
                // One id past the limit still fits (the table is sized for twice the limit).
                if (Add(total, mask, HashPartitions.Home(id, 0, tableBits), id, (int)v) && ++distinct > limit) return null;
            }
        var keys = new long[distinct];
        int k = 0;
        foreach (var v in total) if (v != 0) keys[k++] = Key((int)(v >> 32), (int)v);
        return new IdCounts([keys]);
    }

    /// <summary>Counts <paramref name="ids"/> into <paramref name="table"/> ((id, count) per slot); −1 past <paramref name="limit"/> distinct ids.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int CountInto(ReadOnlySpan<int> ids, long[] table, int tableBits, int limit)
    {
        int mask = (1 << tableBits) - 1, distinct = 0;
        foreach (var id in ids)
            if (Add(table, mask, HashPartitions.Home(id, 0, tableBits), id, 1) && ++distinct > limit) return -1;
        return distinct;
    }

    /// <summary>
    /// Adds <paramref name="amount"/> to the count of <paramref name="id"/> in a table of (id, count) per slot (count 0 =
    /// empty), probing linearly from <paramref name="home"/>; true when the id was not in the table yet.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Add(long[] table, int mask, int home, int id, int amount)
    {
        for (int s = home; ; s = (s + 1) & mask)
        {
            long v = table[s];
            if (v == 0) { table[s] = ((long)id << 32) | (uint)amount; return true; }
            if ((int)(v >> 32) == id) { table[s] = v + amount; return false; }
        }
    }

    /// <summary>Occurrences from which the scatter splits them into chunks, one per core (tests lower it).</summary>
    internal static int ParallelScatterRows { get; set; } = 1 << 20;

    /// <summary>
    /// The keys of one partition: open addressing over (id, count) in one long per slot (count 0 = empty), homed by
    /// the hash bits below the partition's. Every used slot is zeroed as its key is taken, so the table is all
    /// zero again for the next partition.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static long[] CountPartition(ReadOnlySpan<int> ids, int partitionBits, long[] table)
    {
        int tableBits = HashPartitions.TableBits(ids.Length), mask = (1 << tableBits) - 1, distinct = 0;
        foreach (var id in ids)
            if (Add(table, mask, HashPartitions.Home(id, partitionBits, tableBits), id, 1)) distinct++;
        var keys = new long[distinct];
        int k = 0;
        for (int s = 0; s <= mask && k < distinct; s++)
        {
            long v = table[s];
            if (v == 0) continue;
            keys[k++] = Key((int)(v >> 32), (int)v);
            table[s] = 0;
        }
        return keys;
    }

    /// <summary>Counts the histogram clamps at: at most n / 1024 ids can reach it, so sorting them all is cheap.</summary>
    private const int CountCap = 1_024;

    /// <summary>
    /// The <paramref name="keep"/> most frequent ids, most frequent first, ties by ascending id.
    /// </summary>
    public int[] MostFrequent(int keep)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(keep);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(keep, Distinct);
        if (keep == 0) return [];
        // The smallest count c* such that at least `keep` ids occur ≥ c* times (counts ≥ CountCap share one bin):
        // the kept ids are among those, and every id occurring more often than c* is kept.
        var histogram = new int[CountCap + 1];
        foreach (var part in _keys)
            foreach (var key in part) histogram[Math.Min(CountOf(key), CountCap)]++;
        int threshold = CountCap;
        for (int seen = 0; threshold >= 1; threshold--)
            if ((seen += histogram[threshold]) >= keep) break;
        int candidates = 0;
        for (int c = threshold; c <= CountCap; c++) candidates += histogram[c];
        var chosen = new long[candidates];
        int next = 0;
        foreach (var part in _keys)
            foreach (var key in part)
                if (CountOf(key) >= threshold) chosen[next++] = key;
        var smallest = chosen.AsSpan();
        SelectSmallest(smallest, keep);
        smallest = smallest[..keep];
        smallest.Sort();
        var ids = new int[keep];
        for (int i = 0; i < keep; i++) ids[i] = IdOf(smallest[i]);
        return ids;
    }

    /// <summary>
    /// Reorders <paramref name="a"/> (distinct values) so that its first <paramref name="k"/> entries are its
    /// k smallest, in any order: quickselect with three-way partitions, falling back to a sort when it stops
    /// shrinking fast (so never quadratic).
    /// </summary>
    internal static void SelectSmallest(Span<long> a, int k)
    {
        int lo = 0, hi = a.Length, budget = 2 * BitOperations.Log2((uint)Math.Max(1, a.Length)) + 4;
        // Invariant: everything in [0, lo) is smaller than everything in [lo, hi), which is smaller than [hi, end).
        while (hi - lo > 32 && k > lo && k < hi)
        {
            if (budget-- == 0) break;
            long x = a[lo], y = a[lo + (hi - lo) / 2], z = a[hi - 1];
            long pivot = Math.Max(Math.Min(x, y), Math.Min(Math.Max(x, y), z));
            int lt = lo, i = lo, gt = hi;
            while (i < gt)
            {
                long v = a[i];
                if (v < pivot) { a[i++] = a[lt]; a[lt++] = v; }
                else if (v > pivot) { a[i] = a[--gt]; a[gt] = v; }
                else i++;
            }
            if (k < lt) hi = lt;
            else if (k > gt) lo = gt;
            else return;
        }
        if (k > lo && k < hi) a[lo..hi].Sort();
    }
}
