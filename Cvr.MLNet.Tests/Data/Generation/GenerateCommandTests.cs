using System.Text.Json;
using Cvr.MLNet.Cli;
using Cvr.MLNet.Data;

namespace Cvr.MLNet.Tests.Data.Generation;

[TestClass]
[DoNotParallelize]
public sealed class GenerateCommandTests
{
    [TestMethod]
    public void GenerateTinyPrintsOneJsonObjectAndWritesTheFiles()
    {
        string dir = Path.Combine(Path.GetTempPath(), "cvr-gen-cli-" + Guid.NewGuid().ToString("N"));
        var stdout = new StringWriter();
        var saved = Console.Out;
        try
        {
            Console.SetOut(stdout);
            int rc = Program.BuildRoot().Parse(["generate", "--out", dir, "--preset", "tiny", "--json"]).Invoke();
            Console.SetOut(saved);
            Assert.AreEqual(0, rc, stdout.ToString());
            using var doc = JsonDocument.Parse(stdout.ToString());
            var root = doc.RootElement;
            Assert.AreEqual(200, root.GetProperty("users").GetInt32());
            long rows = root.GetProperty("rows").GetInt64();
            Assert.IsTrue(rows is >= 15_000 and <= 25_000, $"rows {rows}");
            Assert.IsGreaterThan(1_000, root.GetProperty("items").GetInt32());
            Assert.IsGreaterThanOrEqualTo(0.0, root.GetProperty("seconds").GetDouble());
            var files = root.GetProperty("files").EnumerateArray().Select(f => f.GetString()!).ToArray();
            CollectionAssert.AreEqual(new[] { TianchiFiles.EventsFileName, TianchiFiles.ItemsFileName, TianchiFiles.TruthFileName },
                files.Select(Path.GetFileName).ToArray());
            Assert.AreEqual(rows + 1, File.ReadLines(files[0]).Count());
            Assert.AreEqual(TianchiFiles.EventsHeader, File.ReadLines(files[0]).First());
            Assert.AreEqual(TianchiFiles.ItemsHeader, File.ReadLines(files[1]).First());
            Assert.AreEqual(4, root.GetProperty("stats").GetProperty("behaviorShares").GetArrayLength());
        }
        finally
        {
            Console.SetOut(saved);
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [TestMethod]
    public void AnUnknownPresetFailsWithOneLine()
    {
        var stderr = new StringWriter();
        var saved = Console.Error;
        try
        {
            Console.SetError(stderr);
            int rc = Program.BuildRoot().Parse(["generate", "--out", Path.GetTempPath(), "--preset", "huge"]).Invoke();
            Assert.AreNotEqual(0, rc);
        }
        finally
        {
            Console.SetError(saved);
        }
        StringAssert.Contains(stderr.ToString(), "huge");
    }
}
