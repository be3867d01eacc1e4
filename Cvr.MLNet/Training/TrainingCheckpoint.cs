using Cvr.MLNet.Model;
using Cvr.MLNet.Training.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace Cvr.MLNet.Training;

/// <summary>
/// An end-of-epoch checkpoint: weights, optimizer moments, the best weights so far and the loop's
/// counters, so <c>Resume</c> continues an interrupted run to the same result as an uninterrupted one
/// (per-epoch shuffles are seeded by epoch, so no RNG state is needed). Written to a temporary file
/// and renamed, so an interruption never leaves a half-written checkpoint.
/// </summary>
internal sealed class TrainingCheckpoint(string path)
{
    private const string Magic = "CVRCKPT1";

    public sealed record State(int Epoch, double BestLoss, int BestEpoch, int SinceBest, bool Stopped, IReadOnlyList<EpochRecord> History, Dictionary<string, Tensor>? Best);

    public bool Exists => File.Exists(path);

    public void Save(State s, CvrNetwork net, CvrAdam adam, int trainRows, int validRows)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            using (var w = new BinaryWriter(fs))
            {
                w.Write(Magic);
                w.Write(trainRows); w.Write(validRows);
                w.Write(s.Epoch); w.Write(s.BestLoss); w.Write(s.BestEpoch); w.Write(s.SinceBest); w.Write(s.Stopped);
                w.Write(s.History.Count);
                foreach (var e in s.History)
                {
                    w.Write(e.Epoch); w.Write(e.TrainLoss); w.Write(e.ValidationLoss ?? double.NaN);
                    w.Write(e.ValidationBuyAuc ?? double.NaN); w.Write(e.ValidationFavCartAuc ?? double.NaN); w.Write(e.SamplesPerSecond);
                }
                var ms = new MemoryStream();
                net.SaveWeights(ms);
                w.Write(ms.Length); w.Write(ms.GetBuffer(), 0, (int)ms.Length);
                adam.Save(w);
                w.Write(s.Best is not null);
                if (s.Best is not null)
                {
                    w.Write(s.Best.Count);
                    foreach (var (name, t) in s.Best) { w.Write(name); t.Save(w); }
                }
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    public State Load(CvrNetwork net, CvrAdam adam, int trainRows, int validRows)
    {
        using var fs = File.OpenRead(path);
        using var r = new BinaryReader(fs);
        if (r.ReadString() != Magic) throw new InvalidDataException($"'{path}' is not a CVR training checkpoint.");
        int tr = r.ReadInt32(), va = r.ReadInt32();
        if (tr != trainRows || va != validRows)
            throw new InvalidDataException($"Checkpoint '{path}' was written for {tr} training and {va} validation samples, this run has {trainRows} and {validRows}: it is from different data or options.");
        int epoch = r.ReadInt32(); double bestLoss = r.ReadDouble(); int bestEpoch = r.ReadInt32(), sinceBest = r.ReadInt32(); bool stopped = r.ReadBoolean();
        int n = r.ReadInt32();
        if (n < 0 || n > 100_000) throw new InvalidDataException($"Checkpoint '{path}': corrupt history length {n}.");
        static double? N(double d) => double.IsNaN(d) ? null : d;
        var history = new List<EpochRecord>();
        for (int i = 0; i < n; i++) history.Add(new EpochRecord(r.ReadInt32(), r.ReadDouble(), N(r.ReadDouble()), N(r.ReadDouble()), N(r.ReadDouble()), r.ReadDouble()));
        long len = r.ReadInt64();
        if (len < 0 || len > fs.Length) throw new InvalidDataException($"Checkpoint '{path}': corrupt weights length {len}.");
        net.LoadWeights(new MemoryStream(r.ReadBytes((int)len)));
        adam.Load(r);
        Dictionary<string, Tensor>? best = null;
        if (r.ReadBoolean())
        {
            int count = r.ReadInt32();
            var shapes = net.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            best = new Dictionary<string, Tensor>(count);
            for (int i = 0; i < count; i++)
            {
                var name = r.ReadString();
                if (!shapes.TryGetValue(name, out var p)) throw new InvalidDataException($"Checkpoint '{path}': unknown parameter '{name}'.");
                var t = zeros_like(p).DetachFromDisposeScope();
                t.Load(r);
                best[name] = t;
            }
        }
        return new State(epoch, bestLoss, bestEpoch, sinceBest, stopped, history, best);
    }
}
