using System.Runtime.InteropServices;
using Cvr.MLNet.Benchmarks;
using Cvr.MLNet.Model;
using Cvr.MLNet.Training;
using Cvr.MLNet.Training.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace Cvr.MLNet.Tests.Training;

/// <summary>
/// The data-parallel training step (two halves on two single-threaded workers, gradients combined in a
/// fixed order) computes what the plain step computes: same losses, gradients and weights within 1e-5,
/// bit-identical across runs, and the workers' libtorch thread count does not leak to other threads.
/// </summary>
[TestClass]
[DoNotParallelize] // changes libtorch's thread count and CvrAdam.UseFusedUpdate
public sealed class DataParallelStepTests
{
    private const int Rows = 512;

    private static CvrNetworkOptions Small(bool sparse) => new()
    {
        UserBuckets = 50, ItemBuckets = 400, CategoryBuckets = 40, ItemEmbeddingDim = 12, UserEmbeddingDim = 8,
        CategoryEmbeddingDim = 4, LongTermEmbeddingDim = 8, DinHidden = [8, 4], PleLayers = [[20], [16, 8]],
        UseTimeGap = true, SparseEmbeddings = sparse, InteractionFeatures = 0,
    };

    // A pool with enough positives for both tasks, and optionally uneven sample weights.
    private static FeatureTable Pool(bool weighted)
    {
        var pool = SyntheticSamples.Create(Rows, 20, 50, 400, 40, seed: 11);
        var rng = new Random(3);
        for (int r = 0; r < Rows; r++)
        {
            pool.FavCart[r] = rng.NextDouble() < 0.3;
            pool.Buy[r] = pool.FavCart[r] ? rng.NextDouble() < 0.5 : rng.NextDouble() < 0.05;
            if (weighted) pool.Weight[r] = (float)(0.2 + 4 * rng.NextDouble());
        }
        return pool;
    }

    private sealed record RunResult(double[] Losses, Dictionary<string, float[]> FirstGradients, Dictionary<string, float[]> Initial, Dictionary<string, float[]> Weights, int Workers);

    private static RunResult Train(int workers, bool sparse, double clip, bool weighted, int batch, int steps, bool dropout = false, bool expectFused = true)
    {
        var pool = Pool(weighted);
        torch.manual_seed(21);
        using var net = new CvrNetwork(Small(sparse));
        net.train();
        var initial = Weights(net);
        using var adam = new CvrAdam(net.named_parameters(), 1e-3);
        // The data-parallel path hands the halves' gradients to the optimizer; have it also write the sum to .grad to compare.
        using var step = new CvrTrainStep(net, new CvrLoss(), adam, CPU, clip, workers) { WriteGradients = true };
        // Ids of the upper half of each table act as OOV buckets: the dropout draws random numbers per row.
        var oov = dropout ? new OovDropout(0.2, new Random(8), new OovRange(25, 50), new OovRange(200, 400), new OovRange(20, 40)) : null;
        var losses = new double[steps];
        Dictionary<string, float[]> firstGrads = [];
        for (int s = 0; s < steps; s++)
        {
            // Overlapping windows: rows (and ids) recur across steps and inside a batch.
            var rows = Enumerable.Range((s * 97) % (Rows - batch), batch).ToArray();
            losses[s] = step.Run(pool, rows, oov);
            Assert.AreEqual(expectFused, adam.LastStepFused, "the optimizer path under test was taken");
            if (s == 0) firstGrads = Gradients(net);
        }
        return new RunResult(losses, firstGrads, initial, Weights(net), step.Workers);
    }

    private static Dictionary<string, float[]> Weights(CvrNetwork net) => net.named_parameters().ToDictionary(p => p.name, p => p.parameter.data<float>().ToArray());

    // Every parameter's .grad as dense floats (sparse id-table gradients coalesced).
    private static Dictionary<string, float[]> Gradients(CvrNetwork net)
    {
        using var scope = NewDisposeScope();
        var d = new Dictionary<string, float[]>();
        foreach (var (name, p) in net.named_parameters())
            if (p.grad is { } g) d[name] = (g.is_sparse ? g.to_dense() : g).contiguous().data<float>().ToArray();
        return d;
    }

    private static double MaxDiff(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs((double)x - y)).DefaultIfEmpty(0).Max();

    [TestMethod]
    [DataRow(true, 0.0, false, 64, false)]
    [DataRow(false, 0.0, false, 64, false)]
    [DataRow(true, 0.05, false, 64, false)]  // small enough that every step clips
    [DataRow(true, 0.0, true, 64, false)]    // uneven sample weights
    [DataRow(true, 0.0, true, 63, false)]    // odd batch: halves of 32 and 31 rows
    [DataRow(false, 0.05, true, 101, true)]  // dense tables, clipping, weights, odd batch, OOV dropout
    [DataRow(true, 0.0, false, 3, false)]    // the smallest odd split: 2 + 1 rows
    public void DataParallelStep_EqualsPlainStep(bool sparse, double clip, bool weighted, int batch, bool dropout)
    {
        const int steps = 3;
        var plain = Train(1, sparse, clip, weighted, batch, steps, dropout);
        var split = Train(2, sparse, clip, weighted, batch, steps, dropout);
        Assert.AreEqual(1, plain.Workers);
        Assert.AreEqual(2, split.Workers, "the data-parallel path is the one under test");
        for (int s = 0; s < steps; s++)
            Assert.AreEqual(plain.Losses[s], split.Losses[s], 1e-5, $"loss of step {s + 1}");
        CollectionAssert.AreEquivalent(plain.FirstGradients.Keys.ToList(), split.FirstGradients.Keys.ToList(), "the same parameters get gradients");
        Assert.IsTrue(plain.FirstGradients.Values.Any(g => g.Any(x => x != 0)), "the gradients are not all zero");
        foreach (var (name, g) in plain.FirstGradients)
        {
            double scale = Math.Max(1, g.Max(x => Math.Abs(x)));
            Assert.IsTrue(MaxDiff(g, split.FirstGradients[name]) <= 1e-5 * scale, $"gradient of {name}: max |plain − split| = {MaxDiff(g, split.FirstGradients[name])}");
        }
        int moved = 0;
        foreach (var (name, w) in plain.Weights)
        {
            double d = MaxDiff(w, split.Weights[name]);
            Assert.IsTrue(d <= 1e-5, $"{name} after {steps} steps: max |plain − split| = {d}");
            if (!w.AsSpan().SequenceEqual(plain.Initial[name])) moved++;
        }
        Assert.AreEqual(plain.Weights.Count, moved, "every parameter moved");
        Assert.IsTrue(plain.Losses.All(double.IsFinite));
    }

    [TestMethod]
    public void DataParallelStep_TorchFormOptimizer_EqualsFusedOne()
    {
        // Without the fused update the halves' gradients are summed into .grad and the torch-form Adam steps on them.
        var fused = Train(2, sparse: true, clip: 0.05, weighted: true, batch: 63, steps: 3);
        bool old = CvrAdam.UseFusedUpdate;
        CvrAdam.UseFusedUpdate = false;
        RunResult torchForm;
        try { torchForm = Train(2, sparse: true, clip: 0.05, weighted: true, batch: 63, steps: 3, expectFused: false); }
        finally { CvrAdam.UseFusedUpdate = old; }
        for (int s = 0; s < 3; s++) Assert.AreEqual(fused.Losses[s], torchForm.Losses[s], 1e-5, $"loss of step {s + 1}");
        foreach (var (name, w) in fused.Weights)
            Assert.IsTrue(MaxDiff(w, torchForm.Weights[name]) <= 2e-5, $"{name}: max |fused − torch form| = {MaxDiff(w, torchForm.Weights[name])}");
    }

    [TestMethod]
    public void DataParallelStep_SameSeed_BitIdenticalWeights()
    {
        var a = Train(2, sparse: true, clip: 0.05, weighted: true, batch: 63, steps: 4, dropout: true);
        var b = Train(2, sparse: true, clip: 0.05, weighted: true, batch: 63, steps: 4, dropout: true);
        CollectionAssert.AreEqual(a.Losses, b.Losses);
        foreach (var (name, w) in a.Weights)
            Assert.IsTrue(w.AsSpan().SequenceEqual(b.Weights[name]), $"{name} differs between two runs with the same seed");
    }

    [TestMethod]
    public void Workers_RunOneLibtorchThread_CallerAndLaterThreadsKeepTheirs()
    {
        int before = torch.get_num_threads();
        try
        {
            torch.set_num_threads(2);
            var pool = Pool(weighted: false);
            torch.manual_seed(1);
            using var net = new CvrNetwork(Small(sparse: true));
            using var adam = new CvrAdam(net.named_parameters(), 1e-3);
            using (var step = new CvrTrainStep(net, new CvrLoss(), adam, CPU, 0, workers: 2))
            {
                CollectionAssert.AreEqual(new[] { 1, 1 }, step.WorkerThreadCounts, "each worker runs libtorch with one thread");
                Assert.AreEqual(2, torch.get_num_threads(), "the caller keeps its thread count");
                step.Run(pool, Enumerable.Range(0, 64).ToArray());
                Assert.AreEqual(2, torch.get_num_threads(), "the caller keeps its thread count after a step");
                // A thread that first touches libtorch now (an inference or transform thread) gets the
                // process-wide count: the caller's, not the workers' 1.
                int later = 0;
                var t = new Thread(() => later = torch.get_num_threads());
                t.Start(); t.Join();
                Assert.AreEqual(2, later, "a new thread gets the caller's count");
            }
            Assert.AreEqual(2, torch.get_num_threads());
        }
        finally { torch.set_num_threads(before); }
    }

    [TestMethod]
    public void WorkerFailure_IsRethrownOnTheCaller_AndTheStepStaysUsable()
    {
        var pool = Pool(weighted: false);
        torch.manual_seed(2);
        var small = Small(sparse: true);
        small.ItemBuckets = 100; // the pool's item ids go up to 399: the forward fails on a worker
        using var net = new CvrNetwork(small);
        using var adam = new CvrAdam(net.named_parameters(), 1e-3);
        using var step = new CvrTrainStep(net, new CvrLoss(), adam, CPU, 0, workers: 2);
        var bad = Enumerable.Range(0, Rows).Where(r => pool.Item[r] >= 100).Take(8).ToArray();
        Assert.AreEqual(8, bad.Length);
        Assert.ThrowsExactly<ExternalException>(() => step.Run(pool, bad));
        Assert.AreEqual(0, adam.Step, "no update from a failed step");
        for (int r = 0; r < Rows; r++)
        {
            pool.Item[r] %= 100;
            for (int p = 0; p < 20; p++) pool.SeqItems[r * 20 + p] %= 100;
        }
        double loss = step.Run(pool, Enumerable.Range(0, 16).ToArray());
        Assert.IsTrue(double.IsFinite(loss));
        Assert.AreEqual(1, adam.Step);
    }

    [TestMethod]
    public void TrainingLoop_WithWorkers_MatchesThePlainLoop_AndRepeatsBitIdentically()
    {
        var pool = Pool(weighted: true);
        var train = Enumerable.Range(0, 400).ToArray();
        var valid = Enumerable.Range(400, 112).ToArray();
        (Dictionary<string, float[]> Weights, List<EpochRecord> History, ValidationMetrics? Validation) Fit(int workers)
        {
            var o = new CvrTrainerOptions { DataParallelWorkers = workers, Threads = 2, Epochs = 2, BatchSize = 64, Seed = 9, EarlyStoppingPatience = 5 }.Check();
            var loop = new CvrTrainingLoop(o, CPU, _ => { });
            using var net = loop.Train(pool, train, valid, Small(sparse: true));
            return (Weights(net), loop.History, loop.Validation);
        }
        int before = torch.get_num_threads();
        try
        {
            var plain = Fit(1);
            var split = Fit(2);
            var again = Fit(2);
            Assert.AreEqual(2, torch.get_num_threads(), "the caller keeps the Threads option's count");
            for (int e = 0; e < 2; e++)
            {
                Assert.AreEqual(plain.History[e].TrainLoss, split.History[e].TrainLoss, 1e-5, $"train loss of epoch {e + 1}");
                Assert.AreEqual(plain.History[e].ValidationLoss!.Value, split.History[e].ValidationLoss!.Value, 1e-5, $"validation loss of epoch {e + 1}");
                Assert.AreEqual(split.History[e].TrainLoss, again.History[e].TrainLoss, 0.0, "same seed, same loss");
            }
            Assert.AreEqual(plain.Validation!.Buy.Auc, split.Validation!.Buy.Auc, 1e-3);
            foreach (var (name, w) in plain.Weights)
            {
                Assert.IsTrue(MaxDiff(w, split.Weights[name]) <= 1e-4, $"{name} after 2 epochs (14 steps): max |plain − split| = {MaxDiff(w, split.Weights[name])}");
                Assert.IsTrue(split.Weights[name].AsSpan().SequenceEqual(again.Weights[name]), $"{name}: two runs with the same seed differ");
            }
        }
        finally { torch.set_num_threads(before); }
    }

    [TestMethod]
    public void ChooseWorkers_FollowsTheOptionThreadsAndBatch()
    {
        Assert.AreEqual(2, CvrTrainStep.ChooseWorkers(0, 2, CvrTrainStep.AutoDataParallelMinBatch, CPU));
        Assert.AreEqual(1, CvrTrainStep.ChooseWorkers(0, 2, CvrTrainStep.AutoDataParallelMinBatch - 1, CPU));
        Assert.AreEqual(1, CvrTrainStep.ChooseWorkers(0, 1, 4096, CPU), "one libtorch thread: no workers");
        Assert.AreEqual(2, CvrTrainStep.ChooseWorkers(2, 1, 8, CPU), "an explicit 2 is kept");
        Assert.AreEqual(1, CvrTrainStep.ChooseWorkers(1, 8, 4096, CPU), "an explicit 1 is kept");
        Assert.AreEqual(1, CvrTrainStep.ChooseWorkers(2, 8, 4096, new Device(DeviceType.CUDA)), "workers are CPU-only");
        Assert.AreEqual(0, new CvrTrainerOptions().DataParallelWorkers, "automatic by default");
        Assert.AreEqual(new CvrTrainerOptions().DataParallelWorkers, new CvrBenchmarkOptions().Workers, "the benchmark measures the trainer's default");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new CvrTrainerOptions { DataParallelWorkers = 3 }.Check());
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new CvrTrainerOptions { DataParallelWorkers = -1 }.Check());
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new CvrBenchmarkOptions { Workers = 3 }.Check());
    }
}
