using Microsoft.ML.Runtime;
using Cvr.MLNet.Pipeline;
using Microsoft.ML;

namespace Cvr.MLNet.Transforms.Vocabulary;

/// <summary>Options of the id vocabulary: table sizes (incl. padding and OOV buckets) and OOV bucket counts.</summary>
public sealed class IdVocabularyOptions
{
    /// <summary>Maximum user table size (smaller when the log has fewer users). Default 12,000: the real log's 10,000 users all get their own row.</summary>
    public int UserSize = 12_000;
    /// <summary>Maximum item table size. Default 200,000 (the real log has 2.8 M items; the long tail shares OOV buckets).</summary>
    public int ItemSize = 200_000;
    /// <summary>Maximum category table size. Default 10,000 (the real log touches ~9,000).</summary>
    public int CategorySize = 10_000;
    /// <summary>Share of each table reserved for hashed OOV buckets. Default 0.02.</summary>
    public double OovShare = 0.02;
    /// <summary>Sequence length T of the sequence columns. Default 20.</summary>
    public int SequenceLength = 20;

    /// <summary>Validates the options; throws naming the offending option.</summary>
    public void Check()
    {
        if (UserSize < 3) throw new ArgumentOutOfRangeException(nameof(UserSize), UserSize, "UserSize must be at least 3.");
        if (ItemSize < 3) throw new ArgumentOutOfRangeException(nameof(ItemSize), ItemSize, "ItemSize must be at least 3.");
        if (CategorySize < 3) throw new ArgumentOutOfRangeException(nameof(CategorySize), CategorySize, "CategorySize must be at least 3.");
        if (!(OovShare > 0 && OovShare < 1)) throw new ArgumentOutOfRangeException(nameof(OovShare), OovShare, "OovShare must be in (0, 1).");
        if (SequenceLength < 1) throw new ArgumentOutOfRangeException(nameof(SequenceLength), SequenceLength, "SequenceLength must be at least 1.");
    }
}

/// <summary>Fits <see cref="IdVocabularyTransformer"/>: frequency-capped vocabularies over the event log's ids.</summary>
public sealed class IdVocabularyEstimator : IEstimator<IdVocabularyTransformer>
{
    private readonly IHostEnvironment _env;
    private readonly CvrEventSource _events;
    private readonly IdVocabularyOptions _options;

    public IdVocabularyEstimator(IHostEnvironment env, CvrEventSource events, IdVocabularyOptions? options = null)
    {
        _env = env ?? throw new ArgumentNullException(nameof(env));
        _events = events ?? throw new ArgumentNullException(nameof(events));
        _options = options ?? new IdVocabularyOptions();
        _options.Check();
    }

    public IdVocabularyTransformer Fit(IDataView input)
    {
        foreach (var c in IdVocabularyTransformer.InputsFor(_options.SequenceLength)) SchemaChecks.Require(input.Schema, c.Name, c.Type, c.Role);
        var o = _options;
        var log = _events.Log;
        // The three tables are independent: count them in parallel.
        IdVocabulary? users = null, items = null, categories = null;
        Parallel.Invoke(
            () => users = IdVocabulary.Fit(log.UserIdSpan, o.UserSize, o.OovShare),
            () => items = IdVocabulary.Fit(log.ItemIdSpan, o.ItemSize, o.OovShare),
            () => categories = IdVocabulary.Fit(log.CategoryIdSpan, o.CategorySize, o.OovShare));
        return new IdVocabularyTransformer(_env, users!, items!, categories!, o.SequenceLength);
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        foreach (var c in IdVocabularyTransformer.InputsFor(_options.SequenceLength)) SchemaChecks.Require(inputSchema, c.Name, c.Type, c.Role);
        return SchemaChecks.Add(inputSchema, IdVocabularyTransformer.OutputsFor(_options.SequenceLength));
    }
}
