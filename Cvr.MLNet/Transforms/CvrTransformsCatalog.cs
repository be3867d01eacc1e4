using Cvr.MLNet.Transforms.Counts;
using Cvr.MLNet.Transforms.Interactions;
using Cvr.MLNet.Transforms.Sequence;
using Cvr.MLNet.Transforms.Time;
using Cvr.MLNet.Transforms.Vocabulary;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Cvr.MLNet.Transforms;

/// <summary>
/// Catalog entry points of the CVR feature transforms (<c>mlContext.Transforms.Cvr…</c>). Each is
/// fitted on the event log given here (not on the samples passed to <c>Fit</c>, which are only
/// schema-checked), so a sample's features see the log as it was strictly before the sample's hour.
/// </summary>
public static class CvrTransformsCatalog
{
    /// <summary>Weekday, weekend flag, hour of day, delta to the log end and timestamp.</summary>
    public static TimeFeaturesEstimator CvrTimeFeatures(this TransformsCatalog catalog, CvrEventSource events, string timeColumnName = CvrColumns.Time) =>
        new(catalog.GetEnvironment(), events, timeColumnName);

    /// <summary>Counts of each behavior on each of the 7 previous days (28 values).</summary>
    public static BehaviorCountsEstimator CvrBehaviorCounts(this TransformsCatalog catalog, CvrEventSource events,
        string userColumnName = CvrColumns.UserId, string timeColumnName = CvrColumns.Time) =>
        new(catalog.GetEnvironment(), events, userColumnName, timeColumnName);

    /// <summary>The user's last <paramref name="length"/> behaviors before the sample's hour.</summary>
    public static BehaviorSequenceEstimator CvrBehaviorSequence(this TransformsCatalog catalog, CvrEventSource events, int length = 20,
        string userColumnName = CvrColumns.UserId, string timeColumnName = CvrColumns.Time) =>
        new(catalog.GetEnvironment(), events, length, userColumnName, timeColumnName);

    /// <summary>The user's events before the sample on the candidate's category and item, and the item's events (19 values).</summary>
    public static InteractionFeaturesEstimator CvrInteractionFeatures(this TransformsCatalog catalog, CvrEventSource events) =>
        new(catalog.GetEnvironment(), events);

    /// <summary>Maps user/item/category ids (candidate and sequence) to embedding indices.</summary>
    public static IdVocabularyEstimator CvrIdVocabulary(this TransformsCatalog catalog, CvrEventSource events, IdVocabularyOptions? options = null) =>
        new(catalog.GetEnvironment(), events, options);

    /// <summary>
    /// The whole feature pipeline the <c>CvrTrainer</c> reads: time features, behavior counts, behavior
    /// sequence, interaction features (unless <paramref name="interactions"/> is false — for a network
    /// with <c>InteractionFeatures = 0</c>) and id vocabulary, fitted on one event log (indexed once).
    /// </summary>
    public static EstimatorChain<ITransformer> CvrFeatures(this TransformsCatalog catalog, CvrEventSource events, IdVocabularyOptions? vocabulary = null,
        bool interactions = true)
    {
        vocabulary ??= new IdVocabularyOptions();
        var chain = new EstimatorChain<ITransformer>()
            .Append<ITransformer>(catalog.CvrTimeFeatures(events))
            .Append<ITransformer>(catalog.CvrBehaviorCounts(events))
            .Append<ITransformer>(catalog.CvrBehaviorSequence(events, vocabulary.SequenceLength));
        if (interactions) chain = chain.Append<ITransformer>(catalog.CvrInteractionFeatures(events));
        return chain.Append<ITransformer>(catalog.CvrIdVocabulary(events, vocabulary));
    }
}
