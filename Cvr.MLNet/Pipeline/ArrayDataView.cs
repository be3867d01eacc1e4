using Microsoft.ML;
using Microsoft.ML.Data;

namespace Cvr.MLNet.Pipeline;

/// <summary>
/// A read-only <see cref="IDataView"/> over column arrays (one array per column, same length), so
/// millions of rows cost their raw column bytes and no per-row objects. Row order is the arrays'.
/// </summary>
public sealed class ArrayDataView : IDataView
{
    private readonly IReadOnlyList<ArrayColumn> _columns;
    private readonly int _count;

    /// <summary>Creates a view of <paramref name="count"/> rows over <paramref name="columns"/>.</summary>
    public ArrayDataView(int count, IReadOnlyList<ArrayColumn> columns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _count = count;
        _columns = columns;
        var b = new DataViewSchema.Builder();
        foreach (var c in columns) b.AddColumn(c.Name, c.Type);
        Schema = b.ToSchema();
    }

    public bool CanShuffle => false;
    public DataViewSchema Schema { get; }
    public long? GetRowCount() => _count;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(this);

    /// <summary>
    /// The column the schema resolves <paramref name="name"/> to (the last of that name), or null: lets
    /// columnar readers take the backing array instead of a per-row getter.
    /// </summary>
    internal ArrayColumn? FindColumn(string name) =>
        Schema.GetColumnOrNull(name) is { } c ? _columns[c.Index] : null;

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [new Cursor(this)];

    private sealed class Cursor(ArrayDataView parent) : DataViewRowCursor
    {
        private long _pos = -1;
        private bool _done;

        public override DataViewSchema Schema => parent.Schema;
        public override long Position => _pos;
        public override long Batch => 0;

        public override bool MoveNext()
        {
            if (_done) return false;
            if (_pos + 1 < parent._count) { _pos++; return true; }
            _done = true;
            _pos = -1;
            return false;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId v) => v = new DataViewRowId((ulong)_pos, 0);

        public override bool IsColumnActive(DataViewSchema.Column column) => true;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            var col = parent._columns[column.Index];
            if (col.Getter(() => (int)_pos) is not ValueGetter<TValue> g)
                throw new InvalidOperationException($"Column '{col.Name}' has type {col.Type}; it cannot be read as {typeof(TValue).Name}.");
            return g;
        }
    }
}

/// <summary>A column of an <see cref="ArrayDataView"/>.</summary>
public sealed class ArrayColumn
{
    private ArrayColumn(string name, DataViewType type, Func<Func<int>, Delegate> getter, Array? values = null, bool hourTime = false)
    {
        Name = name; Type = type; Getter = getter; Values = values; IsHourTime = hourTime;
    }

    public string Name { get; }
    public DataViewType Type { get; }
    internal Func<Func<int>, Delegate> Getter { get; }
    /// <summary>The backing array (row i = element i); null for computed columns (<see cref="Text"/>).</summary>
    internal Array? Values { get; }
    /// <summary>True when <see cref="Values"/> holds hour indices shown as DateTime (<see cref="HourTime"/>).</summary>
    internal bool IsHourTime { get; }

    public static ArrayColumn Int32(string name, int[] values) =>
        new(name, NumberDataViewType.Int32, pos => (ValueGetter<int>)((ref int v) => v = values[pos()]), values);

    public static ArrayColumn Single(string name, float[] values) =>
        new(name, NumberDataViewType.Single, pos => (ValueGetter<float>)((ref float v) => v = values[pos()]), values);

    public static ArrayColumn Boolean(string name, bool[] values) =>
        new(name, BooleanDataViewType.Instance, pos => (ValueGetter<bool>)((ref bool v) => v = values[pos()]), values);

    /// <summary>A DateTime column computed from hour indices (<see cref="Data.TianchiTime"/>).</summary>
    public static ArrayColumn HourTime(string name, int[] hours) =>
        new(name, DateTimeDataViewType.Instance, pos => (ValueGetter<DateTime>)((ref DateTime v) => v = Data.TianchiTime.FromHour(hours[pos()])), hours, hourTime: true);

    /// <summary>A text column computed per row.</summary>
    public static ArrayColumn Text(string name, Func<int, string> valueAt) =>
        new(name, TextDataViewType.Instance, pos => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> v) => v = valueAt(pos()).AsMemory()));
}
