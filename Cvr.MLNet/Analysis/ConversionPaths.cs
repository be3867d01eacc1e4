namespace Cvr.MLNet.Analysis;

/// <summary>
/// Conversion within a horizon, by path. Click counts come from the click samples (a distinct click is
/// bought when the pair is bought within the horizon; its path says whether a favorite or cart came
/// between). Favorite and cart counts are distinct (user, item, hour) events whose horizon ends inside the log.
/// </summary>
/// <param name="HorizonHours">The horizon H: bought within [t, t+H).</param>
/// <param name="Clicks">Uncensored distinct clicks.</param>
/// <param name="DirectBuys">Clicks bought with no favorite or cart of the pair in between.</param>
/// <param name="AfterFavoriteBuys">Clicks bought after a favorite (and no cart) of the pair.</param>
/// <param name="AfterCartBuys">Clicks bought after a cart of the pair.</param>
/// <param name="Favorites">Uncensored distinct favorites.</param>
/// <param name="FavoritesBought">Favorites whose pair is bought within the horizon.</param>
/// <param name="Carts">Uncensored distinct carts.</param>
/// <param name="CartsBought">Carts whose pair is bought within the horizon.</param>
public sealed record ConversionPaths(int HorizonHours, long Clicks, long DirectBuys, long AfterFavoriteBuys, long AfterCartBuys,
    long Favorites, long FavoritesBought, long Carts, long CartsBought)
{
    private static double Rate(long k, long n) => n == 0 ? double.NaN : (double)k / n;

    /// <summary>Share of clicks bought within the horizon, whatever the path.</summary>
    public double ClickBuyRate => Rate(DirectBuys + AfterFavoriteBuys + AfterCartBuys, Clicks);
    /// <summary>Share of clicks bought directly (no favorite or cart in between).</summary>
    public double DirectRate => Rate(DirectBuys, Clicks);
    /// <summary>Share of clicks bought after a favorite.</summary>
    public double ClickAfterFavoriteRate => Rate(AfterFavoriteBuys, Clicks);
    /// <summary>Share of clicks bought after a cart.</summary>
    public double ClickAfterCartRate => Rate(AfterCartBuys, Clicks);
    /// <summary>Share of favorites followed by a buy of the pair within the horizon.</summary>
    public double FavoriteBuyRate => Rate(FavoritesBought, Favorites);
    /// <summary>Share of carts followed by a buy of the pair within the horizon.</summary>
    public double CartBuyRate => Rate(CartsBought, Carts);
}
