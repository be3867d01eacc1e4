using System.Text.Json;
using Cvr.MLNet.Cli;
using Cvr.MLNet.Data;
using Cvr.MLNet.Tests.Data;
using Spectre.Console;

namespace Cvr.MLNet.Tests.Cli;

[TestClass]
[DoNotParallelize]
public sealed class InspectCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private static readonly string[] Keys =
        ["rows", "users", "items", "categories", "first", "last", "behaviorShares", "emptyGeohashShare", "badRows",
         "duplicateShare", "badRowExamples", "seconds", "peakMemoryMB"];

    [TestMethod]
    public void JsonHasExactlyTheContractKeys()
    {
        using var dir = new TempTianchiDir();
        dir.WriteEvents("1,10,1,,100,2014-11-18 00", "1,10,1,,100,2014-11-18 00", "2,11,4,abc,101,2014-12-18 23", "3,10,2,,100,2014-11-20 05");
        var (code, stdout, _) = Run("inspect", "--data", dir.Path, "--json");

        Assert.AreEqual(0, code);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        CollectionAssert.AreEqual(Keys, root.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.AreEqual(4, root.GetProperty("rows").GetInt64());
        Assert.AreEqual(3, root.GetProperty("users").GetInt32());
        Assert.AreEqual(2, root.GetProperty("items").GetInt32());
        Assert.AreEqual(2, root.GetProperty("categories").GetInt32());
        Assert.AreEqual("2014-11-18 00", root.GetProperty("first").GetString());
        Assert.AreEqual("2014-12-18 23", root.GetProperty("last").GetString());
        var shares = root.GetProperty("behaviorShares");
        CollectionAssert.AreEqual(new[] { "1", "2", "3", "4" }, shares.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.AreEqual(0.5, shares.GetProperty("1").GetDouble(), 1e-12);
        Assert.AreEqual(0.0, shares.GetProperty("3").GetDouble());
        Assert.AreEqual(0.75, root.GetProperty("emptyGeohashShare").GetDouble(), 1e-12);
        Assert.AreEqual(0, root.GetProperty("badRows").GetInt64());
        Assert.AreEqual(0.25, root.GetProperty("duplicateShare").GetDouble(), 1e-12);
        Assert.AreEqual(0, root.GetProperty("badRowExamples").GetArrayLength());
    }

    [TestMethod]
    public void SkipBadRowsReportsCountAndExamples()
    {
        using var dir = new TempTianchiDir();
        dir.WriteEvents("1,10,1,,100,2014-11-18 00", "1,10,7,,100,2014-11-18 00", "2,11,4,abc,101,2014-12-18 23");
        var (code, stdout, _) = Run("inspect", "--data", dir.EventsPath, "--skip-bad-rows", "--json");

        Assert.AreEqual(0, code);
        using var doc = JsonDocument.Parse(stdout);
        Assert.AreEqual(2, doc.RootElement.GetProperty("rows").GetInt64());
        Assert.AreEqual(1, doc.RootElement.GetProperty("badRows").GetInt64());
        var ex = doc.RootElement.GetProperty("badRowExamples")[0];
        Assert.AreEqual(3, ex.GetProperty("line").GetInt64());
        Assert.AreEqual("behavior_type", ex.GetProperty("column").GetString());
        Assert.AreEqual("7", ex.GetProperty("value").GetString());
    }

    [TestMethod]
    public void BadRowFailsWithOneLineAndExitCode1()
    {
        using var dir = new TempTianchiDir();
        dir.WriteEvents("1,10,1,,100,2014-11-18 00", "1,10,7,,100,2014-11-18 00");
        var (code, stdout, stderr) = Run("inspect", "--data", dir.Path, "--json");

        Assert.AreEqual(1, code);
        Assert.AreEqual("", stdout);
        Assert.AreEqual($"error: {TianchiFiles.EventsFileName} line 3, column 'behavior_type': '7' is not a behavior type (expected 1..4)",
            stderr.TrimEnd('\r', '\n'));
    }

    [TestMethod]
    public void MissingDataFailsWithOneLineNamingThePath()
    {
        using var dir = new TempTianchiDir();
        var missing = Path.Combine(dir.Path, "none.csv");
        var (code, stdout, stderr) = Run("inspect", "--data", missing);
        Assert.AreEqual(1, code);
        Assert.AreEqual("", stdout);
        Assert.AreEqual($"error: No such file or folder: '{missing}'.", stderr.TrimEnd('\r', '\n'));
    }

    [TestMethod]
    public void TableListsTheSummary()
    {
        using var dir = new TempTianchiDir();
        dir.WriteEvents("1,10,1,,100,2014-11-18 00", "2,11,4,abc,101,2014-12-18 23");
        dir.WriteItems("10,,100", "12,x,5");
        var (code, stdout, _) = Run("inspect", "--data", dir.Path);
        Assert.AreEqual(0, code);
        foreach (var expected in new[] { "rows", "2014-12-18 23", "behavior 4 (Buy)", "50.00 %", "item file rows", "item file geohash share" })
            StringAssert.Contains(stdout, expected);
    }
}
