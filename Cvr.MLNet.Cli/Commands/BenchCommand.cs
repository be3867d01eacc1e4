using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Cvr.MLNet.Benchmarks;
using Cvr.MLNet.Data;
using Cvr.MLNet.Data.Generation;
using Spectre.Console;

namespace Cvr.MLNet.Cli.Commands;

/// <summary>
/// <c>cvr bench</c>: training, batch inference, single-request latency and feature-pipeline speed, and
/// with <c>--compare-pytorch</c> the PyTorch reference's numbers from the same invocation and the ratios.
/// </summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var seconds = new Option<double>("--seconds") { Description = "Timed seconds per training batch size (inference gets half).", DefaultValueFactory = _ => 10.0 };
        var warmup = new Option<double>("--warmup") { Description = "Warm-up seconds before each timed window.", DefaultValueFactory = _ => 3.0 };
        var threads = new Option<int>("--threads") { Description = "libtorch threads (PyTorch gets the same).", DefaultValueFactory = _ => 2 };
        var compare = new Option<bool>("--compare-pytorch") { Description = "Also run the PyTorch reference (cvr_torch.py bench --tuned) and print ratios." };
        var reference = new Option<string?>("--reference") { Description = "Path of cvr_torch.py (default: shared/bench/reference/cvr_torch.py found upwards)." };
        var python = new Option<string>("--python") { Description = "Python with torch.", DefaultValueFactory = _ => "/usr/bin/python3" };
        var events = new Option<string?>("--events") { Description = "Events CSV (or its folder) for the feature pipeline and the lookups (default: a generated full-scale log, cached in the temp folder)." };
        var dense = new Option<bool>("--dense") { Description = "Dense Adam over every parameter instead of row-wise id-table updates (both sides)." };
        var noTune = new Option<bool>("--no-tune") { Description = "Leave glibc malloc and OpenMP at their defaults in this process (the reference still runs --tuned)." };
        var noInferenceMode = new Option<bool>("--no-inference-mode") { Description = "Score under no_grad() instead of inference_mode() (to measure that lever)." };
        var parts = new Option<string>("--parts") { Description = "Comma list of train,infer,latency,features.", DefaultValueFactory = _ => "train,infer,latency,features" };
        var json = CliCommon.JsonOption();
        var noManaged = new Option<bool>("--no-managed-scorer") { Description = "Score single requests with a batch-1 libtorch forward instead of the managed scorer (to measure that lever)." };
        var noManagedBatch = new Option<bool>("--no-managed-batch") { Description = "Score inference batches with the libtorch forward instead of the managed batched forward (to measure that lever)." };
        var workers = new Option<int>("--workers") { Description = "Data-parallel training workers: 0 = the trainer's automatic choice per batch size (its default), 1 = off, 2 = two halves on two 1-thread workers.", DefaultValueFactory = _ => 0 };
        var trainBatches = new Option<string>("--train-batch-sizes") { Description = "Comma list of training batch sizes (the reference gets the same).", DefaultValueFactory = _ => "128,1024,4096" };
        var cmd = new Command("bench", "Measure training, inference, single-request latency and feature-pipeline speed (optionally against PyTorch).");
        foreach (var o in new Option[] { seconds, warmup, threads, compare, reference, python, events, dense, workers, trainBatches, noTune, noInferenceMode, noManaged, noManagedBatch, parts, json }) cmd.Options.Add(o);
        CliCommon.SetAction(cmd, (parse, ct) =>
        {
            // Before any TorchSharp call: libgomp reads OMP_WAIT_POLICY when libtorch loads.
            if (!parse.GetValue(noTune)) ProcessTuning.Apply();
            var sel = parse.GetValue(parts)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var s in sel)
                if (s is not ("train" or "infer" or "latency" or "features"))
                    throw new ArgumentException($"--parts: unknown part '{s}'; expected train, infer, latency, features.");
            var batchSizes = parse.GetValue(trainBatches)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(b => int.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0 ? v
                    : throw new ArgumentException($"--train-batch-sizes: '{b}' is not a positive whole number.")).ToArray();
            double secs = parse.GetValue(seconds);
            var options = new CvrBenchmarkOptions
            {
                TrainSeconds = secs, InferSeconds = secs / 2, WarmupSeconds = parse.GetValue(warmup), Threads = parse.GetValue(threads),
                SparseIdUpdates = !parse.GetValue(dense), InferenceMode = !parse.GetValue(noInferenceMode), ManagedScorer = !parse.GetValue(noManaged), ManagedBatch = !parse.GetValue(noManagedBatch),
                Workers = parse.GetValue(workers), TrainBatchSizes = batchSizes,
                Train = sel.Contains("train"), Infer = sel.Contains("infer"), Latency = sel.Contains("latency"), Features = sel.Contains("features"),
            }.Check();
            void Log(string m) => Console.Error.WriteLine(m);

            PyTorchResult? torchResult = null;
            if (parse.GetValue(compare))
            {
                var script = parse.GetValue(reference) ?? PyTorchReference.Find()
                    ?? throw new FileNotFoundException("--compare-pytorch: shared/bench/reference/cvr_torch.py not found above the working directory; pass --reference PATH.");
                Log($"running the PyTorch reference {script} (--tuned, {options.Threads} threads)...");
                torchResult = new PyTorchReference { ScriptPath = script, Python = parse.GetValue(python)! }.Run(options, Log, ct);
            }

            EventLog? log = null;
            double readSeconds = 0;
            if (options.Features || options.Latency)
            {
                var path = parse.GetValue(events) ?? FullScaleLog(Log);
                var sw = Stopwatch.StartNew();
                log = TianchiReader.ReadEvents(TianchiPaths.Resolve(path).EventsPath, ct: ct);
                readSeconds = sw.Elapsed.TotalSeconds;
                Log($"read {log.Count:N0} events in {readSeconds:F1} s");
            }
            var result = new CvrBenchmark(options, Log).Run(log, ct);
            var report = Report(result, torchResult, log?.Count, readSeconds);
            if (parse.GetValue(json)) CliCommon.WriteJson(report);
            else PrintTable(result, torchResult);
            return 0;
        });
        return cmd;
    }

    /// <summary>The full preset (12.26 M rows) generated once into the temp folder and reused.</summary>
    private static string FullScaleLog(Action<string> log)
    {
        var dir = Path.Combine(Path.GetTempPath(), "cvr-bench-full-seed1");
        var file = Path.Combine(dir, TianchiFiles.EventsFileName);
        if (File.Exists(file) && File.Exists(Path.Combine(dir, ".complete"))) return file;
        log($"generating the full-scale log into {dir} (once, ~30 s)...");
        new TianchiGenerator(GeneratorOptions.Full()).Generate(dir);
        File.WriteAllText(Path.Combine(dir, ".complete"), "");
        return file;
    }

    private static double Mb(long bytes) => bytes < 0 ? double.NaN : Math.Round(bytes / 1048576.0, 1);

    /// <summary>The --json object: our numbers, the reference's, and ratios (> 1 = we are faster).</summary>
    public static JsonObject Report(CvrBenchmarkResult r, PyTorchResult? t, long? events, double readSeconds)
    {
        static JsonObject Rates(IEnumerable<KeyValuePair<int, double>> d)
        {
            var o = new JsonObject();
            foreach (var (k, v) in d) o[k.ToString(CultureInfo.InvariantCulture)] = Math.Round(v, 1);
            return o;
        }
        var ours = new JsonObject
        {
            ["trainSamplesPerSec"] = Rates(r.Train.Select(x => KeyValuePair.Create(x.Key, x.Value.SamplesPerSecond))),
            ["inferSamplesPerSec"] = Rates(r.Infer.Select(x => KeyValuePair.Create(x.Key, x.Value.SamplesPerSecond))),
            ["singleLatencyUs"] = r.Latency is { } l ? new JsonObject { ["p50"] = Math.Round(l.P50Us, 1), ["p99"] = Math.Round(l.P99Us, 1), ["p90"] = Math.Round(l.P90Us, 1), ["mean"] = Math.Round(l.MeanUs, 1), ["calls"] = l.Calls } : null,
            ["featureLookupUs"] = r.FeatureLookup is { } fl ? new JsonObject { ["p50"] = Math.Round(fl.P50Us, 2), ["p99"] = Math.Round(fl.P99Us, 2), ["p90"] = Math.Round(fl.P90Us, 2), ["mean"] = Math.Round(fl.MeanUs, 2), ["calls"] = fl.Calls } : null,
            ["featureEventsPerSec"] = r.Features is { } f ? Math.Round(f.EventsPerSecond) : null,
        };
        var peak = new JsonObject
        {
            ["train"] = new JsonObject(r.Train.Select(x => KeyValuePair.Create(x.Key.ToString(CultureInfo.InvariantCulture), (JsonNode?)Mb(x.Value.PeakRssBytes)))),
            ["infer"] = r.Infer.Count == 0 ? null : Mb(r.Infer.Values.Max(x => x.PeakRssBytes)),
            ["latency"] = r.Latency is { } l2 ? Mb(l2.PeakRssBytes) : null,
            ["features"] = r.Features is { } f2 ? Mb(f2.PeakRssBytes) : null,
        };
        ours["peakMemoryMB"] = peak;
        ours["details"] = new JsonObject
        {
            ["parameters"] = r.Parameters,
            ["threads"] = r.Threads,
            ["gemm1024Gflops"] = Math.Round(r.Gemm1024Gflops, 1),
            ["environment"] = new JsonObject(r.Environment.Select(x => KeyValuePair.Create(x.Key, (JsonNode?)x.Value))),
            ["loadAverage1m"] = new JsonArray(r.LoadAverage.Select(x => (JsonNode?)x).ToArray()),
            ["trainWorkers"] = new JsonObject(r.Train.Select(x => KeyValuePair.Create(x.Key.ToString(CultureInfo.InvariantCulture), (JsonNode?)x.Value.Workers))),
            ["trainMedianStepSamplesPerSec"] = Rates(r.Train.Select(x => KeyValuePair.Create(x.Key, x.Value.MedianStepSamplesPerSecond))),
            ["trainLossFirstLast"] = new JsonObject(r.Train.Select(x => KeyValuePair.Create(x.Key.ToString(CultureInfo.InvariantCulture),
                (JsonNode?)new JsonArray(x.Value.LossFirstLast!.Select(v => (JsonNode?)Math.Round(v, 4)).ToArray())))),
            ["trainPhaseShare"] = new JsonObject(r.Train.Select(x => KeyValuePair.Create(x.Key.ToString(CultureInfo.InvariantCulture),
                (JsonNode?)new JsonObject(x.Value.PhaseShare!.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value)))))),
            ["cpuUtilization"] = new JsonObject(r.Train.Select(x => KeyValuePair.Create("train" + x.Key, (JsonNode?)Math.Round(x.Value.CpuUtilization, 2)))
                .Concat(r.Infer.Select(x => KeyValuePair.Create("infer" + x.Key, (JsonNode?)Math.Round(x.Value.CpuUtilization, 2))))),
            ["features"] = r.Features is { } f3 ? new JsonObject
            {
                ["events"] = f3.Events, ["samples"] = f3.Samples, ["seconds"] = Math.Round(f3.Seconds, 2),
                ["cpuSeconds"] = Math.Round(f3.CpuSeconds, 2), ["eventsPerCpuSec"] = Math.Round(f3.Events / Math.Max(1e-9, f3.CpuSeconds)),
                ["partSeconds"] = new JsonObject(f3.PartSeconds.Select(x => KeyValuePair.Create(x.Key, (JsonNode?)Math.Round(x.Value, 2)))),
                ["partCpuSeconds"] = new JsonObject(f3.PartCpuSeconds.Select(x => KeyValuePair.Create(x.Key, (JsonNode?)Math.Round(x.Value, 2)))),
                ["fillStepSeconds"] = new JsonObject(f3.FillStepSeconds.Select(x => KeyValuePair.Create(x.Key, (JsonNode?)Math.Round(x.Value, 2)))),
                ["readPath"] = f3.ReadPath,
                ["tableMB"] = Mb(f3.TableBytes),
                ["trainingWindowRows"] = f3.WindowRows,
                ["trainingWindowFillSeconds"] = Math.Round(f3.WindowFillSeconds, 3),
                ["gcCollections"] = new JsonArray(f3.Collections.Select(n => (JsonNode?)n).ToArray()),
                ["gcPauseSeconds"] = Math.Round(f3.GcPauseSeconds, 3),
                ["gcMode"] = f3.GcMode,
                ["jitSeconds"] = Math.Round(f3.JitSeconds, 3),
                ["jitMethods"] = f3.JitMethods,
                ["readEventsPerSec"] = events is { } e && readSeconds > 0 ? Math.Round(e / readSeconds) : null,
            } : null,
        };
        if (t is null) return ours;
        ours["pytorch"] = new JsonObject
        {
            ["trainSamplesPerSec"] = Rates(t.Train), ["inferSamplesPerSec"] = Rates(t.Infer),
            ["singleLatencyUs"] = t.LatencyP50Us is { } p50 ? new JsonObject { ["p50"] = p50, ["p99"] = t.LatencyP99Us } : null,
            ["featureEventsPerSec"] = null,
            ["peakMemoryMB"] = Mb(t.PeakRssBytes),
            ["raw"] = t.Raw.DeepClone(),
        };
        static JsonObject Ratio(SortedDictionary<int, ThroughputResult> ours, SortedDictionary<int, double> theirs)
        {
            var o = new JsonObject();
            foreach (var (k, v) in ours)
                if (theirs.TryGetValue(k, out var b) && b > 0) o[k.ToString(CultureInfo.InvariantCulture)] = Math.Round(v.SamplesPerSecond / b, 2);
            return o;
        }
        // Per CPU-second: each side's samples/s divided by its own CPU utilisation, which corrects for
        // the load changing between the two back-to-back runs on a shared machine.
        static JsonObject CpuRatio(SortedDictionary<int, ThroughputResult> ours, JsonNode? theirs)
        {
            var o = new JsonObject();
            foreach (var (k, v) in ours)
            {
                var t = theirs?[k.ToString(CultureInfo.InvariantCulture)];
                double? sps = t?["samples_per_s"]?.GetValue<double>(), cpu = t?["cpu_util"]?.GetValue<double>();
                if (sps is > 0 && cpu is > 0 && v.CpuUtilization > 0)
                    o[k.ToString(CultureInfo.InvariantCulture)] = Math.Round(v.SamplesPerSecond / v.CpuUtilization / (sps.Value / cpu.Value), 2);
            }
            return o;
        }
        ours["ratiosPerCpuSecond"] = new JsonObject
        {
            ["trainSamplesPerSec"] = CpuRatio(r.Train, t.Raw["train"]),
            ["inferSamplesPerSec"] = CpuRatio(r.Infer, t.Raw["infer"]),
        };
        ours["ratios"] = new JsonObject
        {
            ["trainSamplesPerSec"] = Ratio(r.Train, t.Train),
            ["inferSamplesPerSec"] = Ratio(r.Infer, t.Infer),
            // Latency ratios are PyTorch ÷ ours, so > 1 means faster here too.
            ["singleLatencyUs"] = r.Latency is { } l3 && t.LatencyP50Us is { } tp50 && t.LatencyP99Us is { } tp99
                ? new JsonObject { ["p50"] = Math.Round(tp50 / l3.P50Us, 2), ["p99"] = Math.Round(tp99 / l3.P99Us, 2) } : null,
        };
        return ours;
    }

    private static void PrintTable(CvrBenchmarkResult r, PyTorchResult? t)
    {
        var table = new Table().AddColumn("metric").AddColumn(new TableColumn("Cvr.MLNet").RightAligned());
        if (t is not null) table.AddColumn(new TableColumn("PyTorch (tuned)").RightAligned()).AddColumn(new TableColumn("ratio").RightAligned());
        string N(double v) => v.ToString("N0", CultureInfo.InvariantCulture);
        void Row(string name, double ours, double? theirs, bool lowerIsBetter = false, string unit = "")
        {
            if (t is null) { table.AddRow(name, N(ours) + unit); return; }
            string ratio = theirs is { } b && b > 0 && ours > 0 ? (lowerIsBetter ? b / ours : ours / b).ToString("0.00", CultureInfo.InvariantCulture) + "×" : "–";
            table.AddRow(name, N(ours) + unit, theirs is { } x ? N(x) + unit : "–", ratio);
        }
        foreach (var (bs, v) in r.Train) Row($"train samples/s, batch {bs}", v.SamplesPerSecond, t?.Train.GetValueOrDefault(bs));
        foreach (var (bs, v) in r.Infer) Row($"inference samples/s, batch {bs}", v.SamplesPerSecond, t?.Infer.GetValueOrDefault(bs));
        if (r.Latency is { } l)
        {
            Row("single request p50", l.P50Us, t?.LatencyP50Us, lowerIsBetter: true, unit: " µs");
            Row("single request p99", l.P99Us, t?.LatencyP99Us, lowerIsBetter: true, unit: " µs");
        }
        if (r.FeatureLookup is { } fl)
        {
            Row("feature lookup p50 (no model)", fl.P50Us, null, unit: " µs");
            Row("feature lookup p99 (no model)", fl.P99Us, null, unit: " µs");
        }
        if (r.Features is { } f) Row("feature pipeline events/s", f.EventsPerSecond, null);
        long peak = Math.Max(r.Train.Values.Concat(r.Infer.Values).Select(x => x.PeakRssBytes).DefaultIfEmpty(0).Max(),
            Math.Max(r.Latency?.PeakRssBytes ?? 0, r.Features?.PeakRssBytes ?? 0));
        Row("peak memory", Mb(peak), t is null ? null : Mb(t.PeakRssBytes), lowerIsBetter: true, unit: " MB");
        CliCommon.Out.Write(table);
        CliCommon.Out.WriteLine($"ratios: > 1 means Cvr.MLNet is faster (latency, memory: PyTorch ÷ ours). {r.Threads} threads, load average {string.Join(" → ", r.LoadAverage.Select(x => x.ToString("0.00", CultureInfo.InvariantCulture)))}.");
    }
}
