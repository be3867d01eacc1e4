using Cvr.MLNet.Samples;
using Cvr.MLNet.Transforms;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Cvr.MLNet.Evaluation;

/// <summary>
/// Click-sample metrics of a CVR model: AUC, GAUC, log-loss, accuracy (at 0.5 and at the best-F1
/// threshold), PR-AUC and calibration per task, and the oracle AUC when the generator's truth is known.
/// </summary>
public static class CvrEvaluator
{
    /// <summary>Metrics of one task from labels, predicted probabilities and the samples' users.</summary>
    /// <param name="labels">Labels of the samples.</param>
    /// <param name="probabilities">Predicted probabilities.</param>
    /// <param name="users">The samples' users (for GAUC).</param>
    /// <param name="oracle">The truth probabilities of the same samples (generated data only), or empty.</param>
    /// <param name="pointInTimeOracle">The point-in-time truth of the same samples, or empty.</param>
    public static CvrTaskMetrics EvaluateTask(ReadOnlySpan<bool> labels, ReadOnlySpan<float> probabilities, ReadOnlySpan<int> users,
        ReadOnlySpan<float> oracle = default, ReadOnlySpan<float> pointInTimeOracle = default)
    {
        if (labels.Length != probabilities.Length || labels.Length != users.Length)
            throw new ArgumentException($"labels ({labels.Length}), probabilities ({probabilities.Length}) and users ({users.Length}) differ in length.");
        if (!oracle.IsEmpty && oracle.Length != labels.Length)
            throw new ArgumentException($"oracle has {oracle.Length} values for {labels.Length} samples.", nameof(oracle));
        if (!pointInTimeOracle.IsEmpty && pointInTimeOracle.Length != labels.Length)
            throw new ArgumentException($"pointInTimeOracle has {pointInTimeOracle.Length} values for {labels.Length} samples.", nameof(pointInTimeOracle));
        int positives = 0;
        foreach (var l in labels) if (l) positives++;
        var (threshold, f1) = BinaryMetrics.BestF1Threshold(labels, probabilities);
        return new CvrTaskMetrics(labels.Length, positives,
            BinaryMetrics.Auc(labels, probabilities), BinaryMetrics.Gauc(labels, probabilities, users),
            BinaryMetrics.LogLoss(labels, probabilities), BinaryMetrics.Accuracy(labels, probabilities),
            threshold, f1, double.IsNaN(threshold) ? double.NaN : BinaryMetrics.Accuracy(labels, probabilities, threshold),
            BinaryMetrics.PrAuc(labels, probabilities), BinaryMetrics.CalibrationRatio(labels, probabilities),
            BinaryMetrics.Ece(labels, probabilities), oracle.IsEmpty ? null : BinaryMetrics.Auc(labels, oracle),
            pointInTimeOracle.IsEmpty ? null : BinaryMetrics.Auc(labels, pointInTimeOracle));
    }

    /// <summary>Both tasks' metrics on <paramref name="samples"/> scored as <paramref name="pFavCart"/>, <paramref name="pBuy"/>.</summary>
    /// <param name="samples">The labelled click samples.</param>
    /// <param name="pFavCart">P(fav/cart) per sample.</param>
    /// <param name="pBuy">P(buy) per sample.</param>
    /// <param name="truth">The generator's truth (adds the oracle AUCs), or null.</param>
    public static CvrMetrics Evaluate(CvrSampleSet samples, float[] pFavCart, float[] pBuy, GeneratorTruth? truth = null)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (pFavCart.Length != samples.Count || pBuy.Length != samples.Count)
            throw new ArgumentException($"{samples.Count} samples but {pFavCart.Length} fav/cart and {pBuy.Length} buy scores.");
        float[]? oFav = null, oBuy = null, pitFav = null, pitBuy = null;
        if (truth is not null) (oFav, oBuy) = truth.Lookup(samples);
        if (truth is { HasPointInTime: true }) (pitFav, pitBuy) = truth.Lookup(samples, pointInTime: true);
        return new CvrMetrics(
            EvaluateTask(samples.FavCart, pFavCart, samples.UserIds, oFav, pitFav),
            EvaluateTask(samples.Buy, pBuy, samples.UserIds, oBuy, pitBuy));
    }

    /// <summary>
    /// Scores <paramref name="samples"/> with a fitted CVR chain (feature transforms + CVR model, as
    /// returned by <c>Fit</c> in this process) and evaluates both tasks.
    /// </summary>
    public static CvrMetrics Evaluate(ITransformer model, CvrSampleSet samples, GeneratorTruth? truth = null)
    {
        var (fav, buy) = CvrScoring.Score(model, samples.ToDataView());
        return Evaluate(samples, fav, buy, truth);
    }
}
