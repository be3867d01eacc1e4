namespace Cvr.MLNet.Data;

/// <summary>Options for <see cref="TianchiReader"/>.</summary>
/// <remarks>
/// The reader is strict by default: fields are plain unquoted text separated by commas (the real
/// Tianchi files contain no quotes), so a quoted field such as <c>"123"</c> in an integer column is
/// an error rather than being unquoted; surrounding spaces are errors in integer and time columns.
/// The geohash column accepts any text (including empty) that is valid UTF-8 without control characters.
/// Files must be UTF-8 (a BOM is allowed); a UTF-16/UTF-32 file is rejected on line 1. Lines end with
/// LF or CRLF; the last line may lack its newline.
/// </remarks>
public sealed class TianchiReadOptions
{
    private int _maxErrorExamples = 10;
    private int _bufferSize = 1 << 20;

    /// <summary>Skip rows that fail validation instead of throwing; they are counted and the first
    /// <see cref="MaxErrorExamples"/> are kept in <see cref="TianchiReadDiagnostics"/>. A wrong header
    /// or an empty file still throws. Default false.</summary>
    public bool SkipBadRows { get; set; }

    /// <summary>Skip empty lines silently (they are counted in <see cref="TianchiReadDiagnostics.EmptyLineCount"/>).
    /// Default false: an empty line is an error (or a bad row under <see cref="SkipBadRows"/>).</summary>
    public bool SkipEmptyLines { get; set; }

    /// <summary>How many bad-row errors to keep as examples when skipping (0..1000, default 10).</summary>
    public int MaxErrorExamples
    {
        get => _maxErrorExamples;
        set => _maxErrorExamples = value is >= 0 and <= 1000 ? value
            : throw new ArgumentOutOfRangeException(nameof(MaxErrorExamples), value, $"{nameof(MaxErrorExamples)} must be in 0..1000.");
    }

    /// <summary>Read buffer size in bytes (4 KiB..256 MiB, default 1 MiB).</summary>
    public int BufferSize
    {
        get => _bufferSize;
        set => _bufferSize = value is >= 4096 and <= 256 << 20 ? value
            : throw new ArgumentOutOfRangeException(nameof(BufferSize), value, $"{nameof(BufferSize)} must be in 4096..268435456 bytes.");
    }
}
