using System.Diagnostics;
using Cvr.MLNet.Model;
using Cvr.MLNet.Training.Optim;
using TorchSharp;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace Cvr.MLNet.Training;

/// <summary>
/// One optimizer step on a mini-batch of <see cref="FeatureTable"/> rows: batch tensors, forward,
/// loss, backward, <see cref="CvrAdam"/> update. The training loop and <c>cvr bench</c> both run this,
/// so the benchmark measures exactly what training does.
/// <para>
/// With <c>workers</c> = 2 a batch of at least <see cref="MinDataParallelRows"/> rows is split in two
/// halves, each run (forward, loss, <c>autograd.grad</c>) on its own <see cref="DataParallelWorkers"/>
/// thread with one libtorch thread; <see cref="CvrAdam"/> then steps on the sum of the two halves'
/// gradients, taken in a fixed order (dense: g_a + g_b, summed as the fused update reads them; sparse
/// id-table gradients: a's entries, then b's). Each half's loss is scaled by its share of the rows, so the combined loss and gradient are
/// the full batch's mean up to float rounding, and the result does not depend on thread timing.
/// </para>
/// </summary>
internal sealed class CvrTrainStep : IDisposable
{
    /// <summary>Smallest batch that is split across the workers (smaller ones, e.g. an epoch's last, run on the caller).</summary>
    public const int MinDataParallelRows = 2;

    /// <summary>
    /// Smallest batch for which <see cref="ChooseWorkers"/> picks 2 workers when asked to choose: halves of 32 rows.
    /// Measured on an idle 2-core machine: +7–35 % at batch 128, even at 1024–4096 (docs/performance.md, session 3).
    /// </summary>
    public const int AutoDataParallelMinBatch = 64;

    /// <summary>
    /// Workers for a training run: <paramref name="requested"/> 1 or 2 as given (1 on a non-CPU device); 0 = 2 when
    /// libtorch has at least 2 intra-op threads (<paramref name="threads"/>) on the CPU and the batch has at least
    /// <see cref="AutoDataParallelMinBatch"/> rows, else 1.
    /// </summary>
    public static int ChooseWorkers(int requested, int threads, int batchSize, Device device)
    {
        if (device.type != DeviceType.CPU) return 1;
        if (requested > 0) return requested;
        return threads >= 2 && batchSize >= AutoDataParallelMinBatch ? 2 : 1;
    }

    private readonly CvrNetwork _net;
    private readonly CvrLoss _loss;
    private readonly CvrAdam _adam;
    private readonly Device _device;
    private readonly double _clipNorm;
    private readonly DataParallelWorkers? _workers;
    private readonly int _adamParamCount;
    private readonly int[] _trained;             // indices among the optimizer's parameters of those that require a gradient
    private readonly Tensor[] _trainedParams;    // those parameters, in that order (what autograd.grad differentiates)

    /// <summary>A step; <paramref name="workers"/> = 2 runs each batch as two data-parallel halves (1 = on the calling thread).</summary>
    public CvrTrainStep(CvrNetwork net, CvrLoss loss, CvrAdam adam, Device device, double clipNorm, int workers = 1)
    {
        if (workers is < 1 or > 2) throw new ArgumentOutOfRangeException(nameof(workers), workers, "workers must be 1 or 2.");
        (_net, _loss, _adam, _device, _clipNorm) = (net, loss, adam, device, clipNorm);
        var adamParams = adam.Parameters;
        _adamParamCount = adamParams.Count;
        _trained = Enumerable.Range(0, adamParams.Count).Where(i => adamParams[i].requires_grad).ToArray();
        _trainedParams = _trained.Select(i => (Tensor)adamParams[i]).ToArray();
        if (workers > 1)
        {
            // Workers run libtorch CPU kernels on their own thread; other devices keep the plain path.
            if (device.type != DeviceType.CPU) throw new ArgumentException($"Data-parallel steps need the CPU device, got {device}.", nameof(device));
            _workers = new DataParallelWorkers(workers);
        }
    }

    /// <summary>Workers of the data-parallel path (1 = every step on the calling thread).</summary>
    public int Workers => _workers?.Count ?? 1;

    /// <summary>libtorch's intra-op thread count on each worker thread (empty without workers); tests pin it to 1.</summary>
    internal int[] WorkerThreadCounts => _workers?.WorkerThreadCounts ?? [];

    /// <summary>Runs the step (ids optionally dropped to OOV buckets) and returns the batch loss before the update. Tensors are freed on return.</summary>
    public double Run(FeatureTable table, ReadOnlySpan<int> rows, OovDropout? dropout = null) =>
        _workers is not null && rows.Length >= MinDataParallelRows ? RunDataParallel(table, rows, dropout) : RunPlain(table, rows, dropout);

    private double RunPlain(FeatureTable table, ReadOnlySpan<int> rows, OovDropout? dropout)
    {
        long t0 = Stopwatch.GetTimestamp();
        using var scope = NewDisposeScope();
        using var batch = table.MakeBatch(rows, _device, dropout);
        var (fav, buy, w) = Labels(table, rows, _device);
        long t1 = Stopwatch.GetTimestamp();
        var output = _net.forward(batch);
        var l = _loss.Compute(output, fav, buy, w);
        double lv = l.item<float>();
        long t2 = Stopwatch.GetTimestamp();
        if (!double.IsFinite(lv)) return lv; // the caller reports divergence; no update from a broken loss
        _net.zero_grad();
        l.backward();
        long t3 = Stopwatch.GetTimestamp();
        _adam.StepOnce(_clipNorm);
        AddPhases(t0, t1, t2, t3, Stopwatch.GetTimestamp());
        return lv;
    }

    private double RunDataParallel(FeatureTable table, ReadOnlySpan<int> rows, OovDropout? dropout)
    {
        long t0 = Stopwatch.GetTimestamp();
        using var scope = NewDisposeScope();
        int n = rows.Length, na = (n + 1) / 2;
        // Batches are built here, half a then half b: the OOV dropout draws the same numbers in the same
        // row order as for the whole batch, and nothing random runs on the workers.
        var half = new (CvrBatch Batch, Tensor Fav, Tensor Buy, Tensor W, double Share)[2];
        for (int h = 0; h < 2; h++)
        {
            var part = h == 0 ? rows[..na] : rows[na..];
            var (fav, buy, w) = Labels(table, part, _device);
            half[h] = (table.MakeBatch(part, _device, dropout), fav, buy, w, part.Length / (double)n);
        }
        var losses = new double[2];
        // grads[h][i]: half h's gradient of the optimizer's parameter i (null: none).
        var grads = new[] { new Tensor?[_adamParamCount], new Tensor?[_adamParamCount] };
        var forwardEnd = new long[2];
        long t1 = Stopwatch.GetTimestamp();
        try
        {
            _workers!.Run(h =>
            {
                // DisposeScope is per thread: this one frees the half's graph and activations.
                using var ws = NewDisposeScope();
                var (batch, fav, buy, w, share) = half[h];
                // Σ_{i∈h} s_i·l_i / n: the two halves add up to the batch mean (CvrLoss divides by the rows it sees).
                var l = _loss.Compute(_net.forward(batch), fav, buy, w) * share;
                losses[h] = l.item<float>();
                forwardEnd[h] = Stopwatch.GetTimestamp();
                if (!double.IsFinite(losses[h])) return;
                // autograd.grad, not backward(): nothing accumulates into the shared .grad concurrently.
                var g = torch.autograd.grad([l], _trainedParams, allow_unused: true);
                for (int j = 0; j < _trained.Length; j++) grads[h][_trained[j]] = g[j].IsInvalid ? null : g[j].DetachFromDisposeScope();
            });
            double lv = losses[0] + losses[1];
            long t2 = Math.Max(forwardEnd[0], forwardEnd[1]);
            if (!double.IsFinite(lv)) return lv; // the caller reports divergence; no update from a broken loss
            if (WriteGradients) _adam.SetGradients(grads);
            long t3 = Stopwatch.GetTimestamp();
            // The optimizer sums the halves as it reads them (dense: g_a + g_b; sparse: a's entries, then b's).
            _adam.StepOnce(_clipNorm, grads);
            AddPhases(t0, t1, t2, t3, Stopwatch.GetTimestamp());
            return lv;
        }
        finally
        {
            foreach (var g in grads)
                foreach (var t in g) t?.Dispose();
            foreach (var h in half) h.Batch.Dispose();
        }
    }

    /// <summary>
    /// When set, the data-parallel path also writes each parameter's summed gradient into its <c>.grad</c>, as the
    /// plain path leaves it (for inspection; the fused optimizer reads the halves directly and does not need it).
    /// </summary>
    internal bool WriteGradients { get; set; }

    private void AddPhases(long t0, long t1, long t2, long t3, long t4)
    {
        if (PhaseSeconds is not { } p) return;
        p[0] += Stopwatch.GetElapsedTime(t0, t1).TotalSeconds; p[1] += Stopwatch.GetElapsedTime(t1, t2).TotalSeconds;
        p[2] += Stopwatch.GetElapsedTime(t2, t3).TotalSeconds; p[3] += Stopwatch.GetElapsedTime(t3, t4).TotalSeconds;
    }

    /// <summary>Phase names of <see cref="PhaseSeconds"/>.</summary>
    public static readonly string[] Phases = ["batch", "forward", "backward", "optimizer"];

    /// <summary>
    /// When set (length 4), each step adds its seconds per phase (batch tensors, forward + loss, backward, optimizer).
    /// On the data-parallel path forward ends when the slower worker's loss is ready, and the optimizer includes summing the halves' gradients.
    /// </summary>
    public double[]? PhaseSeconds { get; set; }

    /// <summary>fav/cart, buy and weight tensors [B] of <paramref name="rows"/>.</summary>
    public static (Tensor Fav, Tensor Buy, Tensor Weight) Labels(FeatureTable t, ReadOnlySpan<int> rows, Device device)
    {
        var fav = new float[rows.Length]; var buy = new float[rows.Length]; var w = new float[rows.Length];
        for (int i = 0; i < rows.Length; i++) { int r = rows[i]; fav[i] = t.FavCart[r] ? 1 : 0; buy[i] = t.Buy[r] ? 1 : 0; w[i] = t.Weight[r]; }
        return (tensor(fav, device: device), tensor(buy, device: device), tensor(w, device: device));
    }

    public void Dispose() => _workers?.Dispose();
}
