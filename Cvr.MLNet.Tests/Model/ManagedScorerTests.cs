using Cvr.MLNet.Samples;
using Cvr.MLNet.Benchmarks;
using Cvr.MLNet.Model;
using Cvr.MLNet.Model.Scoring;
using Cvr.MLNet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Cvr.MLNet.Tests.Model;

/// <summary>
/// The managed single-row forward (<see cref="CvrNetworkScorer"/>, the PredictionEngine path) equals
/// the libtorch forward of <see cref="CvrNetwork"/> on random networks of every option combination.
/// </summary>
[TestClass]
public sealed class ManagedScorerTests
{
    internal const int Users = 60, Items = 500, Categories = 50;

    private static CvrNetworkOptions Base(int t = 20, bool timeGap = true) => new()
    {
        UserBuckets = Users, ItemBuckets = Items, CategoryBuckets = Categories,
        ItemEmbeddingDim = 16, UserEmbeddingDim = 12, CategoryEmbeddingDim = 8, LongTermEmbeddingDim = 10,
        SequenceLength = t, UseTimeGap = timeGap, TimeGapBuckets = 9,
        DinHidden = [40, 12], PleLayers = [[48], [40, 16]], FmFields = 4, SpecificExperts = 2, SharedExperts = 1,
    };

    public static IEnumerable<object[]> Variants() =>
    [
        ["none", 20, true],
        ["none", 7, false],
        ["no-din", 20, true],
        ["no-din", 5, false],
        ["no-se", 20, true],
        ["single-ple", 20, false],
        ["single-ple", 11, true],
        ["wide", 20, true],
        ["narrow", 3, true],
        ["seed-7-fields", 20, true],
    ];

    internal static CvrNetworkOptions Options(string variant, int t, bool timeGap)
    {
        var o = Base(t, timeGap);
        switch (variant)
        {
            case "wide":   // widths past the 32-wide kernel strips, 3 shared experts, default-like DIN
                o.ItemEmbeddingDim = 40; o.DinHidden = [64, 32]; o.PleLayers = [[96], [72, 40]]; o.FmFields = 8; o.SharedExperts = 3; break;
            case "narrow": // widths below one SIMD vector: scalar tails everywhere
                o.ItemEmbeddingDim = 6; o.UserEmbeddingDim = 3; o.CategoryEmbeddingDim = 5; o.LongTermEmbeddingDim = 2;
                o.DinHidden = [5]; o.PleLayers = [[7], [6]]; o.FmFields = 3; o.SpecificExperts = 1; o.SharedExperts = 2; break;
            case "seed-7-fields": o.InteractionFeatures = 0; break; // the reference's network, without interaction features
            default: CvrAblation.Apply(o, variant); break;
        }
        return o.Validate();
    }

    [TestMethod]
    [DynamicData(nameof(Variants))]
    public void ManagedForward_EqualsTorchForward(string variant, int t, bool timeGap)
    {
        var o = Options(variant, t, timeGap);
        var pool = SyntheticSamples.Create(64, t, Users, Items, Categories, seed: 7, interactions: o.InteractionFeatures);
        torch.manual_seed(13);
        using var net = new CvrNetwork(o);
        using (no_grad())
            foreach (var p in net.parameters()) p.mul_(1.6); // sharper than the init, so the outputs spread over (0,1)
        net.eval();
        var rows = Enumerable.Range(0, pool.Count).ToArray();
        var (favT, buyT) = CvrTrainingLoop.PredictTorch(net, pool, rows, 64, CPU);
        var scorer = net.CreateScorer();
        double maxDiff = 0;
        foreach (int r in rows)
        {
            var (fav, buy) = CvrTrainingLoop.PredictOne(scorer, pool, r);
            maxDiff = Math.Max(maxDiff, Math.Max(Math.Abs(fav - favT[r]), Math.Abs(buy - buyT[r])));
        }
        Assert.IsTrue(maxDiff <= 1e-5, $"{variant}, T = {t}, time gap {timeGap}: max |managed − torch| = {maxDiff}");
        // The comparison is not vacuous: the predictions spread and rows with and without history are both present.
        Assert.IsTrue(buyT.Max() - buyT.Min() > 0.01 && favT.Max() - favT.Min() > 0.01, $"spread {buyT.Min()}..{buyT.Max()}");
        Assert.IsTrue(rows.Any(r => pool.SeqLen[r] == 0 || pool.SeqLen[r] >= t) && rows.Any(r => pool.SeqLen[r] > 0));
    }

    [TestMethod]
    public void ManagedForward_IsAFrozenSnapshot_AndThreadSafe()
    {
        var o = Options("none", 20, true);
        var pool = SyntheticSamples.Create(200, 20, Users, Items, Categories, seed: 9, interactions: InteractionFeatures.Length);
        torch.manual_seed(3);
        using var net = new CvrNetwork(o);
        net.eval();
        var scorer = net.CreateScorer();
        var expected = Enumerable.Range(0, pool.Count).Select(r => CvrTrainingLoop.PredictOne(scorer, pool, r)).ToArray();
        using (no_grad()) foreach (var p in net.parameters()) p.add_(1.0);   // later weight changes do not reach the copy
        var got = new (float, float)[pool.Count];
        Parallel.For(0, 8 * pool.Count, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            int r = i % pool.Count;
            var p = CvrTrainingLoop.PredictOne(scorer, pool, r);
            if (i >= 7 * pool.Count) got[r] = p;
            else if (p != expected[r]) throw new InvalidOperationException($"row {r}: {p} != {expected[r]}");
        });
        CollectionAssert.AreEqual(expected, got);
    }

    [TestMethod]
    public void OutOfRangeIds_AreAClearError()
    {
        var o = Options("none", 20, true);
        var pool = SyntheticSamples.Create(4, 20, Users, Items, Categories, seed: 1, interactions: InteractionFeatures.Length);
        pool.Item[2] = Items;   // one past the table
        using var net = new CvrNetwork(o);
        var scorer = net.CreateScorer();
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => CvrTrainingLoop.PredictOne(scorer, pool, 2));
        StringAssert.Contains(e.Message, "item index 500");
    }

    [TestMethod]
    public void DenseScorerFloats_CopiesRowMajorValues_OfStridedTensors_AndRejectsOtherTypes()
    {
        using var scope = NewDisposeScope();
        var w = arange(12, dtype: ScalarType.Float32).reshape(3, 4);
        CollectionAssert.AreEqual(Enumerable.Range(0, 12).Select(i => (float)i).ToArray(), DenseScorer.Floats(w));
        // A transposed view: the copy is in the view's row-major order, not the storage order.
        CollectionAssert.AreEqual(new float[] { 0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11 }, DenseScorer.Floats(w.t()));
        var e = Assert.ThrowsExactly<ArgumentException>(() => DenseScorer.Floats(arange(3, dtype: ScalarType.Float64)));
        StringAssert.Contains(e.Message, "Float64");
    }
}
