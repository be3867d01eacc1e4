using Cvr.MLNet.Samples;
using Cvr.MLNet.Training;
using Cvr.MLNet.Transforms;
using Microsoft.ML;

namespace Cvr.MLNet.Tests.Training;

[TestClass]
public sealed class TrainingFaultTests
{
    private static IDataView Featurized(out MLContext ml)
    {
        ml = new MLContext(1);
        var log = TestLogs.Random(users: 30, days: 6);
        var samples = CvrSampleSet.Build(log).ToDataView();
        return ml.Transforms.CvrFeatures(log, CvrPipelineTests.SmallVocab).Fit(samples).Transform(samples);
    }

    private static float[] Weights(CvrModelTransformer m) => m.Network.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();

    [TestMethod]
    [DataRow(0, DisplayName = "every row held")]
    [DataRow(300, DisplayName = "windows of 300 rows")]
    public void ResumeAfterAnInterruptionGivesTheSameWeightsAsAnUninterruptedRun(int maxRowsInMemory)
    {
        var data = Featurized(out _);
        var dir = Directory.CreateTempSubdirectory("cvr-ckpt").FullName;
        CvrTrainerOptions Options()
        {
            var options = CvrPipelineTests.SmallTrainer(epochs: 3);
            options.MaxRowsInMemory = maxRowsInMemory;
            return options;
        }
        try
        {
            var fullTrainer = new CvrTrainer(Options());
            var full = fullTrainer.Fit(data);
            if (maxRowsInMemory > 0)
                Assert.IsTrue(fullTrainer.LastSampleCount > 2 * maxRowsInMemory && fullTrainer.LastPeakFeatureRows <= maxRowsInMemory, "trained in windows");

            var ckpt = Path.Combine(dir, "run.ckpt");
            using var cts = new CancellationTokenSource();
            var o = Options();
            o.CheckpointPath = ckpt;
            o.CancellationToken = cts.Token;
            o.Progress = new SyncProgress(p => { if (p.Epoch == 2 && p.Batch > 1) cts.Cancel(); });
            Assert.ThrowsExactly<OperationCanceledException>(() => new CvrTrainer(o).Fit(data));
            Assert.IsTrue(File.Exists(ckpt), "the epoch-1 checkpoint exists");
            Assert.AreEqual(1, Directory.GetFiles(dir).Length, "no half-written temporary file is left");

            var resume = Options();
            resume.CheckpointPath = ckpt; resume.Resume = true;
            var resumed = new CvrTrainer(resume).Fit(data);
            CollectionAssert.AreEqual(Weights(full), Weights(resumed));
            Assert.AreEqual(full.BestEpoch, resumed.BestEpoch);
            Assert.AreEqual(3, resumed.TrainingHistory.Count);
        }
        finally { Directory.Delete(dir, true); }
    }

    [TestMethod]
    public void ADivergingLossIsAClearErrorNotNaNPredictions()
    {
        var data = Featurized(out _);
        var o = CvrPipelineTests.SmallTrainer(epochs: 1);
        o.LearningRate = 1e30;
        o.GradientClipNorm = 0;
        var ex = Assert.ThrowsExactly<InvalidOperationException>(() => new CvrTrainer(o).Fit(data));
        StringAssert.Contains(ex.Message, "Training diverged");
    }

    [TestMethod]
    public void ResumeWithoutACheckpointPathIsRejectedByName()
    {
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new CvrTrainer(new CvrTrainerOptions { Resume = true }));
        Assert.AreEqual("Resume", ex.ParamName);
    }

    private sealed class SyncProgress(Action<CvrTrainingProgress> f) : IProgress<CvrTrainingProgress>
    {
        public void Report(CvrTrainingProgress value) => f(value);
    }
}
