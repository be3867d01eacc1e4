namespace Cvr.MLNet.Transforms;

/// <summary>
/// Column names of the CVR feature pipeline: the one contract between the transforms and the
/// trainer (saved with the model, like FuxiCTR's feature map).
/// </summary>
public static class CvrColumns
{
    // Inputs: a sample or a request.
    public const string UserId = "UserId";
    public const string ItemId = "ItemId";
    public const string CategoryId = "CategoryId";
    public const string Time = "Time";
    // Labels and weight.
    public const string FavCart = "FavCart";
    public const string Buy = "Buy";
    public const string Weight = "Weight";
    // Conversion-path marks of a sample (analysis only).
    public const string BuyPath = "BuyPath";
    public const string BuyDelayHours = "BuyDelayHours";

    // Time features.
    public const string Weekday = "Weekday";
    public const string IsWeekend = "IsWeekend";
    public const string HourOfDay = "HourOfDay";
    public const string TimeDelta = "TimeDelta";
    public const string Timestamp = "Timestamp";

    // Behavior window counts: 7 days × 4 behaviors.
    public const string BehaviorCounts = "BehaviorCounts";

    // User–candidate interaction features (see Samples.InteractionFeatures).
    public const string Interactions = "Interactions";

    // Behavior sequence (raw ids, most recent first, zero-padded).
    public const string SeqItemIds = "SeqItemIds";
    public const string SeqCategoryIds = "SeqCategoryIds";
    public const string SeqBehaviors = "SeqBehaviors";
    public const string SeqHoursAgo = "SeqHoursAgo";
    public const string SeqLength = "SeqLength";

    // Embedding indices (vocabulary).
    public const string UserIndex = "UserIndex";
    public const string ItemIndex = "ItemIndex";
    public const string CategoryIndex = "CategoryIndex";
    public const string SeqItemIndices = "SeqItemIndices";
    public const string SeqCategoryIndices = "SeqCategoryIndices";

    // Trainer outputs.
    public const string PFavCart = "PFavCart";
    public const string PBuy = "PBuy";
    public const string Score = "Score";
    public const string Probability = "Probability";
    public const string PredictedLabel = "PredictedLabel";
}
