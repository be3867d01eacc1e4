using Cvr.MLNet.Data;
using CsCheck;

namespace Cvr.MLNet.Tests.Data;

[TestClass]
public sealed class TianchiReaderTests
{
    private const string Name = TianchiFiles.EventsFileName;
    private const string Good1 = "10001082,285259775,1,97lk14c,4076,2014-12-08 18";
    private const string Good2 = "10001082,4368907,1,,5503,2014-12-12 12";
    private const string Good3 = "100029775,282925624,4,,1863,2014-12-03 00";

    private static TianchiFormatException ReadBad(string row, int rowsBefore = 1)
    {
        using var dir = new TempTianchiDir();
        var rows = Enumerable.Repeat(Good1, rowsBefore).Append(row).Append(Good2).ToArray();
        dir.WriteEvents(rows);
        var ex = Assert.ThrowsExactly<TianchiFormatException>(() => TianchiReader.ReadEvents(dir.EventsPath));
        Assert.AreEqual(dir.EventsPath, ex.FilePath);
        Assert.AreEqual(rowsBefore + 2L, ex.Line);
        return ex;
    }

    [TestMethod]
    public void ReadsRowsWithExactValues()
    {
        using var dir = new TempTianchiDir();
        dir.WriteEvents(Good1, Good2, Good3);
        var log = TianchiReader.ReadEvents(dir.EventsPath);

        Assert.AreEqual(3, log.Count);
        Assert.AreEqual(dir.EventsPath, log.Source);
        CollectionAssert.AreEqual(new[] { 10001082, 10001082, 100029775 }, log.UserIdSpan.ToArray());
        CollectionAssert.AreEqual(new[] { 285259775, 4368907, 282925624 }, log.ItemIdSpan.ToArray());
        CollectionAssert.AreEqual(new byte[] { 1, 1, 4 }, log.BehaviorSpan.ToArray());
        CollectionAssert.AreEqual(new[] { 4076, 5503, 1863 }, log.CategoryIdSpan.ToArray());
        CollectionAssert.AreEqual(new[] { "97lk14c", "", "" }, Enumerable.Range(0, 3).Select(log.Geohash).ToArray());
        CollectionAssert.AreEqual(new[] { TianchiTime.Parse("2014-12-08 18"), TianchiTime.Parse("2014-12-12 12"), TianchiTime.Parse("2014-12-03 00") },
            log.HourSpan.ToArray());
        Assert.AreEqual("2014-12-08 18", log[0].Time);
        Assert.IsNotNull(log.Diagnostics);
        Assert.AreEqual(3L, log.Diagnostics.RowCount);
        Assert.AreEqual(0L, log.Diagnostics.BadRowCount);
        Assert.IsFalse(log.Diagnostics.HadByteOrderMark);
    }

    [TestMethod]
    [DataRow(false, "\n", true)]
    [DataRow(true, "\r\n", true)]
    [DataRow(true, "\n", false)]
    [DataRow(false, "\r\n", false)]
    public void AcceptsBomCrlfAndMissingFinalNewline(bool bom, string newline, bool finalNewline)
    {
        using var dir = new TempTianchiDir();
        var text = string.Join(newline, TianchiFiles.EventsHeader, Good1, Good2, Good3) + (finalNewline ? newline : "");
        TempTianchiDir.WriteRaw(dir.EventsPath, text, bom);
        var log = TianchiReader.ReadEvents(dir.EventsPath);

        Assert.AreEqual(3, log.Count);
        Assert.AreEqual(bom, log.Diagnostics!.HadByteOrderMark);
        Assert.AreEqual("2014-12-03 00", log[2].Time); // no stray '\r' in the last field
        Assert.AreEqual("97lk14c", log.Geohash(0));
        Assert.AreEqual(1863, log.CategoryIdSpan[2]);
    }

    [TestMethod]
    [DataRow("1x,2,1,,3,2014-12-01 10", "user_id", "1x", "'1x' is not an integer")]
    [DataRow(",2,1,,3,2014-12-01 10", "user_id", "", "'' is not an integer")]
    [DataRow("1,-5,1,,3,2014-12-01 10", "item_id", "-5", "'-5' is out of range (expected 0..2147483647)")]
    [DataRow("1,2147483648,1,,3,2014-12-01 10", "item_id", "2147483648", "'2147483648' is out of range (expected 0..2147483647)")]
    [DataRow("1,99999999999,1,,3,2014-12-01 10", "item_id", "99999999999", "'99999999999' is out of range (expected 0..2147483647)")]
    [DataRow("\"123\",2,1,,3,2014-12-01 10", "user_id", "\"123\"", "'\"123\"' is not an integer (quoted fields are not supported)")]
    [DataRow("1,2,7,,3,2014-12-01 10", "behavior_type", "7", "'7' is not a behavior type (expected 1..4)")]
    [DataRow("1,2,0,,3,2014-12-01 10", "behavior_type", "0", "'0' is not a behavior type (expected 1..4)")]
    [DataRow("1,2,11,,3,2014-12-01 10", "behavior_type", "11", "'11' is not a behavior type (expected 1..4)")]
    [DataRow("1,2,1,,+3,2014-12-01 10", "item_category", "+3", "'+3' is not an integer")]
    [DataRow("1,2,1,, 3,2014-12-01 10", "item_category", " 3", "' 3' is not an integer")]
    [DataRow("1,2,1,,3,2014-13-01 10", "time", "2014-13-01 10", "'2014-13-01 10' is not a time in the format yyyy-MM-dd HH (valid date, hour 00..23)")]
    [DataRow("1,2,1,,3,2014-02-29 10", "time", "2014-02-29 10", "'2014-02-29 10' is not a time in the format yyyy-MM-dd HH (valid date, hour 00..23)")]
    [DataRow("1,2,1,,3,2014-12-01 24", "time", "2014-12-01 24", "'2014-12-01 24' is not a time in the format yyyy-MM-dd HH (valid date, hour 00..23)")]
    [DataRow("1,2,1,,3,2014-12-01", "time", "2014-12-01", "'2014-12-01' is not a time in the format yyyy-MM-dd HH (valid date, hour 00..23)")]
    [DataRow("1,2,1,,3,2014-12-01 1", "time", "2014-12-01 1", "'2014-12-01 1' is not a time in the format yyyy-MM-dd HH (valid date, hour 00..23)")]
    [DataRow("1,2,1,,3,2014/12/01 10", "time", "2014/12/01 10", "'2014/12/01 10' is not a time in the format yyyy-MM-dd HH (valid date, hour 00..23)")]
    public void BadFieldNamesFileLineColumnAndValue(string row, string column, string value, string tail)
    {
        var ex = ReadBad(row, rowsBefore: 15);
        Assert.AreEqual($"{Name} line 17, column '{column}': {tail}", ex.Message);
        Assert.AreEqual(column, ex.Column);
        Assert.AreEqual(value, ex.Value);
    }

    [TestMethod]
    [DataRow("1,2,1,,3", "time", 5)]
    [DataRow("1,2,1,3,2014-12-01 10", "time", 5)]
    [DataRow("1,2", "behavior_type", 2)]
    [DataRow("1,2,1,,3,2014-12-01 10,extra", "time", 7)]
    public void WrongFieldCount(string row, string column, int found)
    {
        var ex = ReadBad(row);
        Assert.AreEqual($"{Name} line 3, column '{column}': expected 6 fields (user_id,item_id,behavior_type,user_geohash,item_category,time) but found {found}: '{row}'", ex.Message);
        Assert.AreEqual(column, ex.Column);
        Assert.AreEqual(row, ex.Value);
    }

    [TestMethod]
    public void EmptyLineIsAnErrorUnlessSkipped()
    {
        var ex = ReadBad("");
        Assert.AreEqual($"{Name} line 3 is empty", ex.Message);
        Assert.IsNull(ex.Column);

        using var dir = new TempTianchiDir();
        dir.WriteEvents(Good1, "", Good2, "\r", Good3);
        var log = TianchiReader.ReadEvents(dir.EventsPath, new TianchiReadOptions { SkipEmptyLines = true });
        Assert.AreEqual(3, log.Count);
        Assert.AreEqual(2L, log.Diagnostics!.EmptyLineCount);
        Assert.AreEqual(0L, log.Diagnostics.BadRowCount);
    }

    [TestMethod]
    public void GeohashAcceptsAnyText()
    {
        using var dir = new TempTianchiDir();
        dir.WriteEvents("1,2,1,any text é!,3,2014-12-01 10", "1,2,1,,3,2014-12-01 10", "1,2,1,any text é!,3,2014-12-01 10", "1,2,1,\"q\",3,2014-12-01 10");
        var log = TianchiReader.ReadEvents(dir.EventsPath);
        CollectionAssert.AreEqual(new[] { "any text é!", "", "any text é!", "\"q\"" }, Enumerable.Range(0, 4).Select(log.Geohash).ToArray());
        Assert.AreEqual(3, log.GeohashTableSize); // "", "any text é!", "\"q\""
    }

    [TestMethod]
    public void WrongHeaderShowsExpectedAndFound()
    {
        using var dir = new TempTianchiDir();
        TempTianchiDir.WriteRaw(dir.EventsPath, "user_id,item_id,behavior,user_geohash,item_category,time\n" + Good1 + "\n");
        var ex = Assert.ThrowsExactly<TianchiFormatException>(() => TianchiReader.ReadEvents(dir.EventsPath));
        Assert.AreEqual($"{Name} line 1, column 'behavior_type': wrong header: expected '{TianchiFiles.EventsHeader}' but found 'user_id,item_id,behavior,user_geohash,item_category,time'", ex.Message);
        Assert.AreEqual(1L, ex.Line);
        Assert.AreEqual("behavior_type", ex.Column);

        // A header is never a skippable row.
        TempTianchiDir.WriteRaw(dir.EventsPath, Good1 + "\n" + Good2 + "\n");
        var ex2 = Assert.ThrowsExactly<TianchiFormatException>(() => TianchiReader.ReadEvents(dir.EventsPath, new TianchiReadOptions { SkipBadRows = true }));
        Assert.AreEqual("user_id", ex2.Column);
        Assert.AreEqual(Good1, ex2.Value);
    }

    [TestMethod]
    [DataRow("", false)]
    [DataRow("", true)]
    [DataRow("\n", false)]
    public void EmptyFileIsAnError(string text, bool bom)
    {
        using var dir = new TempTianchiDir();
        TempTianchiDir.WriteRaw(dir.EventsPath, text, bom);
        var ex = Assert.ThrowsExactly<TianchiFormatException>(() => TianchiReader.ReadEvents(dir.EventsPath));
        Assert.AreEqual($"{Name} is empty (expected the header '{TianchiFiles.EventsHeader}' on line 1)", ex.Message);
        Assert.AreEqual(1L, ex.Line);
    }

    [TestMethod]
    public void HeaderOnlyFileIsAnError()
    {
        using var dir = new TempTianchiDir();
        dir.WriteEvents();
        var ex = Assert.ThrowsExactly<TianchiFormatException>(() => TianchiReader.ReadEvents(dir.EventsPath));
        Assert.AreEqual($"{Name} has a header but no events rows (line 2 is missing)", ex.Message);
        Assert.AreEqual(2L, ex.Line);
    }

    [TestMethod]
    public void MissingFileNamesThePath()
    {
        using var dir = new TempTianchiDir();
        var ex = Assert.ThrowsExactly<FileNotFoundException>(() => TianchiReader.ReadEvents(dir.EventsPath));
        Assert.AreEqual(dir.EventsPath, ex.FileName);
        Assert.AreEqual($"The Tianchi events file '{dir.EventsPath}' does not exist.", ex.Message);
    }

    [TestMethod]
    public void SkipBadRowsKeepsEveryGoodRowInOrderAndCountsBadOnes()
    {
        using var dir = new TempTianchiDir();
        var rows = new List<string>();
        var expectedUsers = new List<int>();
        var expectedBadLines = new List<long>();
        for (int i = 0; i < 40; i++)
        {
            if (i % 3 == 1)
            {
                rows.Add($"{i},5,9,,7,2014-12-01 10"); // bad behavior
                expectedBadLines.Add(rows.Count + 1);
            }
            else
            {
                rows.Add($"{i},5,2,,7,2014-12-01 {i % 24:00}");
                expectedUsers.Add(i);
            }
        }
        rows.Add("");
        expectedBadLines.Add(rows.Count + 1);
        rows.Add("41,5,2,,7,2014-12-01 10");
        expectedUsers.Add(41);
        dir.WriteEvents([.. rows]);

        var log = TianchiReader.ReadEvents(dir.EventsPath, new TianchiReadOptions { SkipBadRows = true });
        CollectionAssert.AreEqual(expectedUsers, log.UserIdSpan.ToArray());
        var d = log.Diagnostics!;
        Assert.AreEqual((long)expectedBadLines.Count, d.BadRowCount);
        Assert.AreEqual(expectedUsers.Count, (int)d.RowCount);
        Assert.HasCount(10, d.Errors);
        CollectionAssert.AreEqual(expectedBadLines.Take(10).ToArray(), d.Errors.Select(e => e.Line).ToArray());
        Assert.AreEqual("behavior_type", d.Errors[0].Column);
        Assert.AreEqual("9", d.Errors[0].Value);
        Assert.AreEqual($"{Name} line 3, column 'behavior_type': '9' is not a behavior type (expected 1..4)", d.Errors[0].Message);

        var capped = TianchiReader.ReadEvents(dir.EventsPath, new TianchiReadOptions { SkipBadRows = true, MaxErrorExamples = 2 });
        Assert.HasCount(2, capped.Diagnostics!.Errors);
        Assert.AreEqual(d.BadRowCount, capped.Diagnostics.BadRowCount);
    }

    [TestMethod]
    public void OptionsRejectOutOfRangeValues()
    {
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new TianchiReadOptions { MaxErrorExamples = -1 });
        Assert.AreEqual("MaxErrorExamples", ex.ParamName);
        var ex2 = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new TianchiReadOptions { BufferSize = 100 });
        Assert.AreEqual("BufferSize", ex2.ParamName);
    }

    [TestMethod]
    public void LinesSpanningBufferBoundariesAndLongerThanTheBuffer()
    {
        using var dir = new TempTianchiDir();
        var longGeo = new string('g', 10_000);
        var rows = Enumerable.Range(0, 2000).Select(i => $"{i},{i * 7},{i % 4 + 1},{(i == 1234 ? longGeo : i % 2 == 0 ? "" : "h" + i % 50)},{i % 13},2014-11-{18 + i % 12} {i % 24:00}").ToArray();
        dir.WriteEvents(rows);
        var log = TianchiReader.ReadEvents(dir.EventsPath, new TianchiReadOptions { BufferSize = 4096 });
        Assert.AreEqual(2000, log.Count);
        for (int i = 0; i < 2000; i++)
        {
            var e = log[i];
            Assert.AreEqual(rows[i], $"{e.UserId},{e.ItemId},{e.BehaviorType},{e.UserGeohash},{e.ItemCategory},{e.Time}");
        }
        Assert.AreEqual(longGeo, log.Geohash(1234));
    }

    [TestMethod]
    public void RandomRowsRoundTripThroughTheFile()
    {
        var gRow = Gen.Select(Gen.Int[0, int.MaxValue], Gen.Int[0, int.MaxValue], Gen.Int[1, 4], Gen.String[Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789"], 0, 9],
            Gen.Int[0, int.MaxValue], Gen.DateTime[new DateTime(1971, 1, 1), new DateTime(2030, 1, 1)]);
        gRow.Array[1, 50].Sample(rows =>
        {
            using var dir = new TempTianchiDir();
            var lines = rows.Select(r => $"{r.Item1},{r.Item2},{r.Item3},{r.Item4},{r.Item5},{r.Item6:yyyy-MM-dd HH}").ToArray();
            dir.WriteEvents(lines);
            var log = TianchiReader.ReadEvents(dir.EventsPath);
            if (log.Count != rows.Length) return false;
            for (int i = 0; i < rows.Length; i++)
            {
                var r = rows[i];
                if (log.UserIdSpan[i] != r.Item1 || log.ItemIdSpan[i] != r.Item2 || log.BehaviorSpan[i] != r.Item3
                    || log.Geohash(i) != r.Item4 || log.CategoryIdSpan[i] != r.Item5
                    || log.HourSpan[i] != TianchiTime.ToHour(r.Item6)) return false;
            }
            return true;
        }, iter: 60);
    }

    [TestMethod]
    public void ReadsTheItemSubset()
    {
        using var dir = new TempTianchiDir();
        dir.WriteItems("100,97lk14c,5", "7,,3", "100,97lk14d,5", "100,,6", "42,abc,9");
        var items = TianchiReader.ReadItems(dir.ItemsPath);
        Assert.AreEqual(5L, items.RowCount);
        Assert.AreEqual(3, items.Count);
        CollectionAssert.AreEqual(new[] { 7, 42, 100 }, items.ItemIds.ToArray());
        CollectionAssert.AreEqual(new[] { 3, 9, 5 }, items.Categories.ToArray());
        Assert.AreEqual(3.0 / 5, items.GeohashShare, 1e-12);
        Assert.AreEqual(1L, items.CategoryConflictCount); // item 100 listed with category 6 after 5
        Assert.IsTrue(items.TryGetCategory(100, out var cat));
        Assert.AreEqual(5, cat);
        Assert.IsFalse(items.Contains(8));

        dir.WriteItems("100,97lk14c,5", "7,,x");
        var ex = Assert.ThrowsExactly<TianchiFormatException>(() => TianchiReader.ReadItems(dir.ItemsPath));
        Assert.AreEqual($"{TianchiFiles.ItemsFileName} line 3, column 'item_category': 'x' is not an integer", ex.Message);
    }

    [TestMethod]
    public void ResolvesAFolderOrAFile()
    {
        using var dir = new TempTianchiDir();
        var missing = Assert.ThrowsExactly<FileNotFoundException>(() => TianchiPaths.Resolve(dir.Path));
        Assert.AreEqual(dir.EventsPath, missing.FileName);
        StringAssert.Contains(missing.Message, dir.Path);

        dir.WriteEvents(Good1);
        Assert.AreEqual(new TianchiPaths(dir.EventsPath, null), TianchiPaths.Resolve(dir.Path));
        dir.WriteItems("1,,2");
        Assert.AreEqual(new TianchiPaths(dir.EventsPath, dir.ItemsPath), TianchiPaths.Resolve(dir.Path));
        Assert.AreEqual(new TianchiPaths(dir.EventsPath, dir.ItemsPath), TianchiPaths.Resolve(dir.EventsPath));

        var nowhere = System.IO.Path.Combine(dir.Path, "nope.csv");
        var ex = Assert.ThrowsExactly<FileNotFoundException>(() => TianchiPaths.Resolve(nowhere));
        Assert.AreEqual($"No such file or folder: '{nowhere}'.", ex.Message);
    }
}
