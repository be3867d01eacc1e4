namespace Cvr.MLNet.Model.Scoring;

/// <summary>
/// A frozen, managed copy of a trained <see cref="CvrNetwork"/> that scores one sample in C# (SIMD
/// kernels, no libtorch calls): a batch-1 forward through libtorch is dominated by the dispatch of
/// ~150 ops, not by its ~5 MFLOP. Same function as <see cref="CvrNetwork.forward"/> up to float
/// rounding. The weights are copied once (<see cref="CvrNetwork.CreateScorer"/>) and never refreshed;
/// scoring is thread-safe and allocation-free (one scratch buffer per thread).
/// </summary>
internal sealed class CvrNetworkScorer
{
    [ThreadStatic] private static float[]? t_work;

    private readonly CvrNetworkOptions _o;
    private readonly float[] _item, _user, _cat, _userLong, _weekday, _hour, _behavior;
    private readonly float[]? _timeGap;
    private readonly DenseScorer _catToItem;
    private readonly DinScorer? _din;
    private readonly SeScorer? _se;
    private readonly PleLayerScorer[] _ple;
    private readonly FmTowerScorer[] _towers;
    private readonly int _moduleWork, _maxWidth;

    internal CvrNetworkScorer(CvrNetworkOptions options, float[][] tables, DenseScorer catToItem, DinScorer? din, SeScorer? se,
        PleLayerScorer[] ple, FmTowerScorer[] towers)
    {
        _o = options;
        (_item, _user, _cat, _userLong, _weekday, _hour, _behavior) = (tables[0], tables[1], tables[2], tables[3], tables[4], tables[5], tables[6]);
        _timeGap = tables.Length > 7 ? tables[7] : null;
        _catToItem = catToItem; _din = din; _se = se; _ple = ple; _towers = towers;
        _moduleWork = Math.Max(Math.Max(din?.WorkSize ?? 0, se?.WorkSize ?? 0), ple.Max(l => l.WorkSize));
        _maxWidth = ple.Max(l => Math.Max(l.InputDim, l.OutputDim));
        int e = options.ItemEmbeddingDim, t = options.SequenceLength;
        WorkSize = options.InputDim + t * e + 3 * e + t + options.FieldCount
            + 2 * (CvrNetworkOptions.Tasks + 1) * _maxWidth + _moduleWork;
    }

    /// <summary>The options of the network the scorer was copied from.</summary>
    public CvrNetworkOptions Options => _o;

    /// <summary>Floats of per-thread scratch a call uses.</summary>
    public int WorkSize { get; }

    /// <summary>P(fav/cart | click) and P(buy | click) of one sample.</summary>
    public (float PFavCart, float PBuy) Score(in CvrScoringRow row)
    {
        var work = t_work;
        if (work is null || work.Length < WorkSize) t_work = work = new float[WorkSize];
        return Score(row, work);
    }

    private (float PFavCart, float PBuy) Score(in CvrScoringRow r, Span<float> work)
    {
        var o = _o;
        int e = o.ItemEmbeddingDim, c = o.CategoryEmbeddingDim, t = o.SequenceLength, d = o.InputDim;
        const int tasks = CvrNetworkOptions.Tasks;
        int fields = o.FieldCount;
        int at = 0;
        Span<float> Take(Span<float> w, int n) { var s = w.Slice(at, n); at += n; return s; }
        var x = Take(work, d);
        var keys = Take(work, t * e);
        var query = Take(work, e);
        var proj = Take(work, e);
        var shortTerm = Take(work, e);
        var mask = Take(work, t);
        var fieldWeights = Take(work, fields);
        var taskA = Take(work, tasks * _maxWidth);
        var sharedA = Take(work, _maxWidth);
        var taskB = Take(work, tasks * _maxWidth);
        var sharedB = Take(work, _maxWidth);
        var mwork = Take(work, _moduleWork);

        var item = Row(_item, r.Item, e, o.ItemBuckets, "item");
        var cat = Row(_cat, r.Category, c, o.CategoryBuckets, "category");
        // query = item + W_c·cat; keys_t = item_t + W_c·cat_t + behavior_t (+ time gap_t), real positions only.
        _catToItem.Forward(cat, query);
        ScoringKernels.Axpy(1f, item, query);
        int len = Math.Clamp(r.SeqLength, 0, t);
        mask.Clear();
        keys.Clear();
        for (int p = 0; p < len; p++)
        {
            mask[p] = 1f;
            var k = keys.Slice(p * e, e);
            _catToItem.Forward(Row(_cat, r.SeqCategories[p], c, o.CategoryBuckets, "sequence category"), k);
            ScoringKernels.Axpy(1f, Row(_item, r.SeqItems[p], e, o.ItemBuckets, "sequence item"), k);
            ScoringKernels.Axpy(1f, Row(_behavior, r.SeqBehaviors[p], e, CvrNetwork.BehaviorTypes + 1, "behavior"), k);
            if (_timeGap is not null) ScoringKernels.Axpy(1f, Row(_timeGap, TimeGapBucket(r.SeqHoursAgo[p]), e, o.TimeGapBuckets, "time gap"), k);
        }
        if (_din is not null) _din.Forward(query, keys, mask, shortTerm, mwork);
        else
        {
            shortTerm.Clear();
            for (int p = 0; p < len; p++) ScoringKernels.Axpy(1f, keys.Slice(p * e, e), shortTerm);
            float inv = 1f / Math.Max(len, 1);
            foreach (ref float v in shortTerm) v *= inv;
        }

        // The fields: item, user, category, time, counts, long-term, short-term (, interactions).
        int at2 = 0;
        void Put(Span<float> dst, ReadOnlySpan<float> src) { src.CopyTo(dst.Slice(at2)); at2 += src.Length; }
        Put(x, item);
        Put(x, Row(_user, r.User, o.UserEmbeddingDim, o.UserBuckets, "user"));
        Put(x, cat);
        Put(x, Row(_weekday, r.Weekday, o.WeekdayEmbeddingDim, 7, "weekday"));
        Put(x, r.TimeDense[..1]);
        Put(x, Row(_hour, r.Hour, o.HourEmbeddingDim, 24, "hour"));
        Put(x, r.TimeDense.Slice(1, o.TimeDenseFeatures - 1));
        Put(x, r.Counts[..o.CountFeatures]);
        Put(x, Row(_userLong, r.User, o.LongTermEmbeddingDim, o.UserBuckets, "user"));
        Put(x, shortTerm);
        if (o.InteractionFeatures > 0) Put(x, r.Interactions[..o.InteractionFeatures]);

        if (_se is not null) _se.Forward(x, fieldWeights, mwork);

        // PLE body: the first layer's tasks all read x; later ones read the previous task/shared outputs.
        ReadOnlySpan<float> taskIn = default, sharedIn = x;
        bool same = true, toA = true;
        foreach (var layer in _ple)
        {
            var taskOut = toA ? taskA : taskB;
            var sharedOut = toA ? sharedA : sharedB;
            layer.Forward(taskIn, sharedIn, same, taskOut, sharedOut, mwork);
            int w = layer.OutputDim;
            // Pack the task outputs contiguously at stride w for the next layer.
            taskIn = taskOut[..(tasks * w)];
            sharedIn = sharedOut[..w];
            same = false;
            toA = !toA;
        }
        int width = _ple[^1].OutputDim;
        float y1 = _towers[0].Forward(taskIn[..width]);
        float y2 = _towers[1].Forward(taskIn.Slice(width, width));
        float y3 = _towers[2].Forward(taskIn.Slice(width, width));
        float p1 = ScoringKernels.Sigmoid(y1);
        return (p1, p1 * ScoringKernels.Sigmoid(y3) + (1 - p1) * ScoringKernels.Sigmoid(y2));
    }

    /// <summary>The torch form: 1 + floor(log2(1 + max(hours, 0))), capped at TimeGapBuckets − 1.</summary>
    private int TimeGapBucket(float hoursAgo)
    {
        float l = MathF.Floor(MathF.Log2(MathF.Max(hoursAgo, 0f) + 1f));
        return (int)Math.Min(l + 1f, _o.TimeGapBuckets - 1);
    }

    private static ReadOnlySpan<float> Row(float[] table, int index, int dim, int rows, string what)
    {
        if ((uint)index >= (uint)rows)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"The {what} index {index} is outside 0..{rows - 1}: the vocabulary and the network sizes disagree.");
        return table.AsSpan(index * dim, dim);
    }
}
