using Cvr.MLNet.Training;

namespace Cvr.MLNet.Model.Scoring;

/// <summary>
/// The managed batched forward of <see cref="CvrNetwork"/> for inference: the single-row scorer's
/// modules over blocks of up to <see cref="ChunkRows"/> rows, with the dense layers and the PLE experts
/// as register-blocked mat-mat products (<see cref="BlockKernels"/>), so each weight load serves many
/// rows instead of one; chunks are spread over worker threads, each with its own scratch. It reads the
/// id tables and the expert weights in place from the network's tensors and copies only the small
/// layers, so one built per call sees the current weights. Every output is a row-local chain of the
/// same float operations whatever the chunking and the worker count (bit-identical for any split),
/// and equals <see cref="CvrNetwork.forward"/> up to float rounding.
/// </summary>
internal sealed class CvrBatchScorer
{
    /// <summary>
    /// Rows per chunk (one unit of work for a worker). Each chunk reads every weight once (≈ 6 MB), so larger chunks
    /// stream less: on a Zen 3 machine without AVX-512, 192 scored 25–40 % more rows/s than 48 and than 96 at batch
    /// 256 and 4096; 384 left a batch of 256 to one worker (docs/performance.md, session 6).
    /// </summary>
    public const int ChunkRows = 192;

    /// <summary>Fewest rows a batch below one chunk is split into for the workers (the chunk size before session 6).</summary>
    public const int MinSplitRows = 48;
    // Rows whose DIN positions run as one block: ≤ 8 × T positions keep the block's activations in L2.
    private const int DinRows = 8;

    [ThreadStatic] private static float[]? t_work;
    [ThreadStatic] private static int[]? t_positions;

    private readonly CvrNetwork _owner;   // keeps the tensors that the table and expert memories point into alive
    private readonly CvrNetworkOptions _o;
    private readonly TensorMemory _item, _user, _cat, _userLong, _weekday, _hour, _behavior;
    private readonly TensorMemory? _timeGap;
    private readonly DenseScorer _catToItem;
    private readonly DinScorer? _din;
    private readonly SeScorer? _se;
    private readonly PleLayerBlockScorer[] _ple;
    private readonly FmTowerScorer[] _towers;
    private readonly int _workSize, _maxWidth, _dinWidest;

    internal CvrBatchScorer(CvrNetwork owner, CvrNetworkOptions options, TensorMemory[] tables, DenseScorer catToItem, DinScorer? din, SeScorer? se,
        PleLayerBlockScorer[] ple, FmTowerScorer[] towers)
    {
        _owner = owner;
        _o = options;
        (_item, _user, _cat, _userLong, _weekday, _hour, _behavior) = (tables[0], tables[1], tables[2], tables[3], tables[4], tables[5], tables[6]);
        _timeGap = tables.Length > 7 ? tables[7] : null;
        _catToItem = catToItem; _din = din; _se = se; _ple = ple; _towers = towers;
        _maxWidth = ple.Max(l => Math.Max(l.InputDim, l.OutputDim));
        _dinWidest = din is null ? 0 : Math.Max(din.Query.Out, din.Hidden.Count == 0 ? 0 : din.Hidden.Max(h => h.Out));
        int c = ChunkRows, e = options.ItemEmbeddingDim, p = Math.Max(DinRows * options.SequenceLength, c);
        const int tasks = CvrNetworkOptions.Tasks;
        _workSize = c * options.InputDim + c * e + c * _dinWidest                    // x, query, query part of DIN's first layer
            + p * options.CategoryEmbeddingDim + p * 2 * e + 2 * p * _dinWidest + p  // category rows, [k, q⊙k], DIN activations, scores
            + 2 * (tasks + 1) * c * _maxWidth + ple.Max(l => l.WorkSize(c))        // PLE outputs (double-buffered), PLE scratch
            + options.FieldCount + (se?.WorkSize ?? 0);
    }

    /// <summary>The options of the network.</summary>
    public CvrNetworkOptions Options => _o;

    /// <summary>
    /// Scores rows[start..start+count) of <paramref name="table"/> into pFav/pBuy[start..) with up to
    /// <paramref name="workers"/> threads.
    /// </summary>
    public void Score(FeatureTable table, int[] rows, int start, int count, float[] pFav, float[] pBuy, int workers)
    {
        if (table.T != _o.SequenceLength || table.K != _o.InteractionFeatures)
            throw new ArgumentException($"The feature table has T = {table.T}, {table.K} interaction features; the network expects {_o.SequenceLength} and {_o.InteractionFeatures}.", nameof(table));
        // Chunks as even as possible and a multiple of the workers, so no worker is left with a short tail;
        // their starts are rounded down to whole register blocks (Boundary), which adds at most Rows − 1
        // rows to the last one, hence the target of ChunkRows − Rows.
        const int target = ChunkRows - BlockKernels.Rows;
        int chunks = (count + target - 1) / target;
        // A batch smaller than one chunk is still split over the workers while each part keeps MinSplitRows rows.
        if (workers > 1) chunks = Math.Max(chunks, Math.Min(workers, count / MinSplitRows));
        if (workers > 1 && chunks > 1) chunks = (chunks + workers - 1) / workers * workers;
        if (workers <= 1 || chunks <= 1)
            for (int ch = 0; ch < chunks; ch++) ScoreChunk(table, rows, start, count, ch, chunks, pFav, pBuy);
        else
        {
            // Each worker takes the next chunk until none is left: when another process holds a core and a
            // worker is not scheduled, the others take its share instead of waiting for a fixed split.
            int next = -1;
            Parallel.For(0, Math.Min(workers, chunks), new ParallelOptions { MaxDegreeOfParallelism = workers }, _ =>
            {
                for (int ch; (ch = Interlocked.Increment(ref next)) < chunks;) ScoreChunk(table, rows, start, count, ch, chunks, pFav, pBuy);
            });
        }
        GC.KeepAlive(_owner);
    }

    private void ScoreChunk(FeatureTable table, int[] rows, int start, int count, int chunk, int chunks, float[] pFav, float[] pBuy)
    {
        var work = t_work;
        if (work is null || work.Length < _workSize) t_work = work = new float[_workSize];
        var positions = t_positions;
        int maxPositions = Math.Max(DinRows * _o.SequenceLength, ChunkRows);
        if (positions is null || positions.Length < maxPositions) t_positions = positions = new int[maxPositions];
        int s = start + Boundary(chunk, chunks, count), n = start + Boundary(chunk + 1, chunks, count) - s;
        Forward(table, rows.AsSpan(s, n), work, positions, pFav.AsSpan(s, n), pBuy.AsSpan(s, n));
    }

    // Chunk c starts at c·count/chunks rounded down to a whole register block, so only the last chunk has a ragged block.
    private static int Boundary(int chunk, int chunks, int count) =>
        chunk >= chunks ? count : (int)((long)chunk * count / chunks) / BlockKernels.Rows * BlockKernels.Rows;

    private void Forward(FeatureTable table, ReadOnlySpan<int> rows, Span<float> work, Span<int> positions, Span<float> pFav, Span<float> pBuy)
    {
        var o = _o;
        int n = rows.Length, e = o.ItemEmbeddingDim, c = o.CategoryEmbeddingDim, t = o.SequenceLength, d = o.InputDim;
        int maxP = Math.Max(DinRows * t, ChunkRows);
        const int tasks = CvrNetworkOptions.Tasks;
        int at = 0;
        Span<float> Take(Span<float> w, int len) { var sp = w.Slice(at, len); at += len; return sp; }
        var x = Take(work, ChunkRows * d);
        var query = Take(work, ChunkRows * e);
        var qh = Take(work, ChunkRows * _dinWidest);
        var cats = Take(work, maxP * c);
        var kp = Take(work, maxP * 2 * e);
        var ha = Take(work, maxP * _dinWidest);
        var hb = Take(work, maxP * _dinWidest);
        var scores = Take(work, maxP);
        var taskA = Take(work, tasks * ChunkRows * _maxWidth);
        var sharedA = Take(work, ChunkRows * _maxWidth);
        var taskB = Take(work, tasks * ChunkRows * _maxWidth);
        var sharedB = Take(work, ChunkRows * _maxWidth);
        var pleWork = Take(work, _ple.Max(l => l.WorkSize(ChunkRows)));
        var fieldWeights = Take(work, o.FieldCount);
        var seWork = Take(work, _se?.WorkSize ?? 0);

        // Offsets of the fields: item, user, category, time, counts, long-term, short-term (, interactions).
        int uAt = e, cAt = uAt + o.UserEmbeddingDim, tAt = cAt + c, countAt = tAt + o.TimeFieldDim;
        int longAt = countAt + o.CountFeatures, shortAt = longAt + o.LongTermEmbeddingDim, interAt = shortAt + e;
        int wd = o.WeekdayEmbeddingDim, hd = o.HourEmbeddingDim;
        for (int r = 0; r < n; r++)
        {
            int row = rows[r];
            if (r + 2 < n)
            {
                // The next rows' id-table rows load while this one is copied.
                int ahead = rows[r + 2];
                _item.Prefetch(table.Item[ahead], e);
                _user.Prefetch(table.User[ahead], o.UserEmbeddingDim);
                _userLong.Prefetch(table.User[ahead], o.LongTermEmbeddingDim);
                _cat.Prefetch(table.Category[ahead], c);
            }
            var xr = x.Slice(r * d, d);
            Row(_item, table.Item[row], e, o.ItemBuckets, "item").CopyTo(xr);
            Row(_user, table.User[row], o.UserEmbeddingDim, o.UserBuckets, "user").CopyTo(xr[uAt..]);
            var cat = Row(_cat, table.Category[row], c, o.CategoryBuckets, "category");
            cat.CopyTo(xr[cAt..]);
            cat.CopyTo(cats.Slice(r * c, c));
            Row(_weekday, table.Weekday[row], wd, 7, "weekday").CopyTo(xr[tAt..]);
            xr[tAt + wd] = table.TimeDense[row * 3];
            Row(_hour, table.Hour[row], hd, 24, "hour").CopyTo(xr[(tAt + wd + 1)..]);
            table.TimeDense.AsSpan(row * 3 + 1, o.TimeDenseFeatures - 1).CopyTo(xr[(tAt + wd + 1 + hd)..]);
            table.CopyCounts(row, xr.Slice(countAt, o.CountFeatures));
            Row(_userLong, table.User[row], o.LongTermEmbeddingDim, o.UserBuckets, "user").CopyTo(xr[longAt..]);
            if (o.InteractionFeatures > 0) table.CopyInteractions(row, xr.Slice(interAt, o.InteractionFeatures));
        }
        // query = W_c·cat + item, as the single-row scorer.
        _catToItem.ForwardBlock(cats, c, n, query, e);
        for (int r = 0; r < n; r++) ScoringKernels.Axpy(1f, x.Slice(r * d, e), query.Slice(r * e, e));
        if (_din is not null) _din.Query.ForwardBlock(query, e, n, qh, _din.Query.Out);

        // Short-term interest, DinRows rows at a time: keys of the real positions only, then DIN (or the mean).
        for (int g = 0; g < n; g += DinRows)
        {
            int gEnd = Math.Min(g + DinRows, n), p = 0;
            for (int r = g; r < gEnd; r++)
            {
                int sequence = table.SequenceOf(rows[r]), len = Math.Clamp(table.SeqLen[sequence], 0, t);
                for (int q = 0; q < len; q++, p++)
                {
                    positions[p] = r * t + q;
                    _item.Prefetch(table.SeqItems[sequence * t + q], e);   // read after the W_c·cat GEMM below
                    Row(_cat, table.SeqCategories[sequence * t + q], c, o.CategoryBuckets, "sequence category").CopyTo(cats.Slice(p * c, c));
                }
            }
            for (int r = g; r < gEnd; r++) x.Slice(r * d + shortAt, e).Clear();
            if (p == 0) continue;
            _catToItem.ForwardBlock(cats, c, p, kp, 2 * e);
            for (int i = 0; i < p; i++)
            {
                int r = positions[i] / t, q = positions[i] % t, si = table.SequenceOf(rows[r]) * t + q;
                // k = W_c·cat + item + behavior (+ time gap), added in the single-row scorer's order.
                BlockKernels.Add3(kp.Slice(i * 2 * e, e), Row(_item, table.SeqItems[si], e, o.ItemBuckets, "sequence item"),
                    Row(_behavior, table.SeqBehaviors[si], e, CvrNetwork.BehaviorTypes + 1, "behavior"),
                    _timeGap is { } tg ? Row(tg, TimeGapBucket(table.HoursAgoAt(si)), e, o.TimeGapBuckets, "time gap") : default);
            }
            if (_din is { } din)
            {
                int h0 = din.Query.Out;
                for (int i = 0; i < p; i++)
                {
                    var qr = query.Slice(positions[i] / t * e, e);
                    var k = kp.Slice(i * 2 * e, e);
                    var qk = kp.Slice(i * 2 * e + e, e);
                    for (int j = 0; j < e; j++) qk[j] = qr[j] * k[j];
                }
                din.Keys.ForwardBlock(kp, 2 * e, p, ha, h0);
                for (int i = 0; i < p; i++) ScoringKernels.Axpy(1f, qh.Slice(positions[i] / t * h0, h0), ha.Slice(i * h0, h0));
                BlockKernels.Silu(ha, p, h0, h0);
                Span<float> cur = ha, next = hb;
                int width = h0;
                foreach (var layer in din.Hidden)
                {
                    layer.ForwardBlock(cur, width, p, next, layer.Out);
                    BlockKernels.Silu(next, p, layer.Out, layer.Out);
                    var swap = cur; cur = next; next = swap;
                    width = layer.Out;
                }
                din.Score.ForwardBlock(cur, width, p, scores, 1);
                for (int i = 0; i < p; i++)
                    ScoringKernels.Axpy(scores[i], kp.Slice(i * 2 * e, e), x.Slice(positions[i] / t * d + shortAt, e));
            }
            else
            {
                for (int i = 0; i < p; i++) ScoringKernels.Axpy(1f, kp.Slice(i * 2 * e, e), x.Slice(positions[i] / t * d + shortAt, e));
                for (int r = g; r < gEnd; r++)
                {
                    float inv = 1f / Math.Max(Math.Clamp(table.SeqLen[table.SequenceOf(rows[r])], 0, t), 1);
                    foreach (ref float v in x.Slice(r * d + shortAt, e)) v *= inv;
                }
            }
        }

        if (_se is not null)
            for (int r = 0; r < n; r++) _se.Forward(x.Slice(r * d, d), fieldWeights, seWork);

        // PLE body: the first layer's tasks all read x; later ones read the previous task/shared outputs.
        ReadOnlySpan<float> taskIn = default, sharedIn = x[..(n * d)];
        bool same = true, toA = true;
        foreach (var layer in _ple)
        {
            var taskOut = toA ? taskA : taskB;
            var sharedOut = toA ? sharedA : sharedB;
            layer.Forward(taskIn, sharedIn, same, n, taskOut, sharedOut, pleWork);
            int w = layer.OutputDim;
            taskIn = taskOut[..(tasks * n * w)];
            sharedIn = sharedOut[..(n * w)];
            same = false;
            toA = !toA;
        }
        int width2 = _ple[^1].OutputDim;
        for (int r = 0; r < n; r++)
        {
            float y1 = _towers[0].Forward(taskIn.Slice(r * width2, width2));
            var task1 = taskIn.Slice(n * width2 + r * width2, width2);
            float y2 = _towers[1].Forward(task1);
            float y3 = _towers[2].Forward(task1);
            float p1 = ScoringKernels.Sigmoid(y1);
            pFav[r] = p1;
            pBuy[r] = p1 * ScoringKernels.Sigmoid(y3) + (1 - p1) * ScoringKernels.Sigmoid(y2);
        }
    }

    /// <summary>The torch form: 1 + floor(log2(1 + max(hours, 0))), capped at TimeGapBuckets − 1.</summary>
    private int TimeGapBucket(float hoursAgo)
    {
        float l = MathF.Floor(MathF.Log2(MathF.Max(hoursAgo, 0f) + 1f));
        return (int)Math.Min(l + 1f, _o.TimeGapBuckets - 1);
    }

    private static ReadOnlySpan<float> Row(TensorMemory table, int index, int dim, int rows, string what)
    {
        if ((uint)index >= (uint)rows)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"The {what} index {index} is outside 0..{rows - 1}: the vocabulary and the network sizes disagree.");
        return table.Span.Slice(index * dim, dim);
    }
}
