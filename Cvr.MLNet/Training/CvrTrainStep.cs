using System.Diagnostics;
using Cvr.MLNet.Model;
using Cvr.MLNet.Training.Optim;
using static TorchSharp.torch;

namespace Cvr.MLNet.Training;

/// <summary>
/// One optimizer step on a mini-batch of <see cref="FeatureTable"/> rows: batch tensors, forward,
/// loss, backward, <see cref="CvrAdam"/> update. The training loop and <c>cvr bench</c> both run this,
/// so the benchmark measures exactly what training does.
/// </summary>
internal sealed class CvrTrainStep(CvrNetwork net, CvrLoss loss, CvrAdam adam, Device device, double clipNorm)
{
    /// <summary>Runs the step (ids optionally dropped to OOV buckets) and returns the batch loss before the update. Tensors are freed on return.</summary>
    public double Run(FeatureTable table, ReadOnlySpan<int> rows, OovDropout? dropout = null)
    {
        long t0 = Stopwatch.GetTimestamp();
        using var scope = NewDisposeScope();
        using var batch = table.MakeBatch(rows, device, dropout);
        var (fav, buy, w) = Labels(table, rows, device);
        long t1 = Stopwatch.GetTimestamp();
        var output = net.forward(batch);
        var l = loss.Compute(output, fav, buy, w);
        double lv = l.item<float>();
        long t2 = Stopwatch.GetTimestamp();
        if (!double.IsFinite(lv)) return lv; // the caller reports divergence; no update from a broken loss
        net.zero_grad();
        l.backward();
        long t3 = Stopwatch.GetTimestamp();
        adam.StepOnce(clipNorm);
        long t4 = Stopwatch.GetTimestamp();
        if (PhaseSeconds is { } p)
        {
            p[0] += Stopwatch.GetElapsedTime(t0, t1).TotalSeconds; p[1] += Stopwatch.GetElapsedTime(t1, t2).TotalSeconds;
            p[2] += Stopwatch.GetElapsedTime(t2, t3).TotalSeconds; p[3] += Stopwatch.GetElapsedTime(t3, t4).TotalSeconds;
        }
        return lv;
    }

    /// <summary>Phase names of <see cref="PhaseSeconds"/>.</summary>
    public static readonly string[] Phases = ["batch", "forward", "backward", "optimizer"];

    /// <summary>When set (length 4), each step adds its seconds per phase (batch tensors, forward + loss, backward, optimizer).</summary>
    public double[]? PhaseSeconds { get; set; }

    /// <summary>fav/cart, buy and weight tensors [B] of <paramref name="rows"/>.</summary>
    public static (Tensor Fav, Tensor Buy, Tensor Weight) Labels(FeatureTable t, ReadOnlySpan<int> rows, Device device)
    {
        var fav = new float[rows.Length]; var buy = new float[rows.Length]; var w = new float[rows.Length];
        for (int i = 0; i < rows.Length; i++) { int r = rows[i]; fav[i] = t.FavCart[r] ? 1 : 0; buy[i] = t.Buy[r] ? 1 : 0; w[i] = t.Weight[r]; }
        return (tensor(fav, device: device), tensor(buy, device: device), tensor(w, device: device));
    }
}
