using Cvr.MLNet.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Cvr.MLNet.Tests.Model;

[TestClass]
public sealed class CvrOptionsAndLossTests
{
    // One intra-op thread: on this shared 2-core machine libtorch's spinning OpenMP pool made a
    // 300-step tiny training run take ~50 s instead of ~2 s. Results do not depend on it.
    [ClassInitialize]
    public static void OneThread(TestContext _) => torch.set_num_threads(1);

    [TestMethod]
    public void Defaults_AreTheReferenceSizes()
    {
        var o = new CvrNetworkOptions().Validate();
        CollectionAssert.AreEqual(new[] { 128, 128, 64, 11, 28, 128, 128, 19 }, o.FieldDims);
        Assert.AreEqual(634, o.InputDim);
        Assert.AreEqual(8, o.FieldCount);
        // InteractionFeatures = 0 is the seed's (and the PyTorch reference's) 7-field, 615-dim network.
        var seed = new CvrNetworkOptions { InteractionFeatures = 0 }.Validate();
        CollectionAssert.AreEqual(new[] { 128, 128, 64, 11, 28, 128, 128 }, seed.FieldDims);
        Assert.AreEqual((615, 7), (seed.InputDim, seed.FieldCount));
        Assert.AreEqual(2, o.PleLayers.Length);
        CollectionAssert.AreEqual(new[] { 256 }, o.PleLayers[0]);
        CollectionAssert.AreEqual(new[] { 256, 128 }, o.PleLayers[1]);
        CollectionAssert.AreEqual(new[] { 64, 32 }, o.DinHidden);
        Assert.AreEqual((10_000, 200_000, 10_000), (o.UserBuckets, o.ItemBuckets, o.CategoryBuckets));
        Assert.AreEqual((2, 2, 8, 3, 20), (o.SpecificExperts, o.SharedExperts, o.FmFields, o.SeReduction, o.SequenceLength));
        Assert.IsTrue(o.UseTimeGap);
        Assert.IsFalse(o.SparseEmbeddings);
    }

    [TestMethod]
    [DataRow("FmFields", "FmFields", "FmFields = 5 must divide the last expert width 128 (PleLayers[1]).")]
    [DataRow("PleLayers", "PleLayers[1]", "PleLayers[1][0] must be at least 1, got 0.")]
    [DataRow("DinHidden", "DinHidden", "DinHidden must list at least one width.")]
    [DataRow("ItemBuckets", "ItemBuckets", "ItemBuckets must be at least 2, got 1.")]
    public void Validate_NamesTheOffendingOption(string option, string paramName, string message)
    {
        var o = new CvrNetworkOptions();
        switch (option)
        {
            case "FmFields": o.FmFields = 5; break;
            case "PleLayers": o.PleLayers = [[256], [0, 128]]; break;
            case "DinHidden": o.DinHidden = []; break;
            case "ItemBuckets": o.ItemBuckets = 1; break;
        }
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new CvrNetwork(o));
        Assert.AreEqual(paramName, ex.ParamName);
        Assert.IsTrue(ex.Message.StartsWith(message, StringComparison.Ordinal), ex.Message);
    }

    [TestMethod]
    public void Loss_MatchesHandComputation_WithTaskAndSampleWeights()
    {
        using var scope = NewDisposeScope();
        using var output = Output(y1: [0f, 2f], pBuy: [0.2f, 0.9f]);
        var loss = new CvrLoss(favCartWeight: 1.0, buyWeight: 0.5);
        var value = loss.Compute(output, tensor(new[] { 1f, 0f }), tensor(new[] { 0f, 1f }), tensor(new[] { 1f, 2f })).item<float>();
        // Sample 0: −log σ(0) = ln 2, −log(1 − 0.2); sample 1: −log σ(−2) = ln(1 + e²), −log 0.9.
        double s0 = Math.Log(2) + 0.5 * -Math.Log(0.8);
        double s1 = Math.Log(1 + Math.Exp(2)) + 0.5 * -Math.Log(0.9);
        Assert.AreEqual((1 * s0 + 2 * s1) / 2, value, 1e-5);
    }

    [TestMethod]
    public void Loss_IsFiniteForSaturatedOutputs()
    {
        using var scope = NewDisposeScope();
        using var output = Output(y1: [100f, -100f], pBuy: [0f, 1f]);
        var value = new CvrLoss().Compute(output, tensor(new[] { 0f, 1f }), tensor(new[] { 1f, 0f })).item<float>();
        // Each wrong-way sample costs 100 (logit) + about −log ε ≈ 16.1 for pBuy (1 − ε rounds in float32).
        Assert.AreEqual(100 - Math.Log(1e-7), value, 0.2);
        var ex = Assert.ThrowsExactly<ArgumentException>(() => new CvrLoss().Compute(output, tensor(new[] { 0f }), tensor(new[] { 1f, 0f })));
        Assert.AreEqual("CvrLoss favCart has shape [1] Float32, expected [2] Float32. (Parameter 'favCart')", ex.Message);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new CvrLoss(epsilon: 0.5));
    }

    private static CvrOutput Output(float[] y1, float[] pBuy)
    {
        var logit = tensor(y1);
        return new CvrOutput
        {
            Y1Logit = logit, Y2Logit = zeros(y1.Length), Y3Logit = zeros(y1.Length),
            PFavCart = logit.sigmoid(), PBuy = tensor(pBuy), FieldWeights = zeros(y1.Length, 7),
        };
    }
}
