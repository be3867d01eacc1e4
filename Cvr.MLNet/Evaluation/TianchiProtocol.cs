using Cvr.MLNet.Data;
using Cvr.MLNet.Samples;
using Cvr.MLNet.Transforms;
using Microsoft.ML;

namespace Cvr.MLNet.Evaluation;

/// <summary>Options of <see cref="TianchiProtocol"/>.</summary>
public sealed class TianchiProtocolOptions
{
    /// <summary>Samples, vocabulary and trainer of the CVR model (when no model is given).</summary>
    public CvrPipelineOptions Pipeline { get; set; } = new();

    /// <summary>Candidates are the pairs a user interacted with in this many days before the scored day. Default 3.</summary>
    public int CandidateDays { get; set; } = 3;

    /// <summary>The LightGBM baseline's options; null skips the baseline.</summary>
    public LightGbmBaselineOptions? LightGbm { get; set; } = new();

    /// <summary>Progress messages (stage names), or null.</summary>
    public IProgress<string>? Log { get; set; }

    /// <summary>Validates the options; throws naming the offending option.</summary>
    public void Check()
    {
        ArgumentNullException.ThrowIfNull(Pipeline, nameof(Pipeline));
        if (CandidateDays < 1) throw new ArgumentOutOfRangeException(nameof(CandidateDays), CandidateDays, "CandidateDays must be at least 1.");
        Pipeline.Samples.Check();
        LightGbm?.Check();
    }
}

/// <summary>One method's result on the Tianchi day task.</summary>
/// <param name="Score">Precision / recall / F1 of the predicted set on the scored day (null without that day's events).</param>
/// <param name="Fraction">Share of the candidates predicted, chosen on the selection day (null for rules).</param>
/// <param name="SelectionF1">F1 of that choice on the selection day (null for rules).</param>
/// <param name="CandidateAuc">AUC of the method's scores over the scored day's candidates (bought or not), when defined.</param>
/// <param name="ClickAuc">Buy AUC on the click samples, when defined.</param>
/// <param name="Predicted">The predicted (user, item) pairs for the scored day.</param>
public sealed record TianchiMethodResult(TianchiScore? Score, double? Fraction, double? SelectionF1, double? CandidateAuc, double? ClickAuc,
    IReadOnlyList<(int User, int Item)> Predicted);

/// <summary>The outcome of <see cref="TianchiProtocol.Run"/>.</summary>
/// <param name="Day">The scored day's 00:00 hour index.</param>
/// <param name="Candidates">Candidates of the scored day.</param>
/// <param name="CandidateRecall">Share of the day's purchases among the candidates (null without the day's events).</param>
/// <param name="ClickMetrics">The model's metrics on the click samples of day D−1 (labels within D−1..D), null without day D.</param>
/// <param name="Model">The CVR model on the day task.</param>
/// <param name="CartRule">The cart rule baseline.</param>
/// <param name="LightGbm">The LightGBM baseline (null when skipped).</param>
/// <param name="TrainResult">The in-process training run (null when a model was given).</param>
/// <param name="Blend">The CVR model's P(buy) and the LightGBM baseline combined by <see cref="ScoreBlend.MeanLogit"/> (null without LightGBM).</param>
/// <param name="LightGbmFavCartClickAuc">Click AUC on fav/cart of a LightGBM trained on that label (null without LightGBM or day D).</param>
/// <param name="BlendFavCartClickAuc">Click AUC on fav/cart of the model's P(fav/cart) and that LightGBM combined like <paramref name="Blend"/>.</param>
public sealed record TianchiReport(int Day, int Candidates, double? CandidateRecall, CvrMetrics? ClickMetrics,
    TianchiMethodResult Model, TianchiMethodResult CartRule, TianchiMethodResult? LightGbm, CvrTrainResult? TrainResult,
    TianchiMethodResult? Blend = null, double? LightGbmFavCartClickAuc = null, double? BlendFavCartClickAuc = null)
{
    /// <summary>True when the log held the scored day's events (precision/recall/F1 are known).</summary>
    public bool HasTruth => Model.Score is not null;
}

/// <summary>
/// The Tianchi next-day protocol for day D: train on events before D−1 (or take a given model), choose
/// the predicted share of candidates on day D−1 (scored at D−1 00:00), then feed day D−1's events to the
/// model's behavior state hour by hour (scoring day D−1's click samples point-in-time on the way) and
/// score day D's candidates at D 00:00. Day D's events are never used to predict; when the log holds
/// them they are the truth.
/// </summary>
public static class TianchiProtocol
{
    /// <summary>Runs the protocol for the day starting at <paramref name="dayStartHour"/>.</summary>
    /// <param name="ml">The ML.NET context.</param>
    /// <param name="log">The whole event log (events on and after D are used only as truth).</param>
    /// <param name="dayStartHour">Hour index of day D's 00:00.</param>
    /// <param name="options">Protocol options (null = defaults).</param>
    /// <param name="items">The item subset P (null = all items).</param>
    /// <param name="model">A fitted or loaded CVR chain whose log ends before D−1; null trains one on events before D−1.</param>
    /// <param name="truth">Generator truth (adds the oracle AUC to the click metrics), or null.</param>
    public static TianchiReport Run(MLContext ml, EventLog log, int dayStartHour, TianchiProtocolOptions? options = null,
        ItemCatalog? items = null, ITransformer? model = null, GeneratorTruth? truth = null)
    {
        ArgumentNullException.ThrowIfNull(ml);
        ArgumentNullException.ThrowIfNull(log);
        options ??= new TianchiProtocolOptions();
        options.Check();
        if (TianchiTime.HourOfDay(dayStartHour) != 0) throw new ArgumentOutOfRangeException(nameof(dayStartHour), TianchiTime.ToText(dayStartHour), "dayStartHour must be a day's 00:00.");
        int d = dayStartHour, s = d - 24;
        string day = TianchiTime.ToText(d)[..10], prev = TianchiTime.ToText(s)[..10];
        if (log.Count == 0) throw new ArgumentException("The event log is empty.", nameof(log));
        var (first, last) = log.HourRange();
        if (first >= s) throw new ArgumentException($"Day {day} needs events before {prev} to train on; the log starts at {TianchiTime.ToText(first)}.", nameof(dayStartHour));
        if (last < s) throw new ArgumentException($"Day {day} needs the events of {prev} (the day before); the log ends at {TianchiTime.ToText(last)}.", nameof(dayStartHour));
        bool hasTruth = last >= d;

        // 1. The model and the baselines' features, fitted on events before D−1.
        var trainLog = log.Before(s);
        CvrTrainResult? trained = null;
        if (model is null)
        {
            options.Log?.Report($"training on {trainLog.Count} events before {prev}");
            trained = CvrPipeline.Train(ml, trainLog, options.Pipeline);
            model = trained.Model;
        }
        else
        {
            int fitted = CvrScoring.FittedLastHour(model);
            if (fitted >= s)
                throw new ArgumentException($"The model's log ends at {TianchiTime.ToText(fitted)}, not before {prev}: it has seen the selection day (choose a later --day or a model trained on less).", nameof(model));
            CvrScoring.AppendEvents(log, fitted + 1, s, model); // catch the state up to D−1 00:00
        }
        ITransformer? lgbFeatures = null; LightGbmBaseline? lgb = null, lgbFav = null;
        if (options.LightGbm is not null)
        {
            options.Log?.Report("training the LightGBM baseline");
            var source = new CvrEventSource(trainLog);
            var samples = trained?.Samples ?? CvrSampleSet.Build(source.History, options.Pipeline.Samples);
            var view = samples.ToDataView();
            lgbFeatures = ml.Transforms.CvrFeatures(source, options.Pipeline.Vocabulary).Fit(view);
            var featurized = lgbFeatures.Transform(view);
            lgb = LightGbmBaseline.Train(ml, featurized, samples, options.LightGbm);
            // A second one on the fav/cart label, only for the click metrics (the day task ranks purchases).
            if (hasTruth) lgbFav = LightGbmBaseline.Train(ml, featurized, samples, options.LightGbm, favCart: true);
        }

        // 2. Selection day D−1: scored at D−1 00:00 with the state as of then.
        options.Log?.Report($"choosing the predicted share on {prev}");
        var candS = TianchiCandidates.Build(log, s, options.CandidateDays, items);
        var truthS = TianchiCandidates.Purchases(log, s, items);
        var labelsS = candS.Labels(truthS);
        var reqS = CvrScoring.Requests(candS.UserIds, candS.ItemIds, candS.CategoryIds, s);
        var scoreMS = CvrScoring.Score(model, reqS).PBuy;
        var pickM = TopKSelection.Choose(scoreMS, labelsS, truthS.Count);
        (int K, double F1, double Fraction) pickL = default, pickB = default;
        if (lgb is not null)
        {
            var scoreLS = lgb.Score(lgbFeatures!.Transform(reqS));
            pickL = TopKSelection.Choose(scoreLS, labelsS, truthS.Count);
            pickB = TopKSelection.Choose(ScoreBlend.MeanLogit(scoreMS, scoreLS), labelsS, truthS.Count);
        }

        // 3. Day D−1 hour by hour: score its click samples point-in-time, then feed the hour's events.
        CvrSampleSet? clicks = null;
        float[] cFav = [], cBuy = [], cLgb = [], cLgbFav = [];
        if (hasTruth)
        {
            clicks = CvrSampleSet.Build(UserHistory.Build(log.Before(d + options.Pipeline.Samples.HorizonHours)),
                new CvrSampleOptions { HorizonHours = options.Pipeline.Samples.HorizonHours, FromHour = s, ToHour = d });
            cFav = new float[clicks.Count]; cBuy = new float[clicks.Count]; cLgb = new float[clicks.Count]; cLgbFav = new float[clicks.Count];
        }
        options.Log?.Report($"feeding the events of {prev}");
        var dayRows = RowsByHour(log, s, d);
        var stateful = lgbFeatures is null ? new[] { model } : [model, lgbFeatures];
        int at = 0;
        for (int h = s; h < d; h++)
        {
            if (clicks is not null)
            {
                var hour = clicks.Slice(h, h + 1);
                if (hour.Count > 0)
                {
                    var view = hour.ToDataView();
                    var (f, b) = CvrScoring.Score(model, view);
                    f.CopyTo(cFav, at); b.CopyTo(cBuy, at);
                    if (lgb is not null)
                    {
                        var lgbView = lgbFeatures!.Transform(view);
                        lgb.Score(lgbView).CopyTo(cLgb, at);
                        lgbFav?.Score(lgbView).CopyTo(cLgbFav, at);
                    }
                    at += hour.Count;
                }
            }
            foreach (int r in dayRows[h - s])
                foreach (var m in stateful)
                    m.AppendEvent(log.UserIdSpan[r], log.ItemIdSpan[r], log.CategoryIdSpan[r], (BehaviorType)log.BehaviorSpan[r], TianchiTime.FromHour(h));
        }

        // 4. Day D: scored at D 00:00.
        options.Log?.Report($"scoring the candidates of {day}");
        var candD = TianchiCandidates.Build(log, d, options.CandidateDays, items);
        var truthD = hasTruth ? TianchiCandidates.Purchases(log, d, items) : null;
        var labelsD = truthD is null ? null : candD.Labels(truthD);
        var reqD = CvrScoring.Requests(candD.UserIds, candD.ItemIds, candD.CategoryIds, d);
        var scoreM = CvrScoring.Score(model, reqD).PBuy;
        var cart = CartRuleBaseline.Predict(log, d, items);
        var clickCart = clicks is null ? null : CartClickScores(log, clicks, items);

        TianchiMethodResult Method(float[] scores, (int K, double F1, double Fraction) pick, float[]? clickScores)
        {
            var chosen = TopKSelection.Top(scores, pick.Fraction).Select(i => candD[i]).ToList();
            return new TianchiMethodResult(truthD is null ? null : TianchiScore.Compute(chosen, truthD), pick.Fraction, pick.F1,
                labelsD is null ? null : Defined(BinaryMetrics.Auc(labelsD, scores)),
                clickScores is null ? null : Defined(BinaryMetrics.Auc(clicks!.Buy, clickScores)), chosen);
        }
        var modelResult = Method(scoreM, pickM, clicks is null ? null : cBuy);
        var scoreLD = lgb?.Score(lgbFeatures!.Transform(reqD));
        TianchiMethodResult? lgbResult = scoreLD is null ? null : Method(scoreLD, pickL, clicks is null ? null : cLgb);
        TianchiMethodResult? blendResult = scoreLD is null ? null
            : Method(ScoreBlend.MeanLogit(scoreM, scoreLD), pickB, clicks is null ? null : ScoreBlend.MeanLogit(cBuy, cLgb));
        var cartPairs = cart.OrderBy(p => p).ToList();
        var cartResult = new TianchiMethodResult(truthD is null ? null : TianchiScore.Compute(cartPairs, truthD), null, null,
            labelsD is null ? null : Defined(BinaryMetrics.Auc(labelsD, candD.UserIds.Select((u, i) => cart.Contains(candD[i]) ? 1f : 0f).ToArray())),
            clickCart is null ? null : Defined(BinaryMetrics.Auc(clicks!.Buy, clickCart)), cartPairs);

        var metrics = clicks is null ? null : CvrEvaluator.Evaluate(clicks, cFav, cBuy, truth);
        double? lgbFavAuc = null, blendFavAuc = null;
        if (clicks is not null && lgbFav is not null)
        {
            lgbFavAuc = Defined(BinaryMetrics.Auc(clicks.FavCart, cLgbFav));
            blendFavAuc = Defined(BinaryMetrics.Auc(clicks.FavCart, ScoreBlend.MeanLogit(cFav, cLgbFav)));
        }
        return new TianchiReport(d, candD.Count, truthD is null ? null : candD.Recall(truthD), metrics, modelResult, cartResult, lgbResult, trained, blendResult,
            lgbFavAuc, blendFavAuc);
    }

    private static double? Defined(double v) => double.IsNaN(v) ? null : v;

    /// <summary>Rows of the log with hours in [from, to), grouped by hour.</summary>
    private static List<int>[] RowsByHour(EventLog log, int from, int to)
    {
        var rows = new List<int>[to - from];
        for (int i = 0; i < rows.Length; i++) rows[i] = [];
        var hours = log.HourSpan;
        for (int r = 0; r < log.Count; r++) if (hours[r] >= from && hours[r] < to) rows[hours[r] - from].Add(r);
        return rows;
    }

    /// <summary>The cart rule as a click score: 1 when the pair was carted and not bought on the day before the click's day.</summary>
    private static float[] CartClickScores(EventLog log, CvrSampleSet clicks, ItemCatalog? items)
    {
        var rules = new Dictionary<int, HashSet<(int User, int Item)>>();
        var scores = new float[clicks.Count];
        for (int i = 0; i < clicks.Count; i++)
        {
            int dayStart = TianchiTime.DayOf(clicks.Hours[i]) * 24;
            if (!rules.TryGetValue(dayStart, out var set)) rules[dayStart] = set = CartRuleBaseline.Predict(log, dayStart, items);
            scores[i] = set.Contains((clicks.UserIds[i], clicks.ItemIds[i])) ? 1f : 0f;
        }
        return scores;
    }
}
