namespace Cvr.MLNet.Serving;

/// <summary>
/// One scoring request for a <c>PredictionEngine&lt;CvrRequest, CvrPrediction&gt;</c>: who, which item
/// (and its category), and when. Features are looked up from the model's behavior state as of
/// <see cref="Time"/> (which must lie after the fitted log's end for a loaded model).
/// </summary>
public sealed class CvrRequest
{
    public int UserId { get; set; }
    public int ItemId { get; set; }
    public int CategoryId { get; set; }
    /// <summary>Request time (hour resolution).</summary>
    public DateTime Time { get; set; }
}

/// <summary>The model's answer to a <see cref="CvrRequest"/>.</summary>
public sealed class CvrPrediction
{
    /// <summary>P(favorite or cart within the horizon | click).</summary>
    public float PFavCart { get; set; }
    /// <summary>P(buy within the horizon | click) = y1·y3 + (1−y1)·y2.</summary>
    public float PBuy { get; set; }
    /// <summary>Logit of PBuy.</summary>
    public float Score { get; set; }
    /// <summary>Same as PBuy (ML.NET's binary-classification column).</summary>
    public float Probability { get; set; }
    /// <summary>PBuy ≥ the model's threshold.</summary>
    public bool PredictedLabel { get; set; }
}
