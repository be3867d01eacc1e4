using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Cvr.MLNet.Benchmarks;

/// <summary>
/// Runs the PyTorch reference benchmark (<c>cvr_torch.py bench --tuned</c>, Debian's python3-torch) in a
/// child process with the same thread count and timed windows, and reads its JSON. Its peak memory is
/// sampled from <c>/proc/PID/status</c> while it runs.
/// </summary>
public sealed class PyTorchReference
{
    /// <summary>The script, e.g. <c>../shared/bench/reference/cvr_torch.py</c>.</summary>
    public required string ScriptPath { get; init; }
    /// <summary>The interpreter with torch installed (Debian: <c>/usr/bin/python3</c>).</summary>
    public string Python { get; init; } = "/usr/bin/python3";

    /// <summary>Where the reference script usually lies relative to the working directory or the repository.</summary>
    public static string? Find()
    {
        foreach (var dir in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(dir); d is not null; d = d.Parent)
                foreach (var rel in new[] { "shared/bench/reference/cvr_torch.py", "../shared/bench/reference/cvr_torch.py" })
                {
                    var p = Path.GetFullPath(Path.Combine(d.FullName, rel));
                    if (File.Exists(p)) return p;
                }
        return null;
    }

    /// <summary>Runs the reference; throws naming the script and the exit code, with its last stderr lines, if it fails.</summary>
    public PyTorchResult Run(CvrBenchmarkOptions o, Action<string>? log = null, CancellationToken ct = default)
    {
        if (!File.Exists(ScriptPath)) throw new FileNotFoundException($"PyTorch reference '{ScriptPath}' not found; pass --reference PATH.", ScriptPath);
        if (!File.Exists(Python)) throw new FileNotFoundException($"Python '{Python}' not found; install python3-torch (see docs/performance.md).", Python);
        var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
        foreach (var a in new[] { ScriptPath, "bench", "--tuned", "--threads", o.Threads.ToString(CultureInfo.InvariantCulture),
                     "--seconds", F(o.TrainSeconds), "--infer-seconds", F(o.InferSeconds), "--warmup", F(o.WarmupSeconds),
                     "--latency-calls", o.LatencyCalls.ToString(CultureInfo.InvariantCulture),
                     "--batches", string.Join(",", o.TrainBatchSizes), "--infer-batches", string.Join(",", o.InferBatchSizes) })
            psi.ArgumentList.Add(a);
        if (o.SparseIdUpdates) psi.ArgumentList.Add("--sparse");
        if (!o.Infer && !o.Latency) psi.ArgumentList.Add("--train-only");
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {Python}.");
        var stderr = new List<string>();
        p.ErrorDataReceived += (_, e) => { if (e.Data is { } line) { lock (stderr) stderr.Add(line); log?.Invoke("pytorch: " + line); } };
        p.BeginErrorReadLine();
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        long peak = 0;
        while (!p.WaitForExit(100))
        {
            if (ct.IsCancellationRequested) { p.Kill(); ct.ThrowIfCancellationRequested(); }
            peak = Math.Max(peak, ProcessTuning.PeakRss(p.Id));
        }
        p.WaitForExit();
        var text = stdout.Result;
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"PyTorch reference {ScriptPath} exited with code {p.ExitCode}: {string.Join(" | ", stderr.TakeLast(3))}");
        var json = JsonNode.Parse(text.Trim().Split('\n')[^1])?.AsObject()
            ?? throw new InvalidDataException($"PyTorch reference {ScriptPath} printed no JSON object.");
        return PyTorchResult.From(json, peak);
    }
}

/// <summary>The reference's numbers in the shape of <see cref="CvrBenchmarkResult"/>, and its raw JSON.</summary>
public sealed record PyTorchResult(SortedDictionary<int, double> Train, SortedDictionary<int, double> Infer,
    double? LatencyP50Us, double? LatencyP99Us, long PeakRssBytes, JsonObject Raw)
{
    internal static PyTorchResult From(JsonObject j, long peak)
    {
        static SortedDictionary<int, double> Rates(JsonNode? n)
        {
            var d = new SortedDictionary<int, double>();
            if (n is JsonObject o)
                foreach (var (k, v) in o)
                    d[int.Parse(k, CultureInfo.InvariantCulture)] = v!["samples_per_s"]!.GetValue<double>();
            return d;
        }
        var lat = j["single_sample_latency"]?["inference_mode"];
        return new PyTorchResult(Rates(j["train"]), Rates(j["infer"]), lat?["p50_us"]?.GetValue<double>(), lat?["p99_us"]?.GetValue<double>(), peak, j);
    }
}
