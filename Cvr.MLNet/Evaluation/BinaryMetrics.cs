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

    /// <summary>
    /// Group AUC: each user's AUC weighted by the user's sample count, over users with both classes
    /// (users with one class have no AUC and are skipped). NaN when no user has both classes.
    /// </summary>
    public static double Gauc(ReadOnlySpan<bool> labels, ReadOnlySpan<float> scores, ReadOnlySpan<int> users)
    {
        if (labels.Length != scores.Length || labels.Length != users.Length) throw new ArgumentException("labels, scores and users differ in length.");
        var byUser = new Dictionary<int, List<int>>();
        for (int i = 0; i < users.Length; i++)
        {
            if (!byUser.TryGetValue(users[i], out var rows)) byUser[users[i]] = rows = [];
            rows.Add(i);
        }
        double sum = 0, weight = 0;
        foreach (var rows in byUser.Values)
        {
            var l = new bool[rows.Count]; var s = new float[rows.Count];
            for (int k = 0; k < rows.Count; k++) { l[k] = labels[rows[k]]; s[k] = scores[rows[k]]; }
            double auc = Auc(l, s);
            if (double.IsNaN(auc)) continue;
            sum += rows.Count * auc; weight += rows.Count;
        }
        return weight == 0 ? double.NaN : sum / weight;
    }

    /// <summary>
    /// Area under the precision-recall curve as average precision: Σ (Rₖ − Rₖ₋₁)·Pₖ over the distinct
    /// score thresholds in descending order (a tie group enters at once). NaN without positives.
    /// </summary>
    public static double PrAuc(ReadOnlySpan<bool> labels, ReadOnlySpan<float> scores)
    {
        if (labels.Length != scores.Length) throw new ArgumentException("labels and scores differ in length.");
        int pos = 0;
        foreach (var l in labels) if (l) pos++;
        if (pos == 0) return double.NaN;
        var order = DescendingOrder(scores);
        double ap = 0; int tp = 0, seen = 0;
        for (int i = 0; i < order.Length;)
        {
            int j = i, groupTp = 0;
            while (j < order.Length && scores[order[j]] == scores[order[i]]) { if (labels[order[j]]) groupTp++; j++; }
            tp += groupTp; seen = j;
            ap += (double)groupTp / pos * ((double)tp / seen);
            i = j;
        }
        return ap;
    }

    /// <summary>Σp / Σy: above 1 the model over-predicts. NaN without positives.</summary>
    public static double CalibrationRatio(ReadOnlySpan<bool> labels, ReadOnlySpan<float> probabilities)
    {
        double p = 0; int y = 0;
        for (int i = 0; i < labels.Length; i++) { p += probabilities[i]; if (labels[i]) y++; }
        return y == 0 ? double.NaN : p / y;
    }

    /// <summary>
    /// Expected calibration error over <paramref name="bins"/> equal-width bins of [0, 1]
    /// (bin ⌊p·bins⌋, p = 1 in the last): Σ_b (n_b/N)·|mean p − mean y|.
    /// </summary>
    public static double Ece(ReadOnlySpan<bool> labels, ReadOnlySpan<float> probabilities, int bins = 10)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 1);
        if (labels.Length == 0) return double.NaN;
        var n = new int[bins]; var sp = new double[bins]; var sy = new double[bins];
        for (int i = 0; i < labels.Length; i++)
        {
            int b = Math.Clamp((int)(probabilities[i] * bins), 0, bins - 1);
            n[b]++; sp[b] += probabilities[i]; if (labels[i]) sy[b]++;
        }
        double ece = 0;
        for (int b = 0; b < bins; b++) if (n[b] > 0) ece += (double)n[b] / labels.Length * Math.Abs(sp[b] / n[b] - sy[b] / n[b]);
        return ece;
    }

    /// <summary>
    /// The threshold among the scores that maximizes F1 of (p ≥ threshold), ties broken toward the
    /// higher threshold; (NaN, 0) without positives.
    /// </summary>
    public static (double Threshold, double F1) BestF1Threshold(ReadOnlySpan<bool> labels, ReadOnlySpan<float> scores)
    {
        if (labels.Length != scores.Length) throw new ArgumentException("labels and scores differ in length.");
        int pos = 0;
        foreach (var l in labels) if (l) pos++;
        if (pos == 0) return (double.NaN, 0);
        var order = DescendingOrder(scores);
        double best = -1, bestT = double.NaN; int tp = 0;
        for (int i = 0; i < order.Length;)
        {
            int j = i;
            while (j < order.Length && scores[order[j]] == scores[order[i]]) { if (labels[order[j]]) tp++; j++; }
            double f1 = 2.0 * tp / (j + pos);
            if (f1 > best) { best = f1; bestT = scores[order[i]]; }
            i = j;
        }
        return (bestT, best);
    }

    /// <summary>Row indices by descending score (stable for equal scores).</summary>
    internal static int[] DescendingOrder(ReadOnlySpan<float> scores)
    {
        var order = new int[scores.Length];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        var s = scores.ToArray();
        Array.Sort(order, (a, b) => s[b] != s[a] ? s[b].CompareTo(s[a]) : a.CompareTo(b));
        return order;
    }
}
