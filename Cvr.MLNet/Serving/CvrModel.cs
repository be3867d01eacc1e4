using System.Buffers.Binary;
using System.IO.Compression;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Cvr.MLNet.Model;
using Microsoft.ML;

namespace Cvr.MLNet.Serving;

/// <summary>
/// Safe save and load of a CVR pipeline as an ML.NET model zip (see docs/reliability.md).
/// <list type="bullet">
/// <item><see cref="Save"/> writes to a temporary file in the target folder, checks it, and renames it
/// over the target, so a failed save leaves the previous model intact and no temporary file behind.</item>
/// <item><see cref="Load"/> first runs <see cref="Validate"/>: every entry name, size and byte is checked,
/// and every component header must name a loader assembly of ours or of ML.NET, before ML.NET reads it.</item>
/// </list>
/// </summary>
/// <remarks>
/// ML.NET model files hold no code and no serialized object graphs: each <c>Model.key</c> names a loader
/// signature, which ML.NET resolves only among <c>[LoadableClass]</c> types of registered assemblies, and
/// calls that type's <c>Create</c> method, which reads plain numbers and strings. The one lever a file has is
/// the loader assembly name in the header, which ML.NET passes to <see cref="Assembly.Load(string)"/>: that
/// only resolves assemblies the host can already load (no path), but it would still load and register any of
/// them, so <see cref="Validate"/> admits only <c>Cvr.MLNet</c> and <c>Microsoft.ML*</c>. ML.NET extracts
/// entries to random temporary file names, so entry names never become paths; names with <c>..</c>,
/// roots or control characters are rejected anyway.
/// </remarks>
public static class CvrModel
{
    private const string ModelStreamName = "Model.key";
    private const string WeightsEntryName = "CvrNetworkWeights.bin";
    private const string CvrModelLoaderSignature = "CvrModelTransformer";
    private const int HeaderSize = 0x100;
    private const ulong HeaderSignature = 0x4C45444F4D004C4DUL; // "ML\0MODEL"
    private const ulong TailSignature = 0x4D4C004D4F44454CUL;
    private const int MaxAssemblyNameBytes = 4096;
    private const int MaxOptionsJsonBytes = 1 << 20;

    /// <summary>
    /// Saves <paramref name="model"/> (with the input schema it was fitted on) to <paramref name="path"/>
    /// atomically: written to a temporary file in the same folder, validated, then renamed over the target.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The target folder does not exist.</exception>
    /// <exception cref="IOException">Writing or renaming failed; the previous file at <paramref name="path"/> is unchanged.</exception>
    public static void Save(MLContext mlContext, ITransformer model, DataViewSchema inputSchema, string path)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputSchema);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir))
            throw new DirectoryNotFoundException($"Cannot save the model to '{full}': the folder '{dir}' does not exist.");
        if (Directory.Exists(full))
            throw new IOException($"Cannot save the model to '{full}': a folder of that name exists.");

        // Same folder, so the final rename stays on one file system and is atomic.
        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16))
            {
                mlContext.Model.Save(model, inputSchema, stream);
                stream.Flush(flushToDisk: true);
            }
            // Never replace a good model with one that would not load back.
            Validate(temp, SaveLimits);
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    // A save checks structure, not size: the caller decides at load time which sizes it admits.
    private static readonly CvrModelLoadOptions SaveLimits = new()
    {
        MaxEntries = 1_000_000, MaxEntryBytes = 64L << 30, MaxTotalBytes = 256L << 30, MaxCompressionRatio = 1100,
    };

    /// <summary>
    /// Validates <paramref name="path"/> (see <see cref="Validate"/>) and loads it with ML.NET.
    /// </summary>
    /// <param name="mlContext">The context to load into.</param>
    /// <param name="path">The model zip.</param>
    /// <param name="inputSchema">The input schema stored with the model.</param>
    /// <param name="options">Size limits; null for the defaults.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid, admissible CVR model; the message names the file, entry and problem.</exception>
    public static ITransformer Load(MLContext mlContext, string path, out DataViewSchema inputSchema, CvrModelLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        var info = Validate(path, options);
        try
        {
            return mlContext.Model.Load(info.FilePath, out inputSchema);
        }
        catch (Exception e) when (e is not (InvalidDataException or OutOfMemoryException or OperationCanceledException))
        {
            // ML.NET calls loaders by reflection: report the loader's own error, not the invocation wrapper.
            var cause = e is TargetInvocationException { InnerException: { } inner } ? inner : e;
            throw new InvalidDataException($"Model file '{info.FilePath}' could not be loaded: {cause.Message}", e);
        }
    }

    /// <summary>
    /// Checks a model zip without running any of its loaders: entry count, names (no roots, <c>..</c>,
    /// control characters or duplicates), sizes against <paramref name="options"/>, every entry fully
    /// decompressed with its real size equal to the declared one, every <c>Model.key</c> header well formed
    /// with an admissible loader assembly, and the CVR network's configured size consistent with its stored
    /// weights (so a tampered configuration cannot make the loader allocate gigabytes).
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The first problem found, naming the file and entry.</exception>
    public static CvrModelFileInfo Validate(string path, CvrModelLoadOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options ??= new CvrModelLoadOptions();
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"Model file '{full}' does not exist.", full);

        using var file = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read);
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw Bad(full, null, $"is not a readable zip archive (truncated or not a model file): {e.Message}", e);
        }
        using (zip)
        {
            var entries = zip.Entries;
            if (entries.Count > options.MaxEntries)
                throw Bad(full, null, $"has {entries.Count} entries, more than the {options.MaxEntries} allowed");

            var names = new HashSet<string>(StringComparer.Ordinal);
            var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
            long declaredTotal = 0;
            foreach (var e in entries)
            {
                var name = CheckName(full, e.FullName);
                if (!names.Add(name)) throw Bad(full, e.FullName, "appears twice");
                if (e.Length > options.MaxEntryBytes)
                    throw Bad(full, e.FullName, $"declares {e.Length} bytes, more than the {options.MaxEntryBytes} allowed per entry");
                declaredTotal += e.Length;
                if (declaredTotal > options.MaxTotalBytes)
                    throw Bad(full, e.FullName, $"brings the declared total to {declaredTotal} bytes, more than the {options.MaxTotalBytes} allowed");
                if (e.Length > 1 << 20 && e.Length > options.MaxCompressionRatio * Math.Max(1, e.CompressedLength))
                    throw Bad(full, e.FullName, $"expands {e.CompressedLength} compressed bytes to {e.Length} (ratio above {options.MaxCompressionRatio}; a zip bomb?)");
                sizes[name] = e.Length;
            }

            var components = new List<CvrModelComponent>();
            long total = 0;
            foreach (var e in entries)
            {
                var name = e.FullName.Replace('\\', '/');
                bool isModel = name == ModelStreamName || name.EndsWith("/" + ModelStreamName, StringComparison.Ordinal);
                Stream s;
                try
                {
                    s = e.Open();
                }
                catch (Exception ex) when (ex is IOException or InvalidDataException or NotSupportedException)
                {
                    throw Bad(full, e.FullName, $"cannot be opened ({ex.GetType().Name}: {ex.Message})", ex);
                }
                using (s)
                {
                    var reader = new BoundedReader(s, e.Length, full, e.FullName);
                    if (isModel) components.Add(ReadComponent(reader, full, name, sizes));
                    reader.Drain();
                    // .NET's zip reader does not check CRCs and stops at the declared size, so a flipped
                    // byte or a shortened size would otherwise pass unnoticed.
                    if (reader.Crc != e.Crc32)
                        throw Bad(full, e.FullName, $"fails its CRC-32 check (stored 0x{e.Crc32:X8}, computed 0x{reader.Crc:X8}; corrupt data or tampered size)");
                }
                total += e.Length;
            }
            if (components.Count == 0)
                throw Bad(full, null, $"has no '{ModelStreamName}' entry (not an ML.NET model)");
            return new CvrModelFileInfo(full, entries.Count, total, components);
        }
    }

    private static string CheckName(string file, string raw)
    {
        if (raw.Length == 0) throw Bad(file, raw, "has an empty name");
        foreach (char c in raw)
            if (char.IsControl(c)) throw Bad(file, raw, $"has a control character U+{(int)c:X4} in its name");
        var name = raw.Replace('\\', '/');
        if (name[0] == '/' || (name.Length > 1 && name[1] == ':'))
            throw Bad(file, raw, "has an absolute path as its name");
        foreach (var part in name.Split('/'))
            if (part is ".." or ".")
                throw Bad(file, raw, "has a path-traversal name ('.' or '..' segment)");
        return name;
    }

    private static CvrModelComponent ReadComponent(BoundedReader r, string file, string entry, IReadOnlyDictionary<string, long> sizes)
    {
        Span<byte> h = stackalloc byte[HeaderSize];
        r.ReadExactly(h);
        ulong sig = BinaryPrimitives.ReadUInt64LittleEndian(h);
        if (sig != HeaderSignature) throw Bad(file, entry, $"does not start with an ML.NET model header (signature 0x{sig:X16})");
        long fpModel = I64(h, 0x10), cbModel = I64(h, 0x18), fpTail = I64(h, 0x80), fpLim = I64(h, 0x88), fpName = I64(h, 0x90);
        uint cbName = BinaryPrimitives.ReadUInt32LittleEndian(h[0x98..]);
        if (fpModel != HeaderSize || cbModel < 0 || fpModel + cbModel > fpTail || fpTail + 8 != fpLim || fpLim != r.Declared)
            throw Bad(file, entry, $"has an inconsistent header (model at {fpModel}+{cbModel}, tail at {fpTail}, end {fpLim}, entry size {r.Declared})");
        string loader = Signature(h.Slice(0x50, 24), file, entry);
        string? assembly = null;
        string? optionsJson = null;
        if (loader == CvrModelLoaderSignature)
            optionsJson = ReadLengthPrefixedUtf8(r, file, entry);
        if (cbName != 0)
        {
            if (cbName % 2 != 0 || cbName > MaxAssemblyNameBytes || fpName < fpModel + cbModel || fpName + cbName > fpTail || fpName < r.Position)
                throw Bad(file, entry, $"has an invalid loader assembly name location ({fpName}, {cbName} bytes)");
            r.SkipTo(fpName);
            var bytes = new byte[cbName];
            r.ReadExactly(bytes);
            assembly = Encoding.Unicode.GetString(bytes);
            CheckAssembly(file, entry, loader, assembly);
        }
        r.SkipTo(fpTail);
        Span<byte> tail = stackalloc byte[8];
        r.ReadExactly(tail);
        if (BinaryPrimitives.ReadUInt64LittleEndian(tail) != TailSignature)
            throw Bad(file, entry, "has no ML.NET model tail signature (truncated or tampered)");
        if (optionsJson is not null) CheckNetworkSize(file, entry, optionsJson, sizes);
        return new CvrModelComponent(entry, loader, assembly);
    }

    private static long I64(ReadOnlySpan<byte> h, int offset) => BinaryPrimitives.ReadInt64LittleEndian(h[offset..]);

    private static string Signature(ReadOnlySpan<byte> bytes, string file, string entry)
    {
        int n = bytes.IndexOf((byte)0);
        if (n < 0) n = bytes.Length;
        var sig = bytes[..n];
        if (n == 0 || sig.IndexOfAnyExceptInRange((byte)0x21, (byte)0x7E) >= 0)
            throw Bad(file, entry, $"has an invalid loader signature '{Encoding.Latin1.GetString(sig)}'");
        return Encoding.ASCII.GetString(sig);
    }

    private static void CheckAssembly(string file, string entry, string loader, string fullName)
    {
        string simple;
        try
        {
            simple = new AssemblyName(fullName).Name ?? "";
        }
        catch (Exception e) when (e is FileLoadException or ArgumentException)
        {
            throw Bad(file, entry, $"names an invalid loader assembly '{Clip(fullName)}'", e);
        }
        bool ours = simple == typeof(CvrModel).Assembly.GetName().Name;
        bool mlnet = simple == "Microsoft.ML" || simple.StartsWith("Microsoft.ML.", StringComparison.Ordinal);
        if (!ours && !mlnet)
            throw Bad(file, entry, $"asks ML.NET to load assembly '{Clip(fullName)}' for loader '{loader}'; only Cvr.MLNet and Microsoft.ML* loaders are admitted");
    }

    private static string ReadLengthPrefixedUtf8(BoundedReader r, string file, string entry)
    {
        // BinaryWriter.Write(string): 7-bit encoded byte count, then UTF-8.
        int length = 0;
        Span<byte> one = stackalloc byte[1];
        for (int shift = 0; ; shift += 7)
        {
            if (shift > 28) throw Bad(file, entry, "has a corrupt network configuration length");
            r.ReadExactly(one);
            length |= (one[0] & 0x7F) << shift;
            if ((one[0] & 0x80) == 0) break;
        }
        if (length <= 0 || length > MaxOptionsJsonBytes)
            throw Bad(file, entry, $"has a network configuration of {length} bytes (expected 1..{MaxOptionsJsonBytes})");
        var bytes = new byte[length];
        r.ReadExactly(bytes);
        return Encoding.UTF8.GetString(bytes);
    }

    private static void CheckNetworkSize(string file, string entry, string json, IReadOnlyDictionary<string, long> sizes)
    {
        CvrNetworkOptions options;
        try
        {
            options = (JsonSerializer.Deserialize<CvrNetworkOptions>(json) ?? throw new JsonException("null")).Validate();
        }
        catch (Exception e) when (e is JsonException or ArgumentException or NotSupportedException)
        {
            throw Bad(file, entry, $"has an invalid network configuration ({e.Message})", e);
        }
        var dir = entry.Length > ModelStreamName.Length ? entry[..^ModelStreamName.Length] : "";
        var weightsEntry = dir + WeightsEntryName;
        if (!sizes.TryGetValue(weightsEntry, out long weightBytes))
            throw Bad(file, entry, $"has no weights entry '{weightsEntry}'");
        // The embedding tables alone are a lower bound on what the strict weight load must read.
        long floats = (long)options.UserBuckets * (options.UserEmbeddingDim + options.LongTermEmbeddingDim)
            + (long)options.ItemBuckets * options.ItemEmbeddingDim + (long)options.CategoryBuckets * options.CategoryEmbeddingDim;
        if (floats * sizeof(float) > weightBytes)
            throw Bad(file, entry,
                $"configures a network of at least {floats * sizeof(float)} bytes of embeddings but '{weightsEntry}' holds {weightBytes} bytes (tampered configuration)");
    }

    private static string Clip(string s) => s.Length <= 200 ? s : string.Concat(s.AsSpan(0, 197), "...");

    /// <summary>CRC-32 (IEEE, as in zip), table-driven.</summary>
    private static class Crc32
    {
        private static readonly uint[] Table = Enumerable.Range(0, 256).Select(i =>
        {
            uint c = (uint)i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            return c;
        }).ToArray();

        public static uint Update(uint crc, ReadOnlySpan<byte> data)
        {
            foreach (var b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
            return crc;
        }
    }

    private static InvalidDataException Bad(string file, string? entry, string problem, Exception? inner = null) =>
        new(entry is null ? $"Model file '{file}' {problem}." : $"Model file '{file}', entry '{Clip(entry)}' {problem}.", inner);

    /// <summary>Reads an entry forward, never past its declared size, with a fixed scratch buffer.</summary>
    private sealed class BoundedReader(Stream stream, long declared, string file, string entry)
    {
        private readonly byte[] _scratch = new byte[1 << 16];
        private uint _crc = 0xFFFFFFFF;
        public long Declared { get; } = declared;
        public long Position { get; private set; }
        public uint Crc => ~_crc;

        private int Read(Span<byte> buffer)
        {
            int n;
            try
            {
                n = stream.Read(buffer);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException)
            {
                // Corrupt deflate data, CRC mismatch, or a local header that disagrees with the directory.
                throw Bad(file, entry, $"is corrupt after {Position} bytes ({e.GetType().Name}: {e.Message})", e);
            }
            Position += n;
            _crc = Crc32.Update(_crc, buffer[..n]);
            if (Position > Declared)
                throw Bad(file, entry, $"holds more than its declared {Declared} bytes (tampered size)");
            return n;
        }

        public void ReadExactly(Span<byte> buffer)
        {
            while (buffer.Length > 0)
            {
                int n = Read(buffer);
                if (n == 0) throw Truncated();
                buffer = buffer[n..];
            }
        }

        public void SkipTo(long position)
        {
            while (Position < position)
            {
                int n = Read(_scratch.AsSpan(0, (int)Math.Min(_scratch.Length, position - Position)));
                if (n == 0) throw Truncated();
            }
        }

        public void Drain()
        {
            while (Read(_scratch) > 0) { }
            if (Position != Declared) throw Truncated();
        }

        private InvalidDataException Truncated() =>
            Bad(file, entry, $"ends after {Position} of its declared {Declared} bytes (truncated or tampered size)");
    }
}
