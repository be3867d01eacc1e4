using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Cvr.MLNet.Data;
using Cvr.MLNet.Pipeline;
using Cvr.MLNet.Samples;
using Cvr.MLNet.Transforms;
using Cvr.MLNet.Transforms.Counts;
using Cvr.MLNet.Transforms.Sequence;
using Cvr.MLNet.Transforms.Time;
using Cvr.MLNet.Transforms.Vocabulary;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Cvr.MLNet.Training;

/// <summary>
/// The columnar fast path of <see cref="FeatureTable.Read"/>: when the view is our own feature transforms
/// (time, counts, sequence, vocabulary, and interactions when the table reads them) over an <see cref="ArrayDataView"/> (the sample set's view), the
/// table is filled straight from the root's column arrays with the fitted transformers' own per-row
/// functions, in parallel over row ranges — no cursors, getters or per-row allocations. The values are
/// the cursor path's bit for bit: same functions, same inputs, same conversions.
/// </summary>
/// <remarks>
/// A plan is made only when every column the table reads resolves, through the chain's column hiding, to
/// the expected producer (one transformer of each kind, and the root's arrays for ids, times, labels and
/// weight); anything else — a foreign transform, a filter, a cache, another root — gets no plan and the
/// caller reads with cursors.
/// </remarks>
internal sealed class ColumnarFeatureReader : IFeatureRowSource
{
    /// <summary>Rows per parallel work item: large enough to amortise scheduling, small enough to balance 2–16 cores.</summary>
    internal const int ChunkRows = 16_384;

    private readonly int _count, _t, _k;
    private readonly int[][] _inputs;
    private readonly int[][]? _interactionInputs;
    private readonly TimeFeaturesTransformer _time;
    private readonly BehaviorCountsTransformer _counts;
    private readonly BehaviorSequenceTransformer _sequence;
    private readonly IdVocabularyTransformer _vocabulary;
    private readonly Transforms.Interactions.InteractionFeaturesTransformer? _interactions;
    private readonly int[]? _intUsers, _intItems, _intCategories, _intHours;
    private readonly int[] _timeHours, _countUsers, _countHours, _seqUsers, _seqHours, _vocUsers, _vocItems, _vocCategories;
    private readonly bool[]? _favCart, _buy;
    private readonly float[]? _weight;
    private readonly string? _weightColumn;
    private volatile bool _countsNotRaw, _hoursNotRaw;
    // Item index of each history event, looked up in bulk once (ItemIndexMemo) and shared with subsets: the sequences
    // read it sequentially instead of ~20 random vocabulary probes per sample.
    private int[]? _itemIndexOfEvent;
    private UserRuns? _runs; // during a fill: the interaction fill's runs, for the history fill
    // While filling: every row's interaction hour, and the last hour the bulk fill covered (rows up to it are
    // done; null / int.MinValue: no bulk fill, every row reads per row).
    private int[]? _bulkHours;
    private int _interactionsFilledTo = int.MinValue;
    // Likewise for the columns read from the history (sequences, and counts when CountsInBulk): every row's
    // sequence hour, and the last hour the bulk fill covered.
    private int[]? _historyHours;
    private int _historyFilledTo = int.MinValue;

    private ColumnarFeatureReader(int count, int t, int k, TimeFeaturesTransformer time, BehaviorCountsTransformer counts, BehaviorSequenceTransformer sequence,
        IdVocabularyTransformer vocabulary, int[][] inputs, bool[]? favCart, bool[]? buy, float[]? weight, string? weightColumn,
        Transforms.Interactions.InteractionFeaturesTransformer? interactions, int[][]? interactionInputs)
    {
        _k = k; _inputs = inputs; _interactionInputs = interactionInputs;
        _interactions = interactions;
        if (interactionInputs is not null) (_intUsers, _intItems, _intCategories, _intHours) = (interactionInputs[0], interactionInputs[1], interactionInputs[2], interactionInputs[3]);
        _count = count; _t = t; _time = time; _counts = counts; _sequence = sequence; _vocabulary = vocabulary;
        (_timeHours, _countUsers, _countHours, _seqUsers, _seqHours, _vocUsers, _vocItems, _vocCategories) =
            (inputs[0], inputs[1], inputs[2], inputs[3], inputs[4], inputs[5], inputs[6], inputs[7]);
        _favCart = favCart; _buy = buy; _weight = weight; _weightColumn = weightColumn;
    }

    /// <summary>Rows the plan fills.</summary>
    public int Count => _count;

    /// <summary>
    /// A plan for <paramref name="view"/>, or null when it is not (exactly) our feature chain over column arrays.
    /// The caller has already checked the schema (column names and types).
    /// </summary>
    public static ColumnarFeatureReader? TryCreate(IDataView view, int t, string? favCartColumn, string? buyColumn, string? weightColumn,
        int interactions = 0)
    {
        // Stages from the root up; stop at the first view that is not one of our mapped views.
        var stages = new List<RowMappingTransformer>();
        var current = view;
        while (current is IMappedDataView mapped) { stages.Add(mapped.Transformer); current = mapped.Source; }
        if (current is not ArrayDataView root || stages.Count == 0) return null;
        stages.Reverse();
        int count = (int)(root.GetRowCount() ?? -1);
        if (count < 0) return null;

        // The stage that produces `name` as seen above stage `below` (exclusive), or -1 for the root.
        int Producer(string name, int below)
        {
            for (int i = below - 1; i >= 0; i--)
                foreach (var o in stages[i].DeclaredOutputs)
                    if (o.Name == name) return i;
            return -1;
        }
        T? Single<T>(params string[] names) where T : RowMappingTransformer
        {
            int s = Producer(names[0], stages.Count);
            if (s < 0 || stages[s] is not T found) return null;
            foreach (var n in names) if (Producer(n, stages.Count) != s) return null;
            return found;
        }
        var time = Single<TimeFeaturesTransformer>(CvrColumns.Weekday, CvrColumns.HourOfDay, CvrColumns.IsWeekend, CvrColumns.TimeDelta, CvrColumns.Timestamp);
        var counts = Single<BehaviorCountsTransformer>(CvrColumns.BehaviorCounts);
        var sequence = Single<BehaviorSequenceTransformer>(CvrColumns.SeqBehaviors, CvrColumns.SeqHoursAgo, CvrColumns.SeqLength);
        var vocabulary = Single<IdVocabularyTransformer>(CvrColumns.UserIndex, CvrColumns.ItemIndex, CvrColumns.CategoryIndex,
            CvrColumns.SeqItemIndices, CvrColumns.SeqCategoryIndices);
        if (time is null || counts is null || sequence is null || vocabulary is null) return null;
        if (sequence.Length != t || vocabulary.SequenceLength != t) return null;

        // The vocabulary must read this very sequence transformer's raw ids and length.
        int vocStage = stages.IndexOf(vocabulary), seqStage = stages.IndexOf(sequence);
        foreach (var n in new[] { CvrColumns.SeqItemIds, CvrColumns.SeqCategoryIds, CvrColumns.SeqLength })
            if (Producer(n, vocStage) != seqStage) return null;

        // Root inputs: raw arrays, not hidden by any stage below their reader.
        T[]? RootArray<T>(string name, int reader, bool hourTime = false)
        {
            if (Producer(name, reader) >= 0) return null;
            var c = root.FindColumn(name);
            return c is { Values: T[] a } && c.IsHourTime == hourTime && a.Length >= count ? a : null;
        }
        int timeStage = stages.IndexOf(time), countStage = stages.IndexOf(counts);
        int[]?[] inputs =
        [
            RootArray<int>(time.TimeColumn, timeStage, hourTime: true),
            RootArray<int>(counts.UserColumn, countStage), RootArray<int>(counts.TimeColumn, countStage, hourTime: true),
            RootArray<int>(sequence.UserColumn, seqStage), RootArray<int>(sequence.TimeColumn, seqStage, hourTime: true),
            RootArray<int>(CvrColumns.UserId, vocStage), RootArray<int>(CvrColumns.ItemId, vocStage), RootArray<int>(CvrColumns.CategoryId, vocStage),
        ];
        if (inputs.Any(a => a is null)) return null;
        bool[]? fav = null, buy = null;
        float[]? weight = null;
        if (favCartColumn is not null && (fav = RootArray<bool>(favCartColumn, stages.Count)) is null) return null;
        if (buyColumn is not null && (buy = RootArray<bool>(buyColumn, stages.Count)) is null) return null;
        if (weightColumn is not null && (weight = RootArray<float>(weightColumn, stages.Count)) is null) return null;
        Transforms.Interactions.InteractionFeaturesTransformer? inter = null;
        int[]?[]? interInputs = null;
        if (interactions > 0)
        {
            inter = Single<Transforms.Interactions.InteractionFeaturesTransformer>(CvrColumns.Interactions);
            if (inter is null) return null;
            int st = stages.IndexOf(inter);
            interInputs = [RootArray<int>(CvrColumns.UserId, st), RootArray<int>(CvrColumns.ItemId, st),
                RootArray<int>(CvrColumns.CategoryId, st), RootArray<int>(CvrColumns.Time, st, hourTime: true)];
            if (interInputs.Any(a => a is null)) return null;
        }
        return new ColumnarFeatureReader(count, t, interactions, time, counts, sequence, vocabulary, inputs!, fav, buy, weight, weightColumn, inter, interInputs!);
    }

    /// <summary>
    /// A plan for the rows <paramref name="rows"/> (source rows, ascending) only: the same transformers over gathered
    /// copies of the root's inputs (≈ 60 bytes per row), so row i of its table is source row rows[i], bit for bit.
    /// Shares this plan's memo of history item indices.
    /// </summary>
    internal ColumnarFeatureReader Subset(int[] rows)
    {
        static T[]? Gather<T>(T[]? a, int[] rows)
        {
            if (a is null) return null;
            var g = new T[rows.Length];
            for (int i = 0; i < rows.Length; i++) g[i] = a[rows[i]];
            return g;
        }
        for (int i = 0; i < rows.Length; i++)
            if ((uint)rows[i] >= (uint)_count || (i > 0 && rows[i] <= rows[i - 1]))
                throw new ArgumentOutOfRangeException(nameof(rows), $"Rows must be ascending source rows in 0..{_count - 1}; got {rows[i]} at position {i}.");
        // One copy per distinct input array, so inputs the transformers share stay shared (CountsInBulk checks that).
        var gathered = new Dictionary<int[], int[]>(ReferenceEqualityComparer.Instance);
        int[] GatherOnce(int[] a) => gathered.TryGetValue(a, out var g) ? g : gathered[a] = Gather(a, rows)!;
        var sub = new ColumnarFeatureReader(rows.Length, _t, _k, _time, _counts, _sequence, _vocabulary,
            _inputs.Select(GatherOnce).ToArray(), Gather(_favCart, rows), Gather(_buy, rows), Gather(_weight, rows), _weightColumn,
            _interactions, _interactionInputs?.Select(GatherOnce).ToArray());
        sub._itemIndexOfEvent = ItemIndexMemo();
        return sub;
    }

    /// <summary>
    /// The item index of every history event (shared with subsets, so training windows look up none): looked up in
    /// bulk, where the misses in the 4 MB index overlap; one by one inside the sweeps they took half its time.
    /// </summary>
    private int[]? ItemIndexMemo()
    {
        if (_itemIndexOfEvent is not null || _sequence.Store.History is not { } history) return _itemIndexOfEvent;
        var memo = new int[history.EventCount];
        var ids = history.Items; var items = _vocabulary.Items;
        int parts = Math.Max(1, Math.Min(64, memo.Length >> 16));
        Parallel.For(0, parts, p =>
        {
            int from = (int)((long)memo.Length * p / parts), to = (int)((long)memo.Length * (p + 1) / parts);
            items.IndexOfMany(ids.AsSpan(from, to - from), memo.AsSpan(from, to - from));
        });
        return _itemIndexOfEvent = memo;
    }

    /// <inheritdoc/>
    public FeatureTable Fill(int[] rows, CancellationToken ct = default)
    {
        var subset = Subset(rows);
        var table = FeatureTable.Create(rows.Length, _t, compact: true, _k, sharedSequences: subset.SequencesInBulk, sharedCounts: subset.CountsInBulk);
        subset.Fill(table, ct);
        return table;
    }

    /// <inheritdoc/>
    public FeatureTable ReadAll(CancellationToken ct = default)
    {
        FeatureTable.CollectBeforeFilling(_count, _t, _k);
        var table = FeatureTable.Create(_count, _t, compact: true, _k, sharedSequences: SequencesInBulk, sharedCounts: CountsInBulk);
        Fill(table, ct);
        return table;
    }

    /// <inheritdoc/>
    public RowLabels ReadLabels(CancellationToken ct = default)
    {
        CheckWeights();
        var labels = new RowLabels(_count);
        Span<int> wd = stackalloc int[1], hr = stackalloc int[1];
        Span<float> we = stackalloc float[1], delta = stackalloc float[1], ts = stackalloc float[1];
        for (int r = 0; r < _count; r++)
        {
            if ((r & 0xFFFF) == 0) ct.ThrowIfCancellationRequested();
            // The Timestamp feature exactly as the table holds it (same function, same round trip).
            if (r == 0 || _timeHours[r] != _timeHours[r - 1]) _time.Fill(Hour(_timeHours[r]), wd, we, hr, delta, ts);
            labels.Timestamp[r] = ts[0];
            labels.FavCart[r] = _favCart?[r] ?? false;
            labels.Buy[r] = _buy?[r] ?? false;
            labels.Weight[r] = _weight?[r] ?? 1f;
        }
        return labels;
    }

    private void CheckWeights()
    {
        if (_weight is null) return;
        for (int r = 0; r < _count; r++) FeatureTable.CheckWeight(_weight[r], _weightColumn, r);
    }

    /// <summary>
    /// Fills every row of <paramref name="table"/> (sized to <see cref="Count"/> rows, raw count form), in parallel
    /// over row ranges.
    /// </summary>
    public void Fill(FeatureTable table, CancellationToken ct = default)
    {
        CheckWeights();
        int chunks = (_count + ChunkRows - 1) / ChunkRows;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        double mark = 0;
        void Mark(string step) { table.FillSeconds[step] = sw.Elapsed.TotalSeconds - mark; mark = sw.Elapsed.TotalSeconds; }
        try
        {
            FillInteractionsInBulk(table, ct);
            Mark("interactions");
            FillHistoryInBulk(table, ct);
            Mark("history");
            Parallel.For(0, chunks, new ParallelOptions { CancellationToken = ct }, () => new Scratch(_t), (c, _, scratch) =>
            {
                int from = c * ChunkRows;
                FillRange(table, from, Math.Min(_count, from + ChunkRows), scratch);
                return scratch;
            }, _ => { });
            Mark("rows");
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // Same exception as the cursor path would surface (e.g. a loaded model's store asked for historical times).
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        finally
        {
            _bulkHours = _historyHours = null;
            _runs = null;
            _interactionsFilledTo = _historyFilledTo = int.MinValue;
        }
        if (_hoursNotRaw)
        {
            // Some hours-ago value does not fit 16 bits: redo the column as floats (rare; sequential).
            table.UseFloatHoursAgo();
            var scratch = new Scratch(_t);
            for (int r = 0; r < _count; r++)
                _sequence.Fill(_seqUsers[r], Hour(_seqHours[r]), scratch.Items, scratch.Categories, scratch.Behaviors, table.SeqHoursAgo.AsSpan(table.SequenceOf(r) * _t, _t));
        }
        if (_countsNotRaw)
        {
            // Some count does not fit 16 bits: redo the counts column as log1p floats (rare; sequential).
            table.UseFloatCounts();
            var counts = new float[BehaviorFeatures.CountLength];
            for (int r = 0; r < _count; r++)
            {
                _counts.Fill(_countUsers[r], Hour(_countHours[r]), counts);
                table.StoreCounts(r, counts);
            }
        }
    }

    /// <summary>
    /// Inside the fitted log the interaction values of all rows come from one <see cref="InteractionBulkFill"/>
    /// (sweeps instead of a binary-search lookup per row); rows after the log still read the compact state per row.
    /// </summary>
    private void FillInteractionsInBulk(FeatureTable table, CancellationToken ct)
    {
        if (_interactions?.Store.Index is not { } index) return;
        var hours = HoursOf(_intHours!, ct);
        // The runs of rows by user, shared with the history fill when it cuts the same columns at the same hour.
        _runs = UserRuns.Build(index.History, _intUsers!, hours, _count, index.History.LastHour);
        InteractionBulkFill.Fill(index, _intUsers!, _intItems!, _intCategories!, hours, _count, table.RawInteractions, table.K, ct, _runs);
        _bulkHours = hours;
        _interactionsFilledTo = index.History.LastHour;
    }

    /// <summary>
    /// Inside the fitted log the sequences (and counts, <see cref="CountsInBulk"/>) of all rows come from one
    /// <see cref="HistoryBulkFill"/> (a sweep per user instead of a search and scattered reads per row, each value stored
    /// once per (user, hour) or (user, day)); rows after the log still read the compact state per row.
    /// </summary>
    private void FillHistoryInBulk(FeatureTable table, CancellationToken ct)
    {
        var store = _sequence.Store;
        if (!SequencesInBulk || ItemIndexMemo() is not { } memo || store.History is not { } history) return;
        var hours = ReferenceEquals(_seqHours, _intHours) && _bulkHours is not null ? _bulkHours : HoursOf(_seqHours, ct);
        var (wholeHours, rawCounts) = HistoryBulkFill.Fill(history, _vocabulary.Categories, memo, _seqUsers, hours, _count,
            store.FittedLastHour, table, CountsInBulk, ct, _runs);
        if (!wholeHours) _hoursNotRaw = true;
        if (!rawCounts) _countsNotRaw = true;
        _historyHours = hours;
        _historyFilledTo = store.FittedLastHour;
    }

    /// <summary>True when <see cref="Fill(FeatureTable, CancellationToken)"/> gives the table shared sequences filled in bulk (the fitted log is attached).</summary>
    private bool SequencesInBulk => _sequence.Store.History is not null;

    /// <summary>
    /// True when the counts come in bulk with the sequences: the counts transformer reads the same history, up to the
    /// same hour, for the same user and time columns (the default chain).
    /// </summary>
    private bool CountsInBulk =>
        SequencesInBulk && ReferenceEquals(_counts.Store.History, _sequence.Store.History) && _counts.Store.FittedLastHour == _sequence.Store.FittedLastHour
        && ReferenceEquals(_countUsers, _seqUsers) && ReferenceEquals(_countHours, _seqHours);

    /// <summary>Every row's hour through the cursor path's round trip (<see cref="Hour"/>), in parallel.</summary>
    private int[] HoursOf(int[] hourIndices, CancellationToken ct)
    {
        var hours = new int[_count];
        Parallel.For(0, (_count + ChunkRows - 1) / ChunkRows, new ParallelOptions { CancellationToken = ct }, c =>
        {
            // Rows come in runs of one hour: convert once per run.
            int previous = 0, converted = 0;
            for (int r = c * ChunkRows, end = Math.Min(_count, r + ChunkRows); r < end; r++)
            {
                int h = hourIndices[r];
                if (r == c * ChunkRows || h != previous) { previous = h; converted = Hour(h); }
                hours[r] = converted;
            }
        });
        return hours;
    }

    /// <summary>Per-worker buffers: raw sequence ids and counts before mapping.</summary>
    private sealed class Scratch(int t)
    {
        public readonly int[] Items = new int[t], Categories = new int[t], Behaviors = new int[t];
        public readonly float[] Counts = new float[BehaviorFeatures.CountLength], HoursAgo = new float[t];
        public readonly float[] Interactions = new float[Samples.InteractionFeatures.Length];
    }

    // Compiled optimized at once: it runs once per range over millions of rows, so tier 0 and on-stack replacement
    // would run most of it.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void FillRange(FeatureTable tb, int from, int to, Scratch s)
    {
        int t = _t;
        var users = _vocabulary.Users; var items = _vocabulary.Items; var cats = _vocabulary.Categories;
        var td = tb.TimeDense.AsSpan(); var seqBeh = tb.SeqBehaviors.AsSpan(); var seqHours = tb.RawHoursAgo.AsSpan();
        const int c = BehaviorFeatures.CountLength;
        // Arrays in locals: the loop stores to arrays, so the JIT would reload every field on every row.
        var timeHours = _timeHours; var countUsers = _countUsers; var countHours = _countHours; var seqUsers = _seqUsers; var seqHourIndices = _seqHours;
        var vocUsers = _vocUsers; var vocItems = _vocItems; var vocCategories = _vocCategories;
        var historyHours = _historyHours; int historyTo = _historyFilledTo; var bulkHours = _bulkHours; int bulkTo = _interactionsFilledTo;
        var weekday = tb.Weekday; var hourOfDay = tb.Hour; var user = tb.User; var item = tb.Item; var category = tb.Category;
        var favIn = _favCart; var buyIn = _buy; var weightIn = _weight; var favOut = tb.FavCart; var buyOut = tb.Buy; var weightOut = tb.Weight;
        bool sharedCounts = tb.CountRow is not null;
        // The rows' item indices first, in bulk (a lookup in the item index is a cache miss; in bulk they overlap).
        items.IndexOfMany(vocItems.AsSpan(from, to - from), item.AsSpan(from, to - from));
        for (int r = from; r < to; r++)
        {
            // Samples come in (hour, user) runs: a row with the same inputs as the previous row of this range
            // gets a copy of its outputs (the transforms are pure functions of those inputs).
            bool again = r > from;
            if (again && timeHours[r] == timeHours[r - 1])
            {
                weekday[r] = weekday[r - 1]; hourOfDay[r] = hourOfDay[r - 1];
                td.Slice((r - 1) * 3, 3).CopyTo(td.Slice(r * 3, 3));
            }
            else // the cursor path hands the transforms a DateTime and converts back; do the same round trip
                _time.Fill(Hour(timeHours[r]), weekday.AsSpan(r, 1), td.Slice(r * 3, 1), hourOfDay.AsSpan(r, 1), td.Slice(r * 3 + 1, 1), td.Slice(r * 3 + 2, 1));

            bool fromHistory = (historyHours?[r] ?? int.MaxValue) <= historyTo; // sequence (and counts when shared) filled in bulk
            if (sharedCounts && fromHistory) { }
            else if (again && countUsers[r] == countUsers[r - 1] && countHours[r] == countHours[r - 1])
            {
                int source = tb.CountsOf(r - 1), target = tb.CountsOf(r);
                if (source != target) tb.RawCounts.AsSpan(source * c, c).CopyTo(tb.RawCounts.AsSpan(target * c, c));
            }
            else
            {
                _counts.Fill(countUsers[r], Hour(countHours[r]), s.Counts);
                if (!tb.TryStoreRawCounts(r, s.Counts)) _countsNotRaw = true;
            }

            if (!fromHistory)
            {
                int q = tb.SequenceOf(r);
                var si = tb.SeqItems.AsSpan(q * t, t); var sc = tb.SeqCategories.AsSpan(q * t, t);
                var sb = seqBeh.Slice(q * t, t); var sh = seqHours.Slice(q * t, t);
                if (again && seqUsers[r] == seqUsers[r - 1] && seqHourIndices[r] == seqHourIndices[r - 1])
                {
                    int prev = tb.SequenceOf(r - 1);
                    if (prev != q)
                    {
                        tb.SeqLen[q] = tb.SeqLen[prev];
                        seqBeh.Slice(prev * t, t).CopyTo(sb);
                        seqHours.Slice(prev * t, t).CopyTo(sh);
                        tb.SeqItems.AsSpan(prev * t, t).CopyTo(si);
                        tb.SeqCategories.AsSpan(prev * t, t).CopyTo(sc);
                    }
                }
                else
                {
                    int len = _sequence.Fill(seqUsers[r], Hour(seqHourIndices[r]), s.Items, s.Categories, s.Behaviors, s.HoursAgo);
                    tb.SeqLen[q] = len;
                    for (int p = 0; p < t; p++)
                    {
                        sb[p] = FeatureTable.Behavior(s.Behaviors[p], r);
                        if (FeatureTable.IsWholeHours(s.HoursAgo[p])) sh[p] = (ushort)s.HoursAgo[p];
                        else _hoursNotRaw = true;
                    }
                    si.Clear(); sc.Clear();
                    int m = Math.Min(len, t);
                    for (int p = 0; p < m; p++) { si[p] = items.IndexOf(s.Items[p]); sc[p] = cats.IndexOf(s.Categories[p]); }
                }
            }

            user[r] = again && vocUsers[r] == vocUsers[r - 1] ? user[r - 1] : users.IndexOf(vocUsers[r]);
            category[r] = cats.IndexOf(vocCategories[r]);

            if (_interactions is not null && (bulkHours?[r] ?? int.MaxValue) > bulkTo)
            {
                _interactions.Fill(_intUsers![r], _intItems![r], _intCategories![r], Hour(_intHours![r]), s.Interactions);
                tb.StoreInteractions(r, s.Interactions.AsSpan(0, tb.K));
            }

            if (favIn is not null) favOut[r] = favIn[r];
            if (buyIn is not null) buyOut[r] = buyIn[r];
            weightOut[r] = weightIn is null ? 1f : weightIn[r];
        }
    }

    private static int Hour(int hourIndex) => TianchiTime.ToHour(TianchiTime.FromHour(hourIndex));
}
