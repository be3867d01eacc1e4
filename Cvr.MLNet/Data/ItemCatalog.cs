namespace Cvr.MLNet.Data;

/// <summary>
/// The item subset P (<c>tianchi_mobile_recommend_train_item.csv</c>): distinct item ids with their
/// category, plus the file's row statistics. An item may appear on several rows (one per geohash);
/// its category is taken from its first row and disagreements are counted.
/// </summary>
public sealed class ItemCatalog
{
    private readonly int[] _items;
    private readonly int[] _categories;

    private ItemCatalog(string? source, int[] items, int[] categories, long rowCount, double geohashShare,
        long categoryConflicts, TianchiReadDiagnostics? diagnostics)
    {
        Source = source;
        _items = items;
        _categories = categories;
        RowCount = rowCount;
        GeohashShare = geohashShare;
        CategoryConflictCount = categoryConflicts;
        Diagnostics = diagnostics;
    }

    /// <summary>The file read, or null.</summary>
    public string? Source { get; }
    /// <summary>Rows in the file (excluding the header and skipped rows).</summary>
    public long RowCount { get; }
    /// <summary>Number of distinct item ids.</summary>
    public int Count => _items.Length;
    /// <summary>Share of rows with a non-empty <c>item_geohash</c>.</summary>
    public double GeohashShare { get; }
    /// <summary>Rows whose category differs from the first row of the same item.</summary>
    public long CategoryConflictCount { get; }
    /// <summary>What the read skipped (null when not read from a file).</summary>
    public TianchiReadDiagnostics? Diagnostics { get; }
    /// <summary>The distinct item ids, ascending.</summary>
    public ReadOnlySpan<int> ItemIds => _items;
    /// <summary>The category of each entry of <see cref="ItemIds"/>.</summary>
    public ReadOnlySpan<int> Categories => _categories;

    /// <summary>Whether <paramref name="itemId"/> is in the subset.</summary>
    public bool Contains(int itemId) => Array.BinarySearch(_items, itemId) >= 0;

    /// <summary>The category of <paramref name="itemId"/>, if it is in the subset.</summary>
    public bool TryGetCategory(int itemId, out int category)
    {
        int i = Array.BinarySearch(_items, itemId);
        category = i >= 0 ? _categories[i] : 0;
        return i >= 0;
    }

    /// <summary>Builds a catalog from (item, category) pairs in memory; the first pair of an item wins.</summary>
    public static ItemCatalog FromPairs(IEnumerable<(int ItemId, int Category)> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var keys = new List<long>();
        var cats = new List<int>();
        foreach (var (item, cat) in pairs)
        {
            keys.Add(((long)item << 32) | (uint)cats.Count);
            cats.Add(cat);
        }
        return Create(null, keys, cats, 0, null);
    }

    // keys: (item id << 32) | row index, so sorting groups items and keeps file order within one.
    internal static ItemCatalog Create(string? source, List<long> keys, List<int> cats, long withGeohash, TianchiReadDiagnostics? diag)
    {
        var k = keys.ToArray();
        Array.Sort(k);
        var items = new List<int>();
        var categories = new List<int>();
        long conflicts = 0;
        for (int i = 0; i < k.Length; i++)
        {
            int item = (int)(k[i] >> 32);
            int cat = cats[(int)(uint)k[i]];
            if (items.Count > 0 && items[^1] == item)
            {
                if (categories[^1] != cat) conflicts++;
                continue;
            }
            items.Add(item);
            categories.Add(cat);
        }
        return new ItemCatalog(source, items.ToArray(), categories.ToArray(), k.Length,
            k.Length == 0 ? 0 : (double)withGeohash / k.Length, conflicts, diag);
    }
}
