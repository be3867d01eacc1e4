namespace Cvr.MLNet.Evaluation;

/// <summary>Metrics of one task (FavCart or Buy) on a set of click samples.</summary>
/// <param name="Count">Samples scored.</param>
/// <param name="Positives">Samples with the label true.</param>
/// <param name="Auc">ROC AUC (ties count one half).</param>
/// <param name="Gauc">Per-user AUC weighted by the user's samples (one-class users skipped).</param>
/// <param name="LogLoss">Mean binary cross-entropy in nats.</param>
/// <param name="Accuracy">Accuracy of p ≥ 0.5.</param>
/// <param name="BestF1Threshold">The score threshold with the best F1 on these samples.</param>
/// <param name="BestF1">F1 at <paramref name="BestF1Threshold"/>.</param>
/// <param name="AccuracyAtBestF1">Accuracy of p ≥ <paramref name="BestF1Threshold"/>.</param>
/// <param name="PrAuc">Average precision (area under the precision-recall curve).</param>
/// <param name="CalibrationRatio">Σ predicted / Σ actual.</param>
/// <param name="Ece">Expected calibration error, 10 equal-width bins.</param>
/// <param name="OracleAuc">AUC of the generator's truth probabilities on the same samples (null without a truth file).</param>
/// <param name="PointInTimeOracleAuc">AUC of the generator's point-in-time truth (only the pair's clicks up to the
/// sample's hour; null without those columns): the oracle a model scoring at the click's hour can be held to.</param>
public sealed record CvrTaskMetrics(int Count, int Positives, double Auc, double Gauc, double LogLoss, double Accuracy,
    double BestF1Threshold, double BestF1, double AccuracyAtBestF1, double PrAuc, double CalibrationRatio, double Ece, double? OracleAuc,
    double? PointInTimeOracleAuc = null)
{
    /// <summary>Oracle AUC − AUC: how much ranking quality is left (null without a truth file).</summary>
    public double? OracleGap => OracleAuc is { } o ? o - Auc : null;
    /// <summary>Point-in-time oracle AUC − AUC (null without the point-in-time columns).</summary>
    public double? PointInTimeOracleGap => PointInTimeOracleAuc is { } o ? o - Auc : null;
}

/// <summary>Both tasks' metrics on the same click samples.</summary>
/// <param name="FavCart">P(favorite or cart within the horizon | click).</param>
/// <param name="Buy">P(buy within the horizon | click).</param>
public sealed record CvrMetrics(CvrTaskMetrics FavCart, CvrTaskMetrics Buy);
