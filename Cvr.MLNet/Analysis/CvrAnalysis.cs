using Cvr.MLNet.Data;
using Cvr.MLNet.Evaluation;
using Cvr.MLNet.Samples;
using Cvr.MLNet.Transforms;
using Cvr.MLNet.Transforms.Counts;
using Cvr.MLNet.Transforms.Sequence;
using Cvr.MLNet.Transforms.Time;
using Microsoft.ML;

namespace Cvr.MLNet.Analysis;

/// <summary>
/// Behavior-pattern analysis of an event log and of a fitted CVR model: pure computations returning
/// records (the CLI's <c>cvr analyze</c> turns them into charts; notebooks can plot them directly).
/// </summary>
public static class CvrAnalysis
{
    /// <summary>
    /// For each distinct (user, item, hour) buy, the hours since the pair's latest favorite and latest cart at
    /// or before that hour (a same-hour favorite/cart counts as earlier: delay 0), bucketed.
    /// </summary>
    /// <param name="history">The indexed log (distinct events).</param>
    /// <param name="bucketStarts">Bucket lower bounds in hours, ascending from 0; null for <see cref="DelayHistogram.DefaultBucketStarts"/>.</param>
    /// <returns>The favorite → buy and cart → buy histograms.</returns>
    public static (DelayHistogram Favorite, DelayHistogram Cart) ConversionDelays(UserHistory history, IReadOnlyList<int>? bucketStarts = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        bucketStarts ??= DelayHistogram.DefaultBucketStarts;
        if (bucketStarts.Count == 0 || bucketStarts[0] != 0)
            throw new ArgumentException("bucketStarts must start at 0.", nameof(bucketStarts));
        for (int i = 1; i < bucketStarts.Count; i++)
            if (bucketStarts[i] <= bucketStarts[i - 1])
                throw new ArgumentException($"bucketStarts must ascend strictly; {bucketStarts[i]} follows {bucketStarts[i - 1]} at index {i}.", nameof(bucketStarts));

        var favDelays = new List<int>(); var cartDelays = new List<int>();
        var lastFav = new Dictionary<int, int>(); var lastCart = new Dictionary<int, int>();
        for (int u = 0; u < history.UserCount; u++)
        {
            lastFav.Clear(); lastCart.Clear();
            var ev = history.EventsOf(u);
            // Sorted by (hour, behavior, item): favorites (2) and carts (3) of an hour come before its buys (4).
            for (int i = 0; i < ev.Hours.Length; i++)
            {
                int item = ev.Items[i], t = ev.Hours[i];
                switch ((BehaviorType)ev.Behaviors[i])
                {
                    case BehaviorType.Favorite: lastFav[item] = t; break;
                    case BehaviorType.Cart: lastCart[item] = t; break;
                    case BehaviorType.Buy:
                        if (lastFav.TryGetValue(item, out int f)) favDelays.Add(t - f);
                        if (lastCart.TryGetValue(item, out int c)) cartDelays.Add(t - c);
                        break;
                }
            }
        }
        return (Histogram(BehaviorType.Favorite, favDelays, bucketStarts), Histogram(BehaviorType.Cart, cartDelays, bucketStarts));
    }

    /// <inheritdoc cref="ConversionDelays(UserHistory, IReadOnlyList{int}?)"/>
    public static (DelayHistogram Favorite, DelayHistogram Cart) ConversionDelays(EventLog log, IReadOnlyList<int>? bucketStarts = null) =>
        ConversionDelays(UserHistory.Build(log), bucketStarts);

    private static DelayHistogram Histogram(BehaviorType from, List<int> delays, IReadOnlyList<int> starts)
    {
        var counts = new long[starts.Count];
        foreach (int d in delays)
        {
            int b = starts.Count - 1;
            while (starts[b] > d) b--;
            counts[b]++;
        }
        delays.Sort();
        double median = delays.Count == 0 ? double.NaN : delays[(delays.Count - 1) / 2];
        double mean = delays.Count == 0 ? double.NaN : delays.Average();
        return new DelayHistogram(from, starts.ToArray(), counts, delays.Count, median, mean);
    }

    /// <summary>
    /// Conversion within <paramref name="horizonHours"/> by path: clicks (from the click samples, by
    /// <see cref="BuyPath"/>), favorites and carts (distinct events followed by a buy of the pair in [t, t+H)).
    /// Events whose horizon runs past the log's last hour are left out.
    /// </summary>
    public static ConversionPaths ConversionRates(UserHistory history, int horizonHours = 24)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (horizonHours < 1) throw new ArgumentOutOfRangeException(nameof(horizonHours), horizonHours, "horizonHours must be at least 1.");
        var samples = CvrSampleSet.Build(history, new CvrSampleOptions { HorizonHours = horizonHours });
        long direct = 0, afterFav = 0, afterCart = 0;
        foreach (byte p in samples.Paths)
        {
            switch ((BuyPath)p)
            {
                case BuyPath.Direct: direct++; break;
                case BuyPath.AfterFavorite: afterFav++; break;
                case BuyPath.AfterCart: afterCart++; break;
            }
        }

        int lastValid = history.LastHour - horizonHours + 1;
        long favs = 0, favsBought = 0, carts = 0, cartsBought = 0;
        var buys = new Dictionary<int, List<int>>();
        for (int u = 0; u < history.UserCount; u++)
        {
            buys.Clear();
            var ev = history.EventsOf(u);
            for (int i = 0; i < ev.Hours.Length; i++)
            {
                if (ev.Behaviors[i] != (byte)BehaviorType.Buy) continue;
                if (!buys.TryGetValue(ev.Items[i], out var list)) buys[ev.Items[i]] = list = [];
                list.Add(ev.Hours[i]); // ascending: the user's events are sorted by hour
            }
            for (int i = 0; i < ev.Hours.Length; i++)
            {
                var b = (BehaviorType)ev.Behaviors[i];
                int t = ev.Hours[i];
                if (b is not (BehaviorType.Favorite or BehaviorType.Cart) || t > lastValid) continue;
                bool bought = buys.TryGetValue(ev.Items[i], out var list) && FirstAtOrAfter(list, t) is int k && k < list.Count && list[k] < t + horizonHours;
                if (b == BehaviorType.Favorite) { favs++; if (bought) favsBought++; }
                else { carts++; if (bought) cartsBought++; }
            }
        }
        return new ConversionPaths(horizonHours, samples.Count, direct, afterFav, afterCart, favs, favsBought, carts, cartsBought);
    }

    /// <inheritdoc cref="ConversionRates(UserHistory, int)"/>
    public static ConversionPaths ConversionRates(EventLog log, int horizonHours = 24) => ConversionRates(UserHistory.Build(log), horizonHours);

    private static int FirstAtOrAfter(List<int> sorted, int t)
    {
        int lo = 0, hi = sorted.Count;
        while (lo < hi) { int mid = (lo + hi) >>> 1; if (sorted[mid] < t) lo = mid + 1; else hi = mid; }
        return lo;
    }

    /// <summary>Event rows (duplicates included, as in the file) per day and per hour of day, by behavior.</summary>
    public static EventVolumes Volumes(EventLog log)
    {
        ArgumentNullException.ThrowIfNull(log);
        var hourly = Enumerable.Range(0, 4).Select(_ => new long[24]).ToArray();
        if (log.Count == 0) return new EventVolumes(0, [], hourly);
        var (first, last) = log.HourRange();
        int firstDay = TianchiTime.DayOf(first), days = TianchiTime.DayOf(last) - firstDay + 1;
        var daily = Enumerable.Range(0, 4).Select(_ => new long[days]).ToArray();
        var hours = log.HourSpan; var beh = log.BehaviorSpan;
        for (int r = 0; r < log.Count; r++)
        {
            int b = beh[r] - 1, h = hours[r];
            daily[b][TianchiTime.DayOf(h) - firstDay]++;
            hourly[b][TianchiTime.HourOfDay(h)]++;
        }
        return new EventVolumes(firstDay, daily, hourly);
    }

    /// <summary>
    /// A reliability diagram of <paramref name="probabilities"/>: samples sorted by probability and cut into
    /// <paramref name="bins"/> groups of equal count (CVR probabilities crowd near 0, so equal-width bins would
    /// leave all but the first empty). Fewer bins when there are fewer samples; none for no samples.
    /// </summary>
    public static IReadOnlyList<CalibrationBin> Calibration(ReadOnlySpan<bool> labels, ReadOnlySpan<float> probabilities, int bins = 10)
    {
        if (labels.Length != probabilities.Length)
            throw new ArgumentException($"labels ({labels.Length}) and probabilities ({probabilities.Length}) differ in length.");
        if (bins < 1) throw new ArgumentOutOfRangeException(nameof(bins), bins, "bins must be at least 1.");
        int n = labels.Length;
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        var keys = probabilities.ToArray();
        Array.Sort(keys, order);
        int k = Math.Min(bins, n);
        var result = new List<CalibrationBin>(k);
        for (int b = 0; b < k; b++)
        {
            int lo = (int)((long)n * b / k), hi = (int)((long)n * (b + 1) / k);
            double sp = 0; int pos = 0;
            for (int i = lo; i < hi; i++) { sp += keys[i]; if (labels[order[i]]) pos++; }
            int c = hi - lo;
            result.Add(new CalibrationBin(c, sp / c, (double)pos / c, keys[lo], keys[hi - 1]));
        }
        return result;
    }

    /// <summary>
    /// Field weights and calibration of a saved CVR chain on the click samples of <paramref name="log"/>'s last
    /// <paramref name="days"/> days (clicks whose horizon ends inside the log). A loaded chain's behavior state
    /// serves only times after its own log, so the time, count and sequence transforms are re-fitted on
    /// <paramref name="log"/> (strictly-before-the-click features, as in training); the chain's id vocabulary
    /// and CVR model are used as loaded.
    /// </summary>
    /// <param name="ml">The ML.NET context.</param>
    /// <param name="model">A chain written by <c>cvr train</c> (feature transforms + CVR model).</param>
    /// <param name="log">The event log to analyze on.</param>
    /// <param name="days">Whole days of clicks to analyze, ending with the last day whose clicks are all labelled.</param>
    /// <param name="horizonHours">The label horizon.</param>
    /// <exception cref="InvalidOperationException">The log yields no labelled click in that window.</exception>
    public static ModelAnalysis AnalyzeModel(MLContext ml, ITransformer model, EventLog log, int days = 3, int horizonHours = 24)
    {
        ArgumentNullException.ThrowIfNull(ml);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(log);
        if (days < 1) throw new ArgumentOutOfRangeException(nameof(days), days, "days must be at least 1.");
        var (features, cvr) = CvrScoring.Split(model);
        int modelLast = CvrScoring.FittedLastHour(model);
        var source = new CvrEventSource(log);
        // Whole days ending at the last day whose clicks are all labelled (a click at t needs t + H − 1 ≤ last hour).
        int to = TianchiTime.DayOf(source.History.LastHour - horizonHours + 2) * 24, from = to - days * 24;
        var samples = CvrSampleSet.Build(source.History, new CvrSampleOptions { HorizonHours = horizonHours, FromHour = from, ToHour = to });
        if (samples.Count == 0)
            throw new InvalidOperationException($"The event log{(log.Source is null ? "" : $" '{log.Source}'")} has no labelled clicks between {TianchiTime.ToText(from)} and {TianchiTime.ToText(to)} (clicks need {horizonHours} h of log after them).");

        IDataView view = samples.ToDataView();
        foreach (var t in features)
        {
            ITransformer fitted = t switch
            {
                TimeFeaturesTransformer time => ml.Transforms.CvrTimeFeatures(source, time.TimeColumn).Fit(view),
                BehaviorCountsTransformer => ml.Transforms.CvrBehaviorCounts(source).Fit(view),
                BehaviorSequenceTransformer seq => ml.Transforms.CvrBehaviorSequence(source, seq.Length).Fit(view),
                Transforms.Interactions.InteractionFeaturesTransformer => ml.Transforms.CvrInteractionFeatures(source).Fit(view),
                _ => t,
            };
            view = fitted.Transform(view);
        }
        var (_, pBuy) = cvr.Score(view);
        var weights = cvr.FieldImportance(view);
        var importance = cvr.Network.Options.FieldNames.Select(f => new KeyValuePair<string, float>(f, weights[f])).ToList();
        int positives = samples.Buy.Count(b => b);
        return new ModelAnalysis(from, to, samples.Count, positives, modelLast, importance,
            Calibration(samples.Buy, pBuy), BinaryMetrics.Ece(samples.Buy, pBuy), BinaryMetrics.Auc(samples.Buy, pBuy),
            pBuy.Length == 0 ? double.NaN : pBuy.Average(x => (double)x), cvr.TrainingHistory, cvr.BestEpoch);
    }
}
