using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Cvr.MLNet.Analysis;
using Cvr.MLNet.Cli.Analysis;
using Cvr.MLNet.Data;
using Cvr.MLNet.Samples;
using Cvr.MLNet.Serving;
using Microsoft.ML;
using Spectre.Console;

namespace Cvr.MLNet.Cli.Commands;

/// <summary>
/// <c>cvr analyze</c>: behavior-pattern charts of a log (conversion delays, conversion by path, daily and
/// hourly volumes) and, with <c>--model</c>, the model's field weights, training curves and calibration,
/// written as PNGs with a Markdown report page.
/// </summary>
public static class AnalyzeCommand
{
    /// <summary>One chart of the report.</summary>
    internal sealed record Chart(string File, string Title, string Caption);

    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Events CSV or a folder holding tianchi_mobile_recommend_train_user.csv.", Required = true };
        var model = new Option<string?>("--model") { Description = "A model zip from cvr train (adds field weights, training curves and calibration; skipped without it)." };
        var outDir = new Option<string>("--out") { Description = "Folder to write the PNG charts and index.md into (created if missing).", Required = true };
        var days = new Option<int>("--days") { Description = "Whole days of clicks, ending with the last day whose clicks are all labelled, on which the model is analyzed.", DefaultValueFactory = _ => 3 };
        var horizon = new Option<int>("--horizon") { Description = "Hours within which a click, favorite or cart counts as converted.", DefaultValueFactory = _ => 24 };
        var skip = new Option<bool>("--skip-bad-rows") { Description = "Skip and count invalid rows instead of stopping." };
        var json = CliCommon.JsonOption();
        var cmd = new Command("analyze", "Write PNG charts and a report page (index.md) of behavior patterns and, with --model, of the model.");
        foreach (var o in new Option[] { data, model, outDir, days, horizon, skip, json }) cmd.Options.Add(o);
        CliCommon.SetAction(cmd, (parse, ct) =>
        {
            int d = parse.GetValue(days), h = parse.GetValue(horizon);
            if (d < 1) throw new ArgumentOutOfRangeException("--days", d, $"--days must be at least 1, not {d}.");
            if (h < 1) throw new ArgumentOutOfRangeException("--horizon", h, $"--horizon must be at least 1, not {h}.");
            var paths = TianchiPaths.Resolve(parse.GetValue(data)!);
            var read = new TianchiReadOptions { SkipBadRows = parse.GetValue(skip) };
            var log = CliCommon.WithProgress($"Reading {Path.GetFileName(paths.EventsPath)}", p => TianchiReader.ReadEvents(paths.EventsPath, read, p, ct));
            if (log.Count == 0) throw new InvalidOperationException($"The events file '{paths.EventsPath}' has no rows to analyze.");

            // Load the model before writing anything, so a bad zip leaves no half report.
            var ml = new MLContext(1);
            var modelPath = parse.GetValue(model);
            var loaded = modelPath is null ? null : CvrModel.Load(ml, modelPath, out _);

            var dir = Path.GetFullPath(parse.GetValue(outDir)!);
            Directory.CreateDirectory(dir);
            var history = UserHistory.Build(log);
            var (fav, cart) = CvrAnalysis.ConversionDelays(history);
            var conv = CvrAnalysis.ConversionRates(history, h);
            var vol = CvrAnalysis.Volumes(log);
            var m = loaded is null ? null : CvrAnalysis.AnalyzeModel(ml, loaded, log, d, h);

            var charts = new List<Chart>();
            void Add(string file, string title, string caption, Action<string> render)
            {
                Console.Error.WriteLine($"writing {file}");
                render(Path.Combine(dir, file));
                charts.Add(new Chart(file, title, caption));
            }
            string N(long x) => x.ToString("N0", CultureInfo.InvariantCulture);
            string F(double x, string f) => double.IsFinite(x) ? x.ToString(f, CultureInfo.InvariantCulture) : "n/a";
            string P(double x) => double.IsFinite(x) ? (x * 100).ToString("0.00", CultureInfo.InvariantCulture) + "%" : "n/a";

            Add("conversion-delays.png", "Conversion delay",
                $"Hours from the pair's latest favorite / cart to the buy: median {F(fav.MedianHours, "0")} h over {N(fav.Buys)} buys after a favorite, {F(cart.MedianHours, "0")} h over {N(cart.Buys)} buys after a cart.",
                p => ReportCharts.Delays(fav, cart, p));
            Add("conversion-paths.png", "Conversion by path",
                $"Bought within {h} h: {P(conv.FavoriteBuyRate)} of {N(conv.Favorites)} favorites, {P(conv.CartBuyRate)} of {N(conv.Carts)} carts, {P(conv.DirectRate)} of {N(conv.Clicks)} clicks directly ({P(conv.ClickBuyRate)} by any path).",
                p => ReportCharts.Conversion(conv, p));
            Add("daily-volume.png", "Daily volume",
                $"{vol.DayCount} days from {EventVolumes.DayText(vol.FirstDay)}; the busiest day {EventVolumes.DayText(vol.PeakDay!.Value)} has {F(vol.PeakToMedian, "0.00")}× the median day's rows.",
                p => ReportCharts.Daily(vol, p));
            int peakHour = Enumerable.Range(0, 24).MaxBy(i => vol.Hourly.Sum(b => b[i]));
            Add("hourly-volume.png", "Hour-of-day volume", $"Rows by hour of day over all days; the busiest hour is {peakHour}:00.",
                p => ReportCharts.Hourly(vol, p));
            if (m is not null)
            {
                var top = m.FieldImportance.MaxBy(kv => kv.Value);
                Add("field-weights.png", "Feature-field importance",
                    $"Mean squeeze-excitation weight per field on {N(m.Samples)} clicks; the largest is {top.Key} ({F(top.Value, "0.000")}).",
                    p => ReportCharts.FieldWeights(m, p));
                var kept = m.History.FirstOrDefault(e => e.Epoch == m.BestEpoch);
                Add("training-curves.png", "Training curves",
                    $"{m.History.Count} epochs; kept epoch {m.BestEpoch} (train loss {F(kept?.TrainLoss ?? double.NaN, "0.0000")}, validation loss {F(kept?.ValidationLoss ?? double.NaN, "0.0000")}).",
                    p => ReportCharts.TrainingCurves(m, p));
                Add("calibration.png", "Calibration",
                    $"pBuy on {N(m.Samples)} clicks ({N(m.Positives)} bought): mean predicted {P(m.MeanPredicted)} vs observed {P((double)m.Positives / m.Samples)}, ECE {F(m.Ece, "0.0000")}, AUC {F(m.Auc, "0.0000")}.",
                    p => ReportCharts.Calibration(m, p));
            }

            var window = m is null ? null : $"{TianchiTime.ToText(m.FromHour)} to {TianchiTime.ToText(m.ToHour - 1)}";
            File.WriteAllText(Path.Combine(dir, "index.md"), Markdown(log, paths.EventsPath, modelPath, window, m, charts));

            if (parse.GetValue(json))
            {
                var chartArray = new JsonArray(charts.Select(c => (JsonNode)new JsonObject
                {
                    ["file"] = Path.Combine(dir, c.File), ["title"] = c.Title, ["caption"] = c.Caption,
                }).ToArray());
                CliCommon.WriteJson(new JsonObject
                {
                    ["out"] = dir,
                    ["report"] = Path.Combine(dir, "index.md"),
                    ["charts"] = chartArray,
                    ["modelWindow"] = m is null ? null : new JsonObject
                    {
                        ["from"] = TianchiTime.ToText(m.FromHour), ["to"] = TianchiTime.ToText(m.ToHour - 1),
                        ["samples"] = m.Samples, ["inSample"] = m.InSample, ["ece"] = Num(m.Ece), ["auc"] = Num(m.Auc),
                    },
                    ["favoriteBuyRate"] = Num(conv.FavoriteBuyRate), ["cartBuyRate"] = Num(conv.CartBuyRate),
                    ["directRate"] = Num(conv.DirectRate), ["clickBuyRate"] = Num(conv.ClickBuyRate),
                    ["peakDay"] = EventVolumes.DayText(vol.PeakDay!.Value),
                });
            }
            else
            {
                foreach (var c in charts) CliCommon.Out.WriteLine(Path.Combine(dir, c.File));
                CliCommon.Out.WriteLine(Path.Combine(dir, "index.md"));
            }
            return 0;
        });
        return cmd;
    }

    private static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(Math.Round(v, 6)) : null;

    private static string Markdown(EventLog log, string eventsPath, string? modelPath, string? window, ModelAnalysis? m, List<Chart> charts)
    {
        var (first, last) = log.HourRange();
        var sb = new StringBuilder();
        sb.AppendLine("# CVR behavior analysis").AppendLine();
        sb.AppendLine($"- Data: `{eventsPath}`, {log.Count.ToString("N0", CultureInfo.InvariantCulture)} rows, {TianchiTime.ToText(first)} to {TianchiTime.ToText(last)}");
        if (m is null) sb.AppendLine("- Model: none given (--model), so field weights, training curves and calibration are skipped.");
        else
        {
            sb.AppendLine($"- Model: `{Path.GetFullPath(modelPath!)}`, its log ends {TianchiTime.ToText(m.ModelLogLastHour)}");
            sb.AppendLine($"- Model charts use the clicks of {window} ({m.Samples.ToString("N0", CultureInfo.InvariantCulture)} samples), with time, count and sequence features re-fitted on this data and the model's own vocabulary and network"
                + (m.InSample ? "; these days lie inside the model's training log, so its calibration there is in-sample." : "; these days come after the model's training log (out of sample)."));
        }
        sb.AppendLine();
        foreach (var c in charts)
        {
            sb.AppendLine($"## {c.Title}").AppendLine();
            sb.AppendLine($"![{c.Title}]({c.File})").AppendLine();
            sb.AppendLine(c.Caption).AppendLine();
        }
        return sb.ToString();
    }
}
