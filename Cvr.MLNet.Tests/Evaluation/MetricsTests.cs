using Cvr.MLNet.Evaluation;

namespace Cvr.MLNet.Tests.Evaluation;

[TestClass]
public sealed class MetricsTests
{
    private static readonly bool[] Y = [true, false, true, false];
    private static readonly float[] P = [0.9f, 0.8f, 0.7f, 0.1f];

    [TestMethod]
    public void PrAucIsAveragePrecisionWithTieGroupsEnteringAtOnce()
    {
        // 0.9 hit (P 1, R ½), 0.8 miss, 0.7 hit (P ⅔, R 1): ½·1 + ½·⅔.
        Assert.AreEqual(0.5 + 0.5 * 2 / 3.0, BinaryMetrics.PrAuc(Y, P), 1e-12);
        // Tie {0.5, 0.5} holds one hit: ½·½; then 0.2 hit: ½·⅔.
        Assert.AreEqual(0.25 + 0.5 * 2 / 3.0, BinaryMetrics.PrAuc([true, false, true], [0.5f, 0.5f, 0.2f]), 1e-12);
        Assert.IsTrue(double.IsNaN(BinaryMetrics.PrAuc([false, false], [0.1f, 0.2f])));
    }

    [TestMethod]
    public void GaucWeightsUsersBySamplesAndSkipsOneClassUsers()
    {
        int[] users = [1, 1, 1, 2, 2, 3, 3, 4, 4];
        bool[] y = [true, false, false, true, false, false, false, true, false];
        float[] p = [0.9f, 0.5f, 0.1f, 0.2f, 0.8f, 0.3f, 0.4f, 0.5f, 0.5f];
        // user 1: AUC 1 (3 samples); user 2: 0 (2); user 3: one class, skipped; user 4: tie → ½ (2).
        Assert.AreEqual((3 * 1.0 + 2 * 0.0 + 2 * 0.5) / 7, BinaryMetrics.Gauc(y, p, users), 1e-12);
        Assert.IsTrue(double.IsNaN(BinaryMetrics.Gauc([true, false], [0.1f, 0.2f], [1, 2])));
    }

    [TestMethod]
    public void EceAndCalibrationRatioMatchHandValues()
    {
        bool[] y = [false, true, true, true];
        float[] p = [0.05f, 0.15f, 0.95f, 1.0f];
        // bins: [0,.1): |.05−0|; [.1,.2): |.15−1|; [.9,1]: |.975−1| over 2 samples.
        Assert.AreEqual((0.05 + 0.85 + 2 * 0.025) / 4, BinaryMetrics.Ece(y, p), 1e-6);
        Assert.AreEqual(2.15 / 3, BinaryMetrics.CalibrationRatio(y, p), 1e-6);
        Assert.IsTrue(double.IsNaN(BinaryMetrics.CalibrationRatio([false], [0.3f])));
    }

    [TestMethod]
    public void BestF1ThresholdScansTieGroups()
    {
        // thresholds .9: F1 ⅔; .8: ½; .7: ⅘; .1: ⅔.
        var (t, f1) = BinaryMetrics.BestF1Threshold(Y, P);
        Assert.AreEqual(0.7, t, 1e-6);
        Assert.AreEqual(0.8, f1, 1e-12);
        // One tie group of everything: predict all → F1 = 2·1/(2+1).
        Assert.AreEqual((0.5, 2 / 3.0), ((double, double))BinaryMetrics.BestF1Threshold([true, false], [0.5f, 0.5f]));
    }

    [TestMethod]
    public void EvaluateTaskCollectsEveryMetricAndTheOracle()
    {
        var m = CvrEvaluator.EvaluateTask(Y, P, [1, 1, 2, 2], [1f, 0f, 1f, 0f]);
        Assert.AreEqual(4, m.Count);
        Assert.AreEqual(2, m.Positives);
        Assert.AreEqual(0.75, m.Auc, 1e-12);
        Assert.AreEqual(1.0, m.Gauc, 1e-12); // each user ranks its positive first
        Assert.AreEqual(-(Math.Log(0.9) + Math.Log(0.2) + Math.Log(0.7) + Math.Log(0.9)) / 4, m.LogLoss, 1e-6);
        Assert.AreEqual(0.75, m.Accuracy, 1e-12); // p ≥ .5 predicts T,T,T,F
        Assert.AreEqual(0.7, m.BestF1Threshold, 1e-6);
        Assert.AreEqual(0.75, m.AccuracyAtBestF1, 1e-12);
        Assert.AreEqual(1.0, m.OracleAuc);
        Assert.AreEqual(0.25, m.OracleGap!.Value, 1e-12);
        Assert.IsNull(CvrEvaluator.EvaluateTask(Y, P, [1, 1, 2, 2]).OracleAuc);
        var ex = Assert.ThrowsExactly<ArgumentException>(() => CvrEvaluator.EvaluateTask(Y, P, [1, 2]));
        Assert.AreEqual("labels (4), probabilities (4) and users (2) differ in length.", ex.Message);
    }
}
