namespace Cvr.MLNet.Data;

/// <summary>
/// A Tianchi file (or an events <see cref="Microsoft.ML.IDataView"/>) holds a value the reader cannot
/// accept. The message names the file, the 1-based line (the header is line 1), the column and the
/// offending value; the same facts are available as properties.
/// </summary>
public sealed class TianchiFormatException : FormatException
{
    /// <summary>Creates the exception; <paramref name="message"/> should already name file, line, column and value.</summary>
    public TianchiFormatException(string message, string? filePath, long line, string? column, string? value, Exception? inner = null)
        : base(message, inner)
    {
        FilePath = filePath;
        Line = line;
        Column = column;
        Value = value;
    }

    /// <summary>The full path of the file (null when the source is not a file, e.g. an IDataView).</summary>
    public string? FilePath { get; }

    /// <summary>1-based line number (the header is line 1); for an IDataView source, the 0-based row index.</summary>
    public long Line { get; }

    /// <summary>The column name the error is about (null for whole-line errors such as an empty line).</summary>
    public string? Column { get; }

    /// <summary>The offending text (possibly shortened), or null.</summary>
    public string? Value { get; }
}
