using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Cvr.MLNet.Data;
using Cvr.MLNet.Samples;
using Cvr.MLNet.Serving;
using Cvr.MLNet.Tests.Training;
using Cvr.MLNet.Training;
using Cvr.MLNet.Transforms;
using Microsoft.ML;

namespace Cvr.MLNet.Tests.Reliability;

/// <summary>A small really-trained CVR pipeline, saved once per test run, plus helpers that corrupt copies of it.</summary>
internal sealed class ReliabilityModel
{
    private static readonly Lazy<ReliabilityModel> Shared = new(() => new ReliabilityModel(), LazyThreadSafetyMode.ExecutionAndPublication);
    public static ReliabilityModel Instance => Shared.Value;

    private ReliabilityModel()
    {
        Log = TestLogs.Random(users: 40, days: 8);
        var ml = new MLContext(seed: 1);
        var samples = CvrSampleSet.Build(Log).ToDataView();
        Model = ml.Transforms.CvrFeatures(Log, CvrPipelineTests.SmallVocab).Append(new CvrTrainer(CvrPipelineTests.SmallTrainer(epochs: 1))).Fit(samples);
        Schema = samples.Schema;
        Folder = Path.Combine(Path.GetTempPath(), "cvr-reliability-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
        Path0 = Path.Combine(Folder, "model.zip");
        CvrModel.Save(ml, Model, Schema, Path0);
        Bytes = File.ReadAllBytes(Path0);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(Folder, true); } catch (IOException) { } };
    }

    public EventLog Log { get; }
    public ITransformer Model { get; }
    public DataViewSchema Schema { get; }
    public string Folder { get; }
    /// <summary>The pristine saved model.</summary>
    public string Path0 { get; }
    public byte[] Bytes { get; }

    /// <summary>Requests after the log's end: known users and items, and unknown ones.</summary>
    public CvrRequest[] Requests(int count, int hoursAfterEnd = 3)
    {
        var time = TianchiTime.FromHour(Log.HourRange().Last + hoursAfterEnd);
        var users = Log.UserIdSpan.ToArray().Distinct().Order().ToArray();
        var items = Log.ItemIdSpan.ToArray().Distinct().Order().ToArray();
        return [.. Enumerable.Range(0, count).Select(i => new CvrRequest
        {
            UserId = i % 10 == 9 ? 900_000 + i : users[i % users.Length],
            ItemId = i % 7 == 6 ? 800_000 + i : items[(i * 13) % items.Length],
            CategoryId = (i * 13 % items.Length) / 100, Time = time,
        })];
    }

    /// <summary>Writes a new file in a fresh folder: every entry of the pristine model passed through <paramref name="edit"/> (null drops it), then <paramref name="extra"/>.</summary>
    public string Rewrite(Func<string, byte[], byte[]?> edit, params (string Name, byte[] Data)[] extra)
    {
        var dir = Path.Combine(Folder, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "model.zip");
        using (var src = new ZipArchive(new MemoryStream(Bytes), ZipArchiveMode.Read))
        using (var dst = new ZipArchive(File.Create(path), ZipArchiveMode.Create))
        {
            foreach (var e in src.Entries)
            {
                using var s = e.Open();
                var ms = new MemoryStream();
                s.CopyTo(ms);
                var data = edit(e.FullName, ms.ToArray());
                if (data is null) continue;
                using var w = dst.CreateEntry(e.FullName).Open();
                w.Write(data);
            }
            foreach (var (name, data) in extra)
            {
                using var w = dst.CreateEntry(name).Open();
                w.Write(data);
            }
        }
        return path;
    }

    /// <summary>A copy of the pristine bytes with <paramref name="patch"/> applied, in a fresh folder.</summary>
    public string CopyWith(Func<byte[], byte[]> patch)
    {
        var dir = Path.Combine(Folder, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "model.zip");
        File.WriteAllBytes(path, patch((byte[])Bytes.Clone()));
        return path;
    }

    /// <summary>Zip entry name of the CVR network component's Model.key.</summary>
    public string CvrModelKeyEntry => CvrModel.Validate(Path0).Components.Single(c => c.LoaderSignature == "CvrModelTransformer").Entry;

    /// <summary>
    /// Rebuilds an ML.NET Model.key (header | model | strings | assembly name | tail) with a new model blob
    /// and/or assembly name, fixing every offset in the header.
    /// </summary>
    public static byte[] RebuildModelKey(byte[] key, Func<byte[], byte[]>? model = null, string? assemblyName = null)
    {
        long I(int o) => BinaryPrimitives.ReadInt64LittleEndian(key.AsSpan(o));
        long fpModel = I(0x10), cbModel = I(0x18), fpStrTable = I(0x20), cbStrTable = I(0x28), fpStrChars = I(0x30), cbStrChars = I(0x38);
        long fpTail = I(0x80), fpName = I(0x90);
        uint cbName = BinaryPrimitives.ReadUInt32LittleEndian(key.AsSpan(0x98));
        var blob = key[(int)fpModel..(int)(fpModel + cbModel)];
        long stringsStart = fpModel + cbModel, stringsEnd = cbName != 0 ? fpName : fpTail;
        var strings = key[(int)stringsStart..(int)stringsEnd];
        var newBlob = model?.Invoke(blob) ?? blob;
        var name = assemblyName is null ? key[(int)fpName..(int)(fpName + cbName)] : Encoding.Unicode.GetBytes(assemblyName);
        long delta = newBlob.Length - blob.Length;

        var header = key[..0x100];
        void W(int o, long v) => BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(o), v);
        W(0x18, newBlob.Length);
        if (cbStrTable != 0) { W(0x20, fpStrTable + delta); W(0x30, fpStrChars + delta); }
        _ = cbStrChars;
        long newFpName = stringsStart + delta + strings.Length;
        W(0x90, name.Length == 0 ? 0 : newFpName);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(0x98), (uint)name.Length);
        long newTail = newFpName + name.Length;
        W(0x80, newTail);
        W(0x88, newTail + 8);
        return [.. header, .. newBlob, .. strings, .. name, .. key[(int)fpTail..(int)(fpTail + 8)]];
    }
}
