using System.Numerics;
using System.Runtime.CompilerServices;

namespace Cvr.MLNet.Samples;

/// <summary>
/// Open-addressing map from a key to a dense slot 0, 1, …, emptied in O(1) by a generation stamp (a user's
/// categories or items; sized to twice the keys it can get, so probes stay short and in L1/L2).
/// </summary>
internal sealed class SlotTable
{
    // Per entry (stamp << 32) | key in one long, so a probe reads one array; the slot beside it (read on a hit).
    private long[] _entries = new long[16];
    private int[] _slots = new int[16];
    private int _stamp, _shift = 28, _count;

    /// <summary>Keys added since the last <see cref="Reset"/> (the next slot).</summary>
    public int Count => _count;

    public void Reset(int maxKeys)
    {
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, maxKeys * 2));
        if (_entries.Length < size) { _entries = new long[size]; _slots = new int[size]; _stamp = 0; }
        _shift = 32 - BitOperations.Log2((uint)size);
        _stamp++; _count = 0;
    }

    private int Home(int key) => (int)(((uint)key * 0x9E3779B9u) >> _shift);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int GetOrAdd(int key, out bool added)
    {
        int mask = (1 << (32 - _shift)) - 1;
        for (int i = Home(key); ; i = (i + 1) & mask)
        {
            long e = _entries[i];
            if ((int)(e >> 32) != _stamp)
            {
                _entries[i] = ((long)_stamp << 32) | (uint)key; added = true;
                return _slots[i] = _count++;
            }
            if ((int)e == key) { added = false; return _slots[i]; }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(int key)
    {
        int mask = (1 << (32 - _shift)) - 1;
        for (int i = Home(key); ; i = (i + 1) & mask)
        {
            long e = _entries[i];
            if ((int)(e >> 32) != _stamp) return -1;
            if ((int)e == key) return _slots[i];
        }
    }
}
