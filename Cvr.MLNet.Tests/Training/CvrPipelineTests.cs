using Cvr.MLNet.Data;
using Cvr.MLNet.Model;
using Cvr.MLNet.Samples;
using Cvr.MLNet.Serving;
using Cvr.MLNet.Training;
using Cvr.MLNet.Transforms;
using Cvr.MLNet.Transforms.Vocabulary;
using Microsoft.ML;

namespace Cvr.MLNet.Tests.Training;

[TestClass]
public sealed class CvrPipelineTests
{
    internal static readonly IdVocabularyOptions SmallVocab = new() { UserSize = 128, ItemSize = 512, CategorySize = 16, OovShare = 0.05 };

    internal static CvrTrainerOptions SmallTrainer(int epochs = 2, int seed = 7) => new()
    {
        Network = new CvrNetworkOptions
        {
            UserBuckets = SmallVocab.UserSize, ItemBuckets = SmallVocab.ItemSize, CategoryBuckets = SmallVocab.CategorySize,
            ItemEmbeddingDim = 16, UserEmbeddingDim = 16, CategoryEmbeddingDim = 8, LongTermEmbeddingDim = 16,
            DinHidden = [16, 8], PleLayers = [[32], [32, 16]],
        },
        Epochs = epochs, BatchSize = 64, Seed = seed, Threads = 1,
    };

    private static string TempZip() => Path.Combine(Path.GetTempPath(), $"cvr-{Guid.NewGuid():N}.zip");

    [TestMethod]
    public void FitsEvaluatesSavesLoadsAndServesAsAStandardMLNetModel()
    {
        var ml = new MLContext(seed: 1);
        var log = TestLogs.Random();
        var samples = CvrSampleSet.Build(log).ToDataView();
        var pipeline = ml.Transforms.CvrFeatures(log, SmallVocab).Append(new CvrTrainer(SmallTrainer()));
        var model = pipeline.Fit(samples);

        var scored = model.Transform(samples);
        var metrics = ml.BinaryClassification.Evaluate(scored, labelColumnName: CvrColumns.Buy);
        Assert.IsTrue(metrics.AreaUnderRocCurve > 0.5, $"AUC {metrics.AreaUnderRocCurve}");
        Assert.IsTrue(metrics.Accuracy is > 0 and <= 1);

        var path = TempZip();
        try
        {
            ml.Model.Save(model, samples.Schema, path);
            var ml2 = new MLContext();
            var loaded = ml2.Model.Load(path, out var schema);
            Assert.IsNotNull(schema.GetColumnOrNull(CvrColumns.UserId));

            var requestTime = TianchiTime.FromHour(log.HourRange().Last + 5);
            var requests = new[]
            {
                new CvrRequest { UserId = 1000, ItemId = 103, CategoryId = 1, Time = requestTime },
                new CvrRequest { UserId = 1007, ItemId = 201, CategoryId = 2, Time = requestTime },
                new CvrRequest { UserId = 999_999, ItemId = 987_654, CategoryId = 77, Time = requestTime }, // all unknown: still scores
            };
            var before = ml.Model.CreatePredictionEngine<CvrRequest, CvrPrediction>(model);
            var after = ml2.Model.CreatePredictionEngine<CvrRequest, CvrPrediction>(loaded);
            foreach (var r in requests)
            {
                var p1 = before.Predict(r); var p2 = after.Predict(r);
                Assert.IsTrue(p1.PBuy is > 0 and < 1 && p1.PFavCart is > 0 and < 1);
                Assert.AreEqual(p1.PBuy, p2.PBuy, 1e-6);
                Assert.AreEqual(p1.PFavCart, p2.PFavCart, 1e-6);
                Assert.AreEqual(p1.PBuy, p1.Probability);
                Assert.AreEqual(p1.PBuy >= 0.5f, p1.PredictedLabel);
            }
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void SameSeedGivesSameWeightsAndDifferentSeedDiffers()
    {
        var ml = new MLContext(seed: 1);
        var log = TestLogs.Random(users: 30, days: 6);
        var samples = CvrSampleSet.Build(log).ToDataView();
        var features = ml.Transforms.CvrFeatures(log, SmallVocab).Fit(samples);
        var featurized = features.Transform(samples);
        float[] Weights(int seed) =>
            new CvrTrainer(SmallTrainer(epochs: 1, seed: seed)).Fit(featurized).Network.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
        var a = Weights(3); var b = Weights(3); var c = Weights(4);
        CollectionAssert.AreEqual(a, b);
        CollectionAssert.AreNotEqual(a, c);
    }

    [TestMethod]
    public void MissingFeatureColumnIsNamedBeforeTraining()
    {
        var ml = new MLContext(seed: 1);
        var log = TestLogs.Random(users: 10, days: 4);
        var samples = CvrSampleSet.Build(log).ToDataView();
        var trainer = new CvrTrainer(SmallTrainer());
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => trainer.Fit(samples));
        StringAssert.Contains(ex.Message, "'SeqItemIndices'");
    }

    [TestMethod]
    public void OptionsAreValidatedByName()
    {
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new CvrTrainer(new CvrTrainerOptions { BatchSize = 0 }));
        Assert.AreEqual("BatchSize", ex.ParamName);
        ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new CvrTrainer(new CvrTrainerOptions { Device = "tpu" }));
        Assert.AreEqual("Device", ex.ParamName);
    }

    [TestMethod]
    public void CudaRequestFallsBackOrFailsClearlyOnACpuBuild()
    {
        Assert.AreEqual(TorchSharp.DeviceType.CPU, DeviceSelector.Resolve("auto", null).type);
        var ml = new MLContext { GpuDeviceId = 0, FallbackToCpu = true };
        Assert.AreEqual(TorchSharp.DeviceType.CPU, DeviceSelector.Resolve("cpu", ml).type);
        var ex = Assert.ThrowsExactly<InvalidOperationException>(() => DeviceSelector.Resolve("cuda", null));
        StringAssert.Contains(ex.Message, "CUDA is not available");
    }
}

[TestClass]
public sealed class OovTrainingTests
{
    /// <summary>
    /// Ids never seen in fitting land in hashed OOV buckets that are trained by id dropout: an unknown
    /// item or category scores like a known one, and an unknown user like a known user without history.
    /// </summary>
    [TestMethod]
    public void UnknownIdsScoreLikeTrainedIdsNotLikeRandomEmbeddings()
    {
        var ml = new MLContext(seed: 1);
        var log = TestLogs.Random(users: 60, days: 10);
        var samples = CvrSampleSet.Build(log);
        var o = CvrPipelineTests.SmallTrainer(epochs: 3);
        o.OovDropoutRate = 0.05;
        var model = ml.Transforms.CvrFeatures(log, CvrPipelineTests.SmallVocab).Append(new CvrTrainer(o)).Fit(samples.ToDataView());
        var engine = ml.Model.CreatePredictionEngine<CvrRequest, CvrPrediction>(model);
        var (first, last) = log.HourRange();
        var after = TianchiTime.FromHour(last + 3);
        var start = TianchiTime.FromHour(first); // before every user's first event: no history
        float P(Func<int, CvrRequest> f) => Enumerable.Range(0, 20).Select(i => engine.Predict(f(i)).PBuy).Average();
        float known = P(i => new CvrRequest { UserId = 1000 + 7 * i, ItemId = 100 + i, CategoryId = 1, Time = after });
        float unknownItem = P(i => new CvrRequest { UserId = 1000 + 7 * i, ItemId = 800_000 + i, CategoryId = 1, Time = after });
        float unknownCategory = P(i => new CvrRequest { UserId = 1000 + 7 * i, ItemId = 100 + i, CategoryId = 700 + i, Time = after });
        float noHistory = P(i => new CvrRequest { UserId = 1000 + 7 * i, ItemId = 100 + i, CategoryId = 1, Time = start });
        float unknownUser = P(i => new CvrRequest { UserId = 900_000 + i, ItemId = 100 + i, CategoryId = 1, Time = after });
        Console.WriteLine($"known {known:F4}, unknown item {unknownItem:F4}, unknown category {unknownCategory:F4}, known user without history {noHistory:F4}, unknown user {unknownUser:F4}");
        Assert.AreEqual(known, unknownItem, 0.05);
        Assert.AreEqual(known, unknownCategory, 0.05);
        Assert.AreEqual(noHistory, unknownUser, 0.05);
    }
}
