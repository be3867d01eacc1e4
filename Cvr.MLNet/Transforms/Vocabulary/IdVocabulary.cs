using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
namespace Cvr.MLNet.Transforms.Vocabulary;

/// <summary>
/// A frequency-capped id vocabulary with hashed out-of-vocabulary buckets, so an id space of any size
/// (2.8 M items in the real log) fits a fixed embedding table:
/// index 0 = padding; 1..K = the K most frequent ids of the fitted log (ties by id);
/// K+1..Size−1 = hash buckets shared by every other id, including ids never seen in fitting.
/// Unknown ids therefore still get a trained (shared) embedding instead of failing.
/// </summary>
public sealed class IdVocabulary
{
    // Open-addressing index: (id, index) pairs side by side in one array, linear probing, at most half
    // full. Featurizing looks up ~42 ids per sample (candidate + 20 sequence items and categories);
    // one probe usually stays in one cache line, where Dictionary reads its bucket and entry arrays.
    // Index 0 marks an empty slot (dedicated indices start at 1).
    private readonly int[] _slots;
    private readonly int _shift;

    private IdVocabulary(int size, int[] ids)
    {
        Size = size;
        Ids = ids;
        int bits = 2;
        while ((1 << bits) < 2 * ids.Length) bits++;
        _shift = 32 - bits;
        _slots = new int[2 << bits];
        int mask = (1 << bits) - 1;
        for (int i = 0; i < ids.Length; i++)
        {
            int s = Slot(ids[i]);
            while (_slots[2 * s + 1] != 0)
            {
                if (_slots[2 * s] == ids[i]) throw new ArgumentException($"Vocabulary id {ids[i]} is listed twice.", nameof(ids));
                s = (s + 1) & mask;
            }
            _slots[2 * s] = ids[i];
            _slots[2 * s + 1] = i + 1;
        }
    }

    private int Slot(int id) => (int)(((uint)id * 0x9E3779B9U) >> _shift);

    /// <summary>The dedicated index of <paramref name="id"/>, or 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Find(int id)
    {
        var slots = _slots;
        int mask = (slots.Length >> 1) - 1, s = Slot(id);
        while (true)
        {
            int v = slots[2 * s + 1];
            if (v == 0 || slots[2 * s] == id) return v;
            s = (s + 1) & mask;
        }
    }

    /// <summary>Table size including padding and OOV buckets.</summary>
    public int Size { get; }
    /// <summary>Ids with a dedicated index, in index order (index = position + 1).</summary>
    public int[] Ids { get; }
    /// <summary>Number of hash buckets for other ids.</summary>
    public int OovBuckets => Size - 1 - Ids.Length;

    /// <summary>Index of <paramref name="id"/>: dedicated when known, a hash bucket otherwise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int IndexOf(int id)
    {
        int i = Find(id);
        if (i != 0) return i;
        return 1 + Ids.Length + (int)(Hash(id) % (uint)OovBuckets);
    }

    /// <summary>
    /// <see cref="IndexOf"/> of every id in <paramref name="ids"/>, into <paramref name="indices"/>. A large vocabulary's
    /// index (4 MB for 200 k items) misses the cache on nearly every lookup; here the lookups are independent and the
    /// slot of the id a few places ahead is prefetched, so the misses overlap instead of following one another
    /// (≈ 4× faster than lookups spread through other work, on the Zen 3 VM).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void IndexOfMany(ReadOnlySpan<int> ids, Span<int> indices)
    {
        if (indices.Length < ids.Length) throw new ArgumentException($"{indices.Length} indices for {ids.Length} ids.", nameof(indices));
        const int Ahead = 16;
        var slots = _slots;
        if (Sse.IsSupported)
        {
            unsafe
            {
                fixed (int* table = slots)
                {
                    for (int i = 0; i < ids.Length; i++)
                    {
                        if (i + Ahead < ids.Length) Sse.Prefetch0(table + 2 * Slot(ids[i + Ahead]));
                        indices[i] = IndexOf(ids[i]);
                    }
                }
            }
        }
        else
            for (int i = 0; i < ids.Length; i++) indices[i] = IndexOf(ids[i]);
    }

    /// <summary>True when <paramref name="id"/> has a dedicated index.</summary>
    public bool Contains(int id) => Find(id) != 0;

    private static uint Hash(int id)
    {
        uint x = (uint)id;
        x ^= x >> 16; x *= 0x7feb352dU; x ^= x >> 15; x *= 0x846ca68bU; x ^= x >> 16;
        return x;
    }

    /// <summary>
    /// Fits a vocabulary on the given ids (one entry per occurrence; frequency decides who gets a
    /// dedicated index). The table holds at most <paramref name="maxSize"/> entries and is no bigger than
    /// the data needs: size = min(maxSize, distinct + buckets + 1), with buckets = max(1, round(share ×
    /// min(maxSize, distinct))) hashed OOV buckets for the ids left out and for ids never seen.
    /// </summary>
    public static IdVocabulary Fit(ReadOnlySpan<int> occurrences, int maxSize, double oovShare)
    {
        if (maxSize < 3) throw new ArgumentOutOfRangeException(nameof(maxSize), maxSize, "A vocabulary needs at least 3 entries (padding, one id, one OOV bucket).");
        if (!(oovShare > 0 && oovShare < 1)) throw new ArgumentOutOfRangeException(nameof(oovShare), oovShare, "The OOV share must be in (0, 1).");
        var counts = IdCounts.Count(occurrences);
        int distinct = counts.Distinct;
        int oovBuckets = Math.Clamp((int)Math.Round(Math.Min(maxSize, distinct) * oovShare), 1, maxSize - 2);
        int size = Math.Min(maxSize, distinct + oovBuckets + 1);
        int keep = Math.Min(distinct, size - 1 - oovBuckets);
        return new IdVocabulary(size, counts.MostFrequent(keep));
    }

    /// <summary>Writes the vocabulary (size + ids).</summary>
    public void Write(BinaryWriter w)
    {
        w.Write(Size);
        w.Write(Ids.Length);
        foreach (var id in Ids) w.Write(id);
    }

    /// <summary>Reads a vocabulary written by <see cref="Write"/>, validating sizes.</summary>
    public static IdVocabulary Read(BinaryReader r)
    {
        int size = r.ReadInt32(), n = r.ReadInt32();
        if (size < 3 || n < 0 || n > size - 2) throw new InvalidDataException($"Corrupt vocabulary: size {size}, {n} ids.");
        var ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = r.ReadInt32();
        return new IdVocabulary(size, ids);
    }

    /// <summary>
    /// Coverage statistics on a set of occurrences: the share that fall in OOV buckets, and the share of
    /// distinct OOV ids that share their bucket with another OOV id (the collision rate).
    /// </summary>
    public (double OovShare, double CollisionRate, int DistinctOov) Coverage(ReadOnlySpan<int> occurrences)
    {
        long oov = 0;
        var oovIds = new HashSet<int>();
        foreach (var id in occurrences)
            if (!Contains(id)) { oov++; oovIds.Add(id); }
        var perBucket = new Dictionary<int, int>();
        foreach (var id in oovIds) { int b = IndexOf(id); perBucket[b] = perBucket.GetValueOrDefault(b) + 1; }
        int colliding = oovIds.Count(id => perBucket[IndexOf(id)] > 1);
        return (occurrences.Length == 0 ? 0 : (double)oov / occurrences.Length,
            oovIds.Count == 0 ? 0 : (double)colliding / oovIds.Count, oovIds.Count);
    }
}
