using Cvr.MLNet.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Cvr.MLNet.Tests.Model;

[TestClass]
public sealed class CvrNetworkShapeTests
{
    // One intra-op thread: on this shared 2-core machine libtorch's spinning OpenMP pool made a
    // 300-step tiny training run take ~50 s instead of ~2 s. Results do not depend on it.
    [ClassInitialize]
    public static void OneThread(TestContext _) => torch.set_num_threads(1);

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
