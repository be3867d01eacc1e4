using Microsoft.ML;
using Microsoft.ML.Data;

namespace Cvr.MLNet.Data;

/// <summary>
/// An <see cref="IDataView"/> over an <see cref="EventLog"/>'s column arrays, with the columns of
/// <see cref="TianchiEvent"/>: user_id, item_id, behavior_type, item_category as Int32, user_geohash
/// and time (<c>yyyy-MM-dd HH</c>) as Text. Nothing is copied; getters read the arrays directly.
/// </summary>
internal sealed class EventLogDataView : IDataView
{
    internal const int UserCol = 0, ItemCol = 1, BehaviorCol = 2, GeohashCol = 3, CategoryCol = 4, TimeCol = 5;
    internal static readonly string[] ColumnNames = TianchiFiles.EventsHeader.Split(',');

    // Rows are dealt to the cursors of a set in blocks of this many rows (Batch = block index).
    internal const int BlockSize = 1 << 14;

    private readonly int _minHour;
    private readonly ReadOnlyMemory<char>[]? _timeText;

    public EventLogDataView(EventLog log)
    {
        Log = log;
        var b = new DataViewSchema.Builder();
        for (int c = 0; c < ColumnNames.Length; c++)
            b.AddColumn(ColumnNames[c], c is GeohashCol or TimeCol ? TextDataViewType.Instance : NumberDataViewType.Int32);
        Schema = b.ToSchema();

        // The log spans a few weeks: format each distinct hour once instead of once per row.
        if (log.Count > 0)
        {
            var (first, last) = log.HourRange();
            if ((long)last - first < 1 << 20)
            {
                _minHour = first;
                _timeText = new ReadOnlyMemory<char>[last - first + 1];
                for (int h = first; h <= last; h++) _timeText[h - first] = TianchiTime.ToText(h).AsMemory();
            }
        }
    }

    public EventLog Log { get; }
    public bool CanShuffle => false;
    public DataViewSchema Schema { get; }
    public long? GetRowCount() => Log.Count;

    internal ReadOnlyMemory<char> TimeText(int hour) =>
        _timeText is not null ? _timeText[hour - _minHour] : TianchiTime.ToText(hour).AsMemory();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, Active(columnsNeeded), 0, 1);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
    {
        var active = Active(columnsNeeded);
        // More cursors than blocks would leave some empty; cap so each has work.
        int blocks = (int)((Log.Count + (long)BlockSize - 1) / BlockSize);
        n = Math.Clamp(n, 1, Math.Max(1, blocks));
        var set = new DataViewRowCursor[n];
        for (int i = 0; i < n; i++) set[i] = new Cursor(this, active, i, n);
        return set;
    }

    private bool[] Active(IEnumerable<DataViewSchema.Column> columnsNeeded)
    {
        ArgumentNullException.ThrowIfNull(columnsNeeded);
        var active = new bool[ColumnNames.Length];
        foreach (var c in columnsNeeded)
        {
            if ((uint)c.Index >= (uint)active.Length || Schema[c.Index].Name != c.Name)
                throw new ArgumentOutOfRangeException(nameof(columnsNeeded), $"Column '{c.Name}' (index {c.Index}) is not a column of the events view.");
            active[c.Index] = true;
        }
        return active;
    }

    /// <summary>Reads the columns of any view into an <see cref="EventLog"/> (see <see cref="EventLog.FromDataView"/>).</summary>
    internal static EventLog ToEventLog(IDataView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        if (view is EventLogDataView ours) return ours.Log;

        var cols = new DataViewSchema.Column[ColumnNames.Length];
        for (int c = 0; c < cols.Length; c++)
        {
            var name = ColumnNames[c];
            var col = view.Schema.GetColumnOrNull(name)
                ?? throw new ArgumentException($"The IDataView has no column '{name}' (expected columns {TianchiFiles.EventsHeader}).", nameof(view));
            DataViewType expected = c is GeohashCol or TimeCol ? TextDataViewType.Instance : NumberDataViewType.Int32;
            if (!col.Type.Equals(expected))
                throw new ArgumentException($"The IDataView column '{name}' has type {col.Type} but {expected} is expected.", nameof(view));
            cols[c] = col;
        }

        var rows = view.GetRowCount();
        var b = new EventLogBuilder(null, rows is > 0 and <= int.MaxValue ? (int)rows.Value : 1024);
        using var cur = view.GetRowCursor(cols);
        var user = cur.GetGetter<int>(cols[UserCol]);
        var item = cur.GetGetter<int>(cols[ItemCol]);
        var beh = cur.GetGetter<int>(cols[BehaviorCol]);
        var geo = cur.GetGetter<ReadOnlyMemory<char>>(cols[GeohashCol]);
        var cat = cur.GetGetter<int>(cols[CategoryCol]);
        var time = cur.GetGetter<ReadOnlyMemory<char>>(cols[TimeCol]);
        int u = 0, i = 0, bt = 0, ct = 0;
        ReadOnlyMemory<char> g = default, t = default;
        long row = -1;
        while (cur.MoveNext())
        {
            row++;
            user(ref u); item(ref i); beh(ref bt); geo(ref g); cat(ref ct); time(ref t);
            if (u < 0) throw Bad(row, UserCol, u.ToString(), FieldError.Negative);
            if (i < 0) throw Bad(row, ItemCol, i.ToString(), FieldError.Negative);
            if (bt is < 1 or > 4) throw Bad(row, BehaviorCol, bt.ToString(), FieldError.Behavior);
            if (ct < 0) throw Bad(row, CategoryCol, ct.ToString(), FieldError.Negative);
            if (!TianchiParse.TryParseTime(t.Span, out int hour)) throw Bad(row, TimeCol, t.ToString(), FieldError.Time);
            b.AddRaw(u, i, (byte)bt, b.GeohashId(g.Span), ct, hour);
        }
        return b.Build();
    }

    private static TianchiFormatException Bad(long row, int col, string value, FieldError error)
    {
        value = TianchiParse.Clip(value);
        return new TianchiFormatException($"IDataView row {row}, column '{ColumnNames[col]}': {TianchiParse.Describe(error, value)}",
            null, row, ColumnNames[col], value);
    }

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly EventLogDataView _view;
        private readonly EventLog _log;
        private readonly bool[] _active;
        private readonly int _stride, _count;
        private int _row = -1, _blockEnd, _block;
        private long _position = -1;
        private bool _done;

        public Cursor(EventLogDataView view, bool[] active, int first, int stride)
        {
            _view = view;
            _log = view.Log;
            _active = active;
            _stride = stride;
            _count = view.Log.Count;
            _block = first - stride; // the first MoveNext advances to block `first`
        }

        public override long Position => _position;
        // A single cursor is one batch; in a set, each block of rows is its own batch.
        public override long Batch => _stride == 1 || _row < 0 ? 0 : _block;
        public override DataViewSchema Schema => _view.Schema;

        public override bool MoveNext()
        {
            if (_done) return false;
            if (_row >= 0 && _row + 1 < _blockEnd)
            {
                _row++;
            }
            else
            {
                _block += _stride;
                long start = (long)_block * BlockSize;
                if (_stride == 1 && _row < 0) start = 0;
                if (start >= _count)
                {
                    _done = true;
                    _row = -1;
                    return false;
                }
                _row = (int)start;
                // A lone cursor walks the whole log as one range.
                _blockEnd = _stride == 1 ? _count : (int)Math.Min(start + BlockSize, _count);
            }
            _position++;
            return true;
        }

        public override bool IsColumnActive(DataViewSchema.Column column) =>
            (uint)column.Index < (uint)_active.Length && _active[column.Index];

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId value) =>
        {
            Check();
            value = new DataViewRowId((ulong)_row, 0);
        };

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!IsColumnActive(column))
                throw new InvalidOperationException($"Column '{column.Name}' was not requested when the cursor was created.");
            Delegate getter = column.Index switch
            {
                UserCol => IntGetter(_log.UserIds),
                ItemCol => IntGetter(_log.ItemIds),
                CategoryCol => IntGetter(_log.CategoryIds),
                BehaviorCol => (ValueGetter<int>)((ref int v) => { Check(); v = _log.Behaviors[_row]; }),
                GeohashCol => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> v) => { Check(); v = _log.Geohash(_row).AsMemory(); }),
                TimeCol => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> v) => { Check(); v = _view.TimeText(_log.Hours[_row]); }),
                _ => throw new ArgumentOutOfRangeException(nameof(column)),
            };
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException(
                    $"Column '{column.Name}' has type {_view.Schema[column.Index].Type.RawType.Name}, not {typeof(TValue).Name}.");
        }

        private ValueGetter<int> IntGetter(int[] data) => (ref int v) => { Check(); v = data[_row]; };

        private void Check()
        {
            if (_row < 0) throw new InvalidOperationException("The cursor is not on a row (call MoveNext first, and not after it returned false).");
        }
    }
}
