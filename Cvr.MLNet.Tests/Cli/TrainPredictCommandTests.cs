using System.Text.Json;
using Cvr.MLNet.Data.Generation;

namespace Cvr.MLNet.Tests.Cli;

[TestClass]
[DoNotParallelize]
public sealed class TrainPredictCommandTests
{
    [TestMethod]
    public void TrainPrintsValidationMetricsAndPredictScoresFromTheSavedModel()
    {
        var dir = Directory.CreateTempSubdirectory("cvr-cli").FullName;
        try
        {
            new TianchiGenerator(new GeneratorOptions { Users = 60, RowsPerUser = 100 }).Generate(dir);
            var model = Path.Combine(dir, "model.zip");
            int samples;
            var (code, stdout, stderr) = CliRunner.Run("train", "--data", dir, "--model", model, "--epochs", "1", "--threads", "1", "--json");
            Assert.AreEqual(0, code, stderr);
            using (var doc = JsonDocument.Parse(stdout))
            {
                var root = doc.RootElement;
                foreach (var task in new[] { "buy", "favCart" })
                    foreach (var key in new[] { "auc", "logLoss", "accuracy" })
                        Assert.AreEqual(JsonValueKind.Number, root.GetProperty(task).GetProperty(key).ValueKind, $"{task}.{key}");
                Assert.AreEqual(1, root.GetProperty("bestEpoch").GetInt32());
                samples = root.GetProperty("samples").GetInt32();
                Assert.IsTrue(samples > 1000, $"{samples} samples");
                Assert.AreEqual(samples, root.GetProperty("featureRowsHeld").GetInt32(), "a small data set is held whole");
            }
            // The same data in windows of 300 samples: all of them trained on, at most 300 held.
            var windowed = Path.Combine(dir, "windowed.zip");
            var (wcode, wout, werr) = CliRunner.Run("train", "--data", dir, "--model", windowed, "--epochs", "1", "--threads", "1", "--max-rows-in-memory", "300", "--json");
            Assert.AreEqual(0, wcode, werr);
            using (var doc = JsonDocument.Parse(wout))
            {
                Assert.AreEqual(samples, doc.RootElement.GetProperty("samples").GetInt32());
                int held = doc.RootElement.GetProperty("featureRowsHeld").GetInt32();
                Assert.IsTrue(held is > 0 and <= 300, $"held {held}");
            }
            (wcode, _, werr) = CliRunner.Run("train", "--data", dir, "--model", windowed, "--max-rows-in-memory", "-1");
            Assert.AreEqual(1, wcode);
            StringAssert.Contains(werr, "MaxRowsInMemory");
            Assert.IsTrue(File.Exists(model));
            Assert.IsFalse(File.Exists(model + ".ckpt"), "a finished run removes its checkpoint");

            (code, stdout, stderr) = CliRunner.Run("predict", "--model", model, "--user", "123", "--item", "456", "--category", "7", "--time", "2014-12-19 10", "--json");
            Assert.AreEqual(0, code, stderr);
            using (var doc = JsonDocument.Parse(stdout))
            {
                CollectionAssert.AreEqual(new[] { "pBuy", "pFavCart" }, doc.RootElement.EnumerateObject().Select(p => p.Name).ToArray());
                double pBuy = doc.RootElement.GetProperty("pBuy").GetDouble();
                Assert.IsTrue(pBuy is > 0 and < 1, $"pBuy {pBuy}");
            }

            // A time inside the training log cannot be served from a saved model: one line, exit 1.
            (code, stdout, stderr) = CliRunner.Run("predict", "--model", model, "--user", "1", "--item", "2", "--category", "3", "--time", "2014-12-01 10", "--json");
            Assert.AreEqual(1, code);
            Assert.AreEqual("", stdout);
            Assert.AreEqual(1, stderr.Trim().Split('\n').Length, stderr);
            StringAssert.StartsWith(stderr, "error: Time 2014-12-01 10 lies inside the fitted log");

            (code, _, stderr) = CliRunner.Run("predict", "--model", Path.Combine(dir, "missing.zip"), "--user", "1", "--item", "2", "--category", "3", "--time", "2014-12-19 10");
            Assert.AreEqual(1, code);
            StringAssert.Contains(stderr, "missing.zip");
        }
        finally { Directory.Delete(dir, true); }
    }
}
