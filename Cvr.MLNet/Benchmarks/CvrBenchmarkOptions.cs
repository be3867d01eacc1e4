using Cvr.MLNet.Model;

namespace Cvr.MLNet.Benchmarks;

/// <summary>
/// What <see cref="CvrBenchmark"/> measures and for how long. The defaults follow the PyTorch
/// reference's protocol (<c>cvr_torch.py bench</c>) with shorter timed windows: warm-up, then timed
/// training steps per batch size over a pre-drawn 32,768-sample pool (each step the next slice),
/// timed inference per batch size, 2,000 single requests after at least 200 warm-up calls and the warm-up seconds.
/// </summary>
public sealed class CvrBenchmarkOptions
{
    /// <summary>Timed seconds per training batch size. Default 10 (the reference's full protocol uses 30).</summary>
    public double TrainSeconds { get; set; } = 10;
    /// <summary>Timed seconds per inference batch size. Default 5.</summary>
    public double InferSeconds { get; set; } = 5;
    /// <summary>Warm-up seconds before each timed window (at least 3 steps are always run). Default 3.</summary>
    public double WarmupSeconds { get; set; } = 3;
    /// <summary>Training batch sizes. Default 128, 1024, 4096.</summary>
    public int[] TrainBatchSizes { get; set; } = [128, 1024, 4096];
    /// <summary>Inference batch sizes. Default 256, 4096.</summary>
    public int[] InferBatchSizes { get; set; } = [256, 4096];
    /// <summary>Timed single-request calls. Default 2,000.</summary>
    public int LatencyCalls { get; set; } = 2_000;
    /// <summary>Untimed warm-up calls before the latency calls, repeated until <see cref="WarmupSeconds"/> have passed (0: none). Default 200.</summary>
    public int LatencyWarmup { get; set; } = 200;
    /// <summary>Rows of the synthetic training/inference pool. Default 32,768 (at least 4 × the largest batch is used).</summary>
    public int PoolSize { get; set; } = 32_768;
    /// <summary>libtorch intra-op threads. Default 2 (this project's reference machine).</summary>
    public int Threads { get; set; } = 2;
    /// <summary>Lazy row-wise Adam for the id tables (sparse gradients), as training does by default. Default true.</summary>
    public bool SparseIdUpdates { get; set; } = true;
    /// <summary>Score under <c>torch.inference_mode()</c> (the library default) rather than <c>no_grad()</c>. Default true.</summary>
    public bool InferenceMode { get; set; } = true;
    /// <summary>Score single requests with the managed forward (the library default) rather than a batch-1 libtorch call. Default true.</summary>
    public bool ManagedScorer { get; set; } = true;
    /// <summary>Batch inference through the managed batched forward (the library default) rather than libtorch. Default true.</summary>
    public bool ManagedBatch { get; set; } = true;
    /// <summary>
    /// Data-parallel workers of the training step (<see cref="Training.CvrTrainerOptions.DataParallelWorkers"/>):
    /// 0 = the trainer's automatic choice for <see cref="Threads"/> and each batch size, 1 = off, 2 = two halves on two
    /// single-threaded workers. Default 0, the trainer's default.
    /// </summary>
    public int Workers { get; set; }
    /// <summary>Gradient clipping in the timed steps (0 = off, as the reference). Default 0.</summary>
    public double GradientClipNorm { get; set; }
    /// <summary>Run training throughput. Default true.</summary>
    public bool Train { get; set; } = true;
    /// <summary>Run batch inference throughput. Default true.</summary>
    public bool Infer { get; set; } = true;
    /// <summary>Run single-request latency (needs an event log). Default true.</summary>
    public bool Latency { get; set; } = true;
    /// <summary>Run the feature-pipeline throughput (needs an event log). Default true.</summary>
    public bool Features { get; set; } = true;
    /// <summary>Seed of the pool and the weights. Default 0 (the reference's).</summary>
    public int Seed { get; set; }

    /// <summary>
    /// The network: the reference architecture exactly (30,393,341 parameters: the library's defaults
    /// without the time-gap key embedding, which the reference does not have).
    /// </summary>
    public CvrNetworkOptions Network { get; set; } = new() { UseTimeGap = false, InteractionFeatures = 0 };

    /// <summary>Validates every option; throws <see cref="ArgumentOutOfRangeException"/> naming it.</summary>
    public CvrBenchmarkOptions Check()
    {
        static void Fail(string name, object value, string rule) => throw new ArgumentOutOfRangeException(name, value, $"{name} {rule}.");
        if (!(TrainSeconds > 0) || double.IsInfinity(TrainSeconds)) Fail(nameof(TrainSeconds), TrainSeconds, "must be positive and finite");
        if (!(InferSeconds > 0) || double.IsInfinity(InferSeconds)) Fail(nameof(InferSeconds), InferSeconds, "must be positive and finite");
        if (!(WarmupSeconds >= 0) || double.IsInfinity(WarmupSeconds)) Fail(nameof(WarmupSeconds), WarmupSeconds, "must be non-negative and finite");
        if (TrainBatchSizes is null || TrainBatchSizes.Any(b => b < 1)) Fail(nameof(TrainBatchSizes), string.Join(",", TrainBatchSizes ?? []), "must be positive batch sizes");
        if (InferBatchSizes is null || InferBatchSizes.Any(b => b < 1)) Fail(nameof(InferBatchSizes), string.Join(",", InferBatchSizes ?? []), "must be positive batch sizes");
        if (LatencyCalls < 1) Fail(nameof(LatencyCalls), LatencyCalls, "must be at least 1");
        if (LatencyWarmup < 0) Fail(nameof(LatencyWarmup), LatencyWarmup, "must be non-negative");
        if (PoolSize < 1) Fail(nameof(PoolSize), PoolSize, "must be at least 1");
        if (Threads < 1) Fail(nameof(Threads), Threads, "must be at least 1");
        if (!(GradientClipNorm >= 0)) Fail(nameof(GradientClipNorm), GradientClipNorm, "must be non-negative");
        if (Workers is < 0 or > 2) Fail(nameof(Workers), Workers, "must be 0 (automatic), 1 or 2");
        (Network ?? throw new ArgumentNullException(nameof(Network))).Validate();
        if (Network.InteractionFeatures != 0)
            throw new ArgumentOutOfRangeException(nameof(Network), Network.InteractionFeatures,
                "Network.InteractionFeatures must be 0: the benchmark measures the PyTorch reference's 7-field network (its synthetic pools carry no interaction features).");
        return this;
    }
}
