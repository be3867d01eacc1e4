namespace Cvr.MLNet.Samples;

/// <summary>Options of the sample builder (entire-space click samples with ESM² labels).</summary>
public sealed class CvrSampleOptions
{
    /// <summary>Label horizon H in hours: a click at hour t is labelled by events in [t, t+H). Default 24.</summary>
    public int HorizonHours = 24;

    /// <summary>Keep rate r of negative samples (both labels false); kept negatives get weight 1/r. Default 1 (keep all).</summary>
    public double NegativeKeepRate = 1.0;

    /// <summary>Seed of the deterministic down-sampling hash. Default 1.</summary>
    public int Seed = 1;

    /// <summary>Only clicks at or after this hour index (null = from the log's start).</summary>
    public int? FromHour;

    /// <summary>Only clicks before this hour index (null = to the log's end).</summary>
    public int? ToHour;

    /// <summary>Validates the options; throws naming the offending option.</summary>
    public void Check()
    {
        if (HorizonHours < 1) throw new ArgumentOutOfRangeException(nameof(HorizonHours), HorizonHours, "HorizonHours must be at least 1.");
        if (!(NegativeKeepRate > 0 && NegativeKeepRate <= 1))
            throw new ArgumentOutOfRangeException(nameof(NegativeKeepRate), NegativeKeepRate, "NegativeKeepRate must be in (0, 1].");
        if (FromHour is { } f && ToHour is { } t && t <= f)
            throw new ArgumentOutOfRangeException(nameof(ToHour), t, "ToHour must be after FromHour.");
    }
}

/// <summary>How a bought sample converted: the conversion-path mark used by the analysis.</summary>
public enum BuyPath
{
    /// <summary>Not bought within the horizon.</summary>
    None = 0,
    /// <summary>Bought with no favorite or cart of the pair between the click and the buy.</summary>
    Direct = 1,
    /// <summary>Bought after a favorite (and no cart) of the pair.</summary>
    AfterFavorite = 2,
    /// <summary>Bought after a cart of the pair.</summary>
    AfterCart = 3,
}
