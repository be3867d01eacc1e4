using Cvr.MLNet.Model;
using static TorchSharp.torch;

namespace Cvr.MLNet.Training;

/// <summary>
/// The samples a training run reads: one <see cref="FeatureTable"/> held whole, or — when there are more rows than
/// <see cref="CvrTrainerOptions.MaxRowsInMemory"/> — windows of at most that many rows, filled from the feature
/// pipeline when their turn comes and dropped after, so the trainer's memory stays flat however long the log is.
/// </summary>
/// <remarks>
/// Shuffling in windows: each epoch the training rows are cut into blocks (a 64th of a window each) of consecutive
/// rows; the blocks are shuffled, a window takes the next blocks (read in row order), and its rows are shuffled
/// within it. A batch thus mixes about 64 time slices of the data instead of all of them — the shuffle buffer
/// of tf.data and torchdata. With one window (everything fits) the order is exactly the whole-table order, so
/// both forms train identically. Every row is still seen once per epoch.
/// </remarks>
internal sealed class TrainingRows
{
    private readonly FeatureTable? _whole;
    private readonly IFeatureRowSource? _source;
    private readonly CvrNetworkOptions? _network;
    private readonly CancellationToken _ct;

    private TrainingRows(RowLabels labels, FeatureTable? whole, IFeatureRowSource? source, int windowRows, CvrNetworkOptions? network, CancellationToken ct)
    {
        Labels = labels; _whole = whole; _source = source; WindowRows = windowRows; _network = network; _ct = ct;
        if (whole is not null) (PeakRowsHeld, PeakBytesHeld) = (whole.Count, whole.Bytes);
    }

    /// <summary>A table held whole (what a small data set and the benchmarks use).</summary>
    public static TrainingRows Whole(FeatureTable table) => new(RowLabels.Of(table), table, null, table.Count, null, default);

    /// <summary>
    /// Windows of at most <paramref name="windowRows"/> rows filled from <paramref name="source"/>; each window's
    /// indices are checked against <paramref name="network"/>'s table sizes when it is filled.
    /// </summary>
    public static TrainingRows Windowed(IFeatureRowSource source, RowLabels labels, int windowRows, CvrNetworkOptions network, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(windowRows);
        return new(labels, null, source, windowRows, network, ct);
    }

    /// <summary>Timestamp, labels and weight of every row.</summary>
    public RowLabels Labels { get; }

    public int Count => Labels.Count;

    /// <summary>True when the rows are read in windows rather than held whole.</summary>
    public bool IsWindowed => _whole is null;

    /// <summary>Most rows held at once.</summary>
    public int WindowRows { get; }

    /// <summary>Rows per shuffled block of a windowed epoch.</summary>
    public int BlockRows => Math.Max(1, WindowRows / 64);

    /// <summary>Most feature-table rows held at once so far (the memory the trainer's features took).</summary>
    public int PeakRowsHeld { get; private set; }

    /// <summary>Feature-table bytes of the largest table held so far.</summary>
    public long PeakBytesHeld { get; private set; }

    /// <summary>Windows filled so far, and the wall time their fills took (the price of holding a window, not all rows).</summary>
    public (int Count, TimeSpan Elapsed) Fills => (_fills, _fillTime.Elapsed);

    private int _fills;
    private readonly System.Diagnostics.Stopwatch _fillTime = new();

    /// <summary>
    /// One epoch's order: the windows (source rows ascending) and, per window, the order of its rows. Draws from
    /// <paramref name="random"/> exactly as a whole table's shuffle when there is one window.
    /// </summary>
    public EpochPlan Plan(int[] trainRows, Random random)
    {
        if (_whole is not null)
        {
            var rows = (int[])trainRows.Clone();
            random.Shuffle(rows);
            return new EpochPlan(this, [trainRows], random, [rows]);
        }
        int block = BlockRows, blocks = (trainRows.Length + block - 1) / block, perWindow = Math.Max(1, WindowRows / block);
        var order = Enumerable.Range(0, blocks).ToArray();
        int windows = (blocks + perWindow - 1) / perWindow;
        if (windows > 1) random.Shuffle(order);
        var plan = new int[windows][];
        for (int w = 0; w < windows; w++)
        {
            var ids = order.AsSpan(w * perWindow, Math.Min(perWindow, blocks - w * perWindow)).ToArray();
            Array.Sort(ids);
            var rows = new List<int>(perWindow * block);
            foreach (int id in ids) rows.AddRange(trainRows.AsSpan(id * block, Math.Min(block, trainRows.Length - id * block)));
            plan[w] = [.. rows];
        }
        return new EpochPlan(this, plan, random, null);
    }

    /// <summary>One epoch: windows of source rows and the training order inside each.</summary>
    public sealed class EpochPlan
    {
        private readonly TrainingRows _rows;
        private readonly int[][] _windows;
        private readonly Random _random;
        private readonly int[][]? _orders;

        internal EpochPlan(TrainingRows rows, int[][] windows, Random random, int[][]? orders)
        {
            _rows = rows; _windows = windows; _random = random; _orders = orders;
        }

        /// <summary>Source rows of each window, ascending.</summary>
        public IReadOnlyList<int[]> Windows => _windows;

        /// <summary>Batches of <paramref name="batchSize"/> in the epoch (a window's last batch may be short).</summary>
        public int Batches(int batchSize) => _windows.Sum(w => (w.Length + batchSize - 1) / batchSize);

        /// <summary>Each window's table and its rows (table rows) in training order, one window held at a time.</summary>
        public IEnumerable<(FeatureTable Table, int[] Order)> Read()
        {
            if (_orders is not null) { yield return (_rows._whole!, _orders[0]); yield break; }
            for (int w = 0; w < _windows.Length; w++)
            {
                var table = _rows.FillWindow(_windows[w]);
                var order = Enumerable.Range(0, table.Count).ToArray();
                _random.Shuffle(order);
                yield return (table, order);
            }
        }
    }

    /// <summary>Predictions of <paramref name="rows"/> (ascending), window by window when windowed.</summary>
    public (float[] PFavCart, float[] PBuy) Predict(CvrNetwork net, int[] rows, int batchSize, Device device)
    {
        if (_whole is not null) return CvrTrainingLoop.Predict(net, _whole, rows, batchSize, device);
        var pFav = new float[rows.Length]; var pBuy = new float[rows.Length];
        for (int s = 0; s < rows.Length; s += WindowRows)
        {
            int n = Math.Min(WindowRows, rows.Length - s);
            var table = FillWindow(rows[s..(s + n)]);
            var (f, b) = CvrTrainingLoop.Predict(net, table, Enumerable.Range(0, n).ToArray(), batchSize, device);
            f.CopyTo(pFav, s); b.CopyTo(pBuy, s);
        }
        return (pFav, pBuy);
    }

    /// <summary>
    /// A window of <paramref name="rows"/> from <paramref name="source"/>. The caller's previous window is garbage by
    /// now: a large window collects it first, so two windows are never resident together.
    /// </summary>
    internal static FeatureTable FillWindow(IFeatureRowSource source, int[] rows, int t, int interactions, CancellationToken ct = default)
    {
        FeatureTable.CollectBeforeFilling(rows.Length, t, interactions);
        return source.Fill(rows, ct);
    }

    private FeatureTable FillWindow(int[] rows)
    {
        _fillTime.Start();
        var table = FillWindow(_source!, rows, _network!.SequenceLength, _network.InteractionFeatures, _ct);
        table.CheckRanges(_network);
        _fillTime.Stop();
        _fills++;
        PeakRowsHeld = Math.Max(PeakRowsHeld, table.Count);
        PeakBytesHeld = Math.Max(PeakBytesHeld, table.Bytes);
        return table;
    }
}
