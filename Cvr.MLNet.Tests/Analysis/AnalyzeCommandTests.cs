using System.Buffers.Binary;
using System.Text.Json;
using Cvr.MLNet.Analysis;
using Cvr.MLNet.Data;
using Cvr.MLNet.Data.Generation;
using Cvr.MLNet.Model;
using Cvr.MLNet.Samples;
using Cvr.MLNet.Serving;
using Cvr.MLNet.Tests.Cli;
using Cvr.MLNet.Tests.Training;
using Microsoft.ML;
using SkiaSharp;

namespace Cvr.MLNet.Tests.Analysis;

[TestClass]
[DoNotParallelize]
public sealed class AnalyzeCommandTests
{
    private static string _dir = "";
    private static string _model = "";

    [ClassInitialize]
    public static void Init(TestContext _)
    {
        _dir = Directory.CreateTempSubdirectory("cvr-analyze").FullName;
        new TianchiGenerator(new GeneratorOptions { Users = 60, RowsPerUser = 100 }).Generate(_dir);
        var log = TianchiReader.ReadEvents(Path.Combine(_dir, TianchiFiles.EventsFileName));
        var ml = new MLContext(1);
        var r = CvrPipeline.Train(ml, log, new CvrPipelineOptions { Vocabulary = CvrPipelineTests.SmallVocab, Trainer = CvrPipelineTests.SmallTrainer(epochs: 2) });
        _model = Path.Combine(_dir, "model.zip");
        CvrModel.Save(ml, r.Model, r.InputSchema, _model);
    }

    [ClassCleanup]
    public static void Cleanup() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    [TestMethod]
    public void ModelAnalysisUsesTheLastWholeLabelledDaysAndEveryField()
    {
        var ml = new MLContext(1);
        var log = TianchiReader.ReadEvents(Path.Combine(_dir, TianchiFiles.EventsFileName));
        var model = CvrModel.Load(ml, _model, out _);
        var m = CvrAnalysis.AnalyzeModel(ml, model, log, days: 2);
        // The log ends 2014-12-18 23: clicks up to 12-18 00 are labelled, so the last whole labelled day is 12-17.
        Assert.AreEqual(TianchiTime.Parse("2014-12-16 00"), m.FromHour);
        Assert.AreEqual(TianchiTime.Parse("2014-12-18 00"), m.ToHour);
        var expected = CvrSampleSet.Build(log, new CvrSampleOptions { FromHour = m.FromHour, ToHour = m.ToHour });
        Assert.AreEqual(expected.Count, m.Samples);
        Assert.AreEqual(expected.Buy.Count(b => b), m.Positives);
        Assert.AreEqual(m.Samples, m.Calibration.Sum(b => b.Count));
        Assert.AreEqual(10, m.Calibration.Count);
        CollectionAssert.AreEqual(new CvrNetworkOptions().FieldNames.ToArray(), m.FieldImportance.Select(kv => kv.Key).ToArray());
        Assert.IsTrue(m.FieldImportance.All(kv => kv.Value is > 0 and < 1), string.Join(", ", m.FieldImportance));
        Assert.AreEqual(2, m.History.Count);
        Assert.IsTrue(m.InSample, "the model was trained on this very log");
        Assert.AreEqual(log.HourRange().Last, m.ModelLogLastHour);
        Assert.IsTrue(m.MeanPredicted is > 0 and < 1);
    }

    private static (int Width, int Height) PngSize(string path)
    {
        var bytes = File.ReadAllBytes(path);
        CollectionAssert.AreEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8], path);
        Assert.AreEqual("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4), path);
        return (BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
    }

    private static int DistinctColors(string path)
    {
        using var bmp = SKBitmap.Decode(path);
        Assert.IsNotNull(bmp, path);
        var colors = new HashSet<uint>();
        for (int y = 0; y < bmp.Height; y += 2)
            for (int x = 0; x < bmp.Width; x += 2)
                colors.Add((uint)bmp.GetPixel(x, y));
        return colors.Count;
    }

    [TestMethod]
    public void AnalyzeWritesEveryChartAsAReadablePngAndAReport()
    {
        var outDir = Path.Combine(_dir, "report");
        var (code, stdout, stderr) = CliRunner.Run("analyze", "--data", _dir, "--model", _model, "--out", outDir, "--json");
        Assert.AreEqual(0, code, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        var files = root.GetProperty("charts").EnumerateArray().Select(c => c.GetProperty("file").GetString()!).ToArray();
        CollectionAssert.AreEqual(
            new[] { "conversion-delays.png", "conversion-paths.png", "daily-volume.png", "hourly-volume.png", "field-weights.png", "training-curves.png", "calibration.png" },
            files.Select(Path.GetFileName).ToArray());
        foreach (var f in files)
        {
            Assert.AreEqual(Path.GetFullPath(outDir), Path.GetDirectoryName(f));
            Assert.AreEqual((960, 560), PngSize(f), f);
            int colors = DistinctColors(f);
            Assert.IsTrue(colors > 20, $"{f}: only {colors} distinct colors, the chart looks blank");
        }
        var report = File.ReadAllText(root.GetProperty("report").GetString()!);
        foreach (var f in files) StringAssert.Contains(report, $"]({Path.GetFileName(f)})");
        StringAssert.Contains(report, "clicks of 2014-12-15 00 to 2014-12-17 23");
        Assert.AreEqual("2014-12-15 00", root.GetProperty("modelWindow").GetProperty("from").GetString());
        Assert.IsTrue(root.GetProperty("modelWindow").GetProperty("inSample").GetBoolean());
        Assert.AreEqual("2014-12-12", root.GetProperty("peakDay").GetString());
        Assert.IsTrue(root.GetProperty("cartBuyRate").GetDouble() > root.GetProperty("directRate").GetDouble());
    }

    [TestMethod]
    public void WithoutAModelTheModelChartsAreSkippedAndSaid()
    {
        var outDir = Path.Combine(_dir, "report-nomodel");
        var (code, stdout, stderr) = CliRunner.Run("analyze", "--data", _dir, "--out", outDir);
        Assert.AreEqual(0, code, stderr);
        var lines = stdout.Trim().Split('\n').Select(l => Path.GetFileName(l.Trim())).ToArray();
        CollectionAssert.AreEqual(new[] { "conversion-delays.png", "conversion-paths.png", "daily-volume.png", "hourly-volume.png", "index.md" }, lines);
        StringAssert.Contains(File.ReadAllText(Path.Combine(outDir, "index.md")), "Model: none given (--model), so field weights, training curves and calibration are skipped.");
        Assert.IsFalse(File.Exists(Path.Combine(outDir, "calibration.png")));
    }

    [TestMethod]
    public void BadOptionsFailWithOneLineNamingTheOption()
    {
        var outDir = Path.Combine(_dir, "report-bad");
        var (code, stdout, stderr) = CliRunner.Run("analyze", "--data", _dir, "--out", outDir, "--days", "0");
        Assert.AreEqual(1, code);
        Assert.AreEqual("", stdout);
        StringAssert.StartsWith(stderr, "error: --days must be at least 1, not 0.");
        (code, _, stderr) = CliRunner.Run("analyze", "--data", _dir, "--out", outDir, "--model", Path.Combine(_dir, "missing.zip"));
        Assert.AreEqual(1, code);
        StringAssert.Contains(stderr, "missing.zip");
        Assert.IsFalse(Directory.Exists(outDir), "a bad model writes no report");
    }
}
