namespace Cvr.MLNet.Benchmarks;

/// <summary>Throughput of one batch size: timed steps after warm-up.</summary>
/// <param name="SamplesPerSecond">Samples over the timed wall time.</param>
/// <param name="MedianStepSamplesPerSecond">Batch size over the median step time (robust to load spikes).</param>
/// <param name="Steps">Timed steps.</param>
/// <param name="Seconds">Timed wall seconds.</param>
/// <param name="StepMsP50">Median step in milliseconds.</param>
/// <param name="CpuUtilization">Process CPU seconds per wall second over the timed window (2 = both cores busy).</param>
/// <param name="PeakRssBytes">Peak resident memory of this phase (the process peak where it cannot be reset).</param>
/// <param name="LossFirstLast">Training only: mean loss of the first and last few steps (it must fall).</param>
public sealed record ThroughputResult(double SamplesPerSecond, double MedianStepSamplesPerSecond, int Steps, double Seconds,
    double StepMsP50, double CpuUtilization, long PeakRssBytes, double[]? LossFirstLast = null)
{
    /// <summary>Training only: share of the step time per phase (batch tensors, forward, backward, optimizer), over warm-up and timed steps.</summary>
    public IReadOnlyDictionary<string, double>? PhaseShare { get; init; }
    /// <summary>Training only: data-parallel workers of the step (1 = the plain step on the calling thread).</summary>
    public int Workers { get; init; } = 1;
}

/// <summary>Single-request latency through a <c>PredictionEngine</c> (feature lookup + model).</summary>
public sealed record LatencyResult(int Calls, double P50Us, double P90Us, double P99Us, double MeanUs, long PeakRssBytes);

/// <summary>Feature-pipeline throughput on an event log: index, samples, fitted transforms, every feature row read.</summary>
/// <param name="Events">Rows of the log.</param>
/// <param name="Samples">Click samples featurized.</param>
/// <param name="Seconds">Total wall seconds.</param>
/// <param name="EventsPerSecond">Events over total seconds.</param>
/// <param name="PartSeconds">Seconds per part (user index, samples, fit, transform + read).</param>
/// <param name="PeakRssBytes">Peak resident memory of this phase.</param>
public sealed record FeatureResult(long Events, int Samples, double Seconds, double EventsPerSecond,
    IReadOnlyDictionary<string, double> PartSeconds, long PeakRssBytes)
{
    /// <summary>Process CPU seconds of the phase: events per CPU second is robust to other load on the machine.</summary>
    public double CpuSeconds { get; init; }
    /// <summary>Process CPU seconds of each part (same keys as <see cref="PartSeconds"/>).</summary>
    public IReadOnlyDictionary<string, double> PartCpuSeconds { get; init; } = new Dictionary<string, double>();
    /// <summary>How <c>FeatureTable.Read</c> read the features: "columnar" (the parallel fast path) or "cursor".</summary>
    public string ReadPath { get; init; } = "";
    /// <summary>Bytes held by the feature table the trainer trains from.</summary>
    public long TableBytes { get; init; }
    /// <summary>Rows of one training window (<c>CvrTrainerOptions.MaxRowsInMemory</c>'s default; 0 when every row fits).</summary>
    public int WindowRows { get; init; }
    /// <summary>Wall seconds to fill one training window of shuffled blocks (what training in windows adds per window).</summary>
    public double WindowFillSeconds { get; init; }
    /// <summary>Wall seconds of the steps of the table's fill inside "transformAndRead" (bulk interactions, bulk history, row loop).</summary>
    public IReadOnlyDictionary<string, double> FillStepSeconds { get; init; } = new Dictionary<string, double>();
    /// <summary>Garbage collections of each generation (0, 1, 2) during the pipeline.</summary>
    public int[] Collections { get; init; } = [0, 0, 0];
    /// <summary>Seconds the runtime paused threads for garbage collection during the pipeline.</summary>
    public double GcPauseSeconds { get; init; }
    /// <summary>Seconds the JIT compiled during the pipeline (all threads), and the methods it compiled.</summary>
    public double JitSeconds { get; init; }
    /// <summary>Methods compiled (or recompiled at a higher tier) during the pipeline.</summary>
    public long JitMethods { get; init; }
    /// <summary>The collector the process runs ("server" or "workstation", "concurrent" when background GC is on).</summary>
    public string GcMode { get; init; } = "";
}

/// <summary>Everything one <see cref="CvrBenchmark"/> run measured.</summary>
public sealed class CvrBenchmarkResult
{
    /// <summary>Training samples/s keyed by batch size.</summary>
    public SortedDictionary<int, ThroughputResult> Train { get; } = [];
    /// <summary>Batch inference samples/s keyed by batch size.</summary>
    public SortedDictionary<int, ThroughputResult> Infer { get; } = [];
    /// <summary>Single-request latency (null when not run).</summary>
    public LatencyResult? Latency { get; set; }
    /// <summary>The feature lookup of a single request alone (every feature, no model; null when not run).</summary>
    public LatencyResult? FeatureLookup { get; set; }
    /// <summary>Feature pipeline throughput (null when not run).</summary>
    public FeatureResult? Features { get; set; }
    /// <summary>Parameters of the benchmarked network.</summary>
    public long Parameters { get; set; }
    /// <summary>libtorch intra-op threads in use.</summary>
    public int Threads { get; set; }
    /// <summary>Process settings in effect (malloc, OpenMP), for the report.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; set; } = new Dictionary<string, string>();
    /// <summary>libtorch sgemm 1024³ GFLOP/s with the benchmark's threads (the practical FLOP ceiling).</summary>
    public double Gemm1024Gflops { get; set; }
    /// <summary>1-minute load average at start and end (other work on the machine skews the numbers).</summary>
    public double[] LoadAverage { get; set; } = [];
}
