using System.Text.Json;
using Cvr.MLNet.Model;
using Cvr.MLNet.Model.Scoring;
using Cvr.MLNet.Pipeline;
using Cvr.MLNet.Training;
using Cvr.MLNet.Transforms;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using static TorchSharp.torch;

[assembly: LoadableClass(typeof(CvrModelTransformer), null, typeof(SignatureLoadModel),
    "CVR multi-task model", CvrModelTransformer.LoaderSignature)]

namespace Cvr.MLNet.Training;

/// <summary>
/// The fitted CVR network as an ML.NET transformer. Adds <c>PFavCart</c>, <c>PBuy</c> and, for the
/// buy task, <c>Score</c> (logit of PBuy), <c>Probability</c> (= PBuy) and <c>PredictedLabel</c>
/// (PBuy ≥ threshold), so <c>mlContext.BinaryClassification.Evaluate(scored, labelColumnName: "Buy")</c>
/// works unchanged. <see cref="ITransformer.Transform"/> scores whole views in batches;
/// <c>PredictionEngine</c> scores one row at a time through the row mapper.
/// Weights are saved inside the ML.NET model zip as a binary stream next to the network config.
/// </summary>
public sealed class CvrModelTransformer : RowMappingTransformer
{
    internal const string LoaderSignature = "CvrModelTransformer";
    private const string WeightsStream = "CvrNetworkWeights.bin";
    private static VersionInfo GetVersionInfo() =>
        ModelPersistence.MakeVersion("CVRMODEL", LoaderSignature, typeof(CvrModelTransformer), 0x00010001);

    internal static readonly OutputColumn[] Outputs =
    [
        new(CvrColumns.PFavCart, NumberDataViewType.Single), new(CvrColumns.PBuy, NumberDataViewType.Single),
        new(CvrColumns.Score, NumberDataViewType.Single), new(CvrColumns.Probability, NumberDataViewType.Single),
        new(CvrColumns.PredictedLabel, BooleanDataViewType.Instance),
    ];

    private readonly InputColumn[] _inputs;
    // Set only on the internal copies that Transform returns: predictions computed in batches.
    private readonly Lazy<(float[] PFavCart, float[] PBuy)>? _batchScores;
    // The managed single-row forward, copied from the network on the first per-row mapper (weights are frozen after Fit).
    private readonly Lazy<CvrNetworkScorer?> _scorer;

    internal CvrModelTransformer(IHostEnvironment env, CvrNetwork network, float threshold, IReadOnlyList<EpochRecord> history, int bestEpoch)
        : base(env, nameof(CvrModelTransformer))
    {
        Network = network;
        Threshold = threshold;
        TrainingHistory = history;
        BestEpoch = bestEpoch;
        _inputs = [.. FeatureTable.RequiredColumns(network.Options.SequenceLength, network.Options.InteractionFeatures)];
        _scorer = new Lazy<CvrNetworkScorer?>(network.TryCreateScorer, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>
    /// Per-row scoring (PredictionEngine) through the managed forward (<see cref="CvrNetworkScorer"/>)
    /// rather than a batch-1 libtorch call; false restores the libtorch path (benchmarks measure the difference).
    /// </summary>
    internal static bool UseManagedScorer { get; set; } = true;

    /// <summary>
    /// The trained network (eval mode, CPU). The per-row (PredictionEngine) path scores from a managed copy
    /// of its weights taken on first use: weights changed afterwards reach batched <c>Transform</c> only.
    /// </summary>
    public CvrNetwork Network { get; }
    /// <summary>Decision threshold on PBuy for <c>PredictedLabel</c>.</summary>
    public float Threshold { get; }
    /// <summary>Per-epoch training record (empty after load if it was not saved).</summary>
    public IReadOnlyList<EpochRecord> TrainingHistory { get; }
    /// <summary>The epoch whose weights were kept.</summary>
    public int BestEpoch { get; }

    protected override IReadOnlyList<InputColumn> InputColumns => _inputs;
    protected override IReadOnlyList<OutputColumn> OutputColumns => Outputs;

    private CvrModelTransformer(CvrModelTransformer source, Lazy<(float[] PFavCart, float[] PBuy)> batchScores)
        : this(source.Host, source.Network, source.Threshold, source.TrainingHistory, source.BestEpoch) => _batchScores = batchScores;

    /// <summary>
    /// Scores a whole view in batches of 4,096 (computed once, on the first cursor) instead of one
    /// network call per row; rows are matched by cursor position, so the input must yield its rows in a
    /// fixed order (every non-shuffled ML.NET view does).
    /// </summary>
    public override IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        GetOutputSchema(input.Schema); // schema errors now, not at the first cursor
        var scores = new Lazy<(float[], float[])>(() => Score(input), LazyThreadSafetyMode.ExecutionAndPublication);
        return new CvrModelTransformer(this, scores).TransformRowByRow(input);
    }

    private IDataView TransformRowByRow(IDataView input) => base.Transform(input);

    protected override Action<RowOutputs> CreateRowMapper(DataViewRow input)
    {
        if (_batchScores is { } batch)
        {
            return o =>
            {
                var (fav, buy) = batch.Value;
                long pos = input.Position;
                if ((ulong)pos >= (ulong)fav.Length)
                    throw new InvalidOperationException($"CvrModelTransformer: row position {pos} is outside the {fav.Length} rows scored in batch; the input view changed between cursors.");
                Fill(o, fav[pos], buy[pos]);
            };
        }
        int t = Network.Options.SequenceLength;
        int k = Network.Options.InteractionFeatures;
        var reader = new FeatureTable.RowReader(input, t, interactions: k);
        var table = FeatureTable.SingleRow(t, k);
        if (UseManagedScorer && _scorer.Value is { } scorer)
        {
            return o =>
            {
                reader.Read(table, 0);
                var (fav, buy) = CvrTrainingLoop.PredictOne(scorer, table, 0);
                Fill(o, fav, buy);
            };
        }
        Network.eval(); // once per mapper: the per-row path does not walk the modules
        return o =>
        {
            reader.Read(table, 0);
            var (fav, buy) = CvrTrainingLoop.PredictOne(Network, table, 0);
            Fill(o, fav, buy);
        };
    }

    protected override void AddAnnotations(int outputIndex, DataViewSchema.Annotations.Builder builder)
    {
        // Score, Probability and PredictedLabel carry ML.NET's binary-classifier annotations.
        if (outputIndex == 2) AddBinaryClassificationAnnotations(builder, "Score");
        else if (outputIndex == 3) AddBinaryClassificationAnnotations(builder, "Probability");
        else if (outputIndex == 4) AddBinaryClassificationAnnotations(builder, "PredictedLabel");
    }

    private void Fill(RowOutputs o, float pFav, float pBuy)
    {
        o.Single(0)[0] = pFav;
        o.Single(1)[0] = pBuy;
        double p = Math.Clamp(pBuy, 1e-7, 1 - 1e-7);
        o.Single(2)[0] = (float)Math.Log(p / (1 - p));
        o.Single(3)[0] = pBuy;
        o.Boolean(4) = pBuy >= Threshold;
    }

    /// <summary>
    /// Scores every row of <paramref name="input"/> in batches (the fast path for evaluation), featurizing at most
    /// <paramref name="maxRowsInMemory"/> rows at a time (0 = all at once), so memory stays flat for views of any length.
    /// </summary>
    public (float[] PFavCart, float[] PBuy) Score(IDataView input, int batchSize = 4096, int maxRowsInMemory = 1 << 20)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxRowsInMemory);
        int k = Network.Options.InteractionFeatures;
        var source = FeatureTable.OpenRows(input, null, null, null, k);
        if (maxRowsInMemory == 0 || source.Count <= maxRowsInMemory)
        {
            var table = source.ReadAll();
            return CvrTrainingLoop.Predict(Network, table, Enumerable.Range(0, table.Count).ToArray(), batchSize, CPU);
        }
        int count = source.Count;
        var pFav = new float[count]; var pBuy = new float[count];
        for (int s = 0; s < count; s += maxRowsInMemory)
        {
            int n = Math.Min(maxRowsInMemory, count - s);
            var window = TrainingRows.FillWindow(source, Enumerable.Range(s, n).ToArray(), Network.Options.SequenceLength, k);
            var (f, b) = CvrTrainingLoop.Predict(Network, window, Enumerable.Range(0, n).ToArray(), batchSize, CPU);
            f.CopyTo(pFav, s); b.CopyTo(pBuy, s);
        }
        return (pFav, pBuy);
    }

    /// <summary>Mean SE field weights over <paramref name="input"/> (feature importance per field), keyed by field name.</summary>
    public IReadOnlyDictionary<string, float> FieldImportance(IDataView input, int batchSize = 4096)
    {
        var table = FeatureTable.Read(input, null, null, null, interactions: Network.Options.InteractionFeatures);
        var sums = new double[Network.Options.FieldCount];
        Network.eval();
        using (no_grad())
        {
            for (int s = 0; s < table.Count; s += batchSize)
            {
                int n = Math.Min(batchSize, table.Count - s);
                using var scope = NewDisposeScope();
                using var batch = table.MakeBatch(Enumerable.Range(s, n).ToArray(), CPU);
                // sum(0L): a plain 0 would bind to sum(ScalarType) (int literal 0 converts to any enum) and sum everything as Byte.
                var output = Network.forward(batch);   // disposed with the scope
                var w = output.FieldWeights.sum(0L).cpu().data<float>().ToArray();
                for (int f = 0; f < w.Length; f++) sums[f] += w[f];
            }
        }
        return Network.Options.FieldNames.Select((name, f) => (name, v: (float)(sums[f] / Math.Max(1, table.Count))))
            .ToDictionary(x => x.name, x => x.v);
    }

    protected override void SaveModel(ModelSaveContext ctx) =>
        ModelPersistence.Save(ctx, GetVersionInfo(), w =>
        {
            w.Write(JsonSerializer.Serialize(Network.Options, CvrJsonContext.Default.CvrNetworkOptions));
            w.Write(Threshold);
            w.Write(BestEpoch);
            w.Write(TrainingHistory.Count);
            foreach (var e in TrainingHistory)
            {
                w.Write(e.Epoch); w.Write(e.TrainLoss); w.Write(e.ValidationLoss ?? double.NaN);
                w.Write(e.ValidationBuyAuc ?? double.NaN); w.Write(e.ValidationFavCartAuc ?? double.NaN); w.Write(e.SamplesPerSecond);
            }
        }, new Dictionary<string, Action<Stream>> { [WeightsStream] = s => Network.SaveWeights(s) });

    private static CvrModelTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        (CvrNetworkOptions Options, float Threshold, int Best, List<EpochRecord> History) header = ModelPersistence.Load(env, ctx, GetVersionInfo(), r =>
        {
            var options = JsonSerializer.Deserialize(r.ReadString(), CvrJsonContext.Default.CvrNetworkOptions)
                ?? throw new InvalidDataException("CvrModelTransformer: the network configuration is empty.");
            options.Validate();
            float threshold = r.ReadSingle();
            int best = r.ReadInt32(), n = r.ReadInt32();
            if (n < 0 || n > 100_000) throw new InvalidDataException($"CvrModelTransformer: corrupt training history length {n}.");
            static double? N(double d) => double.IsNaN(d) ? null : d;
            var history = new List<EpochRecord>(n);
            for (int i = 0; i < n; i++)
                history.Add(new EpochRecord(r.ReadInt32(), r.ReadDouble(), N(r.ReadDouble()), N(r.ReadDouble()), N(r.ReadDouble()), r.ReadDouble()));
            return (options, threshold, best, history);
        });
        // Read the weights first and check they can hold the configured tables, so a tampered
        // configuration cannot make us allocate gigabytes of embeddings before failing.
        MemoryStream? weights = null;
        if (!ModelPersistence.TryLoadBlob(ctx, WeightsStream, s => { weights = new MemoryStream(); s.CopyTo(weights); }) || weights is null)
            throw new InvalidDataException($"CvrModelTransformer: the model file has no '{WeightsStream}' entry (truncated or not a CVR model).");
        var o = header.Options;
        long tableBytes = 4L * ((long)o.UserBuckets * (o.UserEmbeddingDim + o.LongTermEmbeddingDim) + (long)o.ItemBuckets * o.ItemEmbeddingDim
            + (long)o.CategoryBuckets * o.CategoryEmbeddingDim);
        if (tableBytes > weights.Length)
            throw new InvalidDataException($"CvrModelTransformer: the network configuration needs {tableBytes:N0} bytes of embedding tables but the weights entry holds {weights.Length:N0} bytes.");
        Native.TorchRuntime.EnsureReady();
        var network = new CvrNetwork(o);
        weights.Position = 0;
        network.LoadWeights(weights);
        network.eval();
        return new CvrModelTransformer(env, network, header.Threshold, header.History, header.Best);
    }
}
