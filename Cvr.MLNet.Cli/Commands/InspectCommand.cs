using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Cvr.MLNet.Data;
using Spectre.Console;

namespace Cvr.MLNet.Cli.Commands;

/// <summary><c>cvr inspect</c>: validates a Tianchi events file (and the item file next to it) and summarizes it.</summary>
public static class InspectCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "The events CSV (tianchi_mobile_recommend_train_user.csv) or a folder holding it.", Required = true };
        var skip = new Option<bool>("--skip-bad-rows") { Description = "Skip and count rows that fail validation instead of stopping at the first." };
        var json = CliCommon.JsonOption();
        var cmd = new Command("inspect", "Validate a Tianchi behavior log and print its summary (rows, users, items, time range, behavior shares).");
        cmd.Options.Add(data);
        cmd.Options.Add(skip);
        cmd.Options.Add(json);
        CliCommon.SetAction(cmd, (parse, ct) =>
        {
            var sw = Stopwatch.StartNew();
            var paths = TianchiPaths.Resolve(parse.GetValue(data)!);
            var options = new TianchiReadOptions { SkipBadRows = parse.GetValue(skip) };
            var log = CliCommon.WithProgress($"Reading {Path.GetFileName(paths.EventsPath)}",
                p => TianchiReader.ReadEvents(paths.EventsPath, options, p, ct));
            var items = paths.ItemsPath is null ? null
                : CliCommon.WithProgress($"Reading {Path.GetFileName(paths.ItemsPath)}", p => TianchiReader.ReadItems(paths.ItemsPath, options, p, ct));
            var summary = EventLogSummary.Compute(log);
            double seconds = sw.Elapsed.TotalSeconds;
            long peakMb = Process.GetCurrentProcess().PeakWorkingSet64 >> 20;

            if (parse.GetValue(json)) CliCommon.WriteJson(ToJson(summary, log.Diagnostics, seconds, peakMb));
            else Print(paths, summary, log.Diagnostics, items, seconds, peakMb);
            return 0;
        });
        return cmd;
    }

    /// <summary>The <c>--json</c> object (keys are part of the CLI contract).</summary>
    internal static JsonObject ToJson(EventLogSummary s, TianchiReadDiagnostics? diag, double seconds, long peakMb)
    {
        var shares = new JsonObject();
        foreach (var (k, v) in s.BehaviorShares.OrderBy(kv => kv.Key, StringComparer.Ordinal)) shares[k] = v;
        var examples = new JsonArray();
        foreach (var e in diag?.Errors ?? [])
            examples.Add(new JsonObject { ["line"] = e.Line, ["column"] = e.Column, ["value"] = e.Value, ["message"] = e.Message });
        return new JsonObject
        {
            ["rows"] = s.Rows,
            ["users"] = s.Users,
            ["items"] = s.Items,
            ["categories"] = s.Categories,
            ["first"] = s.First,
            ["last"] = s.Last,
            ["behaviorShares"] = shares,
            ["emptyGeohashShare"] = s.EmptyGeohashShare,
            ["badRows"] = s.BadRows,
            ["duplicateShare"] = s.DuplicateShare,
            ["badRowExamples"] = examples,
            ["seconds"] = Math.Round(seconds, 3),
            ["peakMemoryMB"] = peakMb,
        };
    }

    private static void Print(TianchiPaths paths, EventLogSummary s, TianchiReadDiagnostics? diag, ItemCatalog? items, double seconds, long peakMb)
    {
        static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
        static string P(double v) => v.ToString("P2", CultureInfo.InvariantCulture);
        var t = new Table().AddColumn("Statistic").AddColumn(new TableColumn("Value").RightAligned());
        t.Title = new TableTitle(Markup.Escape(paths.EventsPath));
        t.AddRow("rows", N(s.Rows));
        t.AddRow("users", N(s.Users));
        t.AddRow("items", N(s.Items));
        t.AddRow("categories", N(s.Categories));
        t.AddRow("first", s.First ?? "-");
        t.AddRow("last", s.Last ?? "-");
        foreach (var (k, v) in s.BehaviorShares.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            t.AddRow($"behavior {k} ({(BehaviorType)int.Parse(k, CultureInfo.InvariantCulture)})", P(v));
        t.AddRow("empty geohash", P(s.EmptyGeohashShare));
        t.AddRow("duplicate rows", $"{N(s.DuplicateRows)} ({P(s.DuplicateShare)})");
        t.AddRow("bad rows", N(s.BadRows));
        if (items is not null)
        {
            t.AddRow("item file rows", N(items.RowCount));
            t.AddRow("item file distinct items", N(items.Count));
            t.AddRow("item file geohash share", P(items.GeohashShare));
        }
        t.AddRow("seconds", seconds.ToString("F2", CultureInfo.InvariantCulture));
        t.AddRow("peak memory (MB)", N(peakMb));
        CliCommon.Out.Write(t);
        foreach (var e in diag?.Errors ?? [])
            CliCommon.Out.MarkupLineInterpolated($"[yellow]skipped:[/] {e.Message}");
    }
}
