using Cvr.MLNet.Benchmarks;
using Cvr.MLNet.Model;
using Cvr.MLNet.Model.Scoring;
using Cvr.MLNet.Training;
using TorchSharp;
using static TorchSharp.torch;
using static Cvr.MLNet.Tests.Model.ManagedScorerTests;

namespace Cvr.MLNet.Tests.Model;

/// <summary>
/// The managed batched forward (<see cref="CvrBatchScorer"/>, what <see cref="CvrTrainingLoop.Predict"/>
/// runs on the CPU) equals the libtorch forward on every network variant the single-row tests cover, at
/// several batch sizes (including ragged last chunks), is bit-identical for any worker count, and reads
/// the current weights.
/// </summary>
[TestClass]
[DoNotParallelize] // toggles ManagedBatchInference.Enabled
public sealed class BatchScorerTests
{
    private static CvrNetwork Net(CvrNetworkOptions o, int seed = 13)
    {
        torch.manual_seed(seed);
        var net = new CvrNetwork(o);
        using (no_grad())
            foreach (var p in net.parameters()) p.mul_(1.6); // sharper than the init, so the outputs spread over (0,1)
        net.eval();
        return net;
    }

    private static (float[] Fav, float[] Buy) Managed(CvrNetwork net, FeatureTable pool, int[] rows, int workers) =>
        ManagedBatchInference.TryPredict(net, pool, rows, CPU, workers) ?? throw new AssertFailedException("the managed batched path was not taken");

    private static double MaxDiff(float[] a, float[] b) => a.Zip(b, (x, y) => (double)Math.Abs(x - y)).Max();

    [TestMethod]
    [DynamicData(nameof(Variants), typeof(ManagedScorerTests))]
    public void BatchedForward_EqualsTorchForward_AtEveryBatchSize(string variant, int t, bool timeGap)
    {
        var o = Options(variant, t, timeGap);
        var pool = SyntheticSamples.Create(1000, t, Users, Items, Categories, seed: 7, interactions: o.InteractionFeatures);
        using var net = Net(o);
        var all = Enumerable.Range(0, pool.Count).ToArray();
        var (favT, buyT) = CvrTrainingLoop.PredictTorch(net, pool, all, 256, CPU);
        Assert.IsTrue(buyT.Max() - buyT.Min() > 0.01 && favT.Max() - favT.Min() > 0.01, $"spread {buyT.Min()}..{buyT.Max()}");
        // 1000 = 6 chunks (starts on whole register blocks, a ragged last one); 100 = two chunks (a batch below one chunk is
        // still split over the workers); 7 and 1 are below one register block of 6 rows plus a tail.
        foreach (int bs in new[] { 1, 7, 100, 256, 1000 })
        {
            double worst = 0;
            for (int s = 0; s < pool.Count; s += bs)
            {
                var rows = all[s..Math.Min(s + bs, pool.Count)];
                var (fav, buy) = Managed(net, pool, rows, workers: 2);
                worst = Math.Max(worst, Math.Max(MaxDiff(fav, favT[s..(s + rows.Length)]), MaxDiff(buy, buyT[s..(s + rows.Length)])));
                if (bs == 1 && s >= 40) break; // batch 1 over the first 40 rows is enough
            }
            Assert.IsTrue(worst <= 1e-5, $"{variant}, T = {t}, time gap {timeGap}, batch {bs}: max |managed − torch| = {worst}");
        }
        Assert.IsTrue(all.Any(r => pool.SeqLen[r] == 0) && all.Any(r => pool.SeqLen[r] >= t) && all.Any(r => pool.SeqLen[r] > 0 && pool.SeqLen[r] < t));
    }

    [TestMethod]
    [DynamicData(nameof(Variants), typeof(ManagedScorerTests))]
    public void BatchedForward_IsBitIdentical_ForAnyWorkerCount_AndRowOrder(string variant, int t, bool timeGap)
    {
        var o = Options(variant, t, timeGap);
        var pool = SyntheticSamples.Create(1000, t, Users, Items, Categories, seed: 5, interactions: o.InteractionFeatures);
        using var net = Net(o, seed: 21);
        var rows = Enumerable.Range(0, pool.Count).ToArray();
        var one = Managed(net, pool, rows, workers: 1);
        var two = Managed(net, pool, rows, workers: 2);
        var four = Managed(net, pool, rows, workers: 4);
        CollectionAssert.AreEqual(one.Fav, two.Fav); CollectionAssert.AreEqual(one.Buy, two.Buy);
        CollectionAssert.AreEqual(one.Fav, four.Fav); CollectionAssert.AreEqual(one.Buy, four.Buy);
        // A row's result does not depend on which rows share its chunk or register block.
        var shuffled = rows.ToArray();
        new Random(3).Shuffle(shuffled);
        var (sf, sb) = Managed(net, pool, shuffled[..333], workers: 2);
        for (int i = 0; i < 333; i++)
        {
            Assert.AreEqual(one.Fav[shuffled[i]], sf[i]);
            Assert.AreEqual(one.Buy[shuffled[i]], sb[i]);
        }
    }

    [TestMethod]
    public void Predict_TakesTheManagedPath_AndReadsTheCurrentWeights()
    {
        var o = Options("none", 20, true);
        var pool = SyntheticSamples.Create(300, 20, Users, Items, Categories, seed: 11, interactions: o.InteractionFeatures);
        using var net = Net(o);
        var rows = Enumerable.Range(0, pool.Count).ToArray();
        bool old = ManagedBatchInference.Enabled;
        try
        {
            ManagedBatchInference.Enabled = true;
            var managed = CvrTrainingLoop.Predict(net, pool, rows, 64, CPU);
            CollectionAssert.AreEqual(Managed(net, pool, rows, workers: 2).Buy, managed.PBuy);
            ManagedBatchInference.Enabled = false;
            Assert.IsNull(ManagedBatchInference.TryPredict(net, pool, rows, CPU));
            var torchPath = CvrTrainingLoop.Predict(net, pool, rows, 64, CPU);
            CollectionAssert.AreEqual(CvrTrainingLoop.PredictTorch(net, pool, rows, 64, CPU).PBuy, torchPath.PBuy);
            Assert.IsTrue(MaxDiff(managed.PBuy, torchPath.PBuy) <= 1e-5 && MaxDiff(managed.PFavCart, torchPath.PFavCart) <= 1e-5);

            // Weights changed in place (as an optimizer step does) reach the next call: nothing is cached.
            ManagedBatchInference.Enabled = true;
            using (no_grad()) foreach (var p in net.parameters()) p.mul_(0.9);
            var after = CvrTrainingLoop.Predict(net, pool, rows, 64, CPU);
            var afterTorch = CvrTrainingLoop.PredictTorch(net, pool, rows, 64, CPU);
            Assert.IsTrue(MaxDiff(after.PBuy, afterTorch.PBuy) <= 1e-5);
            Assert.IsTrue(MaxDiff(after.PBuy, managed.PBuy) > 1e-3, "the weight change did not reach the managed path");
        }
        finally { ManagedBatchInference.Enabled = old; }
    }

    [TestMethod]
    public void OutOfRangeIds_AreAClearError()
    {
        var o = Options("none", 20, true);
        var pool = SyntheticSamples.Create(100, 20, Users, Items, Categories, seed: 1, interactions: o.InteractionFeatures);
        pool.SeqItems[60 * 20] = Items;   // row 60's first behavior, one past the table
        pool.SeqLen[60] = Math.Max(pool.SeqLen[60], 1);
        using var net = Net(o);
        var rows = Enumerable.Range(0, pool.Count).ToArray();
        var e = Assert.Throws<Exception>(() => Managed(net, pool, rows, workers: 2));
        var inner = e is AggregateException a ? a.Flatten().InnerExceptions[0] : e;
        Assert.IsInstanceOfType<ArgumentOutOfRangeException>(inner);
        StringAssert.Contains(inner.Message, "sequence item index 500");
    }

    [TestMethod]
    public void Gemm_EqualsAPlainFusedMultiplyAddLoop_OnEveryTail()
    {
        var rng = new Random(4);
        foreach (var (rows, inDim, outDim) in new[] { (1, 3, 1), (5, 7, 9), (6, 17, 64), (13, 33, 100), (12, 64, 136), (7, 5, 24), (13, 600, 40), (6, 257, 16), (19, 513, 24), (12, 0, 16) })
            foreach (bool bias in new[] { true, false })
            {
                int ldx = inDim + 3, ldy = outDim + 2;
                var x = Enumerable.Range(0, rows * ldx).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
                var w = Enumerable.Range(0, inDim * outDim).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
                var b = bias ? Enumerable.Range(0, outDim).Select(_ => (float)rng.NextDouble()).ToArray() : [];
                var y = new float[rows * ldy];
                Array.Fill(y, float.NaN);
                BlockKernels.Gemm(x, ldx, rows, w, b, y, ldy, inDim, outDim);
                for (int r = 0; r < rows; r++)
                {
                    for (int j = 0; j < outDim; j++)
                    {
                        float s = bias ? b[j] : 0f;
                        for (int i = 0; i < inDim; i++) s = MathF.FusedMultiplyAdd(x[r * ldx + i], w[i * outDim + j], s);
                        Assert.AreEqual(s, y[r * ldy + j], $"{rows}×{inDim}→{outDim}, bias {bias}: y[{r},{j}]");
                    }
                    for (int j = outDim; j < ldy && r < rows - 1; j++) Assert.IsTrue(float.IsNaN(y[r * ldy + j]), "wrote past the row");
                }
            }
    }
}
