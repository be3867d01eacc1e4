using Cvr.MLNet.Data.Generation;

namespace Cvr.MLNet.Tests.Data.Generation;

[TestClass]
public sealed class Xoshiro256Tests
{
    [TestMethod]
    public void StreamsAreDeterministicAndIndependent()
    {
        var a = new Xoshiro256(42, 7);
        var b = new Xoshiro256(42, 7);
        var c = new Xoshiro256(42, 8);
        var xs = Enumerable.Range(0, 100).Select(_ => a.NextUInt64()).ToArray();
        CollectionAssert.AreEqual(xs, Enumerable.Range(0, 100).Select(_ => b.NextUInt64()).ToArray());
        Assert.AreEqual(0, xs.Intersect(Enumerable.Range(0, 100).Select(_ => c.NextUInt64())).Count());
    }

    [TestMethod]
    public void DistributionsHaveTheirMoments()
    {
        var r = new Xoshiro256(1);
        const int n = 200_000;
        double sum = 0, sq = 0, beta = 0, pois = 0, geo = 0;
        var counts = new int[7];
        for (int i = 0; i < n; i++)
        {
            double z = r.Normal();
            sum += z; sq += z * z;
            beta += r.Beta(0.9, 1.6);
            pois += r.Poisson(3.5);
            geo += r.Geometric(0.5);
            counts[r.NextInt(7)]++;
            double u = r.NextDouble();
            Assert.IsTrue(u is >= 0 and < 1);
        }
        Assert.AreEqual(0, sum / n, 0.01);
        Assert.AreEqual(1, sq / n, 0.01);
        Assert.AreEqual(0.9 / 2.5, beta / n, 0.005);
        Assert.AreEqual(3.5, pois / n, 0.02);
        Assert.AreEqual(1.0, geo / n, 0.02);
        foreach (int k in counts) Assert.AreEqual(n / 7.0, k, 600);
    }

    [TestMethod]
    public void NextIntRejectsAnEmptyRange()
    {
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new Xoshiro256(1).NextInt(0));
        StringAssert.StartsWith(ex.Message, "n must be positive.");
    }
}
