using Cvr.MLNet.Pipeline;
using Cvr.MLNet.Model;
using Cvr.MLNet.Transforms;
using Cvr.MLNet.Transforms.Vocabulary;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Cvr.MLNet.Training;

/// <summary>
/// The multi-task CVR trainer: a TorchSharp DIN + SE + PLE + FM-tower network with ESM² output
/// (pBuy = y1·y3 + (1−y1)·y2), trained on the columns of <c>mlContext.Transforms.CvrFeatures(...)</c>.
/// Use it as any ML.NET trainer:
/// <code>
/// var pipeline = mlContext.Transforms.CvrFeatures(events).Append(new CvrTrainer());
/// var model = pipeline.Fit(samples);
/// </code>
/// Labels: <c>FavCart</c> (fav or cart within the horizon) trains y1, <c>Buy</c> trains pBuy.
/// </summary>
public sealed class CvrTrainer : IEstimator<CvrModelTransformer>
{
    private readonly IHost _host;

    /// <summary>A trainer with the default options (its own ML.NET environment).</summary>
    public CvrTrainer() : this(new CvrTrainerOptions()) { }

    /// <summary>A trainer with <paramref name="options"/> (its own ML.NET environment, seeded from the options).</summary>
    public CvrTrainer(CvrTrainerOptions options) : this(new MLContext(options?.Seed ?? 42), options!) { }

    /// <summary>A trainer reporting through <paramref name="env"/> (what the catalog extension uses).</summary>
    public CvrTrainer(IHostEnvironment env, CvrTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Check();
        _host = env.Register(nameof(CvrTrainer));
    }

    /// <summary>The validated options.</summary>
    public CvrTrainerOptions Options { get; }

    /// <summary>Training record of the last <see cref="Fit"/>.</summary>
    public IReadOnlyList<EpochRecord> LastTrainingHistory { get; private set; } = [];

    /// <summary>Validation metrics of the kept weights from the last <see cref="Fit"/> (null without validation).</summary>
    public ValidationMetrics? LastValidation { get; private set; }

    /// <summary>Samples seen by the last <see cref="Fit"/> (train + validation).</summary>
    public int LastSampleCount { get; private set; }

    /// <summary>
    /// Most feature rows the last <see cref="Fit"/> held at once: all samples when they fit
    /// <see cref="CvrTrainerOptions.MaxRowsInMemory"/>, else at most that many (training in windows).
    /// </summary>
    public int LastPeakFeatureRows { get; private set; }

    /// <summary>Bytes of the largest feature table the last <see cref="Fit"/> held (≈ 356 bytes a row at the defaults).</summary>
    public long LastPeakFeatureBytes { get; private set; }

    /// <summary>
    /// The network options with the embedding table sizes taken from the vocabulary transform's
    /// <c>CvrVocabularySize</c> annotations, so the tables are exactly as big as the fitted vocabularies.
    /// </summary>
    internal static CvrNetworkOptions WithVocabularySizes(CvrNetworkOptions network, DataViewSchema schema, bool inferSizes = true, bool sparse = false)
    {
        int? Size(string column)
        {
            var col = schema.GetColumnOrNull(column);
            if (col is null || col.Value.Annotations.Schema.GetColumnOrNull(IdVocabularyTransformer.VocabularySizeAnnotation) is null) return null;
            int v = 0;
            col.Value.Annotations.GetValue(IdVocabularyTransformer.VocabularySizeAnnotation, ref v);
            return v;
        }
        var copy = System.Text.Json.JsonSerializer.Deserialize(System.Text.Json.JsonSerializer.Serialize(network, CvrJsonContext.Default.CvrNetworkOptions), CvrJsonContext.Default.CvrNetworkOptions)!;
        if (inferSizes)
        {
            copy.UserBuckets = Size(CvrColumns.UserIndex) ?? copy.UserBuckets;
            copy.ItemBuckets = Size(CvrColumns.ItemIndex) ?? copy.ItemBuckets;
            copy.CategoryBuckets = Size(CvrColumns.CategoryIndex) ?? copy.CategoryBuckets;
        }
        copy.SparseEmbeddings |= sparse;
        return copy.Validate();
    }

    /// <summary>The OOV bucket ranges of the index columns (from the vocabulary annotations; empty ranges without them).</summary>
    internal static (OovRange Users, OovRange Items, OovRange Categories) OovRanges(DataViewSchema schema, CvrNetworkOptions network)
    {
        OovRange Range(string column, int size)
        {
            var col = schema.GetColumnOrNull(column);
            if (col is null || col.Value.Annotations.Schema.GetColumnOrNull(IdVocabularyTransformer.OovStartAnnotation) is null) return new(size, size);
            int start = 0;
            col.Value.Annotations.GetValue(IdVocabularyTransformer.OovStartAnnotation, ref start);
            return new(Math.Clamp(start, 1, size), size);
        }
        return (Range(CvrColumns.UserIndex, network.UserBuckets), Range(CvrColumns.ItemIndex, network.ItemBuckets), Range(CvrColumns.CategoryIndex, network.CategoryBuckets));
    }

    /// <summary>Trains on <paramref name="input"/> (features from <c>CvrFeatures</c> plus the labels).</summary>
    public CvrModelTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = Options;
        Native.TorchRuntime.EnsureReady();
        using var ch = _host.Start("Training CVR model");
        string? weightColumn = o.ExampleWeightColumnName is { } wc && input.Schema.GetColumnOrNull(wc) is not null ? wc : null;
        CheckSequenceLength(input.Schema);
        var network = WithVocabularySizes(o.Network, input.Schema, o.InferTableSizes, o.SparseIdUpdates);
        var data = OpenRows(input, weightColumn, network);
        LastSampleCount = data.Count;
        if (data.Count == 0) throw new InvalidOperationException("CvrTrainer: the training data has no rows.");
        var (train, valid) = Split(data.Labels);
        if (train.Length == 0) throw new InvalidOperationException("CvrTrainer: the validation split leaves no training rows; lower ValidationFraction.");
        var labels = data.Labels;
        ch.Info($"{data.Count} samples ({train.Length} train, {valid.Length} validation, split {o.Split}); " +
                $"fav/cart rate {labels.FavCart.Count(x => x) / (double)data.Count:P2}, buy rate {labels.Buy.Count(x => x) / (double)data.Count:P2}" +
                (data.IsWindowed ? $"; features read in windows of at most {data.WindowRows} rows (MaxRowsInMemory)" : ""));
        var device = DeviceSelector.Resolve(o.Device, _host, m => ch.Warning(m));
        var loop = new CvrTrainingLoop(o, device, m => ch.Info(m));
        var net = loop.Train(data, train, valid, network, OovRanges(input.Schema, network));
        net.to(TorchSharp.torch.CPU);
        LastTrainingHistory = loop.History;
        LastValidation = loop.Validation;
        if (data.IsWindowed)
            ch.Info($"features read in {data.Fills.Count} windows of at most {data.WindowRows} rows: {data.Fills.Elapsed.TotalSeconds:F1} s in all");
        LastPeakFeatureRows = data.PeakRowsHeld;
        LastPeakFeatureBytes = data.PeakBytesHeld;
        return new CvrModelTransformer(_host, net, o.DecisionThreshold, loop.History, loop.BestEpoch);
    }

    private void CheckSequenceLength(DataViewSchema schema)
    {
        int t = FeatureTable.SequenceLengthOf(schema);
        if (t != Options.Network.SequenceLength)
            throw new ArgumentOutOfRangeException(CvrColumns.SeqItemIndices,
                $"Input schema: column '{CvrColumns.SeqItemIndices}' has length {t}, but Network.SequenceLength is {Options.Network.SequenceLength}.");
    }

    /// <summary>
    /// The rows to train on: held whole when they fit <see cref="CvrTrainerOptions.MaxRowsInMemory"/> (read once, as
    /// before), else a source that fills windows of rows on demand (labels and timestamps read up front).
    /// </summary>
    private TrainingRows OpenRows(IDataView input, string? weightColumn, Model.CvrNetworkOptions network)
    {
        var o = Options;
        var source = FeatureTable.OpenRows(input, o.FavCartColumnName, o.BuyColumnName, weightColumn, network.InteractionFeatures);
        if (o.MaxRowsInMemory == 0 || source.Count <= o.MaxRowsInMemory)
        {
            var table = source.ReadAll(o.CancellationToken);
            table.CheckRanges(network);
            return TrainingRows.Whole(table);
        }
        return TrainingRows.Windowed(source, source.ReadLabels(o.CancellationToken), o.MaxRowsInMemory, network, o.CancellationToken);
    }

    /// <summary>Train/validation rows (each ascending): the latest samples by the Timestamp feature, or a seeded random subset.</summary>
    private (int[] Train, int[] Valid) Split(RowLabels labels)
    {
        int n = labels.Count, nValid = (int)Math.Round(n * Options.ValidationFraction);
        var order = Enumerable.Range(0, n).ToArray();
        if (Options.Split == ValidationSplit.ByTime)
        {
            var ts = (float[])labels.Timestamp.Clone();
            Array.Sort(ts, order); // stable enough: ties keep no particular order, but the set boundary is by time
        }
        else new Random(Options.Seed ^ 0x5EED).Shuffle(order);
        var valid = order[(n - nValid)..];
        var train = order[..(n - nValid)];
        Array.Sort(valid); Array.Sort(train);
        return (train, valid);
    }

    /// <summary>Promises the output columns after checking the input schema (errors name the column).</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        int t = Options.Network.SequenceLength;
        foreach (var c in FeatureTable.RequiredColumns(t, Options.Network.InteractionFeatures)) SchemaChecks.Require(inputSchema, c.Name, c.Type, c.Role);
        SchemaChecks.Require(inputSchema, Options.FavCartColumnName, BooleanDataViewType.Instance, "fav/cart label");
        SchemaChecks.Require(inputSchema, Options.BuyColumnName, BooleanDataViewType.Instance, "buy label");
        return SchemaChecks.Add(inputSchema, CvrModelTransformer.Outputs);
    }
}

/// <summary>Catalog entry point: <c>mlContext.BinaryClassification.Trainers.Cvr(...)</c>.</summary>
public static class CvrTrainerCatalog
{
    /// <summary>The CVR trainer with default options and a few common knobs.</summary>
    public static CvrTrainer Cvr(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog, int epochs = 5, int batchSize = 128, double learningRate = 1e-3) =>
        new(catalog.GetEnvironment(), new CvrTrainerOptions { Epochs = epochs, BatchSize = batchSize, LearningRate = learningRate });

    /// <summary>The CVR trainer with full <paramref name="options"/>.</summary>
    public static CvrTrainer Cvr(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog, CvrTrainerOptions options) =>
        new(catalog.GetEnvironment(), options);
}
