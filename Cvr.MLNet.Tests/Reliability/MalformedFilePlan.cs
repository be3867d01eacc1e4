using System.Text;
using Cvr.MLNet.Data;
using CsCheck;

namespace Cvr.MLNet.Tests.Reliability;

/// <summary>One generated line of an events file and what the reader must make of it.</summary>
/// <param name="Bytes">The line without its ending.</param>
/// <param name="Good">The expected row for a valid line, else null.</param>
/// <param name="IsEmpty">An empty line (an error unless empty lines are skipped).</param>
/// <param name="BadColumn">For a bad non-empty line, the column the error must name.</param>
/// <param name="Crlf">End this line with CRLF instead of LF.</param>
internal sealed record PlannedLine(byte[] Bytes, ExpectedRow? Good, bool IsEmpty, string? BadColumn, bool Crlf)
{
    public override string ToString() =>
        $"{(Good is not null ? "good" : IsEmpty ? "empty" : $"bad[{BadColumn}]")} '{Encoding.UTF8.GetString(Bytes).ReplaceLineEndings("\\n")}'{(Crlf ? " CRLF" : "")}";
}

/// <summary>The exact values a good line must produce.</summary>
internal sealed record ExpectedRow(int User, int Item, byte Behavior, string Geohash, int Category, int Hour);

/// <summary>A generated events file: options, optional BOM, lines, and whether the last line ends with a newline.</summary>
internal sealed record MalformedFilePlan(bool Bom, bool HeaderCrlf, PlannedLine[] Lines, bool FinalNewline, bool SkipBadRows, bool SkipEmptyLines)
{
    public static readonly string[] Columns = TianchiFiles.EventsHeader.Split(',');

    public byte[] ToBytes()
    {
        var ms = new MemoryStream();
        if (Bom) ms.Write(Encoding.UTF8.Preamble);
        ms.Write(Encoding.ASCII.GetBytes(TianchiFiles.EventsHeader));
        ms.Write(HeaderCrlf ? "\r\n"u8 : "\n"u8);
        for (int i = 0; i < Lines.Length; i++)
        {
            ms.Write(Lines[i].Bytes);
            if (i < Lines.Length - 1 || FinalNewline) ms.Write(Lines[i].Crlf ? "\r\n"u8 : "\n"u8);
        }
        return ms.ToArray();
    }

    /// <summary>Lines that fail under the plan's options (1-based file line numbers; the header is line 1).</summary>
    public IEnumerable<(long Line, string? Column)> Failures() =>
        Lines.Select((l, i) => (l, line: (long)i + 2))
            .Where(x => x.l.Good is null && !(x.l.IsEmpty && SkipEmptyLines))
            .Select(x => (x.line, x.l.IsEmpty ? null : x.l.BadColumn));

    public ExpectedRow[] GoodRows => [.. Lines.Where(l => l.Good is not null).Select(l => l.Good!)];
    public int EmptyLines => Lines.Count(l => l.IsEmpty);

    public override string ToString() =>
        $"bom={Bom} skipBad={SkipBadRows} skipEmpty={SkipEmptyLines} finalNewline={FinalNewline}\n  " + string.Join("\n  ", Lines.Select(l => l.ToString()));

    // ---- generators ----

    private static readonly string[] BadIds =
        ["", "-1", "+1", " 1", "1 ", "1.0", "0x1F", "\"12\"", "2147483648", "99999999999", "12345678901234567890", "١٢", "\uFEFF1", "1e3", "NaN", "00000000001"];
    private static readonly string[] BadBehaviors = ["0", "5", "9", "", "x", "11", "-1", "\"1\"", " 1", "1 "];
    private static readonly byte[][] BadGeohashes =
        [[0xFF], [0xC3], [0xC0, 0xAF], [0x61, 0x00, 0x62], [0x01], [0x61, 0x0D, 0x62], [0x7F], [0xED, 0xA0, 0x80], [0x39, 0x09]];
    private static readonly string[] BadTimes =
        ["2014-13-01 00", "2014-02-30 10", "2014-12-18 24", "2014-12-18", "2014/12/18 10", "", "2014-12-18 1", "2014-12-18T10",
         "0000-01-01 00", " 2014-12-18 10", "2014-12-18 10:00", "２０１４-12-18 10", "2014-12-18 10 ", "2014-12-18 -1"];
    private const string GeoChars = "0123456789abcdefghijklmnopqrstuvwxyz";
    private static readonly int MinHour = TianchiTime.Parse("2000-01-01 00"), MaxHour = TianchiTime.Parse("2030-12-31 23");

    private static int Id(uint r) => (r % 8) switch { 0 => 0, 1 => int.MaxValue, _ => (int)(r % 50_000_000) };

    private static ExpectedRow GoodRow(uint a, uint b, uint c) =>
        new(Id(a), Id(b >> 3), (byte)(1 + c % 4), Geohash(a ^ b ^ c), Id(c >> 2), MinHour + (int)((a ^ (b << 7)) % (uint)(MaxHour - MinHour + 1)));

    private static string Geohash(uint r)
    {
        int len = (int)(r % 9);
        if (len == 8) return "é北"; // valid non-ASCII text is kept as is
        var sb = new StringBuilder();
        for (int i = 0; i < len; i++) { sb.Append(GeoChars[(int)(r % 36)]); r = r * 1103515245 + 12345; }
        return sb.ToString();
    }

    private static string[] Fields(ExpectedRow r) =>
        [$"{r.User}", $"{r.Item}", $"{r.Behavior}", r.Geohash, $"{r.Category}", TianchiTime.ToText(r.Hour)];

    private static byte[] Join(string[] f) => Encoding.UTF8.GetBytes(string.Join(',', f));

    /// <summary>A line of kind <paramref name="kind"/> (0..19): half good, the rest one defect each.</summary>
    private static PlannedLine MakeLine(int kind, uint a, uint b, uint c, bool crlf)
    {
        var row = GoodRow(a, b, c);
        var f = Fields(row);
        switch (kind)
        {
            case < 10: return new(Join(f), row, false, null, crlf);
            case 10 or 11 or 14:
                int col = kind switch { 10 => 0, 11 => 1, _ => 4 };
                f[col] = BadIds[c % (uint)BadIds.Length];
                return new(Join(f), null, false, Columns[col], crlf);
            case 12:
                f[2] = BadBehaviors[c % (uint)BadBehaviors.Length];
                return new(Join(f), null, false, Columns[2], crlf);
            case 13:
            {
                var g = BadGeohashes[c % (uint)BadGeohashes.Length];
                var bytes = new List<byte>(Join(f[..3])); bytes.Add((byte)','); bytes.AddRange(g); bytes.Add((byte)',');
                bytes.AddRange(Join(f[4..]));
                return new([.. bytes], null, false, Columns[3], crlf);
            }
            case 15:
                f[5] = BadTimes[c % (uint)BadTimes.Length];
                return new(Join(f), null, false, Columns[5], crlf);
            case 16:
            {
                // Truncated line: fewer fields names the first missing column; a cut inside the time names time.
                var full = Join(f);
                int cut = 1 + (int)(b % (uint)(full.Length - 1));
                var part = full[..cut];
                int commas = part.Count(x => x == (byte)',');
                return new(part, null, false, commas < 5 ? Columns[commas + 1] : Columns[5], crlf);
            }
            case 17: return new(Join([.. f, "x"]), null, false, Columns[5], crlf);
            case 18: return new([], null, true, null, crlf);
            default: return new(" "u8.ToArray(), null, false, Columns[1], crlf);
        }
    }

    private static readonly Gen<uint> U = Gen.UInt;

    public static readonly Gen<PlannedLine> Line =
        Gen.Select(Gen.Int[0, 19], U, U, U, Gen.Bool, (k, a, b, c, crlf) => MakeLine(k, a, b, c, crlf));

    /// <summary>Files of 0..40 lines; good-only files and files with a single defect are both common.</summary>
    public static readonly Gen<MalformedFilePlan> File =
        Gen.Select(Gen.Bool, Gen.Bool, Line.Array[0, 40], Gen.Bool, Gen.Bool, Gen.Bool, Gen.Int[0, 3],
            (bom, headerCrlf, lines, finalNewline, skipBad, skipEmpty, mode) =>
            {
                // mode 0: keep only good lines, so clean files get their exact-values check too.
                if (mode == 0) lines = [.. lines.Where(l => l.Good is not null)];
                // An empty last line without a newline is no line at all: give it its newline.
                bool fn = finalNewline || (lines.Length > 0 && lines[^1].IsEmpty);
                return new MalformedFilePlan(bom, headerCrlf, lines, fn, skipBad, skipEmpty);
            });
}
