using Cvr.MLNet.Model;
using Cvr.MLNet.Model.Scoring;
using TorchSharp;
using static TorchSharp.torch;

namespace Cvr.MLNet.Training;

/// <summary>
/// Batched inference through the managed forward (<see cref="CvrBatchScorer"/>) instead of libtorch:
/// what <see cref="CvrTrainingLoop.Predict"/> (and so batched <c>Transform</c> and the validation
/// predictions) runs on the CPU. Built per call from the network's live weights (≈ 0.1 ms), so it
/// always scores with the current weights; libtorch stays the fallback.
/// </summary>
internal static class ManagedBatchInference
{
    /// <summary>Use the managed batched forward for CPU inference; false restores the libtorch path (benchmarks measure the difference).</summary>
    internal static bool Enabled { get; set; } = true;

    /// <summary>
    /// The predictions of <paramref name="rows"/> through the managed forward on <paramref name="workers"/>
    /// threads (default: libtorch's thread count), or null when it does not apply (disabled, not on the
    /// CPU, weights not readable in place).
    /// </summary>
    public static (float[] PFavCart, float[] PBuy)? TryPredict(CvrNetwork net, FeatureTable table, int[] rows, Device device, int? workers = null)
    {
        if (!Enabled || device.type != DeviceType.CPU || net.TryCreateBatchScorer() is not { } scorer) return null;
        net.eval(); // as the libtorch path leaves it
        var pFav = new float[rows.Length]; var pBuy = new float[rows.Length];
        scorer.Score(table, rows, 0, rows.Length, pFav, pBuy, workers ?? get_num_threads());
        return (pFav, pBuy);
    }
}
