using Cvr.MLNet.Benchmarks;
using Cvr.MLNet.Model;
using Cvr.MLNet.Samples;
using Cvr.MLNet.Serving;
using Cvr.MLNet.Tests.Training;
using Cvr.MLNet.Training;
using Cvr.MLNet.Training.Optim;
using Cvr.MLNet.Transforms;
using Microsoft.ML;
using TorchSharp;
using static TorchSharp.torch;

namespace Cvr.MLNet.Tests.Benchmarks;

/// <summary>
/// The optimized paths the benchmark measures compute the same thing as the plain ones: lazy sparse
/// Adam = dense Adam on the rows a batch touches, inference_mode = no_grad, the single-row
/// PredictionEngine path = the batched path.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class OptimizedPathTests
{
    [ClassInitialize]
    public static void OneThread(TestContext _) => torch.set_num_threads(1);

    private static CvrNetworkOptions Small(bool sparse) => new()
    {
        UserBuckets = 50, ItemBuckets = 400, CategoryBuckets = 40, ItemEmbeddingDim = 8, UserEmbeddingDim = 8,
        CategoryEmbeddingDim = 4, LongTermEmbeddingDim = 8, DinHidden = [8, 4], PleLayers = [[16], [16, 8]],
        UseTimeGap = false, SparseEmbeddings = sparse,
    };

    private static FeatureTable Pool(int n = 96) => SyntheticSamples.Create(n, 20, 50, 400, 40, seed: 3);

    private static (double[] Losses, Dictionary<string, float[]> Weights) TrainSteps(bool sparse, int steps, FeatureTable pool, int[] rows, bool flat = true, double clip = 0)
    {
        torch.manual_seed(11);
        using var net = new CvrNetwork(Small(sparse));
        net.train();
        using var adam = new CvrAdam(net.named_parameters(), 1e-2) { FlatDenseUpdate = flat };
        var step = new CvrTrainStep(net, new CvrLoss(), adam, CPU, clipNorm: clip);
        var losses = new double[steps];
        for (int s = 0; s < steps; s++) losses[s] = step.Run(pool, rows.AsSpan((s % 2) * (rows.Length / 2), rows.Length / 2));
        return (losses, net.named_parameters().ToDictionary(p => p.name, p => p.parameter.data<float>().ToArray()));
    }

    [TestMethod]
    public void SparseRowUpdates_MatchDenseAdam_OnRepeatedBatch()
    {
        // With the same batch every step, untouched rows never get a gradient: dense Adam leaves them
        // exactly where lazy row-wise Adam does, so both must give the same losses and weights.
        var pool = Pool();
        var rows = Enumerable.Range(0, 32).ToArray();
        rows = [.. rows, .. rows]; // both halves are the same batch
        var dense = TrainSteps(sparse: false, steps: 3, pool, rows);
        var sparse = TrainSteps(sparse: true, steps: 3, pool, rows);
        for (int s = 0; s < 3; s++) Assert.AreEqual(dense.Losses[s], sparse.Losses[s], 1e-5, $"loss of step {s + 1}");
        Assert.IsTrue(dense.Losses[2] < dense.Losses[0], $"loss must fall: {string.Join(", ", dense.Losses)}");
        CollectionAssert.AreEquivalent(dense.Weights.Keys.ToArray(), sparse.Weights.Keys.ToArray());
        foreach (var (name, w) in dense.Weights)
        {
            var v = sparse.Weights[name];
            double maxDiff = w.Zip(v, (a, b) => Math.Abs(a - b)).Max();
            Assert.IsTrue(maxDiff < 2e-5, $"{name}: max |dense − sparse| = {maxDiff}");
        }
    }

    [TestMethod]
    public void FlatDenseAdam_MatchesPerParameterAdam_WithAndWithoutClipping()
    {
        // Alternating batches, sparse id tables, 4 steps: the flat (foreach-style) dense update and the
        // per-parameter one must agree, including the global-norm clipping that scales both.
        var pool = Pool();
        var rows = Enumerable.Range(0, 64).ToArray();
        foreach (double clip in new[] { 0.0, 0.05 })
        {
            var plain = TrainSteps(sparse: true, steps: 4, pool, rows, flat: false, clip: clip);
            var flat = TrainSteps(sparse: true, steps: 4, pool, rows, flat: true, clip: clip);
            for (int s = 0; s < 4; s++) Assert.AreEqual(plain.Losses[s], flat.Losses[s], 1e-5, $"clip {clip}: loss of step {s + 1}");
            foreach (var (name, w) in plain.Weights)
            {
                double maxDiff = w.Zip(flat.Weights[name], (a, b) => Math.Abs(a - b)).Max();
                Assert.IsTrue(maxDiff < 1e-5, $"clip {clip}, {name}: max |plain − flat| = {maxDiff}");
            }
        }
    }

    [TestMethod]
    public void FlatDenseAdam_StateSurvivesSaveAndLoad()
    {
        var pool = Pool();
        var rows = Enumerable.Range(0, 32).ToArray();
        torch.manual_seed(4);
        using var net = new CvrNetwork(Small(sparse: true));
        using var adam = new CvrAdam(net.named_parameters(), 1e-2);
        var step = new CvrTrainStep(net, new CvrLoss(), adam, CPU, 0);
        step.Run(pool, rows);
        step.Run(pool, rows);
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) adam.Save(w);
        var weights = net.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        double expected = step.Run(pool, rows.Reverse().ToArray());
        expected = step.Run(pool, rows);
        // Restore weights and optimizer state into a fresh optimizer whose flat buffers already exist.
        using (no_grad()) foreach (var (name, p) in net.named_parameters()) p.copy_(weights[name]);
        using var adam2 = new CvrAdam(net.named_parameters(), 1e-2);
        var step2 = new CvrTrainStep(net, new CvrLoss(), adam2, CPU, 0);
        step2.Run(pool, rows); // builds the flat buffers (and moves the weights)
        using (no_grad()) foreach (var (name, p) in net.named_parameters()) p.copy_(weights[name]);
        ms.Position = 0;
        using (var r = new BinaryReader(ms)) adam2.Load(r);
        Assert.AreEqual(2, adam2.Step);
        step2.Run(pool, rows.Reverse().ToArray());
        Assert.AreEqual(expected, step2.Run(pool, rows), 1e-6);
        foreach (var t in weights.Values) t.Dispose();
    }

    [TestMethod]
    public void TrainStep_LossEqualsTheLossOfAPlainForward()
    {
        var pool = Pool();
        var rows = Enumerable.Range(10, 24).ToArray();
        torch.manual_seed(5);
        using var net = new CvrNetwork(Small(sparse: true));
        double plain;
        using (NewDisposeScope())
        {
            using var batch = pool.MakeBatch(rows, CPU);
            var (fav, buy, w) = CvrTrainStep.Labels(pool, rows, CPU);
            plain = new CvrLoss().Compute(net.forward(batch), fav, buy, w).item<float>();
        }
        using var adam = new CvrAdam(net.named_parameters(), 1e-3);
        double stepped = new CvrTrainStep(net, new CvrLoss(), adam, CPU, 0).Run(pool, rows);
        Assert.AreEqual(plain, stepped, 1e-6);
        Assert.AreEqual(1, adam.Step);
    }

    [TestMethod]
    public void InferenceMode_GivesTheSamePredictionsAsNoGrad()
    {
        var pool = Pool();
        var rows = Enumerable.Range(0, pool.Count).ToArray();
        torch.manual_seed(2);
        using var net = new CvrNetwork(Small(sparse: false));
        bool old = CvrTrainingLoop.UseInferenceMode;
        try
        {
            CvrTrainingLoop.UseInferenceMode = false;
            var (favA, buyA) = CvrTrainingLoop.Predict(net, pool, rows, 40, CPU);
            CvrTrainingLoop.UseInferenceMode = true;
            var (favB, buyB) = CvrTrainingLoop.Predict(net, pool, rows, 40, CPU);
            CollectionAssert.AreEqual(favA, favB);
            CollectionAssert.AreEqual(buyA, buyB);
            Assert.IsTrue(buyB.All(p => p is > 0 and < 1));
            // The single-row path (PredictionEngine) equals the batched one row by row.
            foreach (int r in new[] { 0, 17, 95 })
            {
                var (f, b) = CvrTrainingLoop.PredictOne(net, pool, r);
                Assert.AreEqual(favB[r], f, 1e-6);
                Assert.AreEqual(buyB[r], b, 1e-6);
            }
        }
        finally { CvrTrainingLoop.UseInferenceMode = old; }
    }

    [TestMethod]
    public void PredictionEngine_EqualsBatchTransform_OnTheSameRows()
    {
        var ml = new MLContext(seed: 1);
        var log = TestLogs.Random(users: 30, days: 6);
        var samples = CvrSampleSet.Build(log);
        var model = ml.Transforms.CvrFeatures(log, CvrPipelineTests.SmallVocab).Append(new CvrTrainer(CvrPipelineTests.SmallTrainer(epochs: 1)))
            .Fit(samples.ToDataView());
        var (_, batchBuy) = ((CvrModelTransformer)model.LastTransformer).Score(model.Take(model.Count() - 1).Aggregate(samples.ToDataView(), (v, t) => t.Transform(v)));
        using var engine = ml.Model.CreatePredictionEngine<CvrRequest, CvrPrediction>(model);
        foreach (int i in new[] { 0, samples.Count / 2, samples.Count - 1 })
        {
            var p = engine.Predict(new CvrRequest { UserId = samples.UserIds[i], ItemId = samples.ItemIds[i], CategoryId = samples.CategoryIds[i], Time = Cvr.MLNet.Data.TianchiTime.FromHour(samples.Hours[i]) });
            Assert.AreEqual(batchBuy[i], p.PBuy, 1e-6, $"sample {i}");
        }
    }
}
