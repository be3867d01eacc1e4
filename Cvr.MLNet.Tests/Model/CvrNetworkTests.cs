using Cvr.MLNet.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static Cvr.MLNet.Tests.Model.ModelTestData;

namespace Cvr.MLNet.Tests.Model;

[TestClass]
public sealed class CvrNetworkTests
{
    // One intra-op thread: on this shared 2-core machine libtorch's spinning OpenMP pool made a
    // 300-step tiny training run take ~50 s instead of ~2 s. Results do not depend on it.
    [ClassInitialize]
    public static void OneThread(TestContext _) => torch.set_num_threads(1);

    private static readonly string[] TinyKeys =
    [
        "item_emb.weight", "user_emb.weight", "cat_emb.weight", "user_long_emb.weight", "weekday_emb.weight",
        "hour_emb.weight", "behavior_emb.weight", "time_gap_emb.weight", "cat_to_item.weight",
        "din.hidden.0.weight", "din.hidden.0.bias", "din.hidden.1.weight", "din.hidden.1.bias", "din.score.weight", "din.score.bias",
        "se.fc1.weight", "se.fc1.bias", "se.fc2.weight", "se.fc2.bias",
        "ple.0.experts.weights.0", "ple.0.experts.biases.0", "ple.0.task_gates.0.weight", "ple.0.task_gates.0.bias",
        "ple.0.task_gates.1.weight", "ple.0.task_gates.1.bias", "ple.0.shared_gate.weight", "ple.0.shared_gate.bias",
        "ple.1.experts.weights.0", "ple.1.experts.weights.1", "ple.1.experts.biases.0", "ple.1.experts.biases.1",
        "ple.1.task_gates.0.weight", "ple.1.task_gates.0.bias", "ple.1.task_gates.1.weight", "ple.1.task_gates.1.bias",
        "towers.0.linear.weight", "towers.0.linear.bias", "towers.1.linear.weight", "towers.1.linear.bias",
        "towers.2.linear.weight", "towers.2.linear.bias",
    ];

    [TestMethod]
    public void WeightKeys_ArePinned_AndStateDictHoldsOnlyParameters()
    {
        torch.manual_seed(0);
        using var net = new CvrNetwork(Tiny());
        CollectionAssert.AreEqual(TinyKeys, net.named_parameters().Select(p => p.name).ToArray());
        CollectionAssert.AreEqual(TinyKeys, net.state_dict().Keys.ToArray());
        var shapes = net.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        CollectionAssert.AreEqual(new long[] { 5, 43, 8 }, shapes["ple.0.experts.weights.0"]);   // K = 2·2 + 1, in = 43
        CollectionAssert.AreEqual(new long[] { 6, 32 }, shapes["din.hidden.0.weight"]);          // 4 × 8 → 6
        CollectionAssert.AreEqual(new long[] { 5, 8 }, shapes["behavior_emb.weight"]);
        using var noGap = new CvrNetwork(Tiny(timeGap: false));
        CollectionAssert.AreEqual(TinyKeys.Where(k => k != "time_gap_emb.weight").ToArray(),
            noGap.named_parameters().Select(p => p.name).ToArray());
    }

    [TestMethod]
    public void ParameterCount_Defaults_ReferencePlusTimeGapTable()
    {
        // Reference cvr_torch.py: 30,393,341 = 28,800,781 in embedding tables + 1,592,560 dense.
        // UseTimeGap (default) adds one 12 × 128 table: +1,536. The 19 interaction features (default) widen
        // the PLE input: 6 first-layer experts × 19 × 256, 2 task gates × 4 experts × 19, the shared gate
        // 6 × 19; and the SE block sees 8 fields: +3 (squeeze) + 3 + 1 (excite).
        using (var withInteractions = new CvrNetwork())
            Assert.AreEqual(30_393_341L + 12 * 128 + 6 * 19 * 256 + 2 * 4 * 19 + 6 * 19 + 3 + 4, withInteractions.parameters().Sum(p => p.numel()));
        using var net = new CvrNetwork(new CvrNetworkOptions { InteractionFeatures = 0 });
        long total = net.parameters().Sum(p => p.numel());
        Assert.AreEqual(30_393_341L + 12 * 128, total);
        Assert.AreEqual(28_800_000L, net.IdTableParameters().Sum(p => p.Parameter.numel()));
        Assert.AreEqual(total - 28_800_000L, net.DenseParameters().Sum(p => p.Parameter.numel()));
        CollectionAssert.AreEqual(CvrNetwork.IdTableKeys.ToArray(), net.IdTableParameters().Select(p => p.Name).ToArray());
        Assert.AreEqual(615, net.Options.InputDim);
        net.Dispose();
        using var reference = new CvrNetwork(new CvrNetworkOptions { UseTimeGap = false, InteractionFeatures = 0 });
        Assert.AreEqual(30_393_341L, reference.parameters().Sum(p => p.numel()));
        long embeddings = reference.named_parameters().Where(p => p.name.EndsWith("_emb.weight", StringComparison.Ordinal)).Sum(p => p.parameter.numel());
        Assert.AreEqual(28_800_781L, embeddings);
    }

    [TestMethod]
    public void Forward_SeededTinyNetwork_MatchesGoldenValues()
    {
        torch.manual_seed(42);
        var o = Tiny();
        using var net = new CvrNetwork(o);
        using var batch = Batch(o, 4, seed: 7);
        using var output = net.forward(batch);
        // Recorded from the first run (libtorch 2.10 CPU); the FM/SE/DIN/PLE pieces are checked by hand elsewhere.
        AssertValues([0.16586076f, 0.16225125f, 0.164064f, 0.1654369f], output.Y1Logit);
        AssertValues([0.041018337f, 0.050411627f, 0.05135633f, 0.05234188f], output.Y2Logit);
        AssertValues([-0.18037878f, -0.17987838f, -0.17202903f, -0.17817593f], output.Y3Logit);
        AssertValues([0.48035544f, 0.48155057f, 0.48268634f, 0.48195487f], output.PBuy);
        AssertValues([0.5738531f, 0.50472987f, 0.52682304f, 0.43390167f, 0.41749415f, 0.5174464f, 0.52434975f],
            output.FieldWeights[0]);
        // The batch itself is seeded too: lengths 3, 4, 1, 2.
        CollectionAssert.AreEqual(new float[] { 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0 }, Values(batch.SeqMask));
    }

    private static void AssertValues(float[] expected, Tensor actual)
    {
        var got = Values(actual);
        Assert.HasCount(expected.Length, got);
        for (int i = 0; i < expected.Length; i++) Assert.AreEqual(expected[i], got[i], 2e-5, $"index {i}");
    }

    [TestMethod]
    public void Outputs_FollowEsm2Identity_AndAreProbabilities()
    {
        torch.manual_seed(8);
        var o = Tiny();
        using var net = new CvrNetwork(o);
        using var batch = Batch(o, 32, seed: 9);
        using var scope = NewDisposeScope();
        using var output = net.forward(batch);
        var p1 = output.Y1Logit.sigmoid();
        var expected = p1 * output.Y3Logit.sigmoid() + (1 - p1) * output.Y2Logit.sigmoid();
        Assert.IsTrue(MaxAbsDiff(output.PBuy, expected) < 1e-7);
        Assert.IsTrue(MaxAbsDiff(output.PFavCart, p1) < 1e-7);
        foreach (var p in new[] { output.PFavCart, output.PBuy, output.FieldWeights })
        {
            Assert.IsTrue(p.min().item<float>() >= 0f);
            Assert.IsTrue(p.max().item<float>() <= 1f);
        }
    }

    [TestMethod]
    public void PaddedSequencePositions_DoNotChangeTheOutput()
    {
        torch.manual_seed(10);
        var o = Tiny();
        using var net = new CvrNetwork(o);
        using var batch = Batch(o, 16, seed: 11);
        using var scope = NewDisposeScope();
        var pad = batch.SeqMask.eq(0);
        Assert.IsTrue(pad.any().item<bool>(), "the batch must contain padding");
        using var noisy = new CvrBatch
        {
            UserIdx = batch.UserIdx.clone(), ItemIdx = batch.ItemIdx.clone(), CategoryIdx = batch.CategoryIdx.clone(),
            Weekday = batch.Weekday.clone(), Hour = batch.Hour.clone(), TimeDense = batch.TimeDense.clone(), Counts = batch.Counts.clone(),
            SeqItems = where(pad, randint(1, o.ItemBuckets, [16, 5]), batch.SeqItems),
            SeqCategories = where(pad, randint(1, o.CategoryBuckets, [16, 5]), batch.SeqCategories),
            SeqBehaviors = where(pad, randint(1, 5, [16, 5]), batch.SeqBehaviors),
            SeqHoursAgo = where(pad, rand(16, 5) * 100, batch.SeqHoursAgo),
            SeqMask = batch.SeqMask.clone(),
        };
        Assert.IsFalse(noisy.SeqItems.equal(batch.SeqItems).all().item<bool>());
        using var a = net.forward(batch);
        using var b = net.forward(noisy);
        Assert.IsTrue(MaxAbsDiff(a.PBuy, b.PBuy) < 1e-7);
        Assert.IsTrue(MaxAbsDiff(a.Y1Logit, b.Y1Logit) < 1e-7);
        // ...while a real position does change it.
        using var real = new CvrBatch
        {
            UserIdx = batch.UserIdx, ItemIdx = batch.ItemIdx, CategoryIdx = batch.CategoryIdx, Weekday = batch.Weekday,
            Hour = batch.Hour, TimeDense = batch.TimeDense, Counts = batch.Counts,
            SeqItems = where(pad, batch.SeqItems, (batch.SeqItems + 1) % o.ItemBuckets + (batch.SeqItems.eq(o.ItemBuckets - 1)).to(ScalarType.Int64)),
            SeqCategories = batch.SeqCategories, SeqBehaviors = batch.SeqBehaviors, SeqHoursAgo = batch.SeqHoursAgo, SeqMask = batch.SeqMask,
        };
        using var c = net.forward(real);
        Assert.IsTrue(MaxAbsDiff(a.Y1Logit, c.Y1Logit) > 1e-6);
    }

    [TestMethod]
    public void Backward_ReachesEveryParameter_ExceptPaddingRows()
    {
        torch.manual_seed(12);
        var o = Tiny();
        using var net = new CvrNetwork(o);
        using var batch = Batch(o, 128, seed: 13);
        using var scope = NewDisposeScope();
        using var output = net.forward(batch);
        var fav = (batch.ItemIdx % 2).to(ScalarType.Float32);
        var buy = (batch.UserIdx % 3).eq(0).to(ScalarType.Float32);
        new CvrLoss().Compute(output, fav, buy).backward();
        string[] padded = ["item_emb.weight", "user_emb.weight", "cat_emb.weight", "user_long_emb.weight", "behavior_emb.weight", "time_gap_emb.weight"];
        foreach (var (name, p) in net.named_parameters())
        {
            Assert.IsNotNull(p.grad, name);
            Assert.IsTrue(p.grad.abs().sum().item<float>() > 0f, $"{name} got no gradient");
            if (padded.Contains(name))
                Assert.AreEqual(0f, p.grad[0].abs().sum().item<float>(), $"{name} padding row got a gradient");
        }
    }

    [TestMethod]
    public void SparseEmbeddings_GiveSparseIdTableGradients_EqualToDenseOnes()
    {
        var o = Tiny();
        using var scope = NewDisposeScope();
        torch.manual_seed(14);
        using var dense = new CvrNetwork(o);
        torch.manual_seed(14);
        using var sparse = new CvrNetwork(Tiny(sparse: true));
        using var batch = Batch(o, 64, seed: 15);
        var fav = (batch.ItemIdx % 2).to(ScalarType.Float32);
        var buy = (batch.UserIdx % 3).eq(0).to(ScalarType.Float32);
        foreach (var net in new[] { dense, sparse })
        {
            using var output = net.forward(batch);
            new CvrLoss().Compute(output, fav, buy).backward();
        }
        var d = dense.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in sparse.named_parameters())
        {
            bool idTable = CvrNetwork.IdTableKeys.Contains(name);
            Assert.AreEqual(idTable, p.grad!.is_sparse, name);
            var g = idTable ? p.grad.to_dense() : p.grad;
            Assert.IsTrue(MaxAbsDiff(g, d[name].grad!) < 1e-6, name);
        }
    }

    [TestMethod]
    public void AdamSteps_OnALearnableBatch_DecreaseTheLoss()
    {
        torch.manual_seed(16);
        var o = Tiny();
        using var net = new CvrNetwork(o);
        using var batch = Batch(o, 256, seed: 17);
        // Labels the inputs determine: fav/cart for a third of the items, buy for fav/cart items of even users.
        using var fav = (batch.ItemIdx % 3).eq(0).to(ScalarType.Float32);
        using var buy = (fav * (batch.UserIdx % 2).eq(0).to(ScalarType.Float32));
        var loss = new CvrLoss();
        using var adam = optim.Adam(net.parameters(), lr: 1e-2);
        float first = 0, last = 0;
        for (int step = 0; step < 300; step++)
        {
            using var stepScope = NewDisposeScope();
            adam.zero_grad();
            using var output = net.forward(batch);
            var l = loss.Compute(output, fav, buy);
            l.backward();
            adam.step();
            if (step == 0) first = l.item<float>();
            last = l.item<float>();
        }
        Assert.IsTrue(float.IsFinite(last));
        Assert.IsTrue(last < 0.25f * first, $"loss {first} → {last}");
    }

    [TestMethod]
    public void SaveLoad_ThroughAStream_RoundTripsExactly()
    {
        var o = Tiny();
        torch.manual_seed(18);
        using var a = new CvrNetwork(o);
        torch.manual_seed(19);
        using var b = new CvrNetwork(o);
        using var batch = Batch(o, 8, seed: 20);
        using var scope = NewDisposeScope();
        using var stream = new MemoryStream();
        a.SaveWeights(stream);
        long written = stream.Position;
        Assert.IsTrue(written > 4 * a.parameters().Sum(p => p.numel()));
        stream.Position = 0;
        using (var before = b.forward(batch)) using (var ao = a.forward(batch))
            Assert.IsTrue(MaxAbsDiff(before.PBuy, ao.PBuy) > 1e-6, "differently seeded networks must differ");
        b.LoadWeights(stream);
        Assert.AreEqual(written, stream.Position);
        var pa = a.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in b.named_parameters())
            Assert.IsTrue(p.equal(pa[name]).all().item<bool>(), name);
        using var oa = a.forward(batch);
        using var ob = b.forward(batch);
        Assert.AreEqual(0.0, MaxAbsDiff(oa.PBuy, ob.PBuy));
        Assert.AreEqual(0.0, MaxAbsDiff(oa.FieldWeights, ob.FieldWeights));
        // A network of another shape refuses the weights.
        stream.Position = 0;
        using var other = new CvrNetwork(Tiny(timeGap: false));
        Assert.ThrowsExactly<ArgumentException>(() => other.LoadWeights(stream));
    }

    [TestMethod]
    public void TimeGapBucket_IsLog2OfHoursPlusOne_CappedAndZeroOnPadding()
    {
        using var net = new CvrNetwork(Tiny());                                  // 6 buckets: 0 = padding, 1..5
        using var scope = NewDisposeScope();
        var hours = tensor(new float[] { 0f, 0.5f, 1f, 3f, 7f, 1000f, -5f, 2f }, [1, 8]);
        var mask = tensor(new float[] { 1, 1, 1, 1, 1, 1, 1, 0 }, [1, 8]);
        CollectionAssert.AreEqual(new long[] { 1, 1, 2, 3, 4, 5, 1, 0 }, net.TimeGapBucket(hours, mask).data<long>().ToArray());
    }

    [TestMethod]
    public void Forward_WrongShape_NamesTheTensor()
    {
        var o = Tiny();
        using var net = new CvrNetwork(o);
        using var good = Batch(o, 6, seed: 1);
        using var bad = new CvrBatch
        {
            UserIdx = good.UserIdx, ItemIdx = good.ItemIdx, CategoryIdx = good.CategoryIdx, Weekday = good.Weekday,
            Hour = good.Hour, TimeDense = good.TimeDense, Counts = good.Counts, SeqItems = good.SeqItems.narrow(1, 0, 4),
            SeqCategories = good.SeqCategories, SeqBehaviors = good.SeqBehaviors, SeqHoursAgo = good.SeqHoursAgo, SeqMask = good.SeqMask,
        };
        var ex = Assert.ThrowsExactly<ArgumentException>(() => net.forward(bad));
        Assert.AreEqual("CvrBatch.SeqItems has shape [6,4] Int64, expected [6,5] Int64. (Parameter 'SeqItems')", ex.Message);
        using var floatCounts = new CvrBatch
        {
            UserIdx = good.UserIdx, ItemIdx = good.ItemIdx, CategoryIdx = good.CategoryIdx, Weekday = good.Weekday,
            Hour = good.Hour, TimeDense = good.TimeDense, Counts = good.Counts.to(ScalarType.Float64), SeqItems = good.SeqItems,
            SeqCategories = good.SeqCategories, SeqBehaviors = good.SeqBehaviors, SeqHoursAgo = good.SeqHoursAgo, SeqMask = good.SeqMask,
        };
        ex = Assert.ThrowsExactly<ArgumentException>(() => net.forward(floatCounts));
        Assert.AreEqual("CvrBatch.Counts has shape [6,4] Float64, expected [6,4] Float32. (Parameter 'Counts')", ex.Message);
    }
}
