using Cvr.MLNet.Cli.Commands;
using Cvr.MLNet.Data;
using Cvr.MLNet.Evaluation;
using Cvr.MLNet.Samples;
using Cvr.MLNet.Tests.Training;
using Microsoft.ML;

namespace Cvr.MLNet.Tests.Evaluation;

[TestClass]
public sealed class TianchiTaskTests
{
    private static readonly int Day = TianchiTime.Parse("2014-12-10 00");
    private static readonly ItemCatalog P = ItemCatalog.FromPairs([(10, 1), (11, 1), (12, 2), (13, 2)]); // item 20 is outside P

    /// <summary>
    /// Training days 12-01..12-07; on 12-08 the candidates of 12-09 are (1,10), (2,11), both bought on 12-09,
    /// so the best share on the selection day is all candidates whatever the scores. Day 12-10's candidates
    /// are (1,10), (1,13), (2,11), (3,12); its purchases (3,12) and (2,13).
    /// </summary>
    internal static EventLog HandLog()
    {
        var b = new EventLogBuilder("hand");
        int d0 = TianchiTime.Parse("2014-12-01 00");
        for (int d = 0; d < 7; d++)
            for (int u = 1; u <= 3; u++)
            {
                int item = 9 + u, h = d0 + d * 24 + 10;
                b.Add(u, item, BehaviorType.Click, "", 1, h);
                if ((d + u) % 3 == 0) { b.Add(u, item, BehaviorType.Cart, "", 1, h); b.Add(u, item, BehaviorType.Buy, "", 1, h + 2); }
            }
        int s = Day - 24, p = s - 24;
        b.Add(1, 10, BehaviorType.Click, "", 1, p + 9);
        b.Add(2, 11, BehaviorType.Click, "", 1, p + 11);
        b.Add(1, 20, BehaviorType.Click, "", 3, p + 12);
        b.Add(1, 10, BehaviorType.Click, "", 1, s + 8);
        b.Add(1, 10, BehaviorType.Buy, "", 1, s + 9);
        b.Add(2, 11, BehaviorType.Buy, "", 1, s + 9);
        b.Add(2, 20, BehaviorType.Buy, "", 3, s + 10);
        b.Add(3, 12, BehaviorType.Cart, "", 2, s + 12);
        b.Add(1, 13, BehaviorType.Click, "", 2, s + 15);
        b.Add(3, 12, BehaviorType.Buy, "", 2, Day + 10);
        b.Add(2, 13, BehaviorType.Buy, "", 2, Day + 11);
        b.Add(3, 20, BehaviorType.Click, "", 3, Day + 20); // keeps 12-09's clicks uncensored
        return b.Build();
    }

    [TestMethod]
    public void CandidatesPurchasesAndCartRuleOfAHandBuiltLog()
    {
        var log = HandLog();
        var cand = TianchiCandidates.Build(log, Day, 1, P);
        CollectionAssert.AreEqual(new[] { (1, 10), (1, 13), (2, 11), (3, 12) }, Enumerable.Range(0, cand.Count).Select(i => cand[i]).ToArray());
        CollectionAssert.AreEqual(new[] { 1, 2, 1, 2 }, cand.CategoryIds);
        var truth = TianchiCandidates.Purchases(log, Day, P);
        CollectionAssert.AreEquivalent(new[] { (3, 12), (2, 13) }, truth.ToArray());
        Assert.AreEqual(0.5, cand.Recall(truth));
        Assert.AreEqual(3, TianchiCandidates.Build(log, Day - 24, 1, null).Count); // without P, (1,20) counts
        CollectionAssert.AreEqual(new[] { (3, 12) }, CartRuleBaseline.Predict(log, Day, P).ToArray());
        // (1,10) was carted and bought on 12-04 (the day before 12-05): not predicted.
        Assert.AreEqual(0, CartRuleBaseline.Predict(log, TianchiTime.Parse("2014-12-05 00"), P).Count);
    }

    [TestMethod]
    public void TianchiScoreIsTheCompetitionsF1()
    {
        var truth = new HashSet<(int, int)> { (1, 1), (2, 2), (3, 3) };
        var s = TianchiScore.Compute([(1, 1), (2, 2), (9, 9), (1, 1)], truth); // duplicates count once
        Assert.AreEqual((3, 3, 2), (s.Predicted, s.Truth, s.Hits));
        Assert.AreEqual(2 / 3.0, s.Precision, 1e-12);
        Assert.AreEqual(2 / 3.0, s.Recall, 1e-12);
        Assert.AreEqual(2 / 3.0, s.F1, 1e-12);
        var empty = TianchiScore.Compute([], truth);
        Assert.AreEqual((0.0, 0.0, 0.0), (empty.Precision, empty.Recall, empty.F1));
    }

    [TestMethod]
    public void TopKSelectionMaximizesF1CountingPurchasesOutsideTheCandidates()
    {
        float[] scores = [0.9f, 0.8f, 0.7f, 0.6f, 0.1f];
        bool[] bought = [true, false, true, false, false];
        // 3 purchases in all (one not a candidate): K=1 → 2/4, K=3 → 4/6, K=2 → 2/5.
        var (k, f1, fraction) = TopKSelection.Choose(scores, bought, 3);
        Assert.AreEqual(3, k);
        Assert.AreEqual(2 / 3.0, f1, 1e-12);
        Assert.AreEqual(0.6, fraction, 1e-12);
        CollectionAssert.AreEqual(new[] { 4, 0 }, TopKSelection.Top([0.2f, 0.1f, 0.0f, 0.05f, 0.9f], 0.4));
        Assert.AreEqual((0, 0.0, 0.0), TopKSelection.Choose(scores, new bool[5], 2));
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => TopKSelection.Top(scores, 1.5));
        Assert.AreEqual("fraction", ex.ParamName);
    }

    [TestMethod]
    public void ProtocolOnAHandBuiltLogGivesTheKnownF1()
    {
        var ml = new MLContext(1);
        var o = new TianchiProtocolOptions
        {
            CandidateDays = 1,
            LightGbm = new LightGbmBaselineOptions { Iterations = 3, MinimumExamplesPerLeaf = 1, Threads = 1 },
        };
        o.Pipeline.Vocabulary = CvrPipelineTests.SmallVocab;
        o.Pipeline.Trainer = CvrPipelineTests.SmallTrainer(epochs: 1);
        o.Pipeline.Trainer.ValidationFraction = 0;
        var r = TianchiProtocol.Run(ml, HandLog(), Day, o, P);

        Assert.AreEqual(4, r.Candidates);
        Assert.AreEqual(0.5, r.CandidateRecall);
        foreach (var m in new[] { r.Model, r.LightGbm!, r.Blend! })
        {
            Assert.AreEqual(1.0, m.Fraction); // every selection-day candidate was bought
            Assert.AreEqual(1.0, m.SelectionF1);
            Assert.AreEqual(new TianchiScore(4, 2, 1), m.Score);
            Assert.AreEqual(1 / 3.0, m.Score!.F1, 1e-12);
        }
        Assert.AreEqual(new TianchiScore(1, 2, 1), r.CartRule.Score);
        Assert.AreEqual(2 / 3.0, r.CartRule.Score!.F1, 1e-12);
        // Click samples of 12-09: (1,10) at 08 bought, (1,13) at 15 not.
        Assert.AreEqual(2, r.ClickMetrics!.Buy.Count);
        Assert.AreEqual(1, r.ClickMetrics.Buy.Positives);
        Assert.AreEqual(0.5, r.CartRule.ClickAuc); // the rule scores both clicks 0
        // Neither click is followed by a fav/cart of its pair: no fav/cart AUC for LightGBM or the blend.
        Assert.AreEqual(0, r.ClickMetrics.FavCart.Positives);
        Assert.IsNull(r.LightGbmFavCartClickAuc);
        Assert.IsNull(r.BlendFavCartClickAuc);

        var ex = Assert.ThrowsExactly<ArgumentException>(() => TianchiProtocol.Run(ml, HandLog(), Day + 48, o, P));
        StringAssert.StartsWith(ex.Message, "Day 2014-12-12 needs the events of 2014-12-11 (the day before); the log ends at 2014-12-10 20.");
    }

    [TestMethod]
    public void SubmissionFileHasTheCompetitionsFormat()
    {
        var path = Path.GetTempFileName();
        try
        {
            SubmitCommand.Write(path, [(20, 5), (3, 7), (20, 1), (3, 7)]);
            Assert.AreEqual("user_id,item_id\n3,7\n20,1\n20,5\n", File.ReadAllText(path));
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void TruthFileErrorsNameFileLineColumnAndValue()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "user_id,item_id,item_category,time,p_favcart_24h,p_buy_24h,z,censored\n1,2,3,2014-12-01 10,0.1,0.01,0,0\n1,2,3,2014-12-01 11,0.1,1.5,0,0\n");
            var ex = Assert.ThrowsExactly<FormatException>(() => GeneratorTruth.Read(path));
            Assert.AreEqual($"{path}: line 3: column 'p_buy_24h': '1.5' is not a probability in [0, 1].", ex.Message);
            File.WriteAllText(path, "user_id,item_id,item_category,time,p_favcart_24h,p_buy_24h\n1,2,3,2014-12-01 10,0.25,0.125\n");
            var t = GeneratorTruth.Read(path);
            Assert.IsTrue(t.TryGet(1, 2, TianchiTime.Parse("2014-12-01 10"), out var fav, out var buy));
            Assert.AreEqual((0.25f, 0.125f), (fav, buy));
            Assert.IsFalse(t.HasPointInTime); // a file from before the point-in-time columns still reads

            const string header = "user_id,item_id,item_category,time,p_favcart_24h,p_buy_24h,z,censored,p_favcart_pit_24h,p_buy_pit_24h\n";
            File.WriteAllText(path, header + "1,2,3,2014-12-01 10,0.1,0.01,0,0,0.05,-0.2\n");
            ex = Assert.ThrowsExactly<FormatException>(() => GeneratorTruth.Read(path));
            Assert.AreEqual($"{path}: line 2: column 'p_buy_pit_24h': '-0.2' is not a probability in [0, 1].", ex.Message);
            File.WriteAllText(path, header + "1,2,3,2014-12-01 10,0.1,0.01,0,0\n");
            ex = Assert.ThrowsExactly<FormatException>(() => GeneratorTruth.Read(path));
            Assert.AreEqual($"{path}: line 2: expected at least 10 fields, got 8: '1,2,3,2014-12-01 10,0.1,0.01,0,0'.", ex.Message);
            File.WriteAllText(path, "user_id,item_id,item_category,time,p_favcart_24h,p_buy_24h,z,censored,p_buy_pit_24h\n");
            ex = Assert.ThrowsExactly<FormatException>(() => GeneratorTruth.Read(path));
            StringAssert.Contains(ex.Message, "the point-in-time columns come in a pair");
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void EvaluatorReportsBothOraclesFromATruthFile()
    {
        // Four clicks; the full truth ranks the two buys first, the point-in-time truth gets one pair wrong.
        var b = new EventLogBuilder("oracles");
        int h = TianchiTime.Parse("2014-12-01 10");
        foreach (var (item, buys) in new[] { (11, true), (12, false), (13, true), (14, false) })
        {
            b.Add(1, item, BehaviorType.Click, null, 7, h);
            if (buys) b.Add(1, item, BehaviorType.Buy, null, 7, h + 2);
        }
        b.Add(2, 99, BehaviorType.Buy, null, 7, h + 48); // the log runs past the horizon: nothing is censored
        var samples = CvrSampleSet.Build(b.Build(), new CvrSampleOptions { HorizonHours = 24 });
        Assert.AreEqual(4, samples.Count);
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "user_id,item_id,item_category,time,p_favcart_24h,p_buy_24h,z,censored,p_favcart_pit_24h,p_buy_pit_24h\n" +
                "1,11,7,2014-12-01 10,0.5,0.9,0,0,0.5,0.2\n1,12,7,2014-12-01 10,0.5,0.1,0,0,0.5,0.3\n" +
                "1,13,7,2014-12-01 10,0.5,0.8,0,0,0.5,0.7\n1,14,7,2014-12-01 10,0.5,0.2,0,0,0.5,0.1\n");
            var truth = GeneratorTruth.Read(path);
            Assert.IsTrue(truth.HasPointInTime);
            CollectionAssert.AreEqual(new[] { 0.2f, 0.3f, 0.7f, 0.1f }, truth.Lookup(samples, pointInTime: true).PBuy);
            var m = CvrEvaluator.Evaluate(samples, [0.5f, 0.5f, 0.5f, 0.5f], [0.6f, 0.4f, 0.3f, 0.2f], truth);
            Assert.AreEqual(1.0, m.Buy.OracleAuc!.Value, 1e-12);
            Assert.AreEqual(0.75, m.Buy.PointInTimeOracleAuc!.Value, 1e-12);
            Assert.AreEqual(0.75 - m.Buy.Auc, m.Buy.PointInTimeOracleGap!.Value, 1e-12);

            File.WriteAllText(path, "user_id,item_id,item_category,time,p_favcart_24h,p_buy_24h\n1,11,7,2014-12-01 10,0.5,0.9\n1,12,7,2014-12-01 10,0.5,0.1\n" +
                "1,13,7,2014-12-01 10,0.5,0.8\n1,14,7,2014-12-01 10,0.5,0.2\n");
            var old = GeneratorTruth.Read(path);
            Assert.IsNull(CvrEvaluator.Evaluate(samples, [0.5f, 0.5f, 0.5f, 0.5f], [0.6f, 0.4f, 0.3f, 0.2f], old).Buy.PointInTimeOracleAuc);
            var ex = Assert.ThrowsExactly<InvalidOperationException>(() => old.Lookup(samples, pointInTime: true));
            StringAssert.Contains(ex.Message, "has no point-in-time columns");
        }
        finally { File.Delete(path); }
    }
}
