using System.Diagnostics;
using Cvr.MLNet.Evaluation;
using Cvr.MLNet.Model;
using Cvr.MLNet.Model.Scoring;
using Cvr.MLNet.Training.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace Cvr.MLNet.Training;

/// <summary>One epoch's record: the training curve the analysis plots.</summary>
public sealed record EpochRecord(int Epoch, double TrainLoss, double? ValidationLoss, double? ValidationBuyAuc, double? ValidationFavCartAuc, double SamplesPerSecond);

/// <summary>AUC, log-loss and accuracy (at 0.5) of one task.</summary>
public sealed record TaskMetrics(double Auc, double LogLoss, double Accuracy, double PositiveRate)
{
    internal static TaskMetrics Compute(bool[] labels, float[] p) =>
        new(BinaryMetrics.Auc(labels, p), BinaryMetrics.LogLoss(labels, p), BinaryMetrics.Accuracy(labels, p),
            labels.Length == 0 ? double.NaN : labels.Count(x => x) / (double)labels.Length);
}

/// <summary>Validation-split metrics of the weights a <see cref="CvrTrainer"/> kept.</summary>
public sealed record ValidationMetrics(int Samples, TaskMetrics Buy, TaskMetrics FavCart);

/// <summary>
/// The training loop, kept outside the model (torchrec's split): Adam, shuffled mini-batches,
/// gradient clipping, validation after each epoch, best-weights restore and early stopping,
/// divergence detection, progress and cancellation.
/// </summary>
internal sealed class CvrTrainingLoop(CvrTrainerOptions options, Device device, Action<string> log)
{
    public List<EpochRecord> History { get; } = [];
    public int BestEpoch { get; private set; }

    /// <summary>Metrics of the kept weights on the validation rows (null without validation).</summary>
    public ValidationMetrics? Validation { get; private set; }

    /// <summary>Trains on a table held whole.</summary>
    public CvrNetwork Train(FeatureTable table, int[] trainRows, int[] validRows, CvrNetworkOptions network,
        (OovRange Users, OovRange Items, OovRange Categories) oov = default) =>
        Train(TrainingRows.Whole(table), trainRows, validRows, network, oov);

    /// <summary>Trains on <paramref name="data"/>'s rows <paramref name="trainRows"/>, validating on <paramref name="validRows"/> (both ascending).</summary>
    public CvrNetwork Train(TrainingRows data, int[] trainRows, int[] validRows, CvrNetworkOptions network,
        (OovRange Users, OovRange Items, OovRange Categories) oov = default)
    {
        var o = options;
        if (o.Threads > 0) torch.set_num_threads(o.Threads);
        torch.manual_seed(o.Seed);
        var net = new CvrNetwork(network);
        net.to(device);
        var loss = new CvrLoss(o.FavCartLossWeight, o.BuyLossWeight);
        using var adam = new CvrAdam(net.named_parameters(), o.LearningRate);
        using var step = new CvrTrainStep(net, loss, adam, device, o.GradientClipNorm,
            CvrTrainStep.ChooseWorkers(o.DataParallelWorkers, torch.get_num_threads(), o.BatchSize, device));
        Dictionary<string, Tensor>? best = null;
        double bestLoss = double.PositiveInfinity;
        int sinceBest = 0, firstEpoch = 1;
        var labels = data.Labels;
        var validFav = validRows.Select(r => labels.FavCart[r]).ToArray();
        var validBuy = validRows.Select(r => labels.Buy[r]).ToArray();
        var validWeight = validRows.Select(r => labels.Weight[r]).ToArray();

        var checkpoint = o.CheckpointPath is null ? null : new TrainingCheckpoint(o.CheckpointPath);
        if (checkpoint is not null && o.Resume && checkpoint.Exists)
        {
            var state = checkpoint.Load(net, adam, trainRows.Length, validRows.Length);
            firstEpoch = state.Epoch + 1; bestLoss = state.BestLoss; BestEpoch = state.BestEpoch; sinceBest = state.SinceBest;
            best = state.Best; History.AddRange(state.History);
            log($"resumed from {o.CheckpointPath} after epoch {state.Epoch}");
            if (state.Stopped) firstEpoch = int.MaxValue;
        }

        for (int epoch = firstEpoch; epoch <= o.Epochs; epoch++)
        {
            net.train();
            // A fresh seeded order per epoch: a resumed run shuffles exactly as an uninterrupted one.
            var plan = data.Plan(trainRows, new Random(unchecked(o.Seed * 1_000_003 + epoch)));
            int batches = plan.Batches(o.BatchSize), b = 0;
            var dropout = o.OovDropoutRate > 0
                ? new OovDropout(o.OovDropoutRate, new Random(unchecked(o.Seed * 7_919 + epoch)), oov.Users, oov.Items, oov.Categories)
                : null;
            double sum = 0; long seen = 0;
            var sw = Stopwatch.StartNew();
            foreach (var (table, rows) in plan.Read())
                for (int s = 0; s < rows.Length; s += o.BatchSize, b++)
                {
                    o.CancellationToken.ThrowIfCancellationRequested();
                    var slice = rows.AsSpan(s, Math.Min(o.BatchSize, rows.Length - s));
                    double lv = step.Run(table, slice, dropout);
                    if (!double.IsFinite(lv))
                        throw new InvalidOperationException(
                            $"Training diverged: the loss became {lv} at epoch {epoch}, batch {b + 1}. Lower LearningRate (now {o.LearningRate}) or check the inputs for extreme values.");
                    sum += lv * slice.Length; seen += slice.Length;
                    if (o.Progress is not null && ((b & 15) == 0 || b == batches - 1))
                        o.Progress.Report(new CvrTrainingProgress(epoch, o.Epochs, b + 1, batches, sum / Math.Max(1, seen), seen / Math.Max(1e-9, sw.Elapsed.TotalSeconds), null));
                }
            double trainLoss = sum / Math.Max(1, seen), sps = seen / Math.Max(1e-9, sw.Elapsed.TotalSeconds);
            double? vLoss = null, vBuyAuc = null, vFavAuc = null;
            if (validRows.Length > 0)
            {
                var (pFav, pBuy) = data.Predict(net, validRows, o.ValidationBatchSize, device);
                vLoss = o.FavCartLossWeight * BinaryMetrics.LogLoss(validFav, pFav, validWeight) + o.BuyLossWeight * BinaryMetrics.LogLoss(validBuy, pBuy, validWeight);
                vBuyAuc = BinaryMetrics.Auc(validBuy, pBuy); vFavAuc = BinaryMetrics.Auc(validFav, pFav);
            }
            History.Add(new EpochRecord(epoch, trainLoss, vLoss, vBuyAuc, vFavAuc, sps));
            log($"epoch {epoch}/{o.Epochs}: train loss {trainLoss:F5}" + (vLoss is { } v ? $", validation loss {v:F5}, buy AUC {vBuyAuc:F4}, fav/cart AUC {vFavAuc:F4}" : "") + $", {sps:F0} samples/s");
            o.Progress?.Report(new CvrTrainingProgress(epoch, o.Epochs, batches, batches, trainLoss, sps, vLoss));

            double score = vLoss ?? -epoch; // without validation, the latest epoch wins
            bool stop = false;
            if (score < bestLoss)
            {
                bestLoss = score; BestEpoch = epoch; sinceBest = 0;
                DisposeAll(best);
                best = Snapshot(net);
            }
            else if (++sinceBest >= o.EarlyStoppingPatience)
            {
                log($"early stopping after epoch {epoch}: no validation improvement for {sinceBest} epochs; keeping epoch {BestEpoch}.");
                stop = true;
            }
            checkpoint?.Save(new TrainingCheckpoint.State(epoch, bestLoss, BestEpoch, sinceBest, stop, History, best), net, adam, trainRows.Length, validRows.Length);
            if (stop) break;
        }
        if (best is not null)
        {
            using (no_grad())
                foreach (var (name, p) in net.named_parameters()) p.copy_(best[name]);
            DisposeAll(best);
        }
        net.eval();
        if (validRows.Length > 0)
        {
            var (pFav, pBuy) = data.Predict(net, validRows, o.ValidationBatchSize, device);
            Validation = new ValidationMetrics(validRows.Length, TaskMetrics.Compute(validBuy, pBuy), TaskMetrics.Compute(validFav, pFav));
        }
        return net;
    }

    /// <summary>
    /// Inference under <c>torch.inference_mode()</c> (no autograd records, no version counters) rather
    /// than <c>no_grad()</c>; false restores the plain path (benchmarks measure the difference).
    /// </summary>
    internal static bool UseInferenceMode { get; set; } = true;

    /// <summary>
    /// Batched inference (eval mode, no gradients): on the CPU through the managed batched forward
    /// (<see cref="ManagedBatchInference"/>, which chunks the rows itself), else, or when it is switched
    /// off, through libtorch in batches of <paramref name="batchSize"/>.
    /// </summary>
    public static (float[] PFavCart, float[] PBuy) Predict(CvrNetwork net, FeatureTable table, int[] rows, int batchSize, Device device) =>
        ManagedBatchInference.TryPredict(net, table, rows, device) ?? PredictTorch(net, table, rows, batchSize, device);

    /// <summary>Batched inference through libtorch's forward in batches of <paramref name="batchSize"/>.</summary>
    internal static (float[] PFavCart, float[] PBuy) PredictTorch(CvrNetwork net, FeatureTable table, int[] rows, int batchSize, Device device)
    {
        var pFav = new float[rows.Length]; var pBuy = new float[rows.Length];
        net.eval();
        using var _ = UseInferenceMode ? inference_mode() : no_grad();
        for (int s = 0; s < rows.Length; s += batchSize)
        {
            int n = Math.Min(batchSize, rows.Length - s);
            using var scope = NewDisposeScope();
            using var batch = table.MakeBatch(rows.AsSpan(s, n), device);
            var output = net.forward(batch);
            output.PFavCart.cpu().data<float>().CopyTo(pFav.AsSpan(s, n));
            output.PBuy.cpu().data<float>().CopyTo(pBuy.AsSpan(s, n));
        }
        return (pFav, pBuy);
    }

    /// <summary>
    /// One row (the PredictionEngine path): no eval() walk over the modules (the caller's network is
    /// already in eval mode), no per-call arrays.
    /// </summary>
    public static (float PFavCart, float PBuy) PredictOne(CvrNetwork net, FeatureTable table, int row)
    {
        using var _ = UseInferenceMode ? inference_mode() : no_grad();
        using var scope = NewDisposeScope();
        using var batch = table.MakeBatch([row], CPU);
        var output = net.forward(batch);
        return (output.PFavCart.item<float>(), output.PBuy.item<float>());
    }

    /// <summary>One row through the managed forward (no libtorch call, no allocation).</summary>
    public static (float PFavCart, float PBuy) PredictOne(CvrNetworkScorer scorer, FeatureTable table, int row)
    {
        int t = table.T;
        // The table may hold counts, hours and behaviors compactly: widen them on the stack, as MakeBatch does.
        Span<float> counts = stackalloc float[FeatureTable.CountLength];
        table.CopyCounts(row, counts);
        Span<float> interactions = stackalloc float[table.K];
        table.CopyInteractions(row, interactions);
        Span<int> behaviors = stackalloc int[t];
        Span<float> hours = stackalloc float[t];
        int q = table.SequenceOf(row);
        for (int p = 0; p < t; p++) { behaviors[p] = table.SeqBehaviors[q * t + p]; hours[p] = table.HoursAgoAt(q * t + p); }
        return scorer.Score(new CvrScoringRow
        {
            User = table.User[row], Item = table.Item[row], Category = table.Category[row],
            Weekday = table.Weekday[row], Hour = table.Hour[row], SeqLength = table.SeqLen[q],
            TimeDense = table.TimeDense.AsSpan(row * 3, 3), Counts = counts, Interactions = interactions,
            SeqItems = table.SeqItems.AsSpan(q * t, t), SeqCategories = table.SeqCategories.AsSpan(q * t, t),
            SeqBehaviors = behaviors, SeqHoursAgo = hours,
        });
    }

    private static Dictionary<string, Tensor> Snapshot(CvrNetwork net)
    {
        using var _ = no_grad();
        return net.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone().DetachFromDisposeScope());
    }

    private static void DisposeAll(Dictionary<string, Tensor>? d)
    {
        if (d is null) return;
        foreach (var t in d.Values) t.Dispose();
    }
}
