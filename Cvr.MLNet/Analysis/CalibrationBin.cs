namespace Cvr.MLNet.Analysis;

/// <summary>One bin of a reliability diagram: samples grouped by predicted probability.</summary>
/// <param name="Count">Samples in the bin.</param>
/// <param name="MeanPredicted">Mean predicted probability of the bin.</param>
/// <param name="ObservedRate">Share of positives in the bin.</param>
/// <param name="MinPredicted">Smallest predicted probability in the bin.</param>
/// <param name="MaxPredicted">Largest predicted probability in the bin.</param>
public sealed record CalibrationBin(int Count, double MeanPredicted, double ObservedRate, double MinPredicted, double MaxPredicted);
