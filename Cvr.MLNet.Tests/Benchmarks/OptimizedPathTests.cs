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
        UseTimeGap = false, SparseEmbeddings = sparse, InteractionFeatures = 0,
    };

    private static FeatureTable Pool(int n = 96) => SyntheticSamples.Create(n, 20, 50, 400, 40, seed: 3);

    private static (double[] Losses, Dictionary<string, float[]> Weights) TrainSteps(bool sparse, int steps, FeatureTable pool, int[] rows)
    {
        torch.manual_seed(11);
        using var net = new CvrNetwork(Small(sparse));
        net.train();
        using var adam = new CvrAdam(net.named_parameters(), 1e-2);
        var step = new CvrTrainStep(net, new CvrLoss(), adam, CPU, clipNorm: 0);
        var losses = new double[steps];
        for (int s = 0; s < steps; s++) losses[s] = step.Run(pool, rows);
        return (losses, net.named_parameters().ToDictionary(p => p.name, p => p.parameter.data<float>().ToArray()));
    }

    [TestMethod]
    public void SparseRowUpdates_MatchDenseAdam_OnRepeatedBatch()
    {
        // With the same batch every step, untouched rows never get a gradient: dense Adam leaves them
        // exactly where lazy row-wise Adam does, so both must give the same losses and weights.
        var pool = Pool();
        var rows = Enumerable.Range(0, 32).ToArray();
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
            var (favA, buyA) = CvrTrainingLoop.PredictTorch(net, pool, rows, 40, CPU);
            CvrTrainingLoop.UseInferenceMode = true;
            var (favB, buyB) = CvrTrainingLoop.PredictTorch(net, pool, rows, 40, CPU);
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

    [TestMethod]
    public void PredictionEngine_ManagedScorer_EqualsLibtorchPerRowPath()
    {
        var ml = new MLContext(seed: 2);
        var log = TestLogs.Random(users: 25, days: 6);
        var samples = CvrSampleSet.Build(log);
        var model = ml.Transforms.CvrFeatures(log, CvrPipelineTests.SmallVocab).Append(new CvrTrainer(CvrPipelineTests.SmallTrainer(epochs: 1)))
            .Fit(samples.ToDataView());
        var requests = Enumerable.Range(0, samples.Count).Where(i => i % Math.Max(1, samples.Count / 40) == 0)
            .Select(i => new CvrRequest { UserId = samples.UserIds[i], ItemId = samples.ItemIds[i], CategoryId = samples.CategoryIds[i], Time = Cvr.MLNet.Data.TianchiTime.FromHour(samples.Hours[i]) })
            .ToArray();
        (float Fav, float Buy)[] Score(bool managed)
        {
            bool old = CvrModelTransformer.UseManagedScorer;
            CvrModelTransformer.UseManagedScorer = managed;
            try
            {
                using var engine = ml.Model.CreatePredictionEngine<CvrRequest, CvrPrediction>(model);
                return [.. requests.Select(r => { var p = engine.Predict(r); return (p.PFavCart, p.PBuy); })];
            }
            finally { CvrModelTransformer.UseManagedScorer = old; }
        }
        var torchPath = Score(managed: false);
        var managedPath = Score(managed: true);
        Assert.IsTrue(requests.Length >= 20);
        for (int i = 0; i < requests.Length; i++)
        {
            Assert.AreEqual(torchPath[i].Fav, managedPath[i].Fav, 1e-5, $"request {i} PFavCart");
            Assert.AreEqual(torchPath[i].Buy, managedPath[i].Buy, 1e-5, $"request {i} PBuy");
        }
    }
}
