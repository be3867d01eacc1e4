using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Cvr.MLNet.Serving;
using Microsoft.ML;

namespace Cvr.MLNet.Tests.Reliability;

/// <summary>Corrupted and hostile copies of a really-saved model: <see cref="CvrModel.Load"/> must fail with a clear <see cref="InvalidDataException"/>.</summary>
[TestClass]
public sealed class ModelFileSafetyTests
{
    private static ReliabilityModel M => ReliabilityModel.Instance;
    private const string Weights = "CvrNetworkWeights.bin";

    private static InvalidDataException LoadFails(string path, CvrModelLoadOptions? options = null)
    {
        var ex = Assert.ThrowsExactly<InvalidDataException>(() => CvrModel.Load(new MLContext(), path, out _, options));
        StringAssert.StartsWith(ex.Message, $"Model file '{path}'");
        return ex;
    }

    private string WeightsEntry => M.CvrModelKeyEntry[..^"Model.key".Length] + Weights;

    [TestMethod]
    public void PristineModelValidatesAndLoadsWithOurAndMLNetLoadersOnly()
    {
        var info = CvrModel.Validate(M.Path0);
        Assert.AreEqual(M.Bytes.Length, new FileInfo(M.Path0).Length);
        Assert.IsTrue(info.Components.Count >= 3, string.Join(", ", info.Components));
        var cvr = info.Components.Single(c => c.LoaderSignature == "CvrModelTransformer");
        StringAssert.StartsWith(cvr.AssemblyName, "Cvr.MLNet, Version=");
        foreach (var c in info.Components.Where(c => c.AssemblyName is not null))
            Assert.IsTrue(c.AssemblyName!.StartsWith("Cvr.MLNet,") || c.AssemblyName.StartsWith("Microsoft.ML"), c.ToString());

        var ml = new MLContext();
        var loaded = CvrModel.Load(ml, M.Path0, out var schema);
        Assert.AreEqual(M.Schema.Count, schema.Count);
        var r = M.Requests(3);
        var a = new MLContext().Model.CreatePredictionEngine<CvrRequest, CvrPrediction>(M.Model);
        var b = ml.Model.CreatePredictionEngine<CvrRequest, CvrPrediction>(loaded);
        foreach (var q in r) Assert.AreEqual(a.Predict(q).PBuy, b.Predict(q).PBuy, 1e-6f);
    }

    [TestMethod]
    [DataRow(0.0)]
    [DataRow(0.5)]
    [DataRow(0.99)]
    public void TruncatedZipIsNotReadable(double keep)
    {
        var path = M.CopyWith(b => b[..(int)(b.Length * keep)]);
        var ex = LoadFails(path);
        StringAssert.Contains(ex.Message, "is not a readable zip archive (truncated or not a model file)");
    }

    [TestMethod]
    public void FlippedCompressedBytesAreCaughtByTheCrcCheck()
    {
        // Damage inside the weights' compressed data: a CRC or Deflate error, or a stream that now decodes to fewer bytes
        // than the entry declares (which of the three depends on the bytes hit, i.e. on the trained weights), reported against the entry.
        int at = FindLocalHeader(M.Bytes, WeightsEntry) + 400;
        var path = M.CopyWith(b => { for (int i = 0; i < 64; i++) b[at + i] ^= 0x5A; return b; });
        var ex = LoadFails(path);
        StringAssert.Contains(ex.Message, $"entry '{WeightsEntry}'");
        Assert.IsTrue(ex.Message.Contains("fails its CRC-32 check") || ex.Message.Contains("is corrupt after")
            || ex.Message.Contains("(truncated or tampered size)"), ex.Message);
    }

    [TestMethod]
    public void MissingWeightsOrModelKeyEntriesAreNamed()
    {
        var noWeights = M.Rewrite((name, data) => name == WeightsEntry ? null : data);
        StringAssert.Contains(LoadFails(noWeights).Message, $"has no weights entry '{WeightsEntry}'");

        var noKeys = M.Rewrite((name, data) => name.EndsWith("Model.key") ? null : data);
        Assert.AreEqual($"Model file '{noKeys}' has no 'Model.key' entry (not an ML.NET model).", LoadFails(noKeys).Message);

        var foreign = M.Rewrite((name, data) => null, ("readme.txt", "hello"u8.ToArray()));
        StringAssert.Contains(LoadFails(foreign).Message, "has no 'Model.key' entry");
    }

    [TestMethod]
    [DataRow("../../evil.txt", "has a path-traversal name ('.' or '..' segment)")]
    [DataRow("TransformerChain/../../../evil.txt", "has a path-traversal name ('.' or '..' segment)")]
    [DataRow("..\\evil.txt", "has a path-traversal name ('.' or '..' segment)")]
    [DataRow("/tmp/evil.txt", "has an absolute path as its name")]
    [DataRow("C:/evil.txt", "has an absolute path as its name")]
    [DataRow("a\u0001b", "has a control character U+0001 in its name")]
    public void HostileEntryNamesAreRejectedAndNothingIsWrittenOutside(string entryName, string problem)
    {
        var path = M.Rewrite((_, data) => data, (entryName, "pwned"u8.ToArray()));
        var ex = LoadFails(path);
        Assert.AreEqual($"Model file '{path}', entry '{entryName}' {problem}.", ex.Message);

        // ML.NET itself, given the same file, only extracts the entries it asks for to random temp names.
        var dir = Path.GetDirectoryName(path)!;
        var before = Directory.GetFileSystemEntries(Path.GetDirectoryName(dir)!, "*", SearchOption.AllDirectories).ToHashSet();
        new MLContext().Model.Load(path, out _);
        var after = Directory.GetFileSystemEntries(Path.GetDirectoryName(dir)!, "*", SearchOption.AllDirectories);
        CollectionAssert.AreEquivalent(before.ToArray(), after);
        Assert.IsFalse(File.Exists(Path.Combine(Path.GetTempPath(), "evil.txt")));
        Assert.IsFalse(File.Exists("/tmp/evil.txt"));
    }

    [TestMethod]
    public void DuplicateAndTooManyEntriesAreRejected()
    {
        var dup = M.Rewrite((_, data) => data, ("x/a.bin", [1]), ("x/a.bin", [2]));
        Assert.AreEqual($"Model file '{dup}', entry 'x/a.bin' appears twice.", LoadFails(dup).Message);

        var count = new ZipArchive(new MemoryStream(M.Bytes)).Entries.Count;
        var ex = LoadFails(M.Path0, new CvrModelLoadOptions { MaxEntries = count - 1 });
        Assert.AreEqual($"Model file '{M.Path0}' has {count} entries, more than the {count - 1} allowed.", ex.Message);
    }

    [TestMethod]
    public void TamperedEntrySizesAreCaught()
    {
        int cd = FindCentralHeader(M.Bytes, WeightsEntry);
        int local = FindLocalHeader(M.Bytes, WeightsEntry);
        uint real = BinaryPrimitives.ReadUInt32LittleEndian(M.Bytes.AsSpan(cd + 24));

        // A weights blob claiming ~4 GB: refused from the directory alone, before any decompression.
        var huge = M.CopyWith(b => { SetSize(b, cd, local, 0xF000_0000); return b; });
        StringAssert.Contains(LoadFails(huge).Message, $"entry '{WeightsEntry}' declares {0xF000_0000L} bytes, more than the {2L << 30} allowed per entry");

        // Sizes that disagree with the data: too large → truncated, too small → more data than declared.
        foreach (var size in new[] { real + 100, real - 100 })
        {
            var path = M.CopyWith(b => { SetSize(b, cd, local, size); return b; });
            var msg = LoadFails(path).Message;
            StringAssert.Contains(msg, $"entry '{WeightsEntry}'");
            Assert.IsTrue(msg.Contains("tampered size") || msg.Contains("is corrupt") || msg.Contains("fails its CRC-32 check"), msg);
        }
    }

    [TestMethod]
    public void ZipBombIsRefusedWithBoundedMemory()
    {
        var dir = Path.Combine(M.Folder, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "model.zip");
        File.WriteAllBytes(path, M.Bytes);
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
        using (var s = zip.CreateEntry("TrainingInfo/zeros.bin", CompressionLevel.SmallestSize).Open())
        {
            var zeros = new byte[1 << 20];
            for (int i = 0; i < 256; i++) s.Write(zeros); // 256 MiB of zeros, ~256 KiB compressed
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = LoadFails(path);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        StringAssert.Contains(ex.Message, "entry 'TrainingInfo/zeros.bin' expands");
        StringAssert.Contains(ex.Message, "(ratio above 200; a zip bomb?)");
        Assert.IsTrue(allocated < 4 << 20, $"allocated {allocated} bytes");

        // With the ratio check relaxed, the entry is streamed through a fixed buffer: still bounded.
        before = GC.GetAllocatedBytesForCurrentThread();
        var info = CvrModel.Validate(path, new CvrModelLoadOptions { MaxCompressionRatio = 1100 });
        allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.IsTrue(info.UncompressedBytes > 256L << 20);
        Assert.IsTrue(allocated < 16 << 20, $"allocated {allocated} bytes while reading {info.UncompressedBytes}");
    }

    [TestMethod]
    public void ConfigurationClaimingAHugeNetworkIsRefusedBeforeAllocating()
    {
        var key = M.CvrModelKeyEntry;
        var path = M.Rewrite((name, data) => name != key ? data : ReliabilityModel.RebuildModelKey(data, model: blob =>
        {
            var r = new BinaryReader(new MemoryStream(blob));
            var json = r.ReadString();
            var rest = r.ReadBytes(blob.Length);
            var node = JsonSerializer.Deserialize<System.Text.Json.Nodes.JsonObject>(json)!;
            node["ItemBuckets"] = 500_000_000; // 500 M × 16 floats = 32 GB of embeddings
            var ms = new MemoryStream();
            var w = new BinaryWriter(ms);
            w.Write(node.ToJsonString());
            w.Write(rest);
            return ms.ToArray();
        }));
        var ex = LoadFails(path);
        StringAssert.Contains(ex.Message, $"entry '{key}' configures a network of at least 32000");
        StringAssert.Contains(ex.Message, "(tampered configuration)");
    }

    [TestMethod]
    public void ForeignLoaderAssemblyIsRefused()
    {
        var key = M.CvrModelKeyEntry;
        const string Foreign = "Microsoft.VisualBasic.Core, Version=10.0.0.0, Culture=neutral, PublicKeyToken=b03f5f7f11d50a3a";
        var path = M.Rewrite((name, data) => name != key ? data : ReliabilityModel.RebuildModelKey(data, assemblyName: Foreign));
        var ex = LoadFails(path);
        Assert.AreEqual(
            $"Model file '{path}', entry '{key}' asks ML.NET to load assembly '{Foreign}' for loader 'CvrModelTransformer'; only Cvr.MLNet and Microsoft.ML* loaders are admitted.",
            ex.Message);

        // Why the guard exists: plain ML.NET loads whatever assembly the header names (from the host's probing paths).
        bool loadedBefore = AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name == "Microsoft.VisualBasic.Core");
        try { new MLContext().Model.Load(path, out _); } catch (Exception) { /* it may or may not then find the loader */ }
        bool loadedAfter = AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name == "Microsoft.VisualBasic.Core");
        Assert.IsFalse(loadedBefore);
        Assert.IsTrue(loadedAfter, "ML.NET loaded the assembly named in the header");
    }

    [TestMethod]
    public void BrokenComponentHeaderIsNamed()
    {
        var key = M.CvrModelKeyEntry;
        var path = M.Rewrite((name, data) => { if (name == key) data[0] ^= 0xFF; return data; });
        StringAssert.Contains(LoadFails(path).Message, $"entry '{key}' does not start with an ML.NET model header");

        path = M.Rewrite((name, data) => name == key ? data[..^3] : data);
        StringAssert.Contains(LoadFails(path).Message, $"entry '{key}' has an inconsistent header");
    }

    private static void SetSize(byte[] b, int central, int local, uint size)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(central + 24), size);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(local + 22), size);
    }

    private static int FindCentralHeader(byte[] b, string name) => FindHeader(b, name, 0x02014b50, 28, 46);
    private static int FindLocalHeader(byte[] b, string name) => FindHeader(b, name, 0x04034b50, 26, 30);

    private static int FindHeader(byte[] b, string name, uint signature, int nameLengthAt, int nameAt)
    {
        var n = Encoding.UTF8.GetBytes(name);
        for (int i = 0; i + nameAt + n.Length <= b.Length; i++)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(i)) == signature
                && BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(i + nameLengthAt)) == n.Length
                && b.AsSpan(i + nameAt, n.Length).SequenceEqual(n))
                return i;
        }
        throw new InvalidOperationException($"no header for {name}");
    }
}
