using Cvr.MLNet.Evaluation;

namespace Cvr.MLNet.Tests.Evaluation;

[TestClass]
public sealed class ScoreBlendTests
{
    [TestMethod]
    public void MeanLogitIsTheGeometricMeanOfTheOdds()
    {
        // odds 1/9 and 9 → 1 (p 0.5); odds 1/3 and 1/3 → 1/3 (p 0.25); 0.2 with itself stays 0.2.
        var r = ScoreBlend.MeanLogit([0.1f, 0.25f, 0.2f, 0.9f], [0.9f, 0.25f, 0.2f, 0.5f]);
        Assert.AreEqual(0.5f, r[0], 1e-6f);
        Assert.AreEqual(0.25f, r[1], 1e-6f);
        Assert.AreEqual(0.2f, r[2], 1e-6f);
        Assert.AreEqual(0.75f, r[3], 1e-6f); // odds 9 and 1 → 3
    }

    [TestMethod]
    public void ExtremesStayFiniteAndOrderIsKeptWhenOneInputIsConstant()
    {
        var r = ScoreBlend.MeanLogit([0f, 1f, 0f], [1f, 1f, 0f]);
        Assert.AreEqual(0.5f, r[0], 1e-6f);          // clamped logits cancel
        Assert.IsTrue(r[1] > 0.999f && r[2] < 0.001f);
        Assert.IsTrue(r.All(float.IsFinite));
        // With a constant second model the blend ranks exactly as the first.
        float[] a = [0.01f, 0.3f, 0.02f, 0.8f];
        var b = ScoreBlend.MeanLogit(a, [0.1f, 0.1f, 0.1f, 0.1f]);
        CollectionAssert.AreEqual(Enumerable.Range(0, 4).OrderBy(i => a[i]).ToArray(), Enumerable.Range(0, 4).OrderBy(i => b[i]).ToArray());
        Assert.ThrowsExactly<ArgumentException>(() => ScoreBlend.MeanLogit([0.1f], [0.1f, 0.2f]));
    }
}
