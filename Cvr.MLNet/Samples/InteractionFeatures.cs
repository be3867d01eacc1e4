namespace Cvr.MLNet.Samples;

/// <summary>
/// Layout of the user–candidate interaction features of a sample (user u, item i, category c, hour t):
/// what u did before t overall, on c and on i, and what every user did on i before t. These crosses
/// carry most of what the event process conditions a conversion on (the user's taste for c, the
/// last-24-hours interest in c, an earlier cart of i, the item's own conversion record) — signals an
/// embedding model only finds indirectly from ids and a 20-event sequence. Values are raw counts and
/// hours (the network reads log1p of them). Like every feature, only events strictly before t's hour
/// are read; the window is the whole fitted log (plus live events), so "lifetime" means "since the
/// log's first hour".
/// </summary>
public static class InteractionFeatures
{
    /// <summary>Number of values.</summary>
    public const int Length = 19;
    /// <summary>Hours-since value when there is no earlier event (and the cap of every hours-since value): 31 days.</summary>
    public const int NoEventHours = 744;
    /// <summary>Width of the recent user×category window, in hours.</summary>
    public const int RecentHours = 24;

    /// <summary>[0..3]: the user's events of behavior 1..4 before t.</summary>
    public const int UserCounts = 0;
    /// <summary>[4..7]: the user's events of behavior 1..4 on the candidate's category before t.</summary>
    public const int UserCategoryCounts = 4;
    /// <summary>[8]: the user's events on the candidate's category in [t − 24 h, t).</summary>
    public const int UserCategoryRecent = 8;
    /// <summary>[9]: hours since the user's last event on the candidate's category (<see cref="NoEventHours"/> if none).</summary>
    public const int UserCategoryHoursSince = 9;
    /// <summary>[10..13]: the user's events of behavior 1..4 on the candidate item before t.</summary>
    public const int UserItemCounts = 10;
    /// <summary>[14]: hours since the user's last event on the candidate item (<see cref="NoEventHours"/> if none).</summary>
    public const int UserItemHoursSince = 14;
    /// <summary>[15..18]: every user's events of behavior 1..4 on the candidate item before t.</summary>
    public const int ItemCounts = 15;

    /// <summary>Short names of the values, in order (for analysis and LightGBM feature names).</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        "user_clicks", "user_favs", "user_carts", "user_buys",
        "user_cat_clicks", "user_cat_favs", "user_cat_carts", "user_cat_buys", "user_cat_last24h", "user_cat_hours_since",
        "user_item_clicks", "user_item_favs", "user_item_carts", "user_item_buys", "user_item_hours_since",
        "item_clicks", "item_favs", "item_carts", "item_buys",
    ];

    /// <summary>Hours since <paramref name="lastHour"/> seen from <paramref name="hour"/>, capped; <see cref="NoEventHours"/> when there is none (<paramref name="lastHour"/> = int.MinValue).</summary>
    internal static float HoursSince(int hour, int lastHour) =>
        lastHour == int.MinValue ? NoEventHours : Math.Min(hour - lastHour, NoEventHours);
}
