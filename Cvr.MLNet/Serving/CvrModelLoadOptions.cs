namespace Cvr.MLNet.Serving;

/// <summary>
/// Limits that <see cref="CvrModel.Load"/> and <see cref="CvrModel.Validate"/> check before ML.NET
/// reads a model file, so a corrupt or hostile file fails fast with bounded memory and disk.
/// The defaults admit the reference-size network (about 100 MB of weights) with room to spare.
/// </summary>
public sealed class CvrModelLoadOptions
{
    private int _maxEntries = 4096;
    private long _maxEntryBytes = 2L << 30;
    private long _maxTotalBytes = 4L << 30;
    private double _maxCompressionRatio = 200;

    /// <summary>Most entries the zip may hold (1..1,000,000, default 4096).</summary>
    public int MaxEntries
    {
        get => _maxEntries;
        set => _maxEntries = value is >= 1 and <= 1_000_000 ? value
            : throw new ArgumentOutOfRangeException(nameof(MaxEntries), value, $"{nameof(MaxEntries)} must be in 1..1000000.");
    }

    /// <summary>Largest uncompressed size of one entry in bytes (1 KiB..64 GiB, default 2 GiB).</summary>
    public long MaxEntryBytes
    {
        get => _maxEntryBytes;
        set => _maxEntryBytes = value is >= 1024 and <= 64L << 30 ? value
            : throw new ArgumentOutOfRangeException(nameof(MaxEntryBytes), value, $"{nameof(MaxEntryBytes)} must be in 1024..68719476736 bytes.");
    }

    /// <summary>Largest uncompressed size of all entries together in bytes (1 KiB..256 GiB, default 4 GiB).</summary>
    public long MaxTotalBytes
    {
        get => _maxTotalBytes;
        set => _maxTotalBytes = value is >= 1024 and <= 256L << 30 ? value
            : throw new ArgumentOutOfRangeException(nameof(MaxTotalBytes), value, $"{nameof(MaxTotalBytes)} must be in 1024..274877906944 bytes.");
    }

    /// <summary>
    /// Largest uncompressed/compressed size ratio of an entry over 1 MiB (2..1100, default 200): a zip
    /// bomb needs a ratio near Deflate's limit of ~1030, while float weights compress by about 1.1.
    /// </summary>
    public double MaxCompressionRatio
    {
        get => _maxCompressionRatio;
        set => _maxCompressionRatio = value is >= 2 and <= 1100 ? value
            : throw new ArgumentOutOfRangeException(nameof(MaxCompressionRatio), value, $"{nameof(MaxCompressionRatio)} must be in 2..1100.");
    }
}
