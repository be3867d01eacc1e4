using System.Text.Json;
using Cvr.MLNet.Data.Generation;
using Cvr.MLNet.Tests.Cli;

namespace Cvr.MLNet.Tests.Evaluation;

[TestClass]
[DoNotParallelize]
public sealed class EvaluateCommandTests
{
    [TestMethod]
    public void EvaluatePrintsTheDocumentedKeysAndSubmitWritesTheDayAfter()
    {
        var dir = Directory.CreateTempSubdirectory("cvr-eval").FullName;
        try
        {
            new TianchiGenerator(new GeneratorOptions { Users = 60, RowsPerUser = 100 }).Generate(dir);
            string[] small = ["--network-size", "small", "--epochs", "1", "--threads", "1", "--lightgbm-iterations", "10"];
            var (code, stdout, stderr) = CliRunner.Run(["evaluate", "--data", dir, "--day", "2014-12-18", "--json", .. small]);
            Assert.AreEqual(0, code, stderr);
            using (var doc = JsonDocument.Parse(stdout))
            {
                var root = doc.RootElement;
                foreach (var task in new[] { "buy", "favCart" })
                    foreach (var key in new[] { "auc", "gauc", "logLoss", "accuracy", "prAuc", "oracleAuc", "pointInTimeOracleAuc", "ece", "calibrationRatio", "accuracyAtBestF1" })
                        Assert.IsTrue(root.GetProperty(task).TryGetProperty(key, out _), $"{task}.{key}"); // truth.csv sits next to the events
                var t = root.GetProperty("tianchi");
                foreach (var key in new[] { "precision", "recall", "f1", "candidateRecall", "predicted" })
                    Assert.IsTrue(t.TryGetProperty(key, out _), $"tianchi.{key}");
                // F1 is null only when the day has no purchases in P and nothing was predicted (0/0).
                if (t.GetProperty("truth").GetInt32() > 0) Assert.IsTrue(t.GetProperty("f1").GetDouble() is >= 0 and <= 1);
                foreach (var b in new[] { "cartRule", "lightGbm", "modelPlusLightGbm" })
                    foreach (var key in new[] { "f1", "precision", "recall", "predicted" })
                        Assert.IsTrue(root.GetProperty("baselines").GetProperty(b).TryGetProperty(key, out _), $"{b}.{key}");
                foreach (var b in new[] { "cartRule", "lightGbm", "modelPlusLightGbm" }) // null when day D−1's clicks hold one class only
                    Assert.IsTrue(root.GetProperty("baselines").GetProperty(b).GetProperty("auc").ValueKind is JsonValueKind.Number or JsonValueKind.Null, b);
                // The fav/cart click AUC of LightGBM and of the blend: null exactly when D−1's fav/cart labels hold one class.
                var fc = root.GetProperty("favCart");
                bool oneClass = fc.GetProperty("positives").GetInt32() is var pos && (pos == 0 || pos == fc.GetProperty("samples").GetInt32());
                foreach (var b in new[] { "lightGbm", "modelPlusLightGbm" })
                {
                    var v = root.GetProperty("baselines").GetProperty(b).GetProperty("favCartAuc");
                    Assert.AreEqual(oneClass, v.ValueKind == JsonValueKind.Null, b);
                    if (!oneClass) Assert.IsTrue(v.GetDouble() is >= 0 and <= 1, b);
                }
            }

            // 12-16 has fav/carts (9 of 124 click samples): LightGBM's and the blend's fav/cart AUCs are numbers, and the
            // blend ranks by both parts, so it differs from the model's own AUC.
            (code, stdout, stderr) = CliRunner.Run(["evaluate", "--data", dir, "--day", "2014-12-17", "--json", .. small]);
            Assert.AreEqual(0, code, stderr);
            using (var doc = JsonDocument.Parse(stdout))
            {
                var root = doc.RootElement;
                Assert.AreEqual(9, root.GetProperty("favCart").GetProperty("positives").GetInt32());
                double model = root.GetProperty("favCart").GetProperty("auc").GetDouble();
                double lgbFav = root.GetProperty("baselines").GetProperty("lightGbm").GetProperty("favCartAuc").GetDouble();
                double blendFav = root.GetProperty("baselines").GetProperty("modelPlusLightGbm").GetProperty("favCartAuc").GetDouble();
                Assert.IsTrue(lgbFav is > 0 and < 1 && blendFav is > 0 and < 1, $"{lgbFav} {blendFav}");
                Assert.AreNotEqual(model, blendFav);
            }

            var sub = Path.Combine(dir, "submission.csv");
            (code, stdout, stderr) = CliRunner.Run(["submit", "--data", dir, "--day", "2014-12-19", "--out", sub, "--json", .. small]);
            Assert.AreEqual(0, code, stderr);
            var lines = File.ReadAllLines(sub);
            Assert.AreEqual("user_id,item_id", lines[0]);
            using (var doc = JsonDocument.Parse(stdout)) Assert.AreEqual(lines.Length - 1, doc.RootElement.GetProperty("pairs").GetInt32());
            foreach (var l in lines.Skip(1)) Assert.AreEqual(2, l.Split(',').Select(int.Parse).Count());

            (code, stdout, stderr) = CliRunner.Run(["evaluate", "--data", dir, "--day", "2014-12-19", .. small]);
            Assert.AreEqual(1, code);
            Assert.AreEqual("error: The log has no events on 2014-12-19, so there is nothing to evaluate against; use cvr submit to predict that day.", stderr.Trim());
            (code, _, stderr) = CliRunner.Run(["evaluate", "--data", dir, "--day", "18.12.2014"]);
            Assert.AreEqual(1, code);
            Assert.AreEqual("error: --day '18.12.2014' is not a date in the format yyyy-MM-dd.", stderr.Trim());
        }
        finally { Directory.Delete(dir, true); }
    }
}
