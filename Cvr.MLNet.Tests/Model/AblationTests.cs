using Cvr.MLNet.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Cvr.MLNet.Tests.Model;

[TestClass]
public sealed class AblationTests
{
    private static CvrNetworkOptions With(string ablation)
    {
        var o = ModelTestData.Tiny();
        return CvrAblation.Apply(o, ablation);
    }

    [TestMethod]
    [DataRow("no-din")]
    [DataRow("no-se")]
    [DataRow("single-ple")]
    public void AblatedNetworksRunKeepTheEsm2IdentityAndRoundTrip(string ablation)
    {
        torch.set_num_threads(1);
        torch.manual_seed(5);
        var o = With(ablation);
        using var net = new CvrNetwork(o);
        using var batch = ModelTestData.Batch(o, 16, seed: 6);
        using var output = net.forward(batch);
        var p1 = output.PFavCart; var y2 = output.Y2Logit.sigmoid(); var y3 = output.Y3Logit.sigmoid();
        var expected = p1 * y3 + (1 - p1) * y2;
        Assert.IsTrue((expected - output.PBuy).abs().max().item<float>() < 1e-6);
        Assert.AreEqual(16L, output.PBuy.shape[0]);
        var names = net.named_parameters().Select(p => p.name).ToList();
        Assert.AreEqual(ablation != "no-din", names.Any(n => n.StartsWith("din.", StringComparison.Ordinal)), "DIN parameters");
        Assert.AreEqual(ablation != "no-se", names.Any(n => n.StartsWith("se.", StringComparison.Ordinal)), "SE parameters");
        Assert.AreEqual(ablation == "single-ple" ? 1 : 2, names.Select(n => n.Split('.')).Where(p => p[0] == "ple").Select(p => p[1]).Distinct().Count());
        if (ablation == "no-se") Assert.IsTrue(output.FieldWeights.eq(1f).all().item<bool>(), "no SE: field weights are 1");

        // The ablation travels with the saved weights + config.
        var ms = new MemoryStream();
        net.SaveWeights(ms);
        var json = System.Text.Json.JsonSerializer.Serialize(o, CvrJsonContext.Default.CvrNetworkOptions);
        var o2 = System.Text.Json.JsonSerializer.Deserialize(json, CvrJsonContext.Default.CvrNetworkOptions)!;
        Assert.AreEqual(o.UseDin, o2.UseDin); Assert.AreEqual(o.UseSe, o2.UseSe);
        using var net2 = new CvrNetwork(o2);
        ms.Position = 0;
        net2.LoadWeights(ms);
        using var output2 = net2.forward(batch);
        Assert.IsTrue((output2.PBuy - output.PBuy).abs().max().item<float>() < 1e-6);
    }

    [TestMethod]
    public void UnknownAblationIsRejectedByName()
    {
        var ex = Assert.ThrowsExactly<ArgumentException>(() => With("no-fm"));
        StringAssert.Contains(ex.Message, "--ablation 'no-fm'");
    }
}
