using Cvr.MLNet.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Cvr.MLNet.Tests.Model;

[TestClass]
public sealed class CvrNetworkShapeTests
{
    [TestMethod]
    public void Forward_OutputShapes_MatchBatch()
    {
        torch.manual_seed(1);
        var o = ModelTestData.Tiny();
        using var net = new CvrNetwork(o);
        using var batch = ModelTestData.Batch(o, 6, seed: 2);
        using var scope = NewDisposeScope();
        using var output = net.forward(batch);
        foreach (var x in new[] { output.Y1Logit, output.Y2Logit, output.Y3Logit, output.PFavCart, output.PBuy })
            CollectionAssert.AreEqual(new long[] { 6 }, x.shape);
        CollectionAssert.AreEqual(new long[] { 6, 7 }, output.FieldWeights.shape);
        CollectionAssert.AreEqual(new long[] { 6, o.InputDim }, net.Features(batch).shape);
        Assert.AreEqual(8 + 4 + 4 + 11 + 4 + 4 + 8, o.InputDim);
    }
}
