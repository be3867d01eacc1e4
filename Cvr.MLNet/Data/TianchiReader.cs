using System.Text;

namespace Cvr.MLNet.Data;

/// <summary>
/// Reads the Tianchi CSV files into columnar form. The file is streamed as UTF-8 bytes and parsed
/// in place (no string per line), so the full 12 M-row events file loads in seconds and costs little
/// more memory than the <see cref="EventLog"/> it produces. Validation is strict; see
/// <see cref="TianchiReadOptions"/> for the accepted format and for skipping bad rows.
/// </summary>
public static class TianchiReader
{
    private static readonly string[] EventColumns = TianchiFiles.EventsHeader.Split(',');
    private static readonly string[] ItemColumns = TianchiFiles.ItemsHeader.Split(',');

    // Average bytes per events row in the real file is ~42 (a third of the rows have a geohash);
    // slightly under-estimating rows would double the arrays, so guess low.
    private const int BytesPerEventRowGuess = 36;

    /// <summary>Reads <c>tianchi_mobile_recommend_train_user.csv</c> (columns <see cref="TianchiFiles.EventsHeader"/>).</summary>
    /// <param name="path">The events file.</param>
    /// <param name="options">Read options; null for the strict defaults.</param>
    /// <param name="progress">Receives the fraction of bytes read, 0..1.</param>
    /// <param name="ct">Checked every 64 Ki lines.</param>
    /// <returns>The log, with <see cref="EventLog.Diagnostics"/> describing skipped rows.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="TianchiFormatException">Wrong header, empty file, or a bad row (unless skipping).</exception>
    public static EventLog ReadEvents(string path, TianchiReadOptions? options = null, IProgress<double>? progress = null, CancellationToken ct = default)
    {
        options ??= new TianchiReadOptions();
        var full = CheckExists(path, "events");
        using var sc = new LineScanner(full, options.BufferSize);
        var sink = new ErrorSink(full, options);
        ReadHeader(sc, full, TianchiFiles.EventsHeader, EventColumns);

        long guess = sc.Length / BytesPerEventRowGuess + 1024;
        var b = new EventLogBuilder(full, (int)Math.Min(guess, Array.MaxLength));
        Span<Range> f = stackalloc Range[7];
        Span<char> chars = stackalloc char[256];
        while (sc.TryReadLine(out var line))
        {
            if ((sc.LineNumber & 0xFFFF) == 0)
            {
                ct.ThrowIfCancellationRequested();
                progress?.Report((double)sc.BytesRead / Math.Max(1, sc.Length));
            }
            if (line.IsEmpty) { sink.EmptyLine(sc.LineNumber); continue; }
            int n = Split(line, f);
            if (n != 6) { sink.FieldCount(sc.LineNumber, line, EventColumns); continue; }

            FieldError e;
            int col;
            if ((e = TianchiParse.ParseId(line[f[0]], out int user)) != FieldError.None) col = 0;
            else if ((e = TianchiParse.ParseId(line[f[1]], out int item)) != FieldError.None) col = 1;
            else if ((e = ParseBehavior(line[f[2]], out byte behavior)) != FieldError.None) col = 2;
            else if ((e = TianchiParse.CheckText(line[f[3]])) != FieldError.None) col = 3;
            else if ((e = TianchiParse.ParseId(line[f[4]], out int category)) != FieldError.None) col = 4;
            else if (!TianchiParse.TryParseTime(line[f[5]], out int hour)) { e = FieldError.Time; col = 5; }
            else
            {
                b.AddRaw(user, item, behavior, GeohashId(b, line[f[3]], chars), category, hour);
                continue;
            }
            sink.Field(sc.LineNumber, EventColumns[col], line[f[col]], e);
        }
        progress?.Report(1.0);
        var diag = sink.Finish(sc, b.Count, "events");
        var log = b.Build();
        log.Diagnostics = diag;
        return log;
    }

    /// <summary>Reads <c>tianchi_mobile_recommend_train_item.csv</c> (columns <see cref="TianchiFiles.ItemsHeader"/>).</summary>
    /// <param name="path">The items file.</param>
    /// <param name="options">Read options; null for the strict defaults.</param>
    /// <param name="progress">Receives the fraction of bytes read, 0..1.</param>
    /// <param name="ct">Checked every 64 Ki lines.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="TianchiFormatException">Wrong header, empty file, or a bad row (unless skipping).</exception>
    public static ItemCatalog ReadItems(string path, TianchiReadOptions? options = null, IProgress<double>? progress = null, CancellationToken ct = default)
    {
        options ??= new TianchiReadOptions();
        var full = CheckExists(path, "items");
        using var sc = new LineScanner(full, options.BufferSize);
        var sink = new ErrorSink(full, options);
        ReadHeader(sc, full, TianchiFiles.ItemsHeader, ItemColumns);

        var keys = new List<long>((int)Math.Min(sc.Length / 24 + 16, 1 << 26));
        var cats = new List<int>(keys.Capacity);
        long withGeohash = 0;
        Span<Range> f = stackalloc Range[4];
        while (sc.TryReadLine(out var line))
        {
            if ((sc.LineNumber & 0xFFFF) == 0)
            {
                ct.ThrowIfCancellationRequested();
                progress?.Report((double)sc.BytesRead / Math.Max(1, sc.Length));
            }
            if (line.IsEmpty) { sink.EmptyLine(sc.LineNumber); continue; }
            int n = Split(line, f);
            if (n != 3) { sink.FieldCount(sc.LineNumber, line, ItemColumns); continue; }
            FieldError e;
            int col;
            if ((e = TianchiParse.ParseId(line[f[0]], out int item)) != FieldError.None) col = 0;
            else if ((e = TianchiParse.CheckText(line[f[1]])) != FieldError.None) col = 1;
            else if ((e = TianchiParse.ParseId(line[f[2]], out int category)) != FieldError.None) col = 2;
            else
            {
                // Key = item id then row order, so a sort keeps the first row of each item first.
                keys.Add(((long)item << 32) | (uint)cats.Count);
                cats.Add(category);
                if (!line[f[1]].IsEmpty) withGeohash++;
                continue;
            }
            sink.Field(sc.LineNumber, ItemColumns[col], line[f[col]], e);
        }
        progress?.Report(1.0);
        var diag = sink.Finish(sc, cats.Count, "items");
        return ItemCatalog.Create(full, keys, cats, withGeohash, diag);
    }

    private static string CheckExists(string path, string what)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"The Tianchi {what} file '{full}' does not exist.", full);
        return full;
    }

    private static void ReadHeader(LineScanner sc, string path, string expected, string[] columns)
    {
        var name = Path.GetFileName(path);
        if (!sc.TryReadLine(out var header) || (header.IsEmpty && sc.Length <= 5))
            throw new TianchiFormatException($"{name} is empty (expected the header '{expected}' on line 1)", path, 1, null, "");
        if (header.SequenceEqual(Encoding.ASCII.GetBytes(expected))) return;
        // A UTF-16/32 file would otherwise be reported as a garbled header; say what it is.
        var encoding = header.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]) ? "UTF-16 LE (or UTF-32 LE)"
            : header.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF]) ? "UTF-16 BE"
            : header.StartsWith((ReadOnlySpan<byte>)[0, 0, 0xFE, 0xFF]) ? "UTF-32 BE"
            : header.Length >= 2 && (header[0] == 0 || header[1] == 0) ? "UTF-16 or UTF-32 (NUL bytes)" : null;
        if (encoding is not null)
            throw new TianchiFormatException(
                $"{name} line 1: the file is encoded as {encoding}; expected UTF-8 text starting with the header '{expected}'",
                path, 1, columns[0], encoding);
        var found = Encoding.UTF8.GetString(header);
        var parts = found.Split(',');
        int bad = 0;
        while (bad < columns.Length && bad < parts.Length && parts[bad] == columns[bad]) bad++;
        var column = bad < columns.Length ? columns[bad] : null;
        throw new TianchiFormatException(
            $"{name} line 1{(column is null ? "" : $", column '{column}'")}: wrong header: expected '{expected}' but found '{TianchiParse.Clip(found)}'",
            path, 1, column, TianchiParse.Clip(found));
    }

    /// <summary>Splits on commas into <paramref name="ranges"/>; returns the field count, or ranges.Length when there are more.</summary>
    private static int Split(ReadOnlySpan<byte> line, Span<Range> ranges)
    {
        int start = 0, n = 0;
        while (true)
        {
            int comma = line[start..].IndexOf((byte)',');
            if (comma < 0 || n == ranges.Length - 1)
            {
                ranges[n++] = new Range(start, line.Length);
                return comma < 0 ? n : ranges.Length;
            }
            ranges[n++] = new Range(start, start + comma);
            start += comma + 1;
        }
    }

    private static FieldError ParseBehavior(ReadOnlySpan<byte> s, out byte behavior)
    {
        behavior = 0;
        if (s.Length == 1 && (uint)(s[0] - '1') <= 3) { behavior = (byte)(s[0] - '0'); return FieldError.None; }
        return s.Length > 0 && s[0] == (byte)'"' ? FieldError.Quoted : FieldError.Behavior;
    }

    private static int GeohashId(EventLogBuilder b, ReadOnlySpan<byte> geo, Span<char> scratch)
    {
        if (geo.IsEmpty) return 0;
        if (geo.Length <= scratch.Length && System.Text.Ascii.IsValid(geo))
        {
            // Geohashes are short ASCII: widen into a stack buffer and look up without a string.
            int n = Encoding.ASCII.GetChars(geo, scratch);
            return b.GeohashId(scratch[..n]);
        }
        return b.GeohashId(Encoding.UTF8.GetString(geo));
    }

    /// <summary>Turns parse failures into exceptions, or counts them under <see cref="TianchiReadOptions.SkipBadRows"/>.</summary>
    private sealed class ErrorSink(string path, TianchiReadOptions options)
    {
        private readonly string _name = Path.GetFileName(path);
        private readonly List<TianchiFormatException> _examples = [];
        private long _bad, _empty;

        public void EmptyLine(long line)
        {
            if (options.SkipEmptyLines) { _empty++; return; }
            Bad(new TianchiFormatException($"{_name} line {line} is empty", path, line, null, ""));
        }

        public void FieldCount(long line, ReadOnlySpan<byte> text, string[] columns)
        {
            int found = text.Count((byte)',') + 1;
            // Name the first missing column, or the last one when there are extra fields.
            var column = columns[Math.Min(found, columns.Length - 1)];
            var value = TianchiParse.Clip(Encoding.UTF8.GetString(text));
            Bad(new TianchiFormatException(
                $"{_name} line {line}, column '{column}': expected {columns.Length} fields ({string.Join(',', columns)}) but found {found}: '{value}'",
                path, line, column, value));
        }

        public void Field(long line, string column, ReadOnlySpan<byte> text, FieldError error)
        {
            var value = TianchiParse.Clip(Encoding.UTF8.GetString(text));
            Bad(new TianchiFormatException($"{_name} line {line}, column '{column}': {TianchiParse.Describe(error, value)}", path, line, column, value));
        }

        private void Bad(TianchiFormatException ex)
        {
            if (!options.SkipBadRows) throw ex;
            _bad++;
            if (_examples.Count < options.MaxErrorExamples) _examples.Add(ex);
        }

        public TianchiReadDiagnostics Finish(LineScanner sc, long rows, string what)
        {
            if (sc.LineNumber <= 1)
                throw new TianchiFormatException($"{_name} has a header but no {what} rows (line 2 is missing)", path, 2, null, "");
            return new TianchiReadDiagnostics(path, rows, _bad, _empty, _examples.ToArray(), sc.HadBom);
        }
    }
}
