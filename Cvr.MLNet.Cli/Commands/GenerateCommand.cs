using System.CommandLine;
using System.Text.Json.Nodes;
using Cvr.MLNet.Data;
using Cvr.MLNet.Data.Generation;
using Spectre.Console;

namespace Cvr.MLNet.Cli.Commands;

/// <summary><c>cvr generate</c>: writes a synthetic Tianchi-format log with its item subset and truth file.</summary>
public static class GenerateCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var outDir = new Option<string>("--out") { Description = "Folder to write the three CSV files into (created if missing).", Required = true };
        var preset = new Option<string>("--preset") { Description = "Size preset: tiny (≈20 k rows), sample (≈400 k rows) or full (12.26 M rows, like the real log).", DefaultValueFactory = _ => "sample" };
        preset.AcceptOnlyFromAmong([.. GeneratorOptions.Presets]);
        var users = new Option<int?>("--users") { Description = "Number of users (keeps the preset's rows per user)." };
        var days = new Option<int?>("--days") { Description = "Days in the log, counted back from 2014-12-18 (default 31)." };
        var seed = new Option<ulong>("--seed") { Description = "Random seed; the same seed gives byte-identical files.", DefaultValueFactory = _ => 1UL };
        var crlf = new Option<bool>("--crlf") { Description = "Write CRLF line endings like the published sample." };
        var json = CliCommon.JsonOption();

        var cmd = new Command("generate", "Generate a realistic Tianchi-format behaviour log with ground-truth conversion probabilities.");
        foreach (var o in new Option[] { outDir, preset, users, days, seed, crlf, json }) cmd.Options.Add(o);
        CliCommon.SetAction(cmd, (parse, ct) =>
        {
            var options = GeneratorOptions.FromPreset(parse.GetValue(preset)!);
            if (parse.GetValue(users) is int u) options.Users = u;
            if (parse.GetValue(days) is int d) options.Days = d;
            options.Seed = parse.GetValue(seed);
            options.Crlf = parse.GetValue(crlf);
            var generator = new TianchiGenerator(options);
            string dir = parse.GetValue(outDir)!;
            var report = CliCommon.WithProgress("generate", p => generator.Generate(dir, p, ct));
            if (parse.GetValue(json))
            {
                CliCommon.WriteJson(ToJson(report, options));
            }
            else
            {
                CliCommon.Out.WriteLine($"Wrote {report.Rows:N0} rows for {report.Users:N0} users ({report.ItemsSeen:N0} items seen, {report.SubsetItems:N0} in P) in {report.Seconds:F1} s:");
                foreach (var f in report.Files) CliCommon.Out.WriteLine($"  {f}");
                CliCommon.Out.WriteLine($"behaviour shares {Pct(report.BehaviorShare(BehaviorType.Click))} / {Pct(report.BehaviorShare(BehaviorType.Favorite))} / {Pct(report.BehaviorShare(BehaviorType.Cart))} / {Pct(report.BehaviorShare(BehaviorType.Buy))}, "
                    + $"duplicates {Pct(report.DuplicateShare)}, empty geohash {Pct(report.EmptyGeohashShare)}, buys with a pair click {Pct(report.BuysWithPairClickShare)}, cart-rule F1 {report.CartRuleF1:F3}");
            }
            return 0;
        });
        return cmd;
    }

    private static string Pct(double v) => $"{100 * v:F2} %";

    /// <summary>The report as the command's JSON object.</summary>
    public static JsonObject ToJson(GeneratorReport r, GeneratorOptions o) => new()
    {
        ["rows"] = r.Rows,
        ["users"] = r.Users,
        ["items"] = r.ItemsSeen,
        ["catalogItems"] = r.Items,
        ["subsetItems"] = r.SubsetItems,
        ["itemFileRows"] = r.ItemFileRows,
        ["truthRows"] = r.TruthRows,
        ["seed"] = o.Seed,
        ["days"] = o.Days,
        ["files"] = new JsonArray([.. r.Files.Select(f => (JsonNode)JsonValue.Create(f))]),
        ["seconds"] = Math.Round(r.Seconds, 3),
        ["stats"] = new JsonObject
        {
            ["behaviorShares"] = new JsonArray([.. Enumerable.Range(1, 4).Select(b => (JsonNode)JsonValue.Create(Math.Round(r.BehaviorShare((BehaviorType)b), 5)))]),
            ["duplicateShare"] = Math.Round(r.DuplicateShare, 4),
            ["emptyGeohashShare"] = Math.Round(r.EmptyGeohashShare, 4),
            ["buysWithPairClickShare"] = Math.Round(r.BuysWithPairClickShare, 4),
            ["usersWithBuyShare"] = Math.Round(r.UsersWithBuy / (double)Math.Max(1, r.Users), 4),
            ["itemsOnOneDayShare"] = Math.Round(r.ItemsSeenOnOneDay / (double)Math.Max(1, r.ItemsSeen), 4),
            ["subsetRowShare"] = Math.Round(r.SubsetRows / (double)Math.Max(1, r.Rows), 4),
            ["clickedPairBoughtNextDay"] = Math.Round(r.ClickedPairDaysBoughtNextDay / (double)Math.Max(1, r.ClickedPairDays), 5),
            ["cartedPairBoughtNextDay"] = Math.Round(r.CartedPairDaysBoughtNextDay / (double)Math.Max(1, r.CartedPairDays), 5),
            ["cartRuleF1"] = Math.Round(r.CartRuleF1, 4),
        },
    };
}
