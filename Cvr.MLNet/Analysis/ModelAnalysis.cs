using Cvr.MLNet.Training;

namespace Cvr.MLNet.Analysis;

/// <summary>What <see cref="CvrAnalysis.AnalyzeModel"/> measures of a fitted CVR model on a log's last days.</summary>
/// <param name="FromHour">First click hour of the analyzed samples (inclusive).</param>
/// <param name="ToHour">End click hour of the analyzed samples (exclusive).</param>
/// <param name="Samples">Click samples analyzed.</param>
/// <param name="Positives">Of them bought within the horizon.</param>
/// <param name="ModelLogLastHour">The last hour of the log the model's behavior state was fitted on.</param>
/// <param name="FieldImportance">Mean squeeze-excitation weight per feature field, in the network's field order.</param>
/// <param name="Calibration">Equal-count bins of pBuy against the observed buy rate.</param>
/// <param name="Ece">Expected calibration error of pBuy (10 equal-width bins, as <c>BinaryMetrics.Ece</c>).</param>
/// <param name="Auc">AUC of pBuy on the samples; NaN without both classes.</param>
/// <param name="MeanPredicted">Mean pBuy.</param>
/// <param name="History">The model's per-epoch training record.</param>
/// <param name="BestEpoch">The epoch whose weights the model kept.</param>
public sealed record ModelAnalysis(int FromHour, int ToHour, int Samples, int Positives, int ModelLogLastHour,
    IReadOnlyList<KeyValuePair<string, float>> FieldImportance, IReadOnlyList<CalibrationBin> Calibration,
    double Ece, double Auc, double MeanPredicted, IReadOnlyList<EpochRecord> History, int BestEpoch)
{
    /// <summary>True when the analyzed clicks lie inside the model's training log (its metrics there are in-sample).</summary>
    public bool InSample => FromHour <= ModelLogLastHour;
}
