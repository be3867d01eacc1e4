using System.Numerics;

namespace Cvr.MLNet.Samples;

/// <summary>
/// Ids scattered into partitions by the top bits of a multiplicative hash: the first step wherever millions of
/// ids are counted or numbered with per-partition tables small enough to stay in a core's L2
/// (<see cref="Transforms.Vocabulary.IdCounts"/>, <see cref="PartitionedIdMap"/>). Stable: a partition holds its
/// ids in input order, so whatever each partition computes is deterministic, however many chunks scattered it.
/// </summary>
internal static class HashPartitions
{
    /// <summary>Occurrences per partition aimed at: a partition's table (≤ 16 B per occurrence) then stays in L2.</summary>
    public const int Target = 8_192;
    /// <summary>At most 2^10 partitions: more write streams than that cost TLB misses in the scatter.</summary>
    public const int MaxBits = 10;

    public static uint Hash(int id) => (uint)id * 0x9E3779B9u;

    /// <summary>The partition of <paramref name="id"/> among 2^<paramref name="bits"/>.</summary>
    public static int Of(int id, int bits) => bits == 0 ? 0 : (int)(Hash(id) >> (32 - bits));

    /// <summary>The home slot of <paramref name="id"/> in its partition's table of 2^<paramref name="tableBits"/>: the hash bits below the partition's.</summary>
    public static int Home(int id, int bits, int tableBits) => (int)((Hash(id) << bits) >> (32 - tableBits));

    /// <summary>Table bits with room for <paramref name="keys"/> keys, at most half full.</summary>
    public static int TableBits(int keys) => Math.Max(1, BitOperations.Log2((uint)Math.Max(1, keys)) + 2);

    /// <summary>Partition bits for <paramref name="n"/> occurrences (none below two partitions' worth).</summary>
    public static int BitsFor(int n) => n < 2 * Target ? 0 : Math.Min(MaxBits, BitOperations.Log2((uint)(n / Target)) + 1);

    /// <summary>
    /// Writes <paramref name="ids"/> to <paramref name="scattered"/> grouped by partition (each group in input order)
    /// and partition q's start to <paramref name="starts"/>[q] (the total at the end), over <paramref name="chunks"/>
    /// contiguous chunks in parallel. Returns where chunk c began writing partition q (at c · parts + q), so a caller
    /// can walk the same order back.
    /// </summary>
    public static unsafe int[] Scatter(ReadOnlySpan<int> ids, int bits, int chunks, int[] scattered, int[] starts)
    {
        int n = ids.Length, parts = 1 << bits;
        var first = new int[chunks * parts];
        fixed (int* source = ids)
        {
            nint at = (nint)source; // a pointer for the lambdas (the span cannot be captured)
            ReadOnlySpan<int> Chunk(int c)
            {
                int from = (int)((long)n * c / chunks), to = (int)((long)n * (c + 1) / chunks);
                return new ReadOnlySpan<int>((int*)at + from, to - from);
            }
            Parallel.For(0, chunks, c =>
            {
                var sizes = first.AsSpan(c * parts, parts);
                foreach (var id in Chunk(c)) sizes[Of(id, bits)]++;
            });
            int position = 0;
            for (int q = 0; q < parts; q++)
            {
                starts[q] = position;
                for (int c = 0; c < chunks; c++) { int size = first[c * parts + q]; first[c * parts + q] = position; position += size; }
            }
            starts[parts] = position;
            var next = (int[])first.Clone();
            Parallel.For(0, chunks, c =>
            {
                var positions = next.AsSpan(c * parts, parts);
                foreach (var id in Chunk(c)) scattered[positions[Of(id, bits)]++] = id;
            });
        }
        return first;
    }
}
