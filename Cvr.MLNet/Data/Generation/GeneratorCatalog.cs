namespace Cvr.MLNet.Data.Generation;

/// <summary>
/// Categories, items and the item subset P of a generated log. Items are stored grouped by category
/// (category index c owns items [CategoryStart[c], CategoryStart[c+1])), with their popularity as a
/// cumulative table per category so a draw is one binary search.
/// </summary>
internal sealed class GeneratorCatalog
{
    public const int MinItemId = 37, MaxItemId = 404_562_488, MinCategoryId = 2, MaxCategoryId = 14_080;

    /// <summary>Most of the global category popularity the promotion categories may hold together.</summary>
    private const double PromotionPopularityCap = 0.16;

    /// <summary>Item-subset geohash roots (P items that have one are 95/94/99-rooted).</summary>
    private static readonly string[] ItemGeohashRoots = ["95", "94", "99"];

    public int CategoryCount { get; }
    public int ItemCount { get; }
    public int[] CategoryIds { get; }
    /// <summary>Global popularity share of each category (sums to 1).</summary>
    public double[] CategoryWeight { get; }
    public double[] CategoryCdf { get; }
    public int[] CategoryStart { get; }
    public int[] ItemIds { get; }
    public int[] ItemCategory { get; }
    /// <summary>Cumulative in-category popularity (restarts at each category).</summary>
    public float[] ItemCdf { get; }
    /// <summary>Item quality on the logit scale (drives conversion, independent of popularity).</summary>
    public float[] Quality { get; }
    public bool[] InSubset { get; }
    public int[] HotItems { get; }
    public double[] HotCdf { get; }
    /// <summary>P items in item-file order.</summary>
    public int[] SubsetItems { get; }

    public GeneratorCatalog(GeneratorOptions o, Xoshiro256 rng)
    {
        int c = CategoryCount = o.Categories;
        CategoryIds = DistinctIds(rng, c, MinCategoryId, MaxCategoryId);
        // Zipf–Mandelbrot, exponent 1.1 with offset 8: the top category takes ≈ 2.2 % of rows
        // (a plain Zipf 1.1 over 8,900 categories would give it 15 %).
        var w = new double[c];
        for (int k = 0; k < c; k++) w[k] = Math.Pow(k + 9, -1.1);
        double ws = w.Sum();
        for (int k = 0; k < c; k++) w[k] /= ws;
        CategoryWeight = w;
        CategoryCdf = GeneratorProfiles.Cumulative(w);

        // Items per category ∝ popularity^0.9, at least one.
        int target = o.EffectiveItems;
        double s09 = w.Sum(x => Math.Pow(x, 0.9));
        var counts = new int[c];
        for (int k = 0; k < c; k++) counts[k] = Math.Max(1, (int)Math.Round((target - c) * Math.Pow(w[k], 0.9) / s09) + 1);
        CategoryStart = new int[c + 1];
        for (int k = 0; k < c; k++) CategoryStart[k + 1] = CategoryStart[k] + counts[k];
        int n = ItemCount = CategoryStart[c];
        ItemIds = DistinctIds(rng, n, MinItemId, MaxItemId);
        ItemCategory = new int[n];
        ItemCdf = new float[n];
        Quality = new float[n];
        for (int k = 0; k < c; k++)
        {
            float cum = 0;
            for (int i = CategoryStart[k], r = 1; i < CategoryStart[k + 1]; i++, r++)
            {
                ItemCategory[i] = k;
                cum += MathF.Pow(r, -0.75f); // Zipf 0.75 inside the category: a long tail of items seen once
                ItemCdf[i] = cum;
                Quality[i] = (float)(0.5 * rng.Normal());
            }
        }

        // Five deal items: the head items of popular categories, with a high quality (q = 3) so the top one takes a visible share of buys.
        HotItems = new int[5];
        var usedCats = new HashSet<int>();
        for (int h = 0; h < HotItems.Length; h++)
        {
            int cat;
            do cat = GeneratorProfiles.Sample(CategoryCdf, rng.NextDouble()); while (!usedCats.Add(cat) && usedCats.Count < c);
            HotItems[h] = CategoryStart[cat];
            Quality[HotItems[h]] = 3f;
        }
        HotCdf = GeneratorProfiles.Cumulative([0.35, 0.25, 0.18, 0.12, 0.10]);

        // P: promotion categories by popularity^0.5 (Efraimidis–Spirakis weighted sampling without replacement),
        // then items from them with probability ∝ popularity^0.5, ≈ ItemSubsetShare of the catalog.
        int pCats = Math.Max(1, (int)Math.Round(c * o.ItemSubsetCategoryShare));
        var keys = new (double Key, int Cat)[c];
        for (int k = 0; k < c; k++) keys[k] = (Math.Log(rng.NextDoubleNonZero()) / Math.Sqrt(w[k]), k);
        Array.Sort(keys, (a, b) => b.Key.CompareTo(a.Key));
        InSubset = new bool[n];
        double sumX = 0;
        var pop = new double[n];
        double covered = 0;
        for (int j = 0, taken = 0; j < c && taken < pCats; j++)
        {
            // Cap the promotion categories' popularity so P carries a realistic share of rows (11–18 %)
            // whatever the catalog size.
            int k = keys[j].Cat;
            if (covered + w[k] > PromotionPopularityCap) continue;
            covered += w[k];
            taken++;
            double total = ItemCdf[CategoryStart[k + 1] - 1];
            for (int i = CategoryStart[k]; i < CategoryStart[k + 1]; i++)
            {
                double within = (ItemCdf[i] - (i == CategoryStart[k] ? 0 : ItemCdf[i - 1])) / total;
                pop[i] = Math.Sqrt(w[k] * within);
                sumX += pop[i];
            }
        }
        double want = o.ItemSubsetShare * n;
        var subset = new List<int>();
        for (int i = 0; i < n; i++)
            if (pop[i] > 0 && rng.NextDouble() < Math.Min(1, want * pop[i] / sumX)) { InSubset[i] = true; subset.Add(i); }
        if (subset.Count == 0) { InSubset[HotItems[0]] = true; subset.Add(HotItems[0]); }
        var arr = subset.ToArray();
        rng.Shuffle(arr.AsSpan());
        SubsetItems = arr;
    }

    /// <summary>An item of category <paramref name="cat"/> drawn by popularity.</summary>
    public int SampleItem(int cat, Xoshiro256 rng) =>
        GeneratorProfiles.Sample(ItemCdf, CategoryStart[cat], CategoryStart[cat + 1], rng.NextDouble());

    /// <summary>A category drawn by global popularity.</summary>
    public int SampleCategory(Xoshiro256 rng) => GeneratorProfiles.Sample(CategoryCdf, rng.NextDouble());

    /// <summary>A deal item.</summary>
    public int SampleHotItem(Xoshiro256 rng) => HotItems[GeneratorProfiles.Sample(HotCdf, rng.NextDouble())];

    /// <summary>Writes the item file: one row per P item plus 1–4 extra rows for ≈ 25 % of them; item_geohash empty in ≈ 90 % of rows.</summary>
    public int WriteItemFile(TextWriter w, string newline, Xoshiro256 rng)
    {
        w.Write(TianchiFiles.ItemsHeader); w.Write(newline);
        int rows = 0;
        foreach (int i in SubsetItems)
        {
            string first = ItemGeohash(rng);
            WriteItemRow(w, i, first, newline); rows++;
            if (rng.NextDouble() < 0.25)
            {
                int extra = rng.NextInt(1, 4);
                for (int e = 0; e < extra; e++, rows++)
                    WriteItemRow(w, i, rng.NextDouble() < 0.5 ? first : ItemGeohash(rng), newline);
            }
        }
        return rows;
    }

    private void WriteItemRow(TextWriter w, int item, string geohash, string newline)
    {
        Span<char> buf = stackalloc char[64];
        int p = 0;
        ItemIds[item].TryFormat(buf, out int n, provider: System.Globalization.CultureInfo.InvariantCulture); p += n;
        buf[p++] = ',';
        geohash.AsSpan().CopyTo(buf[p..]); p += geohash.Length;
        buf[p++] = ',';
        CategoryIds[ItemCategory[item]].TryFormat(buf[p..], out n, provider: System.Globalization.CultureInfo.InvariantCulture); p += n;
        w.Write(buf[..p]); w.Write(newline);
    }

    private static string ItemGeohash(Xoshiro256 rng)
    {
        if (rng.NextDouble() < 0.9) return "";
        return ItemGeohashRoots[rng.NextInt(ItemGeohashRoots.Length)] + Geohash.RandomChars(rng, 5);
    }

    /// <summary><paramref name="count"/> distinct random integers in [min, max], in random order.</summary>
    internal static int[] DistinctIds(Xoshiro256 rng, int count, int min, int max)
    {
        var seen = new HashSet<int>(count);
        var ids = new int[count];
        for (int k = 0; k < count;)
        {
            int id = rng.NextInt(min, max);
            if (seen.Add(id)) ids[k++] = id;
        }
        return ids;
    }
}

/// <summary>The geohash alphabet of the log: base-32 without '8' (as observed in the real file).</summary>
internal static class Geohash
{
    public const string Alphabet = "0123456789abcdefghijklmnopqrstuvw";
    /// <summary>Alphabet without '8'.</summary>
    public static readonly string Allowed = Alphabet.Replace("8", "", StringComparison.Ordinal);

    public static string RandomChars(Xoshiro256 rng, int n)
    {
        Span<char> c = stackalloc char[n];
        for (int i = 0; i < n; i++) c[i] = Allowed[rng.NextInt(Allowed.Length)];
        return new string(c);
    }
}
