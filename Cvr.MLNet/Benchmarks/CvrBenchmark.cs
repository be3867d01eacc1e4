using System.Diagnostics;
using Cvr.MLNet.Data;
using Cvr.MLNet.Model;
using Cvr.MLNet.Samples;
using Cvr.MLNet.Serving;
using Cvr.MLNet.Training;
using Cvr.MLNet.Training.Optim;
using Cvr.MLNet.Transforms;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Cvr.MLNet.Benchmarks;

/// <summary>
/// Measures the library's hot paths as a host app meets them: training steps (<c>CvrTrainer</c>'s own
/// step), batch inference (<c>CvrModelTransformer.Transform</c>'s batched path), single requests
/// through a <c>PredictionEngine&lt;CvrRequest, CvrPrediction&gt;</c> (feature lookup in the event index +
/// network), and the feature pipeline on an event log. Same model sizes and protocol as the PyTorch
/// reference, so the numbers compare one to one (see <c>docs/performance.md</c>).
/// </summary>
public sealed class CvrBenchmark
{
    private readonly CvrBenchmarkOptions _o;
    private readonly Action<string> _log;

    /// <summary>A benchmark with validated <paramref name="options"/>; progress lines go to <paramref name="log"/>.</summary>
    public CvrBenchmark(CvrBenchmarkOptions options, Action<string>? log = null)
    {
        _o = (options ?? throw new ArgumentNullException(nameof(options))).Check();
        _log = log ?? (_ => { });
    }

    /// <summary>
    /// Runs the selected parts. <paramref name="events"/> is the log for the feature pipeline and the
    /// single-request lookups (required when <see cref="CvrBenchmarkOptions.Features"/> or
    /// <see cref="CvrBenchmarkOptions.Latency"/> is on).
    /// </summary>
    public CvrBenchmarkResult Run(EventLog? events, CancellationToken ct = default)
    {
        bool inferenceMode = CvrTrainingLoop.UseInferenceMode, managed = CvrModelTransformer.UseManagedScorer, batch = ManagedBatchInference.Enabled;
        CvrTrainingLoop.UseInferenceMode = _o.InferenceMode;
        CvrModelTransformer.UseManagedScorer = _o.ManagedScorer;
        ManagedBatchInference.Enabled = _o.ManagedBatch;
        try { return RunParts(events, ct); }
        finally { CvrTrainingLoop.UseInferenceMode = inferenceMode; CvrModelTransformer.UseManagedScorer = managed; ManagedBatchInference.Enabled = batch; }
    }

    private CvrBenchmarkResult RunParts(EventLog? events, CancellationToken ct)
    {
        if ((_o.Features || _o.Latency) && events is null)
            throw new ArgumentNullException(nameof(events), "The feature-pipeline and latency parts need an event log.");
        var environment = new Dictionary<string, string>(ProcessTuning.Applied);
        var result = new CvrBenchmarkResult { Threads = _o.Threads, Environment = environment };
        bool torchReady = false;
        void Torch()
        {
            // As the trainer does (the native bridge, MKL's CPU dispatch before any GEMM), and only before a part that
            // runs libtorch: the feature pipeline is measured before it, as it runs before the trainer in `cvr train`.
            if (torchReady) return;
            Native.TorchRuntime.EnsureReady();
            torch.set_num_threads(_o.Threads);
            result.Threads = torch.get_num_threads();
            torchReady = true;
        }
        double load0 = LoadAverage();

        // The pool is drawn once and shared by training and inference (pre-drawn rows, as the reference).
        int poolN = Math.Max(_o.PoolSize, 4 * Math.Max(_o.TrainBatchSizes.DefaultIfEmpty(1).Max(), _o.InferBatchSizes.DefaultIfEmpty(1).Max()));
        var net0 = _o.Network;
        FeatureTable? pool = _o.Train || _o.Infer
            ? SyntheticSamples.Create(poolN, net0.SequenceLength, net0.UserBuckets, net0.ItemBuckets, net0.CategoryBuckets, _o.Seed) : null;
        var rows = Enumerable.Range(0, poolN).ToArray();

        if (_o.Train || _o.Infer) Torch();
        if (_o.Train)
            foreach (int bs in _o.TrainBatchSizes)
            {
                ct.ThrowIfCancellationRequested();
                result.Train[bs] = TrainThroughput(pool!, rows, bs, out long parameters);
                result.Parameters = parameters;
                _log($"train {bs}: {result.Train[bs].SamplesPerSecond:F0} samples/s, loss {result.Train[bs].LossFirstLast![0]:F4} -> {result.Train[bs].LossFirstLast![1]:F4}");
            }

        if (_o.Infer)
        {
            torch.manual_seed(_o.Seed);
            using var net = new CvrNetwork(net0);
            net.eval();
            result.Parameters = Count(net);
            foreach (int bs in _o.InferBatchSizes)
            {
                ct.ThrowIfCancellationRequested();
                int nb = poolN / bs;
                var slices = Enumerable.Range(0, nb).Select(i => rows.AsSpan(i * bs, bs).ToArray()).ToArray();
                ResetPeak();
                var r = TimedLoop(i => { CvrTrainingLoop.Predict(net, pool!, slices[i % nb], bs, CPU); return null; }, bs, _o.InferSeconds);
                result.Infer[bs] = r;
                _log($"infer {bs}: {r.SamplesPerSecond:F0} samples/s");
            }
        }
        pool = null;

        if (_o.Features || _o.Latency)
        {
            ct.ThrowIfCancellationRequested();
            var ml = new MLContext(_o.Seed);
            var (features, transformer, samples) = FeaturePipeline(ml, events!);
            if (_o.Features)
            {
                result.Features = features;
                _log($"features: {features.EventsPerSecond / 1e6:F2} M events/s ({features.Events:N0} events, {features.Samples:N0} samples, {features.Seconds:F1} s, " +
                     $"{features.ReadPath} read, table {features.TableBytes / 1048576.0:F0} MB, peak {features.PeakRssBytes / 1048576.0:F0} MB)" +
                     (features.WindowRows > 0 ? $"; one training window of {features.WindowRows:N0} rows fills in {features.WindowFillSeconds:F2} s" : ""));
            }
            if (_o.Latency)
            {
                ct.ThrowIfCancellationRequested();
                Torch();
                result.Latency = SingleLatency(ml, transformer, samples);
                _log($"latency: p50 {result.Latency.P50Us:F0} us, p99 {result.Latency.P99Us:F0} us");
                result.FeatureLookup = FeatureLookupLatency(ml, transformer, samples, events!.HourRange().Last);
                _log($"feature lookup (every feature, no model): p50 {result.FeatureLookup.P50Us:F1} us, p99 {result.FeatureLookup.P99Us:F1} us");
            }
        }
        if (_o.Train || _o.Infer) result.Gemm1024Gflops = Gemm(1024, 2.0);
        result.LoadAverage = [load0, LoadAverage()];
        var mkl = Native.MklCpuDispatch.Report;
        environment["mklCpuDispatch"] = mkl is null ? "not run" : $"{(mkl.Applied ? "applied" : "not applied")}: {mkl.Reason}";
        environment["mklCpuType"] = Native.MklCpuDispatch.MklCpuType()?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no MKL";
        return result;
    }

    /// <summary>libtorch sgemm n×n×n throughput in GFLOP/s over about <paramref name="seconds"/> (the machine's practical FLOP limit).</summary>
    public static double Gemm(int n, double seconds)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var a = randn(n, n); var b = randn(n, n);
        for (int i = 0; i < 2; i++) torch.mm(a, b).Dispose();
        var sw = Stopwatch.StartNew();
        int k = 0;
        while (k < 3 || sw.Elapsed.TotalSeconds < seconds) { torch.mm(a, b).Dispose(); k++; }
        return 2.0 * n * n * n * k / sw.Elapsed.TotalSeconds / 1e9;
    }

    private ThroughputResult TrainThroughput(FeatureTable pool, int[] rows, int bs, out long parameters)
    {
        torch.manual_seed(_o.Seed);
        var options = CvrTrainer.WithVocabularySizes(_o.Network, new DataViewSchema.Builder().ToSchema(), inferSizes: false, sparse: _o.SparseIdUpdates);
        using var net = new CvrNetwork(options);
        parameters = Count(net);
        net.train();
        using var adam = new CvrAdam(net.named_parameters(), 1e-3);
        using var step = new CvrTrainStep(net, new CvrLoss(), adam, CPU, _o.GradientClipNorm,
            CvrTrainStep.ChooseWorkers(_o.Workers, torch.get_num_threads(), bs, CPU)) { PhaseSeconds = new double[4] };
        int nb = rows.Length / bs;
        ResetPeak();
        var r = TimedLoop(i => step.Run(pool, rows.AsSpan((i % nb) * bs, bs)), bs, _o.TrainSeconds);
        double total = step.PhaseSeconds.Sum();
        return r with { Workers = step.Workers, PhaseShare = CvrTrainStep.Phases.Select((p, i) => (p, i)).ToDictionary(x => x.p, x => Math.Round(step.PhaseSeconds[x.i] / total, 3)) };
    }

    /// <summary>
    /// Index, samples, fitted feature transforms, and every featurized row read the way the trainer reads them
    /// (<c>FeatureTable.Read</c> on the fitted chain's view: the columnar fast path when it applies). Wall and
    /// process CPU seconds per part; the peak RSS covers the whole pipeline with the finished table alive.
    /// </summary>
    private (FeatureResult Result, ITransformer Features, CvrSampleSet Samples) FeaturePipeline(MLContext ml, EventLog log)
    {
        GC.Collect();
        ResetPeak();
        var parts = new Dictionary<string, double>();
        var cpuParts = new Dictionary<string, double>();
        var proc = Process.GetCurrentProcess();
        var cpu0 = proc.TotalProcessorTime;
        int[] gc0 = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        var pause0 = GC.GetTotalPauseDuration();
        var jit0 = System.Runtime.JitInfo.GetCompilationTime();
        long jitMethods0 = System.Runtime.JitInfo.GetCompiledMethodCount();
        var sw = Stopwatch.StartNew();
        double wallMark = 0;
        var cpuMark = cpu0;
        void Mark(string part)
        {
            proc.Refresh();
            var cpu = proc.TotalProcessorTime;
            parts[part] = sw.Elapsed.TotalSeconds - wallMark;
            cpuParts[part] = (cpu - cpuMark).TotalSeconds;
            wallMark = sw.Elapsed.TotalSeconds;
            cpuMark = cpu;
        }
        var source = new CvrEventSource(log);
        _ = source.History;
        Mark("userIndex");
        var samples = CvrSampleSet.Build(source.History);
        Mark("samples");
        var view = samples.ToDataView();
        var transformer = ml.Transforms.CvrFeatures(source).Fit(view);
        Mark("fit");
        var featurized = transformer.Transform(view);
        bool columnar = ColumnarFeatureReader.TryCreate(featurized, FeatureTable.SequenceLengthOf(featurized.Schema),
            CvrColumns.FavCart, CvrColumns.Buy, CvrColumns.Weight) is not null;
        var table = FeatureTable.Read(featurized, CvrColumns.FavCart, CvrColumns.Buy, CvrColumns.Weight, interactions: Samples.InteractionFeatures.Length);
        Mark("transformAndRead");
        double total = sw.Elapsed.TotalSeconds;
        var result = new FeatureResult(log.Count, table.Count, total, log.Count / total, parts, ProcessTuning.PeakRss())
        {
            CpuSeconds = (cpuMark - cpu0).TotalSeconds,
            PartCpuSeconds = cpuParts,
            ReadPath = columnar ? "columnar" : "cursor",
            TableBytes = table.Bytes,
            FillStepSeconds = new Dictionary<string, double>(table.FillSeconds),
            Collections = [GC.CollectionCount(0) - gc0[0], GC.CollectionCount(1) - gc0[1], GC.CollectionCount(2) - gc0[2]],
            GcPauseSeconds = (GC.GetTotalPauseDuration() - pause0).TotalSeconds,
            JitSeconds = (System.Runtime.JitInfo.GetCompilationTime() - jit0).TotalSeconds,
            JitMethods = System.Runtime.JitInfo.GetCompiledMethodCount() - jitMethods0,
            GcMode = (System.Runtime.GCSettings.IsServerGC ? "server" : "workstation") +
                (AppContext.TryGetSwitch("System.GC.Concurrent", out bool on) && !on ? "" : ", concurrent"),
        };
        GC.KeepAlive(table);
        table = null;
        return (WithWindowFill(result, featurized), transformer, samples);
    }

    /// <summary>
    /// Times the fill of the first training window a windowed epoch reads (the trainer's default window, blocks
    /// shuffled as in training) — after the peak was taken, so the peak stays that of the whole table.
    /// </summary>
    private static FeatureResult WithWindowFill(FeatureResult result, IDataView featurized)
    {
        int window = new CvrTrainerOptions().MaxRowsInMemory;
        if (result.Samples <= window) return result;
        GC.Collect();
        var source = FeatureTable.OpenRows(featurized, CvrColumns.FavCart, CvrColumns.Buy, CvrColumns.Weight, Samples.InteractionFeatures.Length);
        var network = CvrTrainer.WithVocabularySizes(new CvrNetworkOptions(), featurized.Schema);
        var rows = TrainingRows.Windowed(source, source.ReadLabels(), window, network);
        var plan = rows.Plan(Enumerable.Range(0, result.Samples).ToArray(), new Random(1));
        var sw = Stopwatch.StartNew();
        var filled = plan.Read().First().Table.Count;
        return result with { WindowRows = filled, WindowFillSeconds = sw.Elapsed.TotalSeconds };
    }

    private LatencyResult SingleLatency(MLContext ml, ITransformer features, CvrSampleSet samples)
    {
        torch.manual_seed(_o.Seed);
        var view = samples.ToDataView();
        var network = new CvrNetwork(CvrTrainer.WithVocabularySizes(_o.Network, features.GetOutputSchema(view.Schema)));
        network.eval();
        var model = new CvrModelTransformer(ml, network, 0.5f, [], 0);
        var chain = new TransformerChain<ITransformer>(features, model);
        using var engine = ml.Model.CreatePredictionEngine<CvrRequest, CvrPrediction>(chain);
        // Requests: distinct clicks of the log's last days, each scored at its own hour (full histories).
        var requests = Requests(samples, new Random(_o.Seed), (s, _) => samples.Hours[s]);
        return TimeRequests(requests, r => engine.Predict(r).PBuy, "Single-request predictions");
    }

    /// <summary>The features of one request, every column the default chain makes (interaction features included).</summary>
    private sealed class FeatureRow
    {
        [VectorType(InteractionFeatures.Length)] public float[] Interactions { get; set; } = [];
        [VectorType(FeatureTable.CountLength)] public float[] BehaviorCounts { get; set; } = [];
        public int[] SeqItemIndices { get; set; } = [];
        public int[] SeqCategoryIndices { get; set; } = [];
        public float[] SeqHoursAgo { get; set; } = [];
        public int ItemIndex { get; set; }
        public float TimeDelta { get; set; }
    }

    /// <summary>
    /// The feature lookup alone: a <c>PredictionEngine</c> over the fitted feature chain (no model) for requests
    /// in the hours after the log's last event, i.e. from the compact serving state, as a host app's requests are.
    /// </summary>
    private LatencyResult FeatureLookupLatency(MLContext ml, ITransformer features, CvrSampleSet samples, int lastHour)
    {
        using var engine = ml.Model.CreatePredictionEngine<CvrRequest, FeatureRow>(features);
        var requests = Requests(samples, new Random(_o.Seed + 1), (_, rng) => lastHour + 1 + rng.Next(6));
        return TimeRequests(requests, r => { var row = engine.Predict(r); return row.Interactions[0] + row.SeqItemIndices[0]; }, "Feature lookups");
    }

    /// <summary>Warm-up + timed requests: (user, item, category) of distinct clicks among the last 200 k samples, at <paramref name="hour"/>(sample, rng).</summary>
    private CvrRequest[] Requests(CvrSampleSet samples, Random rng, Func<int, Random, int> hour)
    {
        int n = _o.LatencyWarmup + _o.LatencyCalls, from = Math.Max(0, samples.Count - 200_000);
        var requests = new CvrRequest[n];
        for (int i = 0; i < n; i++)
        {
            int s = from + rng.Next(samples.Count - from);
            requests[i] = new CvrRequest { UserId = samples.UserIds[s], ItemId = samples.ItemIds[s], CategoryId = samples.CategoryIds[s], Time = TianchiTime.FromHour(hour(s, rng)) };
        }
        return requests;
    }

    /// <summary>Runs the warm-up requests, then times each of the rest; <paramref name="call"/> returns a value summed as a checksum that must stay finite.</summary>
    private LatencyResult TimeRequests(CvrRequest[] requests, Func<CvrRequest, double> call, string what)
    {
        // Warm-up: the warm-up requests, repeated until the warm-up seconds are over as in the throughput parts, so the
        // timed calls run the JIT's final (tier-1) code; 200 calls alone end before the runtime's tier-up delay, and the
        // background recompilation then lands in the timed window as a tail of slow calls.
        var warm = Stopwatch.StartNew();
        if (_o.LatencyWarmup > 0)
            for (int i = 0; i < _o.LatencyWarmup || warm.Elapsed.TotalSeconds < _o.WarmupSeconds; i++) call(requests[i % _o.LatencyWarmup]);
        GC.Collect();
        ResetPeak();
        var us = new double[_o.LatencyCalls];
        double checksum = 0;
        for (int i = 0; i < us.Length; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            checksum += call(requests[_o.LatencyWarmup + i]);
            us[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
        }
        if (!double.IsFinite(checksum)) throw new InvalidOperationException($"{what} were not finite.");
        var sorted = (double[])us.Clone();
        Array.Sort(sorted);
        return new LatencyResult(us.Length, Pct(sorted, 50), Pct(sorted, 90), Pct(sorted, 99), us.Average(), ProcessTuning.PeakRss());
    }

    /// <summary>Warm-up (≥ 3 steps), then timed steps for the window; step returns the loss or null.</summary>
    private ThroughputResult TimedLoop(Func<int, double?> step, int batch, double seconds)
    {
        var sw = Stopwatch.StartNew();
        int w = 0;
        while (w < 3 || sw.Elapsed.TotalSeconds < _o.WarmupSeconds) step(w++);
        var times = new List<double>();
        var losses = new List<double>();
        var proc = Process.GetCurrentProcess();
        var cpu0 = proc.TotalProcessorTime;
        sw.Restart();
        while (times.Count < 3 || sw.Elapsed.TotalSeconds < seconds)
        {
            long t0 = Stopwatch.GetTimestamp();
            if (step(w + times.Count) is { } l) losses.Add(l);
            times.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
        }
        double wall = sw.Elapsed.TotalSeconds;
        proc.Refresh();
        double cpu = (proc.TotalProcessorTime - cpu0).TotalSeconds / wall;
        var sorted = times.ToArray();
        Array.Sort(sorted);
        double[]? lossFirstLast = null;
        if (losses.Count > 0)
        {
            int k = Math.Max(1, Math.Min(10, losses.Count / 4));
            lossFirstLast = [losses.Take(k).Average(), losses.TakeLast(k).Average()];
        }
        return new ThroughputResult(batch * times.Count / wall, batch / Pct(sorted, 50), times.Count, wall,
            Pct(sorted, 50) * 1e3, cpu, ProcessTuning.PeakRss(), lossFirstLast);
    }

    private static double Pct(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Round(p / 100 * (sorted.Length - 1)))];

    private static long Count(CvrNetwork net) => net.parameters().Sum(p => p.numel());

    private static void ResetPeak() => ProcessTuning.ResetPeakRss();

    private static double LoadAverage()
    {
        try { return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { return double.NaN; }
    }
}
