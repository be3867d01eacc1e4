using Cvr.MLNet.Training.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace Cvr.MLNet.Tests.Training;

[TestClass]
public sealed class CvrAdamTests
{
    private static (nn.Module<Tensor, Tensor> Emb, Tensor Ids) Table(bool sparse, int seed)
    {
        torch.manual_seed(seed);
        return (nn.Embedding(10, 3, sparse: sparse), tensor(new long[] { 1, 3, 3, 7 }));
    }

    private static float[] Flat(nn.Module m) => m.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();

    [TestMethod]
    public void DenseStepsMatchTorchAdam()
    {
        var (a, ids) = Table(false, 1);
        var (b, _) = Table(false, 1);
        using var mine = new CvrAdam(a.named_parameters(), lr: 0.01);
        using var theirs = optim.Adam(b.parameters(), lr: 0.01);
        for (int step = 0; step < 5; step++)
        {
            var target = tensor(new float[] { 1, -1, 0.5f });
            a.zero_grad(); (a.call(ids) - target).square().sum().backward(); mine.StepOnce();
            theirs.zero_grad(); (b.call(ids) - target).square().sum().backward(); theirs.step();
        }
        var x = Flat(a); var y = Flat(b);
        for (int i = 0; i < x.Length; i++) Assert.AreEqual(y[i], x[i], 1e-5, $"element {i}");
    }

    [TestMethod]
    public void SparseStepUpdatesOnlyTouchedRowsAndEqualsDenseOnTheFirstStep()
    {
        var (dense, ids) = Table(false, 2);
        var (sparse, _) = Table(true, 2);
        var before = Flat(sparse);
        using var d = new CvrAdam(dense.named_parameters(), lr: 0.1);
        using var s = new CvrAdam(sparse.named_parameters(), lr: 0.1);
        dense.zero_grad(); dense.call(ids).sum().backward(); d.StepOnce();
        sparse.zero_grad(); sparse.call(ids).sum().backward();
        Assert.IsTrue(sparse.parameters().First().grad!.is_sparse);
        s.StepOnce();
        var x = Flat(sparse); var y = Flat(dense);
        for (int i = 0; i < x.Length; i++) Assert.AreEqual(y[i], x[i], 1e-6, $"element {i}");
        for (int row = 0; row < 10; row++)
            for (int k = 0; k < 3; k++)
            {
                bool touched = row is 1 or 3 or 7;
                Assert.AreEqual(touched, Math.Abs(x[row * 3 + k] - before[row * 3 + k]) > 1e-7, $"row {row}");
            }
        // The duplicated id 3 got the summed gradient: Adam's first step moves every touched element by lr.
        Assert.AreEqual(before[3 * 3] - 0.1f, x[3 * 3], 1e-5);
    }

    [TestMethod]
    public void ClippingBoundsTheStepAndStateRoundTrips()
    {
        var (a, ids) = Table(false, 3);
        using var opt = new CvrAdam(a.named_parameters(), lr: 0.01);
        a.zero_grad(); (a.call(ids) * 1000).sum().backward();
        double norm = opt.StepOnce(clipNorm: 1.0);
        Assert.IsTrue(norm > 1000, $"norm {norm}");
        var ms = new MemoryStream();
        opt.Save(new BinaryWriter(ms));
        var (b, _) = Table(false, 3);
        using var opt2 = new CvrAdam(b.named_parameters(), lr: 0.01);
        ms.Position = 0;
        opt2.Load(new BinaryReader(ms));
        Assert.AreEqual(1L, opt2.Step);
        // Same state + same gradient → same next update.
        using (no_grad()) b.parameters().First().copy_(a.parameters().First());
        a.zero_grad(); a.call(ids).sum().backward(); opt.StepOnce();
        b.zero_grad(); b.call(ids).sum().backward(); opt2.StepOnce();
        CollectionAssert.AreEqual(Flat(a), Flat(b));
    }
}
