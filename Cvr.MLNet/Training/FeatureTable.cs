using System.Runtime.CompilerServices;
using Cvr.MLNet.Model;
using Cvr.MLNet.Pipeline;
using Cvr.MLNet.Transforms;
using Microsoft.ML;
using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace Cvr.MLNet.Training;

/// <summary>
/// The model's raw inputs for N rows, column by column (118 numbers per row at T = 20, not the 615
/// dims of the embedded fields): read once from the feature pipeline's output view, then sliced into
/// mini-batch tensors. Compact where it is exact: behaviors are bytes, and tables read from a view keep
/// the behavior counts as raw 16-bit counts (<see cref="RawCounts"/>), turned into the log1p floats the
/// network reads only per batch — with the very expression the float form uses, so batches are identical.
/// Hours-ago are whole hours in 16 bits (<see cref="RawHoursAgo"/>) and become floats per batch (exactly).
/// A view with counts or hours-ago that are not whole numbers in 0..65535 switches that column to floats
/// (<see cref="Counts"/>, <see cref="SeqHoursAgo"/>). At T = 20 a row is 318 bytes instead of 474.
/// </summary>
internal sealed class FeatureTable
{
    public int Count { get; private set; }
    public int T { get; }
    /// <summary>Interaction features per row (0 when the network reads none).</summary>
    public int K { get; }
    public int[] User = [], Item = [], Category = [], Weekday = [], Hour = [];
    /// <summary>
    /// Where row r's sequence lies in the sequence columns (<see cref="SeqLen"/>, <see cref="SeqItems"/>, …): sequence row
    /// <see cref="SequenceOf"/>(r). Null: row r itself. Rows of one (user, hour) share one sequence (the columnar read of
    /// a sample set: 7.25 M rows, 1.13 M sequences on the full log), which saves ≈ 190 of a row's ≈ 340 bytes.
    /// </summary>
    public int[]? SeqRow;
    public int[] SeqLen = [];        // per sequence row
    public float[] TimeDense = [];   // N × 3: weekend, delta, timestamp
    /// <summary>
    /// Where row r's behavior counts lie (<see cref="RawCounts"/> or <see cref="Counts"/>): count row <see cref="CountsOf"/>(r).
    /// Null: row r itself. The counts are a function of (user, day): the columnar read stores them once per user-day.
    /// </summary>
    public int[]? CountRow;
    public float[] Counts = [];      // count rows × 28, log1p (when not RawCountMode)
    public ushort[] RawCounts = [];  // count rows × 28, raw counts (when RawCountMode)
    public ushort[] RawInteractions = []; // N × K, raw values saturated at 65,535 (log1p'd per batch)
    public int[] SeqItems = [], SeqCategories = []; // sequence rows × T
    public byte[] SeqBehaviors = []; // sequence rows × T, 0 = padding, 1..4
    public float[] SeqHoursAgo = []; // sequence rows × T (when not RawHoursAgoMode)
    public ushort[] RawHoursAgo = []; // sequence rows × T, whole hours (when RawHoursAgoMode)
    public bool[] FavCart = [], Buy = [];
    public float[] Weight = [];

    /// <summary>True while counts are kept raw in <see cref="RawCounts"/>; false once they are log1p floats in <see cref="Counts"/>.</summary>
    public bool RawCountMode { get; private set; }

    /// <summary>True while hours-ago are kept as whole hours in <see cref="RawHoursAgo"/>; false once they are floats in <see cref="SeqHoursAgo"/>.</summary>
    public bool RawHoursAgoMode { get; private set; }

    /// <summary>Bytes held by the column arrays.</summary>
    public long Bytes =>
        4L * (User.Length + Item.Length + Category.Length + Weekday.Length + Hour.Length + (SeqRow?.Length ?? 0) + (CountRow?.Length ?? 0) + SeqLen.Length + TimeDense.Length + Counts.Length
              + SeqItems.Length + SeqCategories.Length + SeqHoursAgo.Length + Weight.Length)
        + 2L * (RawCounts.Length + RawHoursAgo.Length + RawInteractions.Length) + SeqBehaviors.Length + FavCart.Length + Buy.Length;

    /// <summary>Behavior counts per row.</summary>
    public const int CountLength = 28;

    /// <summary>log1p of every raw count code, by the expression the float form stores (so both forms batch identically).</summary>
    private static readonly float[] Log1pOfCode = BuildLog1p();

    private static float[] BuildLog1p()
    {
        var a = new float[ushort.MaxValue + 1];
        for (int c = 0; c < a.Length; c++) a[c] = LogCount(c);
        return a;
    }

    /// <summary>The network's form of a count: log(1 + max(0, c)).</summary>
    private static float LogCount(float c) => MathF.Log(1f + Math.Max(0f, c));

    private FeatureTable(int t, bool compact, int interactions = 0)
    {
        T = t; K = interactions;
        RawCountMode = RawHoursAgoMode = compact;
    }

    /// <summary>The feature columns the trainer reads, with their expected types.</summary>
    public static IReadOnlyList<InputColumn> RequiredColumns(int t, int interactions = 0)
    {
        var vi = new VectorDataViewType(NumberDataViewType.Int32, t);
        InputColumn[] extra = interactions > 0
            ? [new(CvrColumns.Interactions, new VectorDataViewType(NumberDataViewType.Single, interactions), "interaction features")]
            : [];
        return
        [
            .. extra,
            new(CvrColumns.UserIndex, NumberDataViewType.Int32, "user index"),
            new(CvrColumns.ItemIndex, NumberDataViewType.Int32, "item index"),
            new(CvrColumns.CategoryIndex, NumberDataViewType.Int32, "category index"),
            new(CvrColumns.Weekday, NumberDataViewType.Int32, "weekday"),
            new(CvrColumns.HourOfDay, NumberDataViewType.Int32, "hour of day"),
            new(CvrColumns.IsWeekend, NumberDataViewType.Single, "weekend flag"),
            new(CvrColumns.TimeDelta, NumberDataViewType.Single, "time delta"),
            new(CvrColumns.Timestamp, NumberDataViewType.Single, "timestamp"),
            new(CvrColumns.BehaviorCounts, new VectorDataViewType(NumberDataViewType.Single, 28), "behavior counts"),
            new(CvrColumns.SeqItemIndices, vi, "sequence item indices"),
            new(CvrColumns.SeqCategoryIndices, vi, "sequence category indices"),
            new(CvrColumns.SeqBehaviors, vi, "sequence behaviors"),
            new(CvrColumns.SeqHoursAgo, new VectorDataViewType(NumberDataViewType.Single, t), "sequence hours ago"),
            new(CvrColumns.SeqLength, NumberDataViewType.Int32, "sequence length"),
        ];
    }

    /// <summary>Sequence length T of a view's sequence columns (throws naming the column if absent).</summary>
    public static int SequenceLengthOf(DataViewSchema schema)
    {
        var col = schema.GetColumnOrNull(CvrColumns.SeqItemIndices)
            ?? throw new ArgumentOutOfRangeException(CvrColumns.SeqItemIndices, $"Input schema: column '{CvrColumns.SeqItemIndices}' (sequence item indices) not found; append mlContext.Transforms.CvrFeatures(...) before the trainer.");
        return col.Type is VectorDataViewType { IsKnownSize: true } v ? v.Size
            : throw new ArgumentOutOfRangeException(CvrColumns.SeqItemIndices, $"Input schema: column '{CvrColumns.SeqItemIndices}' has type {col.Type}, expected a fixed-size vector of Int32.");
    }

    /// <summary>Tables at least this large are filled after a full garbage collection (see <see cref="Read"/>).</summary>
    internal const long CollectBeforeFillBytes = 256L << 20;

    /// <summary>Bytes per row of a compact table (<see cref="Bytes"/> / <see cref="Count"/>): 356 at T = 20 with 19 interaction values.</summary>
    internal static long CompactRowBytes(int t, int interactions) =>
        4L * (6 + 3 + 2 * t + 1) + 2L * (CountLength + t + interactions) + t + 2;

    /// <summary>Checks the columns a table reads (errors name the column); returns the sequence length T.</summary>
    internal static int CheckSchema(DataViewSchema schema, string? favCartColumn, string? buyColumn, string? weightColumn, int interactions)
    {
        int t = SequenceLengthOf(schema);
        foreach (var c in RequiredColumns(t, interactions)) SchemaChecks.Require(schema, c.Name, c.Type, c.Role);
        if (favCartColumn is not null) SchemaChecks.Require(schema, favCartColumn, BooleanDataViewType.Instance, "fav/cart label");
        if (buyColumn is not null) SchemaChecks.Require(schema, buyColumn, BooleanDataViewType.Instance, "buy label");
        if (weightColumn is not null) SchemaChecks.Require(schema, weightColumn, NumberDataViewType.Single, "example weight");
        return t;
    }

    /// <summary>
    /// A source that fills tables of any rows of <paramref name="view"/> on demand (the columnar plan when the view is
    /// our own chain, else a cursor); the schema is checked first.
    /// </summary>
    internal static IFeatureRowSource OpenRows(IDataView view, string? favCartColumn, string? buyColumn, string? weightColumn, int interactions = 0)
    {
        int t = CheckSchema(view.Schema, favCartColumn, buyColumn, weightColumn, interactions);
        return (IFeatureRowSource?)ColumnarFeatureReader.TryCreate(view, t, favCartColumn, buyColumn, weightColumn, interactions)
            ?? new CursorFeatureRows(view, t, favCartColumn, buyColumn, weightColumn, interactions);
    }

    /// <summary>
    /// Reads every row of <paramref name="view"/>; labels and weight are read when present. Our own feature chain over
    /// column arrays (the trainer's usual input) fills columns in parallel; any other view reads by cursor.
    /// </summary>
    public static FeatureTable Read(IDataView view, string? favCartColumn, string? buyColumn, string? weightColumn, CancellationToken ct = default,
        int interactions = 0) =>
        OpenRows(view, favCartColumn, buyColumn, weightColumn, interactions).ReadAll(ct);

    /// <summary>Wall seconds of each step of the last columnar fill (the bulk interactions and history, the row loop).</summary>
    internal Dictionary<string, double> FillSeconds { get; } = [];

    /// <summary>
    /// Before a compact table of <paramref name="rows"/> rows is filled: a large table is the process's largest
    /// allocation by far (≈ 2.5 GB at 7 M rows, ≈ 370 MB a training window) and every page of it is touched now, so the
    /// garbage before it (the builders' index, samples and fits, or the previous window) is collected first and its
    /// memory reused instead of added to (≈ 10 ms; small reads, such as a batched Transform, skip it).
    /// </summary>
    internal static void CollectBeforeFilling(long rows, int t, int interactions)
    {
        if (rows * CompactRowBytes(t, interactions) >= CollectBeforeFillBytes) GC.Collect();
    }

    /// <summary>The one check of an example weight: finite and non-negative, else an error naming the column and row.</summary>
    internal static float CheckWeight(float weight, string? column, long row) =>
        weight >= 0 && !float.IsInfinity(weight) ? weight
        : throw new InvalidDataException($"Column '{column}' (example weight): row {row} has weight {weight}; weights must be finite and non-negative.");

    /// <summary>The general path: one cursor over the view, row by row (any <see cref="IDataView"/>).</summary>
    internal static FeatureTable ReadRows(IDataView view, int t, string? favCartColumn, string? buyColumn, string? weightColumn, CancellationToken ct = default,
        int interactions = 0)
    {
        var table = new FeatureTable(t, compact: true, interactions);
        int cap = (int)Math.Min(view.GetRowCount() ?? 1024, int.MaxValue - 1);
        table.Resize(Math.Max(cap, 16));
        var s = view.Schema;
        var cols = RequiredColumns(t, interactions).Select(c => s[c.Name]).ToList();
        foreach (var name in new[] { favCartColumn, buyColumn, weightColumn }) if (name is not null) cols.Add(s[name]);
        using var cur = view.GetRowCursor(cols);
        var reader = new RowReader(cur, t, favCartColumn, buyColumn, weightColumn, interactions);
        int n = 0;
        while (cur.MoveNext())
        {
            if ((n & 4095) == 0) ct.ThrowIfCancellationRequested();
            if (n == table.User.Length) table.Resize(checked(n * 2));
            reader.Read(table, n);
            n++;
        }
        table.Resize(n);
        table.Count = n;
        return table;
    }

    /// <summary>
    /// An empty (zeroed) table of <paramref name="count"/> rows, filled by the caller (benchmarks, tests); counts
    /// and hours-ago as floats (<see cref="Counts"/>, <see cref="SeqHoursAgo"/>) unless <paramref name="compact"/>.
    /// With <paramref name="sharedSequences"/> (<paramref name="sharedCounts"/>) the sequence (count) columns stay empty:
    /// the caller shares them (<see cref="ShareSequences"/>, <see cref="ShareCounts"/>).
    /// </summary>
    internal static FeatureTable Create(int count, int t, bool compact = false, int interactions = 0, bool sharedSequences = false, bool sharedCounts = false)
    {
        var table = new FeatureTable(t, compact, interactions);
        table.Resize(count, sharedSequences, sharedCounts);
        table.Count = count;
        return table;
    }

    /// <summary>A one-row table for per-request scoring.</summary>
    public static FeatureTable SingleRow(int t, int interactions = 0)
    {
        var table = new FeatureTable(t, compact: true, interactions);
        table.Resize(1);
        table.Count = 1;
        return table;
    }

    /// <summary>Reads the feature (and label) columns of the current row of a cursor or row into a table slot.</summary>
    public sealed class RowReader
    {
        private readonly int _t;
        private readonly ValueGetter<int> _user, _item, _cat, _wd, _hour, _len;
        private readonly ValueGetter<float> _we, _delta, _ts;
        private readonly ValueGetter<VBuffer<float>> _counts, _hoursAgo;
        private readonly ValueGetter<VBuffer<float>>? _interactions;
        private VBuffer<float> _interBuf;
        private readonly ValueGetter<VBuffer<int>> _si, _sc, _sb;
        private readonly ValueGetter<bool>? _fav, _buy;
        private readonly ValueGetter<float>? _w;
        private readonly string? _weightColumn;
        private VBuffer<float> _countsBuf, _hoursBuf;
        private VBuffer<int> _siBuf, _scBuf, _sbBuf;
        private long _rowsRead;

        public RowReader(DataViewRow row, int t, string? favCartColumn = null, string? buyColumn = null, string? weightColumn = null, int interactions = 0)
        {
            _t = t;
            var s = row.Schema;
            _user = row.GetGetter<int>(s[CvrColumns.UserIndex]); _item = row.GetGetter<int>(s[CvrColumns.ItemIndex]);
            _cat = row.GetGetter<int>(s[CvrColumns.CategoryIndex]); _wd = row.GetGetter<int>(s[CvrColumns.Weekday]);
            _hour = row.GetGetter<int>(s[CvrColumns.HourOfDay]); _len = row.GetGetter<int>(s[CvrColumns.SeqLength]);
            _we = row.GetGetter<float>(s[CvrColumns.IsWeekend]); _delta = row.GetGetter<float>(s[CvrColumns.TimeDelta]);
            _ts = row.GetGetter<float>(s[CvrColumns.Timestamp]);
            _counts = row.GetGetter<VBuffer<float>>(s[CvrColumns.BehaviorCounts]);
            _interactions = interactions > 0 ? row.GetGetter<VBuffer<float>>(s[CvrColumns.Interactions]) : null;
            _si = row.GetGetter<VBuffer<int>>(s[CvrColumns.SeqItemIndices]); _sc = row.GetGetter<VBuffer<int>>(s[CvrColumns.SeqCategoryIndices]);
            _sb = row.GetGetter<VBuffer<int>>(s[CvrColumns.SeqBehaviors]); _hoursAgo = row.GetGetter<VBuffer<float>>(s[CvrColumns.SeqHoursAgo]);
            _fav = favCartColumn is null ? null : row.GetGetter<bool>(s[favCartColumn]);
            _buy = buyColumn is null ? null : row.GetGetter<bool>(s[buyColumn]);
            _w = weightColumn is null ? null : row.GetGetter<float>(s[weightColumn]);
            _weightColumn = weightColumn;
        }

        /// <summary>Reads the current row into slot <paramref name="n"/>; errors name it as row <paramref name="sourceRow"/> of the view.</summary>
        public void Read(FeatureTable table, int n, long sourceRow)
        {
            _rowsRead = sourceRow;
            Read(table, n);
        }

        public void Read(FeatureTable table, int n)
        {
            int t = _t, v = 0; float f = 0; bool b = false;
            _user(ref v); table.User[n] = v; _item(ref v); table.Item[n] = v; _cat(ref v); table.Category[n] = v;
            _wd(ref v); table.Weekday[n] = v; _hour(ref v); table.Hour[n] = v; _len(ref v); table.SeqLen[n] = v;
            _we(ref f); table.TimeDense[n * 3] = f; _delta(ref f); table.TimeDense[n * 3 + 1] = f; _ts(ref f); table.TimeDense[n * 3 + 2] = f;
            _counts(ref _countsBuf);
            Span<float> counts = stackalloc float[CountLength];
            for (int k = 0; k < CountLength; k++) counts[k] = _countsBuf.GetItemOrDefault(k);
            table.StoreCounts(n, counts);
            if (_interactions is not null)
            {
                _interactions(ref _interBuf);
                Span<float> xs = stackalloc float[table.K];
                for (int k = 0; k < xs.Length; k++) xs[k] = _interBuf.GetItemOrDefault(k);
                table.StoreInteractions(n, xs);
            }
            _si(ref _siBuf); _sc(ref _scBuf); _sb(ref _sbBuf); _hoursAgo(ref _hoursBuf);
            for (int p = 0; p < t; p++)
            {
                table.SeqItems[n * t + p] = _siBuf.GetItemOrDefault(p); table.SeqCategories[n * t + p] = _scBuf.GetItemOrDefault(p);
                table.SeqBehaviors[n * t + p] = Behavior(_sbBuf.GetItemOrDefault(p), _rowsRead);
                table.StoreHoursAgo(n * t + p, _hoursBuf.GetItemOrDefault(p));
            }
            if (_fav is not null) { _fav(ref b); table.FavCart[n] = b; }
            if (_buy is not null) { _buy(ref b); table.Buy[n] = b; }
            if (_w is not null)
            {
                _w(ref f);
                table.Weight[n] = CheckWeight(f, _weightColumn, _rowsRead);
            }
            else table.Weight[n] = 1f;
            _rowsRead++;
        }
    }

    /// <summary>A behavior as stored (a byte); values a byte cannot hold fail here with the range check's message.</summary>
    internal static byte Behavior(int value, long row) => (uint)value <= byte.MaxValue ? (byte)value
        : throw new ArgumentOutOfRangeException(CvrColumns.SeqBehaviors,
            $"Column '{CvrColumns.SeqBehaviors}': value {value} at row {row} is outside 0..4 (behavior types = 5); make the vocabulary and trainer sizes agree.");

    /// <summary>Stores row <paramref name="row"/>'s counts as read from a view (switching to float form when they are not raw counts).</summary>
    internal void StoreCounts(int row, ReadOnlySpan<float> counts)
    {
        if (RawCountMode && !TryStoreRawCounts(row, counts)) UseFloatCounts();
        if (!RawCountMode)
        {
            var f = Counts.AsSpan(CountsOf(row) * CountLength, CountLength);
            for (int k = 0; k < CountLength; k++) f[k] = LogCount(counts[k]);
        }
    }

    /// <summary>Stores raw counts; false (row left partly written) when some count is not a whole number in 0..65535 after max(0, c).</summary>
    internal bool TryStoreRawCounts(int row, ReadOnlySpan<float> counts) => TryStoreRawCountsAt(CountsOf(row), counts);

    /// <summary>
    /// Stores counts into count row <paramref name="countRow"/> in the table's count form; false (nothing to rely on
    /// written) when the table is raw and some count is not a whole number in 0..65535.
    /// </summary>
    internal bool TryStoreCountsAt(int countRow, ReadOnlySpan<float> counts)
    {
        if (RawCountMode) return TryStoreRawCountsAt(countRow, counts);
        var f = Counts.AsSpan(countRow * CountLength, CountLength);
        for (int k = 0; k < CountLength; k++) f[k] = LogCount(counts[k]);
        return true;
    }

    /// <summary><see cref="TryStoreRawCounts"/> into count row <paramref name="countRow"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per (user, day) in the bulk fill: no tier-0 phase
    internal bool TryStoreRawCountsAt(int countRow, ReadOnlySpan<float> counts)
    {
        var dst = RawCounts.AsSpan(countRow * CountLength, CountLength);
        for (int k = 0; k < CountLength; k++)
        {
            float c = Math.Max(0f, counts[k]);
            if (!(c <= ushort.MaxValue) || c != MathF.Floor(c)) return false; // NaN fails the first test
            dst[k] = (ushort)c;
        }
        return true;
    }

    /// <summary>Converts the stored raw counts to log1p floats; later rows are stored as floats.</summary>
    internal void UseFloatCounts()
    {
        if (!RawCountMode) return;
        var f = new float[RawCounts.Length];
        for (int i = 0; i < f.Length; i++) f[i] = Log1pOfCode[RawCounts[i]];
        Counts = f;
        RawCounts = [];
        RawCountMode = false;
    }

    /// <summary>Stores one hours-ago value (index row × T + position) as read from a view.</summary>
    internal void StoreHoursAgo(int index, float hours)
    {
        if (RawHoursAgoMode)
        {
            if (IsWholeHours(hours)) { RawHoursAgo[index] = (ushort)hours; return; }
            UseFloatHoursAgo();
        }
        SeqHoursAgo[index] = hours;
    }

    /// <summary>True when <paramref name="hours"/> round-trips through 16 bits exactly (not −0, not NaN).</summary>
    internal static bool IsWholeHours(float hours) =>
        hours >= 0 && hours <= ushort.MaxValue && hours == MathF.Floor(hours) && BitConverter.SingleToInt32Bits(hours) >= 0;

    /// <summary>Converts the stored whole hours to floats; later values are stored as floats.</summary>
    internal void UseFloatHoursAgo()
    {
        if (!RawHoursAgoMode) return;
        var f = new float[RawHoursAgo.Length];
        for (int i = 0; i < f.Length; i++) f[i] = RawHoursAgo[i];
        SeqHoursAgo = f;
        RawHoursAgo = [];
        RawHoursAgoMode = false;
    }

    /// <summary>The sequence row holding row <paramref name="row"/>'s sequence.</summary>
    public int SequenceOf(int row) => SeqRow is null ? row : SeqRow[row];

    /// <summary>Rows of the sequence columns.</summary>
    public int SequenceCount => SeqLen.Length;

    /// <summary>
    /// Gives the rows shared sequences: row r's sequence is sequence row <paramref name="seqRow"/>[r], of
    /// <paramref name="sequences"/> (new, zeroed sequence columns in the table's current hours-ago form).
    /// </summary>
    internal void ShareSequences(int[] seqRow, int sequences)
    {
        if (seqRow.Length != Count) throw new ArgumentException($"Sequence rows: {seqRow.Length} entries for {Count} rows.", nameof(seqRow));
        SeqRow = seqRow;
        SeqLen = new int[sequences];
        SeqItems = new int[sequences * T]; SeqCategories = new int[sequences * T]; SeqBehaviors = new byte[sequences * T];
        if (RawHoursAgoMode) { RawHoursAgo = new ushort[sequences * T]; SeqHoursAgo = []; }
        else { SeqHoursAgo = new float[sequences * T]; RawHoursAgo = []; }
    }

    /// <summary>The first row whose sequence is sequence row <paramref name="sequence"/> (for error messages).</summary>
    private int RowOfSequence(int sequence)
    {
        if (SeqRow is null) return sequence;
        for (int r = 0; r < SeqRow.Length; r++) if (SeqRow[r] == sequence) return r;
        return -1;
    }

    /// <summary>Hours-ago value <paramref name="index"/> (sequence row × T + position) as the network reads it.</summary>
    public float HoursAgoAt(int index) => RawHoursAgoMode ? RawHoursAgo[index] : SeqHoursAgo[index];

    /// <summary>Row <paramref name="row"/>'s counts in the network's form (log1p).</summary>
    public void CopyCounts(int row, Span<float> destination)
    {
        int at = CountsOf(row) * CountLength;
        if (RawCountMode)
        {
            var raw = RawCounts.AsSpan(at, CountLength);
            for (int k = 0; k < CountLength; k++) destination[k] = Log1pOfCode[raw[k]];
        }
        else Counts.AsSpan(at, CountLength).CopyTo(destination);
    }

    /// <summary>The count row holding row <paramref name="row"/>'s behavior counts.</summary>
    public int CountsOf(int row) => CountRow is null ? row : CountRow[row];

    /// <summary>
    /// Gives the rows shared counts: row r's counts are count row <paramref name="countRow"/>[r], of <paramref name="countRows"/>
    /// (new, zeroed, in the table's current count form).
    /// </summary>
    internal void ShareCounts(int[] countRow, int countRows)
    {
        if (countRow.Length != Count) throw new ArgumentException($"Count rows: {countRow.Length} entries for {Count} rows.", nameof(countRow));
        CountRow = countRow;
        if (RawCountMode) { RawCounts = new ushort[countRows * CountLength]; Counts = []; }
        else { Counts = new float[countRows * CountLength]; RawCounts = []; }
    }

    /// <summary>
    /// Stores row <paramref name="row"/>'s interaction features as read from a view: whole counts and hours,
    /// saturated at 65,535 (log1p(65,535) ≈ 11.1 — beyond it the network's input is flat anyway).
    /// </summary>
    internal void StoreInteractions(int row, ReadOnlySpan<float> values)
    {
        var dst = RawInteractions.AsSpan(row * K, K);
        for (int k = 0; k < K; k++)
        {
            float v = values[k];
            if (!float.IsFinite(v) || v < 0 || v != MathF.Floor(v))
                throw new InvalidDataException($"Column '{CvrColumns.Interactions}': row {row} value {k} is {v}; interaction features are whole, non-negative counts and hours.");
            dst[k] = (ushort)Math.Min(v, ushort.MaxValue);
        }
    }

    /// <summary>Row <paramref name="row"/>'s interaction features in the network's form (log1p).</summary>
    public void CopyInteractions(int row, Span<float> destination)
    {
        var raw = RawInteractions.AsSpan(row * K, K);
        for (int k = 0; k < raw.Length; k++) destination[k] = Log1pOfCode[raw[k]];
    }

    // Shared sequence or count columns stay empty (the caller shares them: ShareSequences, ShareCounts).
    private void Resize(int n, bool sharedSequences = false, bool sharedCounts = false)
    {
        if (SeqRow is not null || CountRow is not null) throw new InvalidOperationException("A table with shared sequences or counts cannot be resized.");
        int ns = sharedSequences ? 0 : n, nc = sharedCounts ? 0 : n;
        Array.Resize(ref User, n); Array.Resize(ref Item, n); Array.Resize(ref Category, n); Array.Resize(ref Weekday, n);
        Array.Resize(ref Hour, n); Array.Resize(ref SeqLen, ns); Array.Resize(ref TimeDense, n * 3);
        if (RawCountMode) Array.Resize(ref RawCounts, nc * CountLength); else Array.Resize(ref Counts, nc * CountLength);
        Array.Resize(ref RawInteractions, n * K);
        Array.Resize(ref SeqItems, ns * T); Array.Resize(ref SeqCategories, ns * T); Array.Resize(ref SeqBehaviors, ns * T);
        if (RawHoursAgoMode) Array.Resize(ref RawHoursAgo, ns * T); else Array.Resize(ref SeqHoursAgo, ns * T);
        Array.Resize(ref FavCart, n); Array.Resize(ref Buy, n); Array.Resize(ref Weight, n);
    }

    /// <summary>
    /// Checks every index against the network's table sizes, so a vocabulary/trainer size mismatch is a
    /// clear error and not an index-out-of-range deep inside libtorch.
    /// </summary>
    public void CheckRanges(CvrNetworkOptions o)
    {
        void Check(int[] a, int size, string column, string option, int perRow = 1)
        {
            for (int i = 0; i < a.Length; i++)
                if ((uint)a[i] >= (uint)size)
                    throw new ArgumentOutOfRangeException(column, $"Column '{column}': value {a[i]} at row {(perRow == 1 ? i : RowOfSequence(i / perRow))} is outside 0..{size - 1} ({option} = {size}); make the vocabulary and trainer sizes agree.");
        }
        Check(User, o.UserBuckets, CvrColumns.UserIndex, nameof(o.UserBuckets));
        Check(Item, o.ItemBuckets, CvrColumns.ItemIndex, nameof(o.ItemBuckets));
        Check(Category, o.CategoryBuckets, CvrColumns.CategoryIndex, nameof(o.CategoryBuckets));
        Check(SeqItems, o.ItemBuckets, CvrColumns.SeqItemIndices, nameof(o.ItemBuckets), T);
        Check(SeqCategories, o.CategoryBuckets, CvrColumns.SeqCategoryIndices, nameof(o.CategoryBuckets), T);
        Check(Weekday, 7, CvrColumns.Weekday, "weekdays");
        Check(Hour, 24, CvrColumns.HourOfDay, "hours");
        for (int i = 0; i < SeqBehaviors.Length; i++)
            if (SeqBehaviors[i] >= 5)
                throw new ArgumentOutOfRangeException(CvrColumns.SeqBehaviors, $"Column '{CvrColumns.SeqBehaviors}': value {SeqBehaviors[i]} at row {RowOfSequence(i / T)} is outside 0..4 (behavior types = 5); make the vocabulary and trainer sizes agree.");
        for (int i = 0; i < TimeDense.Length; i++)
            if (!float.IsFinite(TimeDense[i])) throw new InvalidDataException($"Time features: row {i / 3} has a non-finite value {TimeDense[i]}.");
    }

    /// <summary>Builds the tensors of the rows <paramref name="rows"/> (a mini-batch) on <paramref name="device"/>.</summary>
    public CvrBatch MakeBatch(ReadOnlySpan<int> rows, Device device, OovDropout? dropout = null)
    {
        int b = rows.Length;
        var user = new long[b]; var item = new long[b]; var cat = new long[b]; var wd = new long[b]; var hr = new long[b];
        var td = new float[b * 3]; var cn = new float[b * 28]; var ia = new float[b * K];
        var si = new long[b * T]; var sc = new long[b * T]; var sb = new long[b * T]; var sh = new float[b * T]; var mask = new float[b * T];
        for (int j = 0; j < b; j++)
        {
            int r = rows[j];
            user[j] = User[r]; item[j] = Item[r]; cat[j] = Category[r]; wd[j] = Weekday[r]; hr[j] = Hour[r];
            if (dropout is not null)
            {
                user[j] = dropout.Users.Apply(User[r], dropout.Random, dropout.Rate);
                item[j] = dropout.Items.Apply(Item[r], dropout.Random, dropout.Rate);
                cat[j] = dropout.Categories.Apply(Category[r], dropout.Random, dropout.Rate);
            }
            TimeDense.AsSpan(r * 3, 3).CopyTo(td.AsSpan(j * 3));
            CopyCounts(r, cn.AsSpan(j * CountLength, CountLength));
            CopyInteractions(r, ia.AsSpan(j * K, K));
            int q = SequenceOf(r), len = Math.Min(SeqLen[q], T);
            for (int p = 0; p < T; p++)
            {
                int s = q * T + p, d = j * T + p;
                si[d] = SeqItems[s]; sc[d] = SeqCategories[s]; sb[d] = SeqBehaviors[s]; sh[d] = HoursAgoAt(s);
                if (dropout is not null && p < len)
                {
                    si[d] = dropout.Items.Apply(SeqItems[s], dropout.Random, dropout.Rate);
                    sc[d] = dropout.Categories.Apply(SeqCategories[s], dropout.Random, dropout.Rate);
                }
                mask[d] = p < len ? 1f : 0f;
            }
        }
        return new CvrBatch
        {
            UserIdx = tensor(user, device: device), ItemIdx = tensor(item, device: device), CategoryIdx = tensor(cat, device: device),
            Weekday = tensor(wd, device: device), Hour = tensor(hr, device: device),
            TimeDense = tensor(td, [b, 3], device: device), Counts = tensor(cn, [b, 28], device: device),
            Interactions = K > 0 ? tensor(ia, [b, K], device: device) : null,
            SeqItems = tensor(si, [b, T], device: device), SeqCategories = tensor(sc, [b, T], device: device),
            SeqBehaviors = tensor(sb, [b, T], device: device), SeqHoursAgo = tensor(sh, [b, T], device: device),
            SeqMask = tensor(mask, [b, T], device: device),
        };
    }
}

/// <summary>The hashed out-of-vocabulary index range of one id table: [Start, Size).</summary>
internal readonly record struct OovRange(int Start, int Size)
{
    /// <summary>With probability <paramref name="rate"/>, a random OOV bucket instead of <paramref name="index"/>.</summary>
    public int Apply(int index, Random random, double rate) =>
        Start < Size && random.NextDouble() < rate ? Start + random.Next(Size - Start) : index;
}

/// <summary>
/// Id dropout to the OOV buckets during training: a small share of ids is replaced by a random
/// hashed bucket, so the buckets that serve ids never seen in fitting are trained (otherwise they keep
/// their random initialization and an unknown user or item gets an arbitrary score).
/// </summary>
internal sealed record OovDropout(double Rate, Random Random, OovRange Users, OovRange Items, OovRange Categories);

