using Cvr.MLNet.Samples;
using Cvr.MLNet.Transforms;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.LightGbm;

namespace Cvr.MLNet.Evaluation;

/// <summary>Options of the LightGBM baseline.</summary>
public sealed class LightGbmBaselineOptions
{
    /// <summary>Boosting rounds. Default 200.</summary>
    public int Iterations = 200;
    /// <summary>Leaves per tree. Default 31.</summary>
    public int Leaves = 31;
    /// <summary>Learning rate. Default 0.05.</summary>
    public double LearningRate = 0.05;
    /// <summary>Minimum samples per leaf. Default 20.</summary>
    public int MinimumExamplesPerLeaf = 20;
    /// <summary>LightGBM threads (null = LightGBM's default).</summary>
    public int? Threads;

    /// <summary>Validates the options; throws naming the offending option.</summary>
    public void Check()
    {
        if (Iterations < 1) throw new ArgumentOutOfRangeException(nameof(Iterations), Iterations, "Iterations must be at least 1.");
        if (Leaves < 2) throw new ArgumentOutOfRangeException(nameof(Leaves), Leaves, "Leaves must be at least 2.");
        if (!(LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "LearningRate must be positive.");
        if (MinimumExamplesPerLeaf < 1) throw new ArgumentOutOfRangeException(nameof(MinimumExamplesPerLeaf), MinimumExamplesPerLeaf, "MinimumExamplesPerLeaf must be at least 1.");
        if (Threads is < 1) throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "Threads must be at least 1.");
    }
}

/// <summary>
/// ML.NET's LightGBM on the CVR pipeline's non-embedding features (P(buy | click)): the 28 behavior
/// counts, weekday / weekend / hour of day, and pair features read from the behavior sequence — the
/// candidate item's and category's events by behavior, hours since the last such event, sequence length.
/// When the view has the <c>Interactions</c> column (the default <c>CvrFeatures</c>), its 19 values follow.
/// Ids are not used (the trees would only memorize them).
/// </summary>
public sealed class LightGbmBaseline
{
    /// <summary>Features per row without the interaction features.</summary>
    public const int FeatureCount = 28 + 3 + 4 + 4 + 3 + 1;
    private const float Never = 1000f; // "hours since" when there is no such event in the sequence

    private readonly MLContext _ml;
    private readonly ITransformer _model;

    private LightGbmBaseline(MLContext ml, ITransformer model) { _ml = ml; _model = model; }

    private sealed class Row
    {
        public float[] Features { get; set; } = [];
        public bool Label { get; set; }
        public float Weight { get; set; }
    }

    /// <summary>Trains on the featurized samples (output of the fitted <c>CvrFeatures</c> chain on <paramref name="samples"/>).</summary>
    /// <param name="ml">The ML.NET context.</param>
    /// <param name="featurized">The samples' features.</param>
    /// <param name="samples">The samples (labels and weights).</param>
    /// <param name="options">Boosting options (defaults when null).</param>
    /// <param name="favCart">Learn the fav/cart label instead of the buy label.</param>
    public static LightGbmBaseline Train(MLContext ml, IDataView featurized, CvrSampleSet samples, LightGbmBaselineOptions? options = null, bool favCart = false)
    {
        options ??= new LightGbmBaselineOptions();
        options.Check();
        var x = ReadFeatures(featurized);
        if (x.Length != samples.Count) throw new ArgumentException($"{x.Length} featurized rows for {samples.Count} samples.");
        var rows = new Row[x.Length];
        for (int i = 0; i < rows.Length; i++) rows[i] = new Row { Features = x[i], Label = favCart ? samples.FavCart[i] : samples.Buy[i], Weight = samples.Weights[i] };
        var trainer = ml.BinaryClassification.Trainers.LightGbm(new LightGbmBinaryTrainer.Options
        {
            NumberOfIterations = options.Iterations, NumberOfLeaves = options.Leaves, LearningRate = options.LearningRate,
            MinimumExampleCountPerLeaf = options.MinimumExamplesPerLeaf, NumberOfThreads = options.Threads,
            ExampleWeightColumnName = nameof(Row.Weight), Seed = 1, Verbose = false, Silent = true,
        });
        return new LightGbmBaseline(ml, trainer.Fit(ml.Data.LoadFromEnumerable(rows, Schema(x))));
    }

    // The feature vector's width depends on whether the view carries interaction features.
    private static SchemaDefinition Schema(float[][] x)
    {
        var def = SchemaDefinition.Create(typeof(Row));
        def[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, x.Length > 0 ? x[0].Length : FeatureCount);
        return def;
    }

    /// <summary>P(buy | click) of every featurized row.</summary>
    public float[] Score(IDataView featurized)
    {
        var x = ReadFeatures(featurized);
        var scored = _model.Transform(_ml.Data.LoadFromEnumerable(x.Select(f => new Row { Features = f }), Schema(x)));
        return scored.GetColumn<float>(nameof(BinaryPrediction.Probability)).ToArray();
    }

    private sealed class BinaryPrediction { public float Probability { get; set; } }

    /// <summary>The feature vectors of a featurized view (see the class summary for their layout).</summary>
    public static float[][] ReadFeatures(IDataView featurized)
    {
        var s = featurized.Schema;
        DataViewSchema.Column Col(string name) => s.GetColumnOrNull(name)
            ?? throw new ArgumentOutOfRangeException(nameof(featurized), $"The featurized view has no column '{name}'.");
        var cols = new[] { CvrColumns.BehaviorCounts, CvrColumns.Weekday, CvrColumns.IsWeekend, CvrColumns.HourOfDay, CvrColumns.ItemId,
            CvrColumns.CategoryId, CvrColumns.SeqItemIds, CvrColumns.SeqCategoryIds, CvrColumns.SeqBehaviors, CvrColumns.SeqHoursAgo, CvrColumns.SeqLength }.Select(Col).ToArray();
        var result = new List<float[]>();
        var interCol = s.GetColumnOrNull(CvrColumns.Interactions);
        using var cur = featurized.GetRowCursor(interCol is { } icol ? [.. cols, icol] : cols);
        var gCounts = cur.GetGetter<VBuffer<float>>(cols[0]); var gWeekday = cur.GetGetter<int>(cols[1]); var gWeekend = cur.GetGetter<float>(cols[2]);
        var gHour = cur.GetGetter<int>(cols[3]); var gItem = cur.GetGetter<int>(cols[4]); var gCat = cur.GetGetter<int>(cols[5]);
        var gSeqItems = cur.GetGetter<VBuffer<int>>(cols[6]); var gSeqCats = cur.GetGetter<VBuffer<int>>(cols[7]);
        var gSeqBeh = cur.GetGetter<VBuffer<int>>(cols[8]); var gAgo = cur.GetGetter<VBuffer<float>>(cols[9]); var gLen = cur.GetGetter<int>(cols[10]);
        var gInter = interCol is { } ic ? cur.GetGetter<VBuffer<float>>(ic) : null;
        int width = FeatureCount + (interCol?.Type is VectorDataViewType iv ? iv.Size : 0);
        VBuffer<float> inter = default;
        VBuffer<float> counts = default, ago = default; VBuffer<int> seqItems = default, seqCats = default, seqBeh = default;
        int weekday = 0, hour = 0, item = 0, cat = 0, len = 0; float weekend = 0;
        while (cur.MoveNext())
        {
            gCounts(ref counts); gWeekday(ref weekday); gWeekend(ref weekend); gHour(ref hour); gItem(ref item); gCat(ref cat);
            gSeqItems(ref seqItems); gSeqCats(ref seqCats); gSeqBeh(ref seqBeh); gAgo(ref ago); gLen(ref len);
            var f = new float[width];
            int k = 0;
            foreach (var v in counts.DenseValues()) f[k++] = v;
            k = 28;
            f[k++] = weekday; f[k++] = weekend; f[k++] = hour;
            var items = seqItems.DenseValues().ToArray(); var cats = seqCats.DenseValues().ToArray();
            var beh = seqBeh.DenseValues().ToArray(); var hoursAgo = ago.DenseValues().ToArray();
            float lastItem = Never, lastCat = Never;
            for (int i = 0; i < Math.Min(len, items.Length); i++)
            {
                int b = beh[i] - 1;
                if (b is < 0 or > 3) continue;
                if (items[i] == item) { f[k + b]++; lastItem = Math.Min(lastItem, hoursAgo[i]); }
                if (cats[i] == cat) { f[k + 4 + b]++; lastCat = Math.Min(lastCat, hoursAgo[i]); }
            }
            k += 8;
            f[k++] = lastItem; f[k++] = lastCat; f[k++] = len > 0 ? hoursAgo[0] : Never; // the sequence is most recent first
            f[k++] = len;
            if (gInter is not null) { gInter(ref inter); foreach (var v in inter.DenseValues()) f[k++] = v; }
            result.Add(f);
        }
        return [.. result];
    }
}
