using System.Text.Json.Nodes;
using Cvr.MLNet.Benchmarks;
using Cvr.MLNet.Cli.Commands;
using Cvr.MLNet.Model;
using Cvr.MLNet.Tests.Cli;

namespace Cvr.MLNet.Tests.Benchmarks;

[TestClass]
[DoNotParallelize]
public sealed class BenchmarkTests
{
    [TestMethod]
    public void SyntheticPool_HasTheReferenceShapes_AndPaddingAtTheEnd()
    {
        var t = SyntheticSamples.Create(4000, 20, 10_000, 200_000, 10_000, seed: 0);
        Assert.AreEqual(4000, t.Count);
        Assert.AreEqual(4000 * 20, t.SeqItems.Length);
        double full = t.SeqLen.Count(l => l == 20) / 4000.0;
        Assert.IsTrue(full is > 0.56 and < 0.64, $"full histories {full}"); // 60% full, the rest draw 0..19
        for (int s = 0; s < t.Count; s++)
            for (int p = t.SeqLen[s]; p < 20; p++)
            {
                Assert.AreEqual(0, t.SeqItems[s * 20 + p]);
                Assert.AreEqual(0, t.SeqBehaviors[s * 20 + p]);
            }
        Assert.IsTrue(t.Item.All(i => i is >= 0 and < 200_000) && t.User.All(u => u is >= 0 and < 10_000));
        Assert.IsTrue(t.SeqBehaviors.All(b => b is >= 0 and <= 4));
        double fav = t.FavCart.Count(x => x) / 4000.0, buy = t.Buy.Count(x => x) / 4000.0;
        Assert.IsTrue(fav is > 0.015 and < 0.06, $"fav/cart rate {fav}");
        Assert.IsTrue(buy is > 0.002 and < 0.025, $"buy rate {buy}");
        int expected = (int)(123456789UL * 2654435761UL % 4294967296UL % 200_000UL);
        Assert.AreEqual(expected, SyntheticSamples.Bucket(123456789L, 200_000));
    }

    [TestMethod]
    public void Options_AreValidatedByName()
    {
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new CvrBenchmarkOptions { TrainSeconds = 0 }.Check());
        Assert.AreEqual("TrainSeconds", ex.ParamName);
        ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new CvrBenchmarkOptions { TrainBatchSizes = [128, 0] }.Check());
        StringAssert.Contains(ex.Message, "TrainBatchSizes must be positive batch sizes");
        Assert.AreEqual(30_393_341L, ReferenceParameterCount());
    }

    private static long ReferenceParameterCount()
    {
        using var net = new CvrNetwork(new CvrBenchmarkOptions().Network);
        return net.parameters().Sum(p => p.numel());
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(2)] // the data-parallel step
    public void TinyRun_ReportsEveryRequestedBatchSize_AndTheLossFalls(int workers)
    {
        var o = new CvrBenchmarkOptions
        {
            TrainSeconds = 0.01, InferSeconds = 0.01, WarmupSeconds = 0, TrainBatchSizes = [16, 64], InferBatchSizes = [32], PoolSize = 512,
            Threads = 1, Latency = false, Features = false, Workers = workers,
            Network = new CvrNetworkOptions
            {
                UserBuckets = 64, ItemBuckets = 256, CategoryBuckets = 32, ItemEmbeddingDim = 8, UserEmbeddingDim = 8, CategoryEmbeddingDim = 4,
                LongTermEmbeddingDim = 8, DinHidden = [8, 4], PleLayers = [[16], [16, 8]], UseTimeGap = false, InteractionFeatures = 0,
            },
        };
        var lines = new List<string>();
        var r = new CvrBenchmark(o, lines.Add).Run(null);
        CollectionAssert.AreEqual(new[] { 16, 64 }, r.Train.Keys.ToArray());
        CollectionAssert.AreEqual(new[] { 32 }, r.Infer.Keys.ToArray());
        foreach (var t in r.Train.Values)
        {
            Assert.IsTrue(t.Steps >= 3 && t.SamplesPerSecond > 0);
            Assert.IsTrue(t.LossFirstLast!.All(double.IsFinite));
            Assert.AreEqual(1.0, t.PhaseShare!.Values.Sum(), 0.01);
            Assert.AreEqual(workers, t.Workers);
        }
        Assert.IsNull(r.Latency);
        Assert.AreEqual(1, r.Threads);
        Assert.AreEqual(3, lines.Count); // two train lines, one infer line
        var ex = Assert.ThrowsExactly<ArgumentNullException>(() => new CvrBenchmark(new CvrBenchmarkOptions { Train = false, Infer = false }).Run(null));
        StringAssert.Contains(ex.Message, "need an event log");
    }

    [TestMethod]
    public void FeatureAndLatencyParts_OnASmallLog_ReportTheFeaturePipelineBothLatenciesAndTheLookupAlone()
    {
        var log = TestLogs.Random(users: 30, days: 6);
        var o = new CvrBenchmarkOptions
        {
            Threads = 1, Train = false, Infer = false, LatencyCalls = 50, LatencyWarmup = 5, WarmupSeconds = 0.2,
            Network = new CvrNetworkOptions
            {
                ItemEmbeddingDim = 8, UserEmbeddingDim = 8, CategoryEmbeddingDim = 4,
                LongTermEmbeddingDim = 8, DinHidden = [8, 4], PleLayers = [[16], [16, 8]], UseTimeGap = false, InteractionFeatures = 0,
            },
        };
        var r = new CvrBenchmark(o).Run(log);
        Assert.AreEqual(log.Count, r.Features!.Events);
        Assert.IsGreaterThan(0, r.Features.Samples);
        Assert.AreEqual(50, r.Latency!.Calls);
        Assert.AreEqual(50, r.FeatureLookup!.Calls);
        Assert.IsTrue(r.FeatureLookup.P50Us > 0 && r.FeatureLookup.P50Us <= r.FeatureLookup.P99Us);
        Assert.IsTrue(r.Latency.P50Us > 0 && r.Latency.P50Us <= r.Latency.P99Us);
    }

    [TestMethod]
    public void Report_HasTheIssueKeys_AndRatiosAreOursOverPyTorch()
    {
        var r = new CvrBenchmarkResult { Threads = 2, LoadAverage = [1, 2] };
        r.Train[128] = new ThroughputResult(3000, 3100, 10, 1, 40, 1.9, 1 << 30, [0.5, 0.2]) { PhaseShare = new Dictionary<string, double> { ["forward"] = 1 } };
        r.Infer[256] = new ThroughputResult(20000, 21000, 10, 1, 12, 1.9, 1 << 30);
        r.Latency = new LatencyResult(2000, 400, 600, 1000, 450, 1 << 30);
        r.FeatureLookup = new LatencyResult(2000, 9.5, 11, 28.25, 10, 1 << 30);
        var torchJson = JsonNode.Parse("""{"train":{"128":{"samples_per_s":1500.0,"cpu_util":0.95}},"infer":{"256":{"samples_per_s":10000.0}},"single_sample_latency":{"inference_mode":{"p50_us":800.0,"p99_us":1500.0}}}""")!.AsObject();
        var t = new PyTorchResult(new() { [128] = 1500 }, new() { [256] = 10000 }, 800, 1500, 2L << 30, torchJson);
        var j = BenchCommand.Report(r, t, null, 0);
        Assert.AreEqual(1, j["details"]!["trainWorkers"]!["128"]!.GetValue<int>());
        Assert.AreEqual(3000, j["trainSamplesPerSec"]!["128"]!.GetValue<double>());
        Assert.AreEqual(20000, j["inferSamplesPerSec"]!["256"]!.GetValue<double>());
        Assert.AreEqual(400, j["singleLatencyUs"]!["p50"]!.GetValue<double>());
        Assert.AreEqual(1000, j["singleLatencyUs"]!["p99"]!.GetValue<double>());
        Assert.AreEqual(9.5, j["featureLookupUs"]!["p50"]!.GetValue<double>());
        Assert.AreEqual(28.25, j["featureLookupUs"]!["p99"]!.GetValue<double>());
        Assert.AreEqual(2.0, j["ratios"]!["trainSamplesPerSec"]!["128"]!.GetValue<double>());
        Assert.AreEqual(2.0, j["ratios"]!["inferSamplesPerSec"]!["256"]!.GetValue<double>());
        Assert.AreEqual(2.0, j["ratios"]!["singleLatencyUs"]!["p50"]!.GetValue<double>());
        Assert.AreEqual(1.5, j["ratios"]!["singleLatencyUs"]!["p99"]!.GetValue<double>());
        Assert.AreEqual(1500, j["pytorch"]!["trainSamplesPerSec"]!["128"]!.GetValue<double>());
        // Per CPU-second: (3000 / 1.9) ÷ (1500 / 0.95) = 1; inference has no cpu_util in the raw JSON, so no entry.
        Assert.AreEqual(1.0, j["ratiosPerCpuSecond"]!["trainSamplesPerSec"]!["128"]!.GetValue<double>());
        Assert.AreEqual(0, j["ratiosPerCpuSecond"]!["inferSamplesPerSec"]!.AsObject().Count);
        Assert.AreEqual(2048.0, j["pytorch"]!["peakMemoryMB"]!.GetValue<double>());
        Assert.AreEqual(1024.0, j["peakMemoryMB"]!["train"]!["128"]!.GetValue<double>());
    }

    [TestMethod]
    public void UnknownPart_IsOneErrorLineNamingIt()
    {
        var (code, _, err) = CliRunner.Run("bench", "--parts", "train,gpu", "--json");
        Assert.AreEqual(1, code);
        Assert.AreEqual("error: --parts: unknown part 'gpu'; expected train, infer, latency, features.", err.Trim());
        (code, _, err) = CliRunner.Run("bench", "--parts", "train", "--train-batch-sizes", "128,0", "--json");
        Assert.AreEqual(1, code);
        Assert.AreEqual("error: --train-batch-sizes: '0' is not a positive whole number.", err.Trim());
        (code, _, err) = CliRunner.Run("bench", "--parts", "train", "--workers", "3", "--json");
        Assert.AreEqual(1, code);
        StringAssert.Contains(err, "Workers must be 0 (automatic), 1 or 2");
    }
}
