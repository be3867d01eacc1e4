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
/// mini-batch tensors. Counts are stored log1p'd, the form the network reads.
/// </summary>
internal sealed class FeatureTable
{
    public int Count { get; private set; }
    public int T { get; }
    /// <summary>Interaction features per row (0 when the network reads none).</summary>
    public int K { get; }
    public int[] User = [], Item = [], Category = [], Weekday = [], Hour = [], SeqLen = [];
    public float[] TimeDense = [];   // N × 3: weekend, delta, timestamp
    public float[] Counts = [];      // N × 28, log1p
    public float[] Interactions = []; // N × K, log1p
    public int[] SeqItems = [], SeqCategories = [], SeqBehaviors = []; // N × T
    public float[] SeqHoursAgo = []; // N × T
    public bool[] FavCart = [], Buy = [];
    public float[] Weight = [];

    private FeatureTable(int t, int k) { T = t; K = k; }

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

    /// <summary>Reads every row of <paramref name="view"/>; labels and weight are read when present.</summary>
    public static FeatureTable Read(IDataView view, string? favCartColumn, string? buyColumn, string? weightColumn, CancellationToken ct = default,
        int interactions = 0)
    {
        int t = SequenceLengthOf(view.Schema);
        foreach (var c in RequiredColumns(t, interactions)) SchemaChecks.Require(view.Schema, c.Name, c.Type, c.Role);
        if (favCartColumn is not null) SchemaChecks.Require(view.Schema, favCartColumn, BooleanDataViewType.Instance, "fav/cart label");
        if (buyColumn is not null) SchemaChecks.Require(view.Schema, buyColumn, BooleanDataViewType.Instance, "buy label");
        if (weightColumn is not null) SchemaChecks.Require(view.Schema, weightColumn, NumberDataViewType.Single, "example weight");

        var table = new FeatureTable(t, interactions);
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

    /// <summary>An empty (zeroed) table of <paramref name="count"/> rows, filled by the caller (benchmarks, tests).</summary>
    internal static FeatureTable Create(int count, int t, int interactions = 0)
    {
        var table = new FeatureTable(t, interactions);
        table.Resize(count);
        table.Count = count;
        return table;
    }

    /// <summary>A one-row table for per-request scoring.</summary>
    public static FeatureTable SingleRow(int t, int interactions = 0)
    {
        var table = new FeatureTable(t, interactions);
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

        public void Read(FeatureTable table, int n)
        {
            int t = _t, v = 0; float f = 0; bool b = false;
            _user(ref v); table.User[n] = v; _item(ref v); table.Item[n] = v; _cat(ref v); table.Category[n] = v;
            _wd(ref v); table.Weekday[n] = v; _hour(ref v); table.Hour[n] = v; _len(ref v); table.SeqLen[n] = v;
            _we(ref f); table.TimeDense[n * 3] = f; _delta(ref f); table.TimeDense[n * 3 + 1] = f; _ts(ref f); table.TimeDense[n * 3 + 2] = f;
            _counts(ref _countsBuf);
            var cs = table.Counts.AsSpan(n * 28, 28);
            for (int k = 0; k < 28; k++) cs[k] = MathF.Log(1f + Math.Max(0f, _countsBuf.GetItemOrDefault(k)));
            if (_interactions is not null)
            {
                _interactions(ref _interBuf);
                var xs = table.Interactions.AsSpan(n * table.K, table.K);
                for (int k = 0; k < xs.Length; k++) xs[k] = MathF.Log(1f + Math.Max(0f, _interBuf.GetItemOrDefault(k)));
            }
            _si(ref _siBuf); _sc(ref _scBuf); _sb(ref _sbBuf); _hoursAgo(ref _hoursBuf);
            for (int p = 0; p < t; p++)
            {
                table.SeqItems[n * t + p] = _siBuf.GetItemOrDefault(p); table.SeqCategories[n * t + p] = _scBuf.GetItemOrDefault(p);
                table.SeqBehaviors[n * t + p] = _sbBuf.GetItemOrDefault(p); table.SeqHoursAgo[n * t + p] = _hoursBuf.GetItemOrDefault(p);
            }
            if (_fav is not null) { _fav(ref b); table.FavCart[n] = b; }
            if (_buy is not null) { _buy(ref b); table.Buy[n] = b; }
            if (_w is not null)
            {
                _w(ref f);
                if (!(f >= 0) || float.IsInfinity(f))
                    throw new InvalidDataException($"Column '{_weightColumn}' (example weight): row {_rowsRead} has weight {f}; weights must be finite and non-negative.");
                table.Weight[n] = f;
            }
            else table.Weight[n] = 1f;
            _rowsRead++;
        }
    }

    private void Resize(int n)
    {
        Array.Resize(ref User, n); Array.Resize(ref Item, n); Array.Resize(ref Category, n); Array.Resize(ref Weekday, n);
        Array.Resize(ref Hour, n); Array.Resize(ref SeqLen, n); Array.Resize(ref TimeDense, n * 3); Array.Resize(ref Counts, n * 28); Array.Resize(ref Interactions, n * K);
        Array.Resize(ref SeqItems, n * T); Array.Resize(ref SeqCategories, n * T); Array.Resize(ref SeqBehaviors, n * T);
        Array.Resize(ref SeqHoursAgo, n * T); Array.Resize(ref FavCart, n); Array.Resize(ref Buy, n); Array.Resize(ref Weight, n);
    }

    /// <summary>
    /// Checks every index against the network's table sizes, so a vocabulary/trainer size mismatch is a
    /// clear error and not an index-out-of-range deep inside libtorch.
    /// </summary>
    public void CheckRanges(CvrNetworkOptions o)
    {
        static void Check(int[] a, int size, string column, string option, int perRow = 1)
        {
            for (int i = 0; i < a.Length; i++)
                if ((uint)a[i] >= (uint)size)
                    throw new ArgumentOutOfRangeException(column, $"Column '{column}': value {a[i]} at row {i / perRow} is outside 0..{size - 1} ({option} = {size}); make the vocabulary and trainer sizes agree.");
        }
        Check(User, o.UserBuckets, CvrColumns.UserIndex, nameof(o.UserBuckets));
        Check(Item, o.ItemBuckets, CvrColumns.ItemIndex, nameof(o.ItemBuckets));
        Check(Category, o.CategoryBuckets, CvrColumns.CategoryIndex, nameof(o.CategoryBuckets));
        Check(SeqItems, o.ItemBuckets, CvrColumns.SeqItemIndices, nameof(o.ItemBuckets), T);
        Check(SeqCategories, o.CategoryBuckets, CvrColumns.SeqCategoryIndices, nameof(o.CategoryBuckets), T);
        Check(Weekday, 7, CvrColumns.Weekday, "weekdays");
        Check(Hour, 24, CvrColumns.HourOfDay, "hours");
        Check(SeqBehaviors, 5, CvrColumns.SeqBehaviors, "behavior types", T);
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
            Counts.AsSpan(r * 28, 28).CopyTo(cn.AsSpan(j * 28));
            Interactions.AsSpan(r * K, K).CopyTo(ia.AsSpan(j * K));
            int len = Math.Min(SeqLen[r], T);
            for (int p = 0; p < T; p++)
            {
                int s = r * T + p, d = j * T + p;
                si[d] = SeqItems[s]; sc[d] = SeqCategories[s]; sb[d] = SeqBehaviors[s]; sh[d] = SeqHoursAgo[s];
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

