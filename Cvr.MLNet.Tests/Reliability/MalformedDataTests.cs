using System.Text;
using System.Text.Json;
using Cvr.MLNet.Cli;
using Cvr.MLNet.Data;
using Cvr.MLNet.Tests.Data;
using CsCheck;
using Spectre.Console;

namespace Cvr.MLNet.Tests.Reliability;

/// <summary>
/// Property tests: random malformed Tianchi events files against the reader and <c>cvr inspect</c>.
/// Every failure must be a <see cref="TianchiFormatException"/> naming the first bad line and its column;
/// under skipping, every good row must come through in order with its exact values.
/// </summary>
[TestClass]
[DoNotParallelize] // the CLI cases swap Console.Out/Error
public sealed class MalformedDataTests
{
    private static void CheckRead(MalformedFilePlan plan)
    {
        using var dir = new TempTianchiDir();
        File.WriteAllBytes(dir.EventsPath, plan.ToBytes());
        var options = new TianchiReadOptions { SkipBadRows = plan.SkipBadRows, SkipEmptyLines = plan.SkipEmptyLines };
        var failures = plan.Failures().ToArray();
        string name = TianchiFiles.EventsFileName;

        if (plan.Lines.Length == 0)
        {
            var ex = Assert.ThrowsExactly<TianchiFormatException>(() => TianchiReader.ReadEvents(dir.EventsPath, options));
            Assert.AreEqual(2, ex.Line);
            StringAssert.Contains(ex.Message, $"{name} has a header but no events rows");
            return;
        }
        if (failures.Length > 0 && !plan.SkipBadRows)
        {
            var ex = Assert.ThrowsExactly<TianchiFormatException>(() => TianchiReader.ReadEvents(dir.EventsPath, options));
            Assert.AreEqual(failures[0].Line, ex.Line, ex.Message);
            Assert.AreEqual(failures[0].Column, ex.Column, ex.Message);
            Assert.AreEqual(dir.EventsPath, ex.FilePath);
            StringAssert.StartsWith(ex.Message, $"{name} line {failures[0].Line}");
            if (failures[0].Column is { } col) StringAssert.Contains(ex.Message, $"column '{col}'");
            return;
        }

        var log = TianchiReader.ReadEvents(dir.EventsPath, options);
        var expected = plan.GoodRows;
        Assert.AreEqual(expected.Length, log.Count);
        for (int i = 0; i < expected.Length; i++)
        {
            var e = expected[i];
            var actual = new ExpectedRow(log.UserIdSpan[i], log.ItemIdSpan[i], log.BehaviorSpan[i], log.Geohash(i), log.CategoryIdSpan[i], log.HourSpan[i]);
            Assert.AreEqual(e, actual, $"row {i}");
        }
        var d = log.Diagnostics!;
        Assert.AreEqual(expected.Length, d.RowCount);
        Assert.AreEqual(failures.Length, d.BadRowCount);
        Assert.AreEqual(plan.SkipEmptyLines ? plan.EmptyLines : 0, d.EmptyLineCount);
        Assert.AreEqual(plan.Bom, d.HadByteOrderMark);
        var examples = failures.Take(options.MaxErrorExamples).ToArray();
        CollectionAssert.AreEqual(examples.Select(f => f.Line).ToArray(), d.Errors.Select(x => x.Line).ToArray());
        CollectionAssert.AreEqual(examples.Select(f => f.Column).ToArray(), d.Errors.Select(x => x.Column).ToArray());
    }

    [TestMethod]
    public void RandomMalformedEventFilesFailAtTheFirstBadLineOrKeepEveryGoodRow() =>
        MalformedFilePlan.File.Sample(CheckRead, iter: 400, threads: 1, print: p => p.ToString());

    [TestMethod]
    public void EveryDefectKindAloneIsReportedWithItsLineAndColumn()
    {
        // Deterministic sweep: each defect kind at line 3, between two good rows, with every id/token variant.
        MalformedFilePlan.Line.Sample(line =>
        {
            var good = MalformedFilePlan.Line.Where(l => l.Good is not null);
            var plan = new MalformedFilePlan(false, false, [good.Single(), line, good.Single()], true, false, false);
            CheckRead(plan);
            CheckRead(plan with { SkipBadRows = true });
        }, iter: 300, threads: 1);
    }

    [TestMethod]
    public void BoundaryIdsParseExactlyAndOneMoreFails()
    {
        using var dir = new TempTianchiDir();
        dir.WriteEvents("2147483647,0,4,,2147483647,2014-12-18 23", "0,00042,1,,7,1970-01-01 00");
        var log = TianchiReader.ReadEvents(dir.EventsPath);
        CollectionAssert.AreEqual(new[] { int.MaxValue, 0 }, log.UserIdSpan.ToArray());
        CollectionAssert.AreEqual(new[] { 0, 42 }, log.ItemIdSpan.ToArray());
        CollectionAssert.AreEqual(new[] { TianchiTime.Parse("2014-12-18 23"), 0 }, log.HourSpan.ToArray());

        dir.WriteEvents("1,2,1,,3,2014-12-18 23", "2147483648,0,4,,1,2014-12-18 23");
        var ex = Assert.ThrowsExactly<TianchiFormatException>(() => TianchiReader.ReadEvents(dir.EventsPath));
        Assert.AreEqual($"{TianchiFiles.EventsFileName} line 3, column 'user_id': '2147483648' is out of range (expected 0..2147483647)", ex.Message);
    }

    [TestMethod]
    [DataRow("utf-16", "UTF-16 LE (or UTF-32 LE)")]
    [DataRow("utf-16BE", "UTF-16 BE")]
    [DataRow("utf-32", "UTF-16 LE (or UTF-32 LE)")]
    [DataRow("utf-32BE", "UTF-32 BE")]
    public void NonUtf8EncodingsFailOnLine1NamingTheEncoding(string encodingName, string described)
    {
        using var dir = new TempTianchiDir();
        var enc = encodingName switch
        {
            "utf-16" => (Encoding)new UnicodeEncoding(false, true),
            "utf-16BE" => new UnicodeEncoding(true, true),
            "utf-32" => new UTF32Encoding(false, true),
            _ => new UTF32Encoding(true, true),
        };
        var text = TianchiFiles.EventsHeader + "\n1,2,1,,3,2014-12-18 23\n";
        File.WriteAllBytes(dir.EventsPath, [.. enc.GetPreamble(), .. enc.GetBytes(text)]);
        var ex = Assert.ThrowsExactly<TianchiFormatException>(() => TianchiReader.ReadEvents(dir.EventsPath));
        Assert.AreEqual(1, ex.Line);
        Assert.AreEqual(
            $"{TianchiFiles.EventsFileName} line 1: the file is encoded as {described}; expected UTF-8 text starting with the header '{TianchiFiles.EventsHeader}'",
            ex.Message);

        // Without a BOM the NUL bytes give it away.
        File.WriteAllBytes(dir.EventsPath, new UnicodeEncoding(false, false).GetBytes(text));
        ex = Assert.ThrowsExactly<TianchiFormatException>(() => TianchiReader.ReadEvents(dir.EventsPath));
        StringAssert.Contains(ex.Message, "line 1: the file is encoded as UTF-16 or UTF-32 (NUL bytes)");
    }

    [TestMethod]
    public void InvalidUtf8InTheGeohashIsAnErrorNotASilentReplacement()
    {
        using var dir = new TempTianchiDir();
        File.WriteAllBytes(dir.EventsPath, [.. Encoding.ASCII.GetBytes(TianchiFiles.EventsHeader + "\n1,2,1,ab"), 0xFF, .. "c,3,2014-12-18 23\n"u8]);
        var ex = Assert.ThrowsExactly<TianchiFormatException>(() => TianchiReader.ReadEvents(dir.EventsPath));
        Assert.AreEqual(2, ex.Line);
        Assert.AreEqual("user_geohash", ex.Column);
        Assert.AreEqual($"{TianchiFiles.EventsFileName} line 2, column 'user_geohash': 'ab\uFFFDc' is not valid text (invalid UTF-8 or a control character)", ex.Message);

        File.WriteAllBytes(dir.ItemsPath, [.. Encoding.ASCII.GetBytes(TianchiFiles.ItemsHeader + "\n5,ok,1\n6,x"), 0xC3, .. ",2\n"u8]);
        var itemsEx = Assert.ThrowsExactly<TianchiFormatException>(() => TianchiReader.ReadItems(dir.ItemsPath));
        Assert.AreEqual(3, itemsEx.Line);
        Assert.AreEqual("item_geohash", itemsEx.Column);
    }

    [TestMethod]
    public void RandomBytesNeverCrashTheReader()
    {
        // Arbitrary bytes after a valid header: either rows or a TianchiFormatException, nothing else.
        Gen.Byte.Array[0, 400].Sample(bytes =>
        {
            using var dir = new TempTianchiDir();
            File.WriteAllBytes(dir.EventsPath, [.. Encoding.ASCII.GetBytes(TianchiFiles.EventsHeader + "\n"), .. bytes]);
            foreach (var skip in new[] { false, true })
            {
                try
                {
                    var log = TianchiReader.ReadEvents(dir.EventsPath, new TianchiReadOptions { SkipBadRows = skip });
                    Assert.IsTrue(log.Count <= bytes.Count(b => b == (byte)'\n') + 1);
                }
                catch (TianchiFormatException ex)
                {
                    Assert.IsTrue(ex.Line >= 2, ex.Message);
                }
            }
        }, iter: 300, threads: 1);
    }

    private static (int Code, string Out, string Err) RunCli(params string[] args) => Cli.CliRunner.Run(args);

    [TestMethod]
    public void CliInspectReportsTheFirstBadLineOrTheExactCounts()
    {
        // `cvr inspect` has no option to skip empty lines: they are bad rows there.
        MalformedFilePlan.File.Where(p => p.Lines.Length > 0).Select(p => p with { SkipEmptyLines = false }).Sample(plan =>
        {
            using var dir = new TempTianchiDir();
            File.WriteAllBytes(dir.EventsPath, plan.ToBytes());
            var failures = plan.Failures().ToArray();
            string[] args = plan.SkipBadRows ? ["inspect", "--data", dir.Path, "--json", "--skip-bad-rows"] : ["inspect", "--data", dir.Path, "--json"];
            var (code, stdout, stderr) = RunCli(args);
            if (failures.Length > 0 && !plan.SkipBadRows)
            {
                Assert.AreEqual(1, code, stderr);
                Assert.AreEqual("", stdout);
                var line = stderr.TrimEnd('\r', '\n');
                Assert.IsFalse(line.Contains('\n'), "one line on stderr");
                StringAssert.StartsWith(line, $"error: {TianchiFiles.EventsFileName} line {failures[0].Line}");
                return;
            }
            Assert.AreEqual(0, code, stderr);
            using var doc = JsonDocument.Parse(stdout);
            Assert.AreEqual(plan.GoodRows.Length, doc.RootElement.GetProperty("rows").GetInt64());
            Assert.AreEqual(failures.Length, doc.RootElement.GetProperty("badRows").GetInt64());
            var first = doc.RootElement.GetProperty("badRowExamples").EnumerateArray().Select(e => e.GetProperty("line").GetInt64()).ToArray();
            CollectionAssert.AreEqual(failures.Take(first.Length).Select(f => f.Line).ToArray(), first);
        }, iter: 60, threads: 1, print: p => p.ToString());
    }
}
