using Cvr.MLNet.Model;
using Cvr.MLNet.Transforms;

namespace Cvr.MLNet.Training;

/// <summary>How the validation split is drawn.</summary>
public enum ValidationSplit
{
    /// <summary>The latest samples (by the <c>Timestamp</c> feature) validate: the honest split for a forecasting task.</summary>
    ByTime,
    /// <summary>A seeded random subset validates.</summary>
    Random,
}

/// <summary>Options of <see cref="CvrTrainer"/> (the seed's defaults). Checked by <see cref="Check"/> before training.</summary>
public sealed class CvrTrainerOptions
{
    /// <summary>Network sizes (embedding tables must match the vocabulary transform's sizes).</summary>
    public CvrNetworkOptions Network { get; set; } = new();
    /// <summary>
    /// Size the user/item/category tables from the vocabulary transform's annotations (default true); when
    /// false, <see cref="Network"/>'s sizes are used as given.
    /// </summary>
    public bool InferTableSizes { get; set; } = true;
    /// <summary>
    /// Lazy row-wise Adam updates for the four id tables (only the rows a batch touches move), like
    /// PyTorch's SparseAdam; dense Adam when false (the seed's plain Adam, much slower: each step then
    /// rewrites all 25 M item-table parameters). Default true.
    /// </summary>
    public bool SparseIdUpdates { get; set; } = true;
    /// <summary>
    /// Share of training ids (user, item, category, and sequence items/categories) replaced by a random
    /// hashed out-of-vocabulary bucket, so ids never seen in fitting get trained "unknown" embeddings.
    /// Default 0.02; 0 turns it off.
    /// </summary>
    public double OovDropoutRate { get; set; } = 0.02;
    /// <summary>Write an end-of-epoch checkpoint here (null = none).</summary>
    public string? CheckpointPath { get; set; }
    /// <summary>Continue from <see cref="CheckpointPath"/> when it exists (same data and options give the same result as an uninterrupted run).</summary>
    public bool Resume { get; set; }
    /// <summary>Adam learning rate. Default 1e-3.</summary>
    public double LearningRate { get; set; } = 1e-3;
    /// <summary>Training batch size. Default 128.</summary>
    public int BatchSize { get; set; } = 128;
    /// <summary>Validation/inference batch size. Default 256.</summary>
    public int ValidationBatchSize { get; set; } = 256;
    /// <summary>Epochs. Default 5.</summary>
    public int Epochs { get; set; } = 5;
    /// <summary>Share of samples held out for validation (0 = none: the last epoch's weights are kept). Default 0.2.</summary>
    public double ValidationFraction { get; set; } = 0.2;
    /// <summary>How the validation samples are chosen. Default by time.</summary>
    public ValidationSplit Split { get; set; } = ValidationSplit.ByTime;
    /// <summary>Epochs without a validation-loss improvement before stopping. Default 2.</summary>
    public int EarlyStoppingPatience { get; set; } = 2;
    /// <summary>Gradient clipping: max global L2 norm (0 = off). Default 5.</summary>
    public double GradientClipNorm { get; set; } = 5.0;
    /// <summary>Loss weight of the fav/cart task. Default 1.</summary>
    public double FavCartLossWeight { get; set; } = 1.0;
    /// <summary>Loss weight of the buy task. Default 1.</summary>
    public double BuyLossWeight { get; set; } = 1.0;
    /// <summary>Seed of initialization, shuffling and splits: same seed and data → same weights (CPU). Default 42.</summary>
    public int Seed { get; set; } = 42;
    /// <summary>"cpu" (default), "cuda", "cuda:N" or "auto" (CUDA when present, else CPU).</summary>
    public string Device { get; set; } = "cpu";
    /// <summary>Intra-op threads for libtorch (0 = leave libtorch's default). Default 0.</summary>
    public int Threads { get; set; }
    /// <summary>
    /// Data-parallel training steps: 2 splits each batch into two halves run by two worker threads with one
    /// libtorch thread each (gradients combined in a fixed order: the same result as one thread up to float
    /// rounding, independent of thread timing); 1 runs every step on the calling thread with
    /// <see cref="Threads"/> intra-op threads; 0 (default) chooses 2 on the CPU when libtorch has at least 2
    /// threads and the batch has at least <see cref="CvrTrainStep.AutoDataParallelMinBatch"/> rows, else 1.
    /// On an idle 2-core machine two workers train 7–35 % faster at batch 128 and the same at 1024–4096; on a
    /// machine whose cores other processes keep busy they are slower (a step waits for its slower half): set 1
    /// there (docs/performance.md, session 3). Weights are reproducible for a given choice.
    /// </summary>
    public int DataParallelWorkers { get; set; }
    /// <summary>
    /// Most feature rows held in memory at once. Data with more rows trains in windows of this many rows: each epoch
    /// the rows are cut into blocks of consecutive rows (a 64th of a window), the blocks shuffled, and each window's
    /// features filled from the pipeline when its turn comes (≈ 1 s a window against minutes of training on it),
    /// so the trainer's memory stays flat however long the log is; validation is predicted window by window. Data
    /// that fits is read once and shuffled whole, exactly as before. 0 = always hold every row. Default 1,048,576
    /// (≈ 370 MB of features at the default sizes; every row costs ≈ 356 bytes held, ≈ 14 bytes when windowed).
    /// </summary>
    public int MaxRowsInMemory { get; set; } = 1 << 20;
    /// <summary>Threshold on PBuy for <c>PredictedLabel</c>. Default 0.5 (as the seed evaluates).</summary>
    public float DecisionThreshold { get; set; } = 0.5f;
    /// <summary>Label column for fav/cart (Boolean).</summary>
    public string FavCartColumnName { get; set; } = CvrColumns.FavCart;
    /// <summary>Label column for buy (Boolean).</summary>
    public string BuyColumnName { get; set; } = CvrColumns.Buy;
    /// <summary>Example weight column (Single), e.g. from negative down-sampling; null = unweighted. Used when present.</summary>
    public string? ExampleWeightColumnName { get; set; } = CvrColumns.Weight;
    /// <summary>Progress of training (epoch, batch, loss, samples/s), reported on the training thread.</summary>
    public IProgress<CvrTrainingProgress>? Progress { get; set; }
    /// <summary>Cancels training between batches.</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>Validates every option; throws <see cref="ArgumentOutOfRangeException"/> naming the option.</summary>
    public CvrTrainerOptions Check()
    {
        static void Fail(string name, object value, string rule) => throw new ArgumentOutOfRangeException(name, value, $"{name} {rule}.");
        if (Network is null) throw new ArgumentNullException(nameof(Network));
        Network.Validate();
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) Fail(nameof(LearningRate), LearningRate, "must be positive and finite");
        if (BatchSize < 1) Fail(nameof(BatchSize), BatchSize, "must be at least 1");
        if (ValidationBatchSize < 1) Fail(nameof(ValidationBatchSize), ValidationBatchSize, "must be at least 1");
        if (Epochs < 1) Fail(nameof(Epochs), Epochs, "must be at least 1");
        if (!(ValidationFraction >= 0 && ValidationFraction < 1)) Fail(nameof(ValidationFraction), ValidationFraction, "must be in [0, 1)");
        if (EarlyStoppingPatience < 1) Fail(nameof(EarlyStoppingPatience), EarlyStoppingPatience, "must be at least 1");
        if (!(GradientClipNorm >= 0)) Fail(nameof(GradientClipNorm), GradientClipNorm, "must be non-negative");
        if (!(FavCartLossWeight >= 0) || !(BuyLossWeight >= 0) || FavCartLossWeight + BuyLossWeight == 0)
            Fail(nameof(BuyLossWeight), BuyLossWeight, "and FavCartLossWeight must be non-negative and not both zero");
        if (!(OovDropoutRate >= 0 && OovDropoutRate < 1)) Fail(nameof(OovDropoutRate), OovDropoutRate, "must be in [0, 1)");
        if (Threads < 0) Fail(nameof(Threads), Threads, "must be non-negative");
        if (MaxRowsInMemory < 0) Fail(nameof(MaxRowsInMemory), MaxRowsInMemory, "must be non-negative (0 = hold every row)");
        if (DataParallelWorkers is < 0 or > 2) Fail(nameof(DataParallelWorkers), DataParallelWorkers, "must be 0 (automatic), 1 or 2");
        if (!(DecisionThreshold > 0 && DecisionThreshold < 1)) Fail(nameof(DecisionThreshold), DecisionThreshold, "must be in (0, 1)");
        DeviceSelector.Parse(Device);
        if (Resume && CheckpointPath is null) throw new ArgumentOutOfRangeException(nameof(Resume), Resume, "Resume needs a CheckpointPath.");
        return this;
    }
}

/// <summary>A progress report of <see cref="CvrTrainer"/>.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Epochs">Planned epochs.</param>
/// <param name="Batch">Batches done in this epoch.</param>
/// <param name="Batches">Batches per epoch.</param>
/// <param name="TrainLoss">Running mean training loss of this epoch.</param>
/// <param name="SamplesPerSecond">Training throughput of this epoch so far.</param>
/// <param name="ValidationLoss">Set on the report that ends an epoch (null before, or without validation).</param>
public sealed record CvrTrainingProgress(int Epoch, int Epochs, int Batch, int Batches, double TrainLoss, double SamplesPerSecond, double? ValidationLoss)
{
    /// <summary>Overall fraction done, 0..1.</summary>
    public double Fraction => ((Epoch - 1) + (Batches == 0 ? 1.0 : (double)Batch / Batches)) / Epochs;
}
