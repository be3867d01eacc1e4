using Cvr.MLNet.Benchmarks;
using Cvr.MLNet.Model;
using Cvr.MLNet.Training;
using Cvr.MLNet.Training.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace Cvr.MLNet.Tests.Training;

/// <summary>
/// CvrAdam's fused single-pass update (raw CPU memory, managed coalescing of sparse gradients) equals
/// its op-by-op torch form: same losses, weights, moments and norms over several steps.
/// </summary>
[TestClass]
[DoNotParallelize] // flips CvrAdam.UseFusedUpdate
public sealed class FusedAdamTests
{
    private static CvrNetworkOptions Small(bool sparse) => new()
    {
        UserBuckets = 50, ItemBuckets = 400, CategoryBuckets = 40, ItemEmbeddingDim = 12, UserEmbeddingDim = 8,
        CategoryEmbeddingDim = 4, LongTermEmbeddingDim = 8, DinHidden = [8, 4], PleLayers = [[20], [16, 8]],
        UseTimeGap = true, SparseEmbeddings = sparse, InteractionFeatures = 0,
    };

    private static (double[] Losses, double[] Norms, Dictionary<string, float[]> Weights, byte[] State) Run(bool fused, bool sparse, double clip, int steps)
    {
        bool old = CvrAdam.UseFusedUpdate;
        CvrAdam.UseFusedUpdate = fused;
        try
        {
            var pool = SyntheticSamples.Create(256, 20, 50, 400, 40, seed: 5);
            torch.manual_seed(17);
            using var net = new CvrNetwork(Small(sparse));
            net.train();
            using var adam = new CvrAdam(net.named_parameters(), 5e-3);
            var loss = new CvrLoss();
            var losses = new double[steps]; var norms = new double[steps];
            for (int s = 0; s < steps; s++)
            {
                // Overlapping batches: rows touched in several steps, and repeated ids inside a batch.
                var rows = Enumerable.Range((s * 48) % 200, 64).ToArray();
                using var scope = NewDisposeScope();
                using var batch = pool.MakeBatch(rows, CPU);
                var (fav, buy, w) = CvrTrainStep.Labels(pool, rows, CPU);
                var l = loss.Compute(net.forward(batch), fav, buy, w);
                losses[s] = l.item<float>();
                net.zero_grad();
                l.backward();
                norms[s] = adam.StepOnce(clip);
                Assert.AreEqual(fused, adam.LastStepFused, "the path under test was taken");
            }
            var ms = new MemoryStream();
            adam.Save(new BinaryWriter(ms));
            return (losses, norms, net.named_parameters().ToDictionary(p => p.name, p => p.parameter.data<float>().ToArray()), ms.ToArray());
        }
        finally { CvrAdam.UseFusedUpdate = old; }
    }

    [TestMethod]
    [DataRow(true, 0.0)]
    [DataRow(true, 0.05)]   // small enough that every step clips
    [DataRow(false, 0.0)]
    public void FusedUpdate_EqualsTorchForm(bool sparse, double clip)
    {
        const int steps = 6;
        var torchForm = Run(fused: false, sparse, clip, steps);
        var fused = Run(fused: true, sparse, clip, steps);
        for (int s = 0; s < steps; s++)
        {
            Assert.AreEqual(torchForm.Losses[s], fused.Losses[s], 2e-5, $"loss of step {s + 1}");
            Assert.AreEqual(torchForm.Norms[s], fused.Norms[s], 1e-4 * Math.Max(1, torchForm.Norms[s]), $"norm of step {s + 1}");
        }
        if (clip > 0) Assert.IsTrue(torchForm.Norms.All(n => n > clip), "the clipping case must clip");
        Assert.IsTrue(torchForm.Losses[^1] < torchForm.Losses[0], "the loss falls");
        foreach (var (name, w) in torchForm.Weights)
        {
            var v = fused.Weights[name];
            double maxDiff = w.Zip(v, (a, b) => Math.Abs(a - b)).Max();
            Assert.IsTrue(maxDiff < 2e-5, $"{name}: max |torch − fused| = {maxDiff}");
        }
        Assert.AreEqual(torchForm.State.Length, fused.State.Length, "same optimizer state layout");
    }

    [TestMethod]
    public void FusedSparseUpdate_TouchesOnlyTheBatchRows()
    {
        var pool = SyntheticSamples.Create(64, 20, 50, 400, 40, seed: 2);
        var rows = Enumerable.Range(0, 16).ToArray();
        torch.manual_seed(4);
        using var net = new CvrNetwork(Small(sparse: true));
        var before = net.named_parameters().First(p => p.name == "item_emb.weight").parameter.data<float>().ToArray();
        using var adam = new CvrAdam(net.named_parameters(), 1e-2);
        new CvrTrainStep(net, new CvrLoss(), adam, CPU, 0).Run(pool, rows);
        var after = net.named_parameters().First(p => p.name == "item_emb.weight").parameter.data<float>().ToArray();
        var touched = new HashSet<int>(rows.Select(r => pool.Item[r]).Concat(rows.SelectMany(r => Enumerable.Range(0, Math.Min(pool.SeqLen[r], 20)).Select(p => pool.SeqItems[r * 20 + p]))));
        touched.Remove(0); // padding gets no gradient
        int dim = 12;
        for (int row = 0; row < 400; row++)
        {
            bool moved = Enumerable.Range(0, dim).Any(k => before[row * dim + k] != after[row * dim + k]);
            Assert.AreEqual(touched.Contains(row), moved, $"item row {row}");
        }
    }

    [TestMethod]
    [DataRow(0.0)]
    [DataRow(0.05)] // clips
    public void GradientInParts_StepsExactlyAsTheirSumInGrad(double clip)
    {
        // Two halves' gradients (as the data-parallel step hands them over) against .grad set to their sum.
        var pool = SyntheticSamples.Create(128, 20, 50, 400, 40, seed: 6);
        int[][] halves = [Enumerable.Range(0, 40).ToArray(), Enumerable.Range(30, 40).ToArray()]; // shared rows: repeated ids across parts
        (Dictionary<string, float[]> Weights, double Norm, bool Fused) Step(bool inParts)
        {
            torch.manual_seed(9);
            using var net = new CvrNetwork(Small(sparse: true));
            using var adam = new CvrAdam(net.named_parameters(), 1e-2);
            using var scope = NewDisposeScope();
            var ps = adam.Parameters.Select(p => (Tensor)p).ToArray();
            var parts = halves.Select(rows =>
            {
                using var batch = pool.MakeBatch(rows, CPU);
                var (fav, buy, w) = CvrTrainStep.Labels(pool, rows, CPU);
                var g = torch.autograd.grad([new CvrLoss().Compute(net.forward(batch), fav, buy, w)], ps, allow_unused: true);
                return g.Select(t => t.IsInvalid ? null : t).ToArray();
            }).ToArray();
            Assert.IsTrue(parts[0].Count(t => t is { is_sparse: true }) == 4, "the four id tables have sparse gradients");
            // The PLE experts' weight gradient comes back as a permuted view: the update reads it row by row, without a copy.
            Assert.IsTrue(parts.All(h => h.Any(t => t is { is_sparse: false } && !t.is_contiguous())), "a dense part is a strided view");
            double norm;
            if (inParts) norm = adam.StepOnce(clip, parts);
            else { adam.SetGradients(parts); norm = adam.StepOnce(clip); }
            return (net.named_parameters().ToDictionary(p => p.name, p => p.parameter.data<float>().ToArray()), norm, adam.LastStepFused);
        }
        var inParts = Step(true);
        var summed = Step(false);
        Assert.IsTrue(inParts.Fused && summed.Fused, "both take the fused path");
        Assert.AreEqual(summed.Norm, inParts.Norm, 1e-9 * summed.Norm, "same norm (up to the order of the sum of squares)");
        if (clip > 0) Assert.IsTrue(summed.Norm > clip, "the clipping case must clip");
        foreach (var (name, w) in summed.Weights)
            Assert.IsTrue(w.AsSpan().SequenceEqual(inParts.Weights[name]), $"{name}: the parts and their sum give different weights");
    }
}
