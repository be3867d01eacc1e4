using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Cvr.MLNet.Data;
using Cvr.MLNet.Evaluation;
using Cvr.MLNet.Model;
using Cvr.MLNet.Pipeline;
using Microsoft.ML;
using Spectre.Console;

namespace Cvr.MLNet.Cli.Commands;

/// <summary>
/// <c>cvr evaluate</c>: the Tianchi next-day protocol on day D (train before D−1, choose the predicted share
/// on D−1, score D), click-sample metrics of day D−1, the cart rule and LightGBM baselines.
/// </summary>
public static class EvaluateCommand
{
    /// <summary>Options shared by <c>evaluate</c> and <c>submit</c>.</summary>
    internal sealed class ProtocolOptions
    {
        public readonly Option<string> Data = new("--data") { Description = "Events CSV or a folder holding the Tianchi files (the items file, when present, is the subset P).", Required = true };
        public readonly Option<string> Day = new("--day") { Description = "The scored day, yyyy-MM-dd.", Required = true };
        public readonly Option<string?> Model = new("--model") { Description = "A model zip from cvr train whose log ends before the day before --day (default: train one on the events before that day)." };
        public readonly Option<int> Epochs = new("--epochs") { Description = "Training epochs.", DefaultValueFactory = _ => 3 };
        public readonly Option<int> BatchSize = new("--batch-size") { Description = "Training batch size.", DefaultValueFactory = _ => 128 };
        public readonly Option<int> Seed = new("--seed") { Description = "Seed of initialization, shuffling and splits.", DefaultValueFactory = _ => 42 };
        public readonly Option<int> Threads = new("--threads") { Description = "libtorch and LightGBM threads (0 = default).", DefaultValueFactory = _ => 0 };
        public readonly Option<string> Ablation = new("--ablation") { Description = "Model ablation: none, no-din (masked mean of the sequence instead of DIN), no-se (no field reweighting), single-ple (one PLE extraction layer).", DefaultValueFactory = _ => "none" };
        public readonly Option<string> Size = new("--network-size") { Description = "Network and vocabulary sizes: default or small (fast, for tests and smoke runs).", DefaultValueFactory = _ => "default" };
        public readonly Option<int> CandidateDays = new("--candidate-days") { Description = "Candidates: pairs the user touched in this many days before the scored day.", DefaultValueFactory = _ => 3 };
        public readonly Option<int> LgbIterations = new("--lightgbm-iterations") { Description = "LightGBM boosting rounds (0 skips the LightGBM baseline).", DefaultValueFactory = _ => 200 };
        public readonly Option<bool> Skip = new("--skip-bad-rows") { Description = "Skip and count invalid rows instead of stopping." };

        public void AddTo(Command cmd)
        {
            foreach (var o in new Option[] { Data, Day, Model, Epochs, BatchSize, Seed, Threads, Size, Ablation, CandidateDays, LgbIterations, Skip }) cmd.Options.Add(o);
        }

        /// <summary>Reads the data and runs the protocol.</summary>
        public TianchiReport Run(ParseResult parse, CancellationToken ct, GeneratorTruth? truth, bool requireTruth)
        {
            var dayText = parse.GetValue(Day)!;
            if (!DateTime.TryParseExact(dayText, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
                throw new FormatException($"--day '{dayText}' is not a date in the format yyyy-MM-dd.");
            int dayStart = TianchiTime.ToHour(date);
            var size = parse.GetValue(Size)!;
            if (size is not ("default" or "small")) throw new ArgumentException($"--network-size '{size}' is not one of: default, small.");
            var paths = TianchiPaths.Resolve(parse.GetValue(Data)!);
            var read = new TianchiReadOptions { SkipBadRows = parse.GetValue(Skip) };
            var log = CliCommon.WithProgress($"Reading {Path.GetFileName(paths.EventsPath)}", p => TianchiReader.ReadEvents(paths.EventsPath, read, p, ct));
            if (requireTruth && log.Count > 0 && log.HourRange().Last < dayStart)
                throw new InvalidOperationException($"The log has no events on {dayText}, so there is nothing to evaluate against; use cvr submit to predict that day.");
            var items = paths.ItemsPath is null ? null : TianchiReader.ReadItems(paths.ItemsPath, read, null, ct);

            var o = new TianchiProtocolOptions { CandidateDays = parse.GetValue(CandidateDays) };
            int threads = parse.GetValue(Threads);
            var t = o.Pipeline.Trainer;
            t.Epochs = parse.GetValue(Epochs); t.BatchSize = parse.GetValue(BatchSize); t.Seed = parse.GetValue(Seed); t.Threads = threads;
            t.CancellationToken = ct;
            o.Pipeline.Samples.Seed = parse.GetValue(Seed);
            if (size == "small")
            {
                var v = o.Pipeline.Vocabulary;
                v.UserSize = 512; v.ItemSize = 4096; v.CategorySize = 512;
                t.Network = new CvrNetworkOptions
                {
                    UserBuckets = v.UserSize, ItemBuckets = v.ItemSize, CategoryBuckets = v.CategorySize,
                    ItemEmbeddingDim = 16, UserEmbeddingDim = 16, CategoryEmbeddingDim = 8, LongTermEmbeddingDim = 16,
                    DinHidden = [16, 8], PleLayers = [[32], [32, 16]],
                };
            }
            CvrAblation.Apply(t.Network, parse.GetValue(Ablation)!);
            int lgb = parse.GetValue(LgbIterations);
            if (lgb < 0) throw new ArgumentOutOfRangeException("--lightgbm-iterations", lgb, "--lightgbm-iterations must be 0 (skip) or more.");
            o.LightGbm = lgb == 0 ? null : new LightGbmBaselineOptions { Iterations = lgb, Threads = threads > 0 ? threads : null };
            o.Log = new CliCommon.SyncProgress<string>(m => Console.Error.WriteLine(m));

            var ml = new MLContext(t.Seed);
            ITransformer? model = null;
            if (parse.GetValue(Model) is { } modelPath) model = ModelFile.Load(ml, modelPath, out _);
            return TianchiProtocol.Run(ml, log, dayStart, o, items, model, truth);
        }
    }

    public static Command Create()
    {
        var common = new ProtocolOptions();
        var truth = new Option<string?>("--truth") { Description = "The generator's truth.csv (adds the oracle AUC; default: truth.csv next to the events file when present)." };
        var json = CliCommon.JsonOption();
        var cmd = new Command("evaluate", "Evaluate on day D as the Tianchi competition did (precision/recall/F1 of the predicted (user, item) set), with click-sample metrics, the cart-rule and LightGBM baselines and the model + LightGBM blend.");
        common.AddTo(cmd);
        cmd.Options.Add(truth);
        cmd.Options.Add(json);
        CliCommon.SetAction(cmd, (parse, ct) =>
        {
            var truthPath = parse.GetValue(truth);
            if (truthPath is null)
            {
                var next = Path.Combine(Path.GetDirectoryName(TianchiPaths.Resolve(parse.GetValue(common.Data)!).EventsPath) ?? ".", TianchiFiles.TruthFileName);
                if (File.Exists(next)) truthPath = next;
            }
            var truthTable = truthPath is null ? null : GeneratorTruth.Read(truthPath);
            var report = common.Run(parse, ct, truthTable, requireTruth: true);
            if (!report.HasTruth)
                throw new InvalidOperationException($"The log has no events on {TianchiTime.ToText(report.Day)[..10]}, so there is nothing to evaluate against; use cvr submit to predict that day.");
            var obj = ToJson(report);
            if (parse.GetValue(json)) CliCommon.WriteJson(obj);
            else Print(report);
            return 0;
        });
        return cmd;
    }

    private static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(Math.Round(v, 6)) : null;
    private static JsonNode? Num(double? v) => v is { } x ? Num(x) : null;

    private static JsonObject Task(CvrTaskMetrics m)
    {
        var o = new JsonObject
        {
            ["auc"] = Num(m.Auc), ["gauc"] = Num(m.Gauc), ["logLoss"] = Num(m.LogLoss), ["accuracy"] = Num(m.Accuracy),
            ["prAuc"] = Num(m.PrAuc), ["bestF1Threshold"] = Num(m.BestF1Threshold), ["bestF1"] = Num(m.BestF1),
            ["accuracyAtBestF1"] = Num(m.AccuracyAtBestF1), ["calibrationRatio"] = Num(m.CalibrationRatio), ["ece"] = Num(m.Ece),
            ["samples"] = m.Count, ["positives"] = m.Positives,
        };
        if (m.OracleAuc is { } oracle) { o["oracleAuc"] = Num(oracle); o["oracleGap"] = Num(m.OracleGap); }
        if (m.PointInTimeOracleAuc is { } pit) { o["pointInTimeOracleAuc"] = Num(pit); o["pointInTimeOracleGap"] = Num(m.PointInTimeOracleGap); }
        return o;
    }

    private static JsonObject Method(TianchiMethodResult r)
    {
        var s = r.Score;
        var o = new JsonObject
        {
            ["precision"] = Num(s?.Precision), ["recall"] = Num(s?.Recall), ["f1"] = Num(s?.F1),
            ["predicted"] = r.Predicted.Count, ["hits"] = s?.Hits,
            ["auc"] = Num(r.ClickAuc), ["candidateAuc"] = Num(r.CandidateAuc),
        };
        if (r.Fraction is { } f) { o["fraction"] = Num(f); o["selectionF1"] = Num(r.SelectionF1); }
        return o;
    }

    internal static JsonObject ToJson(TianchiReport r)
    {
        var tianchi = Method(r.Model);
        tianchi["candidateRecall"] = Num(r.CandidateRecall);
        tianchi["candidates"] = r.Candidates;
        tianchi["truth"] = r.Model.Score?.Truth;
        var baselines = new JsonObject { ["cartRule"] = Method(r.CartRule) };
        if (r.LightGbm is not null)
        {
            var l = Method(r.LightGbm);
            l["favCartAuc"] = Num(r.LightGbmFavCartClickAuc);
            baselines["lightGbm"] = l;
        }
        if (r.Blend is not null)
        {
            var b = Method(r.Blend);
            b["favCartAuc"] = Num(r.BlendFavCartClickAuc);
            baselines["modelPlusLightGbm"] = b;
        }
        return new JsonObject
        {
            ["day"] = TianchiTime.ToText(r.Day)[..10],
            ["buy"] = r.ClickMetrics is null ? null : Task(r.ClickMetrics.Buy),
            ["favCart"] = r.ClickMetrics is null ? null : Task(r.ClickMetrics.FavCart),
            ["tianchi"] = tianchi,
            ["baselines"] = baselines,
        };
    }

    private static string F(double? v) => v is { } x && double.IsFinite(x) ? x.ToString("F4", CultureInfo.InvariantCulture) : "-";

    private static void Print(TianchiReport r)
    {
        if (r.ClickMetrics is { } m)
        {
            var t = new Table().AddColumns("task", "AUC", "GAUC", "PR-AUC", "log-loss", "acc@0.5", "acc@bestF1", "calib", "ECE", "oracle AUC", "point-in-time oracle AUC");
            foreach (var (name, x) in new[] { ("buy", m.Buy), ("fav/cart", m.FavCart) })
                t.AddRow(name, F(x.Auc), F(x.Gauc), F(x.PrAuc), F(x.LogLoss), F(x.Accuracy), F(x.AccuracyAtBestF1), F(x.CalibrationRatio), F(x.Ece), F(x.OracleAuc), F(x.PointInTimeOracleAuc));
            CliCommon.Out.Write(t);
        }
        var d = new Table().AddColumns("method", "precision", "recall", "F1", "predicted", "click AUC", "fav/cart click AUC", "candidate AUC");
        void Row(string name, TianchiMethodResult? x, double? favCartAuc)
        {
            if (x?.Score is not { } s) return;
            d.AddRow(name, F(s.Precision), F(s.Recall), F(s.F1), s.Predicted.ToString(CultureInfo.InvariantCulture), F(x.ClickAuc), F(favCartAuc), F(x.CandidateAuc));
        }
        Row("CVR model", r.Model, r.ClickMetrics?.FavCart.Auc); Row("cart rule", r.CartRule, null);
        Row("LightGBM", r.LightGbm, r.LightGbmFavCartClickAuc); Row("model + LightGBM", r.Blend, r.BlendFavCartClickAuc);
        CliCommon.Out.Write(d);
        CliCommon.Out.WriteLine($"{TianchiTime.ToText(r.Day)[..10]}: {r.Candidates} candidates, candidate recall {F(r.CandidateRecall)}, {r.Model.Score!.Truth} purchases");
    }
}
