namespace Cvr.MLNet.Data.Generation;

/// <summary>
/// Options of <see cref="TianchiGenerator"/>. Defaults are the <c>full</c> preset (the real
/// <c>mobile</c> log: 10,000 users, 12,256,906 rows, 2014-11-18..2014-12-18); the behaviour targets
/// are the real log's marginals (see <c>data/README.md</c>).
/// </summary>
public sealed class GeneratorOptions
{
    /// <summary>Rows of the real log (mobile profile).</summary>
    public const int RealLogRows = 12_256_906;
    /// <summary>Items the real log's catalog touches at full scale.</summary>
    public const int RealLogItems = 2_880_000;
    /// <summary>The last day of the log, 2014-12-18 (day index).</summary>
    public static readonly int LastDay = TianchiTime.DayOf(TianchiTime.Parse("2014-12-18 00"));

    /// <summary>Number of users (distinct user_id).</summary>
    public int Users = 10_000;
    /// <summary>Mean rows per user, duplicates included (1,225.69 in the real log).</summary>
    public double RowsPerUser = RealLogRows / 10_000.0;
    /// <summary>Days in the log, counted back from 2014-12-18 (31 = from 2014-11-18).</summary>
    public int Days = 31;
    /// <summary>Seed of every random draw: the same seed gives byte-identical files.</summary>
    public ulong Seed = 1;
    /// <summary>Write CRLF line endings (like the published 1,999-row sample) instead of LF.</summary>
    public bool Crlf;
    /// <summary>Catalog size; 0 = derived from the row count (real log: I = 2.88 M · (R / 12.26 M)^0.78, at least 2,000).</summary>
    public int Items;
    /// <summary>Size of the category universe.</summary>
    public int Categories = 8_900;
    /// <summary>Target share of rows that are exact duplicates of another row (repeated clicks in one hour).</summary>
    public double DuplicateShare = 0.334;
    /// <summary>Target share of distinct rows with an empty user_geohash.</summary>
    public double EmptyGeohashShare = 0.528;
    /// <summary>Target share of rows of behaviours 1..4 (browse, favourite, cart, buy).</summary>
    public double[] BehaviorShares = [0.943, 0.0195, 0.0276, 0.0099];
    /// <summary>Probability that a favourite generated for a clicked pair is written on an unclicked sibling item of the same category.</summary>
    public double OrphanFavoriteShare = 0.65;
    /// <summary>Same for carts.</summary>
    public double OrphanCartShare = 0.55;
    /// <summary>
    /// Same for buys without a cart (a buy after a cart lands on the carted item, itself a sibling with
    /// <see cref="OrphanCartShare"/>); 0.25 puts ≈ 47 % of all buys on a clicked pair.
    /// </summary>
    public double OrphanBuyShare = 0.25;
    /// <summary>Share of buys that are "direct" (no click on the pair, made at the user's buy propensity).</summary>
    public double DirectBuyShare = 0.17;
    /// <summary>Share of users who never buy.</summary>
    public double NonBuyerShare = 0.11;
    /// <summary>Probability that a click revisits an item of the user's last 7 days (recency weighted).</summary>
    public double RevisitProbability = 0.25;
    /// <summary>Share of the catalog in the item subset P (the item file).</summary>
    public double ItemSubsetShare = 0.09;
    /// <summary>Share of categories that are promotion categories (P is drawn from them).</summary>
    public double ItemSubsetCategoryShare = 0.11;
    /// <summary>Horizon of the truth file's probabilities in hours.</summary>
    public int TruthHorizonHours = 24;
    /// <summary>Users whose rows are shuffled together before writing (the real file interleaves users).</summary>
    public int ShuffleBlockUsers = 16;

    /// <summary>Target number of rows, Users · RowsPerUser.</summary>
    public long TargetRows => (long)Math.Round(Users * RowsPerUser);

    /// <summary>
    /// The catalog size used: <see cref="Items"/>, or 2 × the real log's distinct-item scaling law
    /// (2.88 M · (R / 12.26 M)^0.78, at least 2,000): the log touches only part of the catalog, so the
    /// universe is larger than the items seen.
    /// </summary>
    public int EffectiveItems => Items > 0 ? Items
        : (int)Math.Round(CatalogOverTouched * Math.Max(2_000, RealLogItems * Math.Pow(TargetRows / (double)RealLogRows, 0.78)));

    /// <summary>Catalog size over the distinct items the real log touches.</summary>
    public const double CatalogOverTouched = 2.0;

    /// <summary>The first day index of the log.</summary>
    public int FirstDay => LastDay - Days + 1;

    /// <summary>Preset names accepted by <see cref="FromPreset"/>.</summary>
    public static IReadOnlyList<string> Presets { get; } = ["tiny", "sample", "full"];

    /// <summary><c>tiny</c>: 200 users × 100 rows ≈ 20 k rows, for tests (per-user volume scaled by 0.08, as the spec's floor rule says).</summary>
    public static GeneratorOptions Tiny() => new() { Users = 200, RowsPerUser = 100 };

    /// <summary><c>sample</c>: 1,000 users × 400 rows ≈ 400 k rows, trains in a few minutes.</summary>
    public static GeneratorOptions Sample() => new() { Users = 1_000, RowsPerUser = 400 };

    /// <summary><c>full</c>: the real log's size, 10,000 users and 12,256,906 rows.</summary>
    public static GeneratorOptions Full() => new();

    /// <summary>The options of a named preset (<c>tiny</c>, <c>sample</c>, <c>full</c>).</summary>
    public static GeneratorOptions FromPreset(string name) => name switch
    {
        "tiny" => Tiny(),
        "sample" => Sample(),
        "full" => Full(),
        _ => throw new ArgumentException($"Unknown generator preset '{name}'; expected one of: {string.Join(", ", Presets)}.", nameof(name)),
    };

    /// <summary>Validates every option; the message names the option and the value.</summary>
    public void Check()
    {
        static void Require(bool ok, string option, object value, string rule)
        {
            if (!ok) throw new ArgumentOutOfRangeException(option, value, $"{option} = {value} is invalid: {rule}.");
        }
        Require(Users >= 1 && Users <= 1_000_000, nameof(Users), Users, "must be in [1, 1000000]");
        Require(RowsPerUser >= 10 && RowsPerUser <= 100_000, nameof(RowsPerUser), RowsPerUser, "must be in [10, 100000]");
        Require(TargetRows <= 100_000_000, nameof(TargetRows), TargetRows, "Users × RowsPerUser must be at most 100,000,000");
        Require(Days >= 2 && Days <= 31, nameof(Days), Days, "must be in [2, 31] (the log is 2014-11-18..2014-12-18)");
        Require(Items >= 0 && Items <= 50_000_000, nameof(Items), Items, "must be 0 (derived) or in [1, 50000000]");
        Require(Categories >= 10 && Categories <= 14_079, nameof(Categories), Categories, "must be in [10, 14079] (category ids are drawn from [2, 14080])");
        Require(EffectiveItems >= Categories, nameof(Items), EffectiveItems, $"the catalog must hold at least one item per category ({Categories})");
        Require(DuplicateShare >= 0 && DuplicateShare <= 0.8, nameof(DuplicateShare), DuplicateShare, "must be in [0, 0.8]");
        Require(EmptyGeohashShare >= 0 && EmptyGeohashShare <= 1, nameof(EmptyGeohashShare), EmptyGeohashShare, "must be in [0, 1]");
        var shares = BehaviorShares ?? [];
        Require(shares.Length == 4, nameof(BehaviorShares), shares.Length, "must hold 4 shares (browse, favourite, cart, buy)");
        Require(shares.All(s => s > 0) && Math.Abs(shares.Sum() - 1) < 1e-6 && shares[0] >= 0.5,
            nameof(BehaviorShares), string.Join("/", shares), "must be positive, sum to 1, with browse at least 0.5");
        Require(DuplicateShare < shares[0] - 0.05, nameof(DuplicateShare), DuplicateShare, $"must be below the browse share {shares[0]} less 0.05 (duplicates are repeated clicks)");
        foreach (var (name, v) in new[] { (nameof(OrphanFavoriteShare), OrphanFavoriteShare), (nameof(OrphanCartShare), OrphanCartShare),
                     (nameof(OrphanBuyShare), OrphanBuyShare), (nameof(NonBuyerShare), NonBuyerShare), (nameof(RevisitProbability), RevisitProbability) })
            Require(v >= 0 && v <= 0.95, name, v, "must be in [0, 0.95]");
        Require(DirectBuyShare >= 0 && DirectBuyShare <= 0.9, nameof(DirectBuyShare), DirectBuyShare, "must be in [0, 0.9]");
        Require(ItemSubsetShare > 0 && ItemSubsetShare <= 1, nameof(ItemSubsetShare), ItemSubsetShare, "must be in (0, 1]");
        Require(ItemSubsetCategoryShare > 0 && ItemSubsetCategoryShare <= 1, nameof(ItemSubsetCategoryShare), ItemSubsetCategoryShare, "must be in (0, 1]");
        Require(TruthHorizonHours >= 1 && TruthHorizonHours <= 168, nameof(TruthHorizonHours), TruthHorizonHours, "must be in [1, 168]");
        Require(ShuffleBlockUsers >= 1 && ShuffleBlockUsers <= 1_000, nameof(ShuffleBlockUsers), ShuffleBlockUsers, "must be in [1, 1000]");
    }
}
