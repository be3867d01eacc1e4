namespace Cvr.MLNet.Evaluation;

/// <summary>Binary-classification metrics on (label, probability, weight) triples.</summary>
public static class BinaryMetrics
{
    /// <summary>Probabilities are clipped to [eps, 1−eps] in log-loss so a confident miss costs a finite amount.</summary>
    public const double Epsilon = 1e-7;

    /// <summary>Area under the ROC curve; tied scores count one half (rank averaging). NaN when one class is absent.</summary>
    public static double Auc(ReadOnlySpan<bool> labels, ReadOnlySpan<float> scores)
    {
        if (labels.Length != scores.Length) throw new ArgumentException("labels and scores differ in length.");
        int n = labels.Length;
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        var keys = scores.ToArray();
        Array.Sort(keys, order);
        double rankSumPos = 0; long pos = 0;
        for (int i = 0; i < n;)
        {
            int j = i;
            while (j + 1 < n && keys[j + 1] == keys[i]) j++;
            double avgRank = (i + j) / 2.0 + 1; // 1-based average rank of the tie group
            for (int k = i; k <= j; k++) if (labels[order[k]]) { rankSumPos += avgRank; pos++; }
            i = j + 1;
        }
        long neg = n - pos;
        if (pos == 0 || neg == 0) return double.NaN;
        return (rankSumPos - pos * (pos + 1) / 2.0) / ((double)pos * neg);
    }

    /// <summary>Mean (weighted) binary cross-entropy in nats.</summary>
    public static double LogLoss(ReadOnlySpan<bool> labels, ReadOnlySpan<float> probabilities, ReadOnlySpan<float> weights = default)
    {
        double sum = 0, wsum = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            double p = Math.Clamp(probabilities[i], Epsilon, 1 - Epsilon);
            double w = weights.IsEmpty ? 1 : weights[i];
            sum -= w * (labels[i] ? Math.Log(p) : Math.Log(1 - p));
            wsum += w;
        }
        return wsum == 0 ? double.NaN : sum / wsum;
    }

    /// <summary>Share of rows where (p ≥ threshold) equals the label.</summary>
    public static double Accuracy(ReadOnlySpan<bool> labels, ReadOnlySpan<float> probabilities, double threshold = 0.5)
    {
        if (labels.Length == 0) return double.NaN;
        int ok = 0;
        for (int i = 0; i < labels.Length; i++) if ((probabilities[i] >= threshold) == labels[i]) ok++;
        return (double)ok / labels.Length;
    }
}
