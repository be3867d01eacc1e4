using System.Runtime.InteropServices;
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
    public int IndexOf(int id)
    {
        int i = Find(id);
        if (i != 0) return i;
        return 1 + Ids.Length + (int)(Hash(id) % (uint)OovBuckets);
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
        var order = occurrences.Length >= ParallelCountThreshold && Environment.ProcessorCount > 1
            ? SortedCountKeysParallel(occurrences, Math.Min(Environment.ProcessorCount, 8))
            : SortedCountKeys(occurrences);
        int distinct = order.Length;
        int oovBuckets = Math.Clamp((int)Math.Round(Math.Min(maxSize, distinct) * oovShare), 1, maxSize - 2);
        int size = Math.Min(maxSize, distinct + oovBuckets + 1);
        int keep = Math.Min(distinct, size - 1 - oovBuckets);
        var kept = new int[keep];
        for (int i = 0; i < keep; i++) kept[i] = (int)(uint)order[i] ^ int.MinValue;
        return new IdVocabulary(size, kept);
    }

    /// <summary>Occurrences from which <see cref="Fit"/> counts in parallel over hash partitions of the ids (the
    /// 12 M item ids of the full log: one core's dictionary misses were most of the feature fit).</summary>
    internal static int ParallelCountThreshold { get; set; } = 1 << 20;

    // Most frequent first, ties by ascending id (deterministic): one primitive order of
    // (int.MaxValue − frequency, id with its sign bit flipped so unsigned order is signed order).
    private static long Key(int id, int n) => ((long)(int.MaxValue - n) << 32) | (uint)(id ^ int.MinValue);

    /// <summary>The sorted frequency keys of the distinct ids.</summary>
    internal static long[] SortedCountKeys(ReadOnlySpan<int> occurrences)
    {
        var counts = new Dictionary<int, int>();
        foreach (var id in occurrences) CollectionsMarshal.GetValueRefOrAddDefault(counts, id, out _)++;
        var keys = new long[counts.Count];
        int next = 0;
        foreach (var (id, n) in counts) keys[next++] = Key(id, n);
        Array.Sort(keys);
        return keys;
    }

    // Multiply-shift: spreads consecutive ids over the partitions evenly.
    private static int Partition(int id, int parts) => (int)(((ulong)((uint)id * 2654435761u) * (uint)parts) >> 32);

    /// <summary>
    /// The same keys counted on <paramref name="parts"/> threads: the ids are scattered by hash into
    /// <paramref name="parts"/> arrays (every id lands in exactly one, so each partition's counts are whole),
    /// each partition is counted and sorted on its own thread, then the sorted runs are merged.
    /// </summary>
    internal static long[] SortedCountKeysParallel(ReadOnlySpan<int> occurrences, int parts)
    {
        var sizes = new int[parts];
        foreach (var id in occurrences) sizes[Partition(id, parts)]++;
        var scattered = new int[parts][];
        for (int q = 0; q < parts; q++) scattered[q] = new int[sizes[q]];
        Array.Clear(sizes);
        foreach (var id in occurrences) { int q = Partition(id, parts); scattered[q][sizes[q]++] = id; }
        var runs = new long[parts][];
        Parallel.For(0, parts, q => { runs[q] = SortedCountKeys(scattered[q]); scattered[q] = []; });
        while (runs.Length > 1)
        {
            var merged = new long[(runs.Length + 1) / 2][];
            for (int i = 0; i < merged.Length; i++) merged[i] = 2 * i + 1 < runs.Length ? Merge(runs[2 * i], runs[2 * i + 1]) : runs[2 * i];
            runs = merged;
        }
        return runs[0];
    }

    private static long[] Merge(long[] a, long[] b)
    {
        var m = new long[a.Length + b.Length];
        int i = 0, j = 0, k = 0;
        while (i < a.Length && j < b.Length) m[k++] = a[i] <= b[j] ? a[i++] : b[j++];
        a.AsSpan(i).CopyTo(m.AsSpan(k)); k += a.Length - i;
        b.AsSpan(j).CopyTo(m.AsSpan(k));
        return m;
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
