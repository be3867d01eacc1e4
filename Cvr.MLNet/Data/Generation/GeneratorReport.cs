namespace Cvr.MLNet.Data.Generation;

/// <summary>
/// What <see cref="TianchiGenerator"/> wrote and the acceptance statistics measured on it while writing
/// (exact counts over the written rows, not over the model's intentions).
/// </summary>
public sealed class GeneratorReport
{
    /// <summary>Rows of the events file (header excluded).</summary>
    public long Rows { get; internal set; }
    /// <summary>Rows that are not an exact copy of an earlier row.</summary>
    public long DistinctRows { get; internal set; }
    /// <summary>Distinct rows whose user_geohash is empty.</summary>
    public long DistinctRowsEmptyGeohash { get; internal set; }
    /// <summary>Users (every user writes at least one row).</summary>
    public int Users { get; internal set; }
    /// <summary>Catalog size (items that could be drawn).</summary>
    public int Items { get; internal set; }
    /// <summary>Distinct items that appear in the events file.</summary>
    public int ItemsSeen { get; internal set; }
    /// <summary>Of <see cref="ItemsSeen"/>, items active on exactly one day.</summary>
    public int ItemsSeenOnOneDay { get; internal set; }
    /// <summary>Distinct categories that appear in the events file.</summary>
    public int CategoriesSeen { get; internal set; }
    /// <summary>Items in the subset P.</summary>
    public int SubsetItems { get; internal set; }
    /// <summary>Rows of the item file (P items, some repeated).</summary>
    public int ItemFileRows { get; internal set; }
    /// <summary>Rows of the truth file (one per distinct click sample).</summary>
    public long TruthRows { get; internal set; }
    /// <summary>Truth rows whose horizon reaches past the log end.</summary>
    public long TruthRowsCensored { get; internal set; }
    /// <summary>Rows per behaviour, index 0..3 = behavior_type 1..4.</summary>
    public long[] BehaviorRows { get; } = new long[4];
    /// <summary>Rows per hour of day.</summary>
    public long[] RowsByHourOfDay { get; } = new long[24];
    /// <summary>Rows per day of the log (index 0 = first day).</summary>
    public long[] RowsByDay { get; internal set; } = [];
    /// <summary>Buy rows per day of the log.</summary>
    public long[] BuysByDay { get; internal set; } = [];
    /// <summary>Rows on P items.</summary>
    public long SubsetRows { get; internal set; }
    /// <summary>Distinct buy events (buy rows less repeats).</summary>
    public long BuyEvents { get; internal set; }
    /// <summary>Buy events on a pair the user clicked somewhere in the log.</summary>
    public long BuysWithPairClick { get; internal set; }
    /// <summary>Buy events on a pair the user clicked at or before the buy hour.</summary>
    public long BuysWithEarlierPairClick { get; internal set; }
    /// <summary>Of those, buys in the hour of the pair's first click.</summary>
    public long BuysSameHourAsFirstClick { get; internal set; }
    /// <summary>Of those, buys within 24 h of the pair's first click.</summary>
    public long BuysWithinDayOfFirstClick { get; internal set; }
    /// <summary>Users with at least one buy.</summary>
    public int UsersWithBuy { get; internal set; }
    /// <summary>Buy events of the most bought item.</summary>
    public long TopItemBuys { get; internal set; }
    /// <summary>Distinct (user, item, day) click pairs with a next day in the log.</summary>
    public long ClickedPairDays { get; internal set; }
    /// <summary>Of those, pairs bought on the next day.</summary>
    public long ClickedPairDaysBoughtNextDay { get; internal set; }
    /// <summary>Distinct (user, item, day) cart pairs with a next day in the log.</summary>
    public long CartedPairDays { get; internal set; }
    /// <summary>Of those, pairs bought on the next day.</summary>
    public long CartedPairDaysBoughtNextDay { get; internal set; }
    /// <summary>"Carted yesterday, not bought yesterday" rule on P, summed over every next day: predicted pairs.</summary>
    public long CartRulePredicted { get; internal set; }
    /// <summary>Its true positives.</summary>
    public long CartRuleHits { get; internal set; }
    /// <summary>Distinct (user, P item, day) buy pairs on days after the first.</summary>
    public long SubsetBuyPairDays { get; internal set; }
    /// <summary>Seconds the generation took.</summary>
    public double Seconds { get; internal set; }
    /// <summary>Files written (empty when writing to caller-supplied writers).</summary>
    public IReadOnlyList<string> Files { get; internal set; } = [];

    /// <summary>Share of rows that repeat an earlier row exactly.</summary>
    public double DuplicateShare => Rows == 0 ? 0 : 1 - DistinctRows / (double)Rows;
    /// <summary>Share of distinct rows with an empty user_geohash.</summary>
    public double EmptyGeohashShare => DistinctRows == 0 ? 0 : DistinctRowsEmptyGeohash / (double)DistinctRows;
    /// <summary>Share of rows of behaviour <paramref name="behavior"/>.</summary>
    public double BehaviorShare(BehaviorType behavior) => Rows == 0 ? 0 : BehaviorRows[(int)behavior - 1] / (double)Rows;
    /// <summary>Share of buy events on a pair with a click of its own (the spec's 45–50 %).</summary>
    public double BuysWithPairClickShare => BuyEvents == 0 ? 0 : BuysWithPairClick / (double)BuyEvents;
    /// <summary>F1 of the cart-yesterday rule on P (the difficulty check: 0.04–0.06 like the real log).</summary>
    public double CartRuleF1 => CartRulePredicted + SubsetBuyPairDays == 0 ? 0 : 2.0 * CartRuleHits / (CartRulePredicted + SubsetBuyPairDays);
}
