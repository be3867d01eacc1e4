namespace Cvr.MLNet.Data;

/// <summary>
/// A behavior log held column by column (one array per field, ~21 bytes per event), the in-memory
/// form every part of the library reads: the loader and the generator produce it, the sample
/// builder and the feature transforms consume it. Rows keep the file's order; nothing here
/// assumes the log is sorted.
/// </summary>
public sealed class EventLog
{
    private readonly string[] _geohashes;

    internal EventLog(int count, int[] users, int[] items, int[] categories, byte[] behaviors, int[] hours,
        int[] geohashIndex, string[] geohashes, string? source)
    {
        Count = count;
        UserIds = users;
        ItemIds = items;
        CategoryIds = categories;
        Behaviors = behaviors;
        Hours = hours;
        GeohashIndex = geohashIndex;
        _geohashes = geohashes;
        Source = source;
    }

    /// <summary>Number of events (rows).</summary>
    public int Count { get; }
    /// <summary>Where the log came from (a file path), for messages; null when built in memory.</summary>
    public string? Source { get; }

    /// <summary>What the read skipped (bad rows, empty lines); null when the log was not read from a file.</summary>
    public TianchiReadDiagnostics? Diagnostics { get; internal set; }

    /// <summary>The log as an ML.NET <see cref="Microsoft.ML.IDataView"/> with the columns of <see cref="TianchiEvent"/>
    /// (no copy: cursors read the column arrays).</summary>
    public Microsoft.ML.IDataView ToDataView() => new EventLogDataView(this);

    /// <summary>
    /// The log behind <paramref name="view"/>: the original log when the view came from <see cref="ToDataView"/>,
    /// otherwise a copy read from the columns named as in <see cref="TianchiEvent"/> (user_id, item_id,
    /// behavior_type, item_category: Int32; user_geohash, time: Text).
    /// </summary>
    /// <exception cref="ArgumentException">A column is missing or has the wrong type.</exception>
    /// <exception cref="TianchiFormatException">A value is invalid (the message names row, column and value).</exception>
    public static EventLog FromDataView(Microsoft.ML.IDataView view) => EventLogDataView.ToEventLog(view);

    // Column arrays; only the first Count entries are valid (they may be longer).
    internal int[] UserIds { get; }
    internal int[] ItemIds { get; }
    internal int[] CategoryIds { get; }
    internal byte[] Behaviors { get; }
    /// <summary>Hour index (<see cref="TianchiTime"/>) of each event.</summary>
    internal int[] Hours { get; }
    /// <summary>Index into the geohash table; 0 = empty.</summary>
    internal int[] GeohashIndex { get; }

    public ReadOnlySpan<int> UserIdSpan => UserIds.AsSpan(0, Count);
    public ReadOnlySpan<int> ItemIdSpan => ItemIds.AsSpan(0, Count);
    public ReadOnlySpan<int> CategoryIdSpan => CategoryIds.AsSpan(0, Count);
    public ReadOnlySpan<byte> BehaviorSpan => Behaviors.AsSpan(0, Count);
    public ReadOnlySpan<int> HourSpan => Hours.AsSpan(0, Count);

    /// <summary>The geohash of row <paramref name="row"/> ("" when empty).</summary>
    public string Geohash(int row) => _geohashes[GeohashIndex[row]];

    /// <summary>Number of distinct non-empty geohash strings (+1 for empty).</summary>
    public int GeohashTableSize => _geohashes.Length;

    /// <summary>Row <paramref name="row"/> as a typed event (for display and tests, not hot paths).</summary>
    public TianchiEvent this[int row]
    {
        get
        {
            if ((uint)row >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(row));
            return new TianchiEvent
            {
                UserId = UserIds[row], ItemId = ItemIds[row], BehaviorType = Behaviors[row],
                UserGeohash = Geohash(row), ItemCategory = CategoryIds[row], Time = TianchiTime.ToText(Hours[row]),
            };
        }
    }

    /// <summary>First and last hour index in the log; throws on an empty log.</summary>
    public (int First, int Last) HourRange()
    {
        if (Count == 0) throw new InvalidOperationException($"The event log{(Source is null ? "" : $" '{Source}'")} is empty.");
        // The log never changes: scanned once (12 M rows), then remembered (the index, the samples and the time
        // features each ask). A race computes it twice; the packed long is written whole.
        long packed = Volatile.Read(ref _hourRange);
        if (packed == long.MinValue)
        {
            int min = int.MaxValue, max = int.MinValue;
            foreach (var h in HourSpan) { if (h < min) min = h; if (h > max) max = h; }
            Volatile.Write(ref _hourRange, packed = ((long)min << 32) | (uint)max);
        }
        return ((int)(packed >> 32), (int)packed);
    }

    private long _hourRange = long.MinValue; // (first << 32) | (uint)last once scanned

    /// <summary>A log holding the rows for which <paramref name="keep"/> is true, in order.</summary>
    public EventLog Where(Func<int, bool> keep)
    {
        var b = new EventLogBuilder(Source);
        for (int r = 0; r < Count; r++)
            if (keep(r)) b.Add(UserIds[r], ItemIds[r], (BehaviorType)Behaviors[r], Geohash(r), CategoryIds[r], Hours[r]);
        return b.Build();
    }

    /// <summary>Events strictly before <paramref name="hour"/> (for train/test splits by time).</summary>
    public EventLog Before(int hour) => Where(r => Hours[r] < hour);
}

/// <summary>Appends events column by column and builds an <see cref="EventLog"/>.</summary>
public sealed class EventLogBuilder
{
    private int[] _users, _items, _cats, _hours, _geo;
    private byte[] _beh;
    private readonly Dictionary<string, int> _geoIndex = new(StringComparer.Ordinal) { [""] = 0 };
    private readonly List<string> _geoValues = [""];
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _geoLookup;
    private readonly string? _source;

    public EventLogBuilder(string? source = null, int capacity = 1024)
    {
        _source = source;
        _geoLookup = _geoIndex.GetAlternateLookup<ReadOnlySpan<char>>();
        capacity = Math.Max(capacity, 16);
        _users = new int[capacity]; _items = new int[capacity]; _cats = new int[capacity];
        _hours = new int[capacity]; _geo = new int[capacity]; _beh = new byte[capacity];
    }

    public int Count { get; private set; }

    /// <summary>Adds one event; the behavior must be 1..4.</summary>
    public void Add(int userId, int itemId, BehaviorType behavior, string? geohash, int categoryId, int hour)
    {
        if (behavior is < BehaviorType.Click or > BehaviorType.Buy)
            throw new ArgumentOutOfRangeException(nameof(behavior), behavior, "behavior_type must be 1..4.");
        if (Count == _users.Length) Grow();
        int i = Count++;
        _users[i] = userId; _items[i] = itemId; _cats[i] = categoryId; _beh[i] = (byte)behavior; _hours[i] = hour;
        _geo[i] = GeohashId(geohash ?? "");
    }

    /// <summary>Adds one event with the time given as <c>yyyy-MM-dd HH</c>.</summary>
    public void Add(int userId, int itemId, BehaviorType behavior, string? geohash, int categoryId, string time) =>
        Add(userId, itemId, behavior, geohash, categoryId, TianchiTime.Parse(time));

    /// <summary>Appends a pre-validated row (behavior 1..4, geohash id from <see cref="GeohashId(string)"/>).</summary>
    internal void AddRaw(int userId, int itemId, byte behavior, int geohashId, int categoryId, int hour)
    {
        if (Count == _users.Length) Grow();
        int i = Count++;
        _users[i] = userId; _items[i] = itemId; _cats[i] = categoryId; _beh[i] = behavior; _hours[i] = hour; _geo[i] = geohashId;
    }

    /// <summary>Interns a geohash given as characters without allocating when it is already known.</summary>
    internal int GeohashId(ReadOnlySpan<char> geohash)
    {
        if (geohash.IsEmpty) return 0;
        if (_geoLookup.TryGetValue(geohash, out var id)) return id;
        return GeohashId(geohash.ToString());
    }

    /// <summary>Interns a geohash string and returns its index (0 = empty).</summary>
    public int GeohashId(string geohash)
    {
        if (geohash.Length == 0) return 0;
        if (!_geoIndex.TryGetValue(geohash, out var id))
        {
            id = _geoValues.Count;
            _geoIndex.Add(geohash, id);
            _geoValues.Add(geohash);
        }
        return id;
    }

    private void Grow()
    {
        // Double, but never past the largest array length (a 10x file holds ~120 M rows).
        int n = (int)Math.Min((long)_users.Length * 2, Array.MaxLength);
        if (n == _users.Length) throw new InvalidOperationException($"The event log{(_source is null ? "" : $" '{_source}'")} cannot hold more than {n} rows.");
        Array.Resize(ref _users, n); Array.Resize(ref _items, n); Array.Resize(ref _cats, n);
        Array.Resize(ref _hours, n); Array.Resize(ref _geo, n); Array.Resize(ref _beh, n);
    }

    /// <summary>The built log (the builder must not be used afterwards).</summary>
    public EventLog Build() =>
        new(Count, _users, _items, _cats, _beh, _hours, _geo, _geoValues.ToArray(), _source);
}
