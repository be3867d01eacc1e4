namespace Cvr.MLNet.Data;

/// <summary>What a read of a Tianchi file skipped: never silent, even under <see cref="TianchiReadOptions.SkipBadRows"/>.</summary>
public sealed class TianchiReadDiagnostics
{
    internal TianchiReadDiagnostics(string filePath, long rowCount, long badRowCount, long emptyLineCount,
        IReadOnlyList<TianchiFormatException> errors, bool hadByteOrderMark)
    {
        FilePath = filePath;
        RowCount = rowCount;
        BadRowCount = badRowCount;
        EmptyLineCount = emptyLineCount;
        Errors = errors;
        HadByteOrderMark = hadByteOrderMark;
    }

    /// <summary>The file that was read.</summary>
    public string FilePath { get; }
    /// <summary>Rows kept (excluding the header).</summary>
    public long RowCount { get; }
    /// <summary>Rows skipped because they failed validation (only under <see cref="TianchiReadOptions.SkipBadRows"/>).</summary>
    public long BadRowCount { get; }
    /// <summary>Empty lines skipped under <see cref="TianchiReadOptions.SkipEmptyLines"/>.</summary>
    public long EmptyLineCount { get; }
    /// <summary>The first bad rows' errors (line, column, value), at most <see cref="TianchiReadOptions.MaxErrorExamples"/>.</summary>
    public IReadOnlyList<TianchiFormatException> Errors { get; }
    /// <summary>Whether the file started with a UTF-8 byte order mark.</summary>
    public bool HadByteOrderMark { get; }
}
