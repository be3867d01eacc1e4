using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Cvr.MLNet.Data;
using Cvr.MLNet.Training;
using Microsoft.ML;
using Spectre.Console;

namespace Cvr.MLNet.Cli.Commands;

/// <summary><c>cvr train</c>: samples → features → CVR model, saved as a standard ML.NET model zip.</summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Events CSV or a folder holding tianchi_mobile_recommend_train_user.csv.", Required = true };
        var model = new Option<string>("--model") { Description = "Where to write the ML.NET model zip.", Required = true };
        var epochs = new Option<int>("--epochs") { Description = "Training epochs.", DefaultValueFactory = _ => 5 };
        var batch = new Option<int>("--batch-size") { Description = "Training batch size.", DefaultValueFactory = _ => 128 };
        var seed = new Option<int>("--seed") { Description = "Seed of initialization, shuffling and splits.", DefaultValueFactory = _ => 42 };
        var device = new Option<string>("--device") { Description = "cpu, cuda or auto.", DefaultValueFactory = _ => "cpu" };
        var negRate = new Option<double>("--negative-rate") { Description = "Keep rate of negative samples (weights 1/r).", DefaultValueFactory = _ => 1.0 };
        var lr = new Option<double>("--learning-rate") { Description = "Adam learning rate.", DefaultValueFactory = _ => 1e-3 };
        var threads = new Option<int>("--threads") { Description = "libtorch threads (0 = default).", DefaultValueFactory = _ => 0 };
        var resume = new Option<bool>("--resume") { Description = "Continue an interrupted run from its checkpoint (MODEL.ckpt, written after every epoch)." };
        var skip = new Option<bool>("--skip-bad-rows") { Description = "Skip and count invalid rows instead of stopping." };
        var maxRows = new Option<int>("--max-rows-in-memory")
        {
            Description = "Most samples whose features are held at once; more train in shuffled windows of this many (0 = hold all).",
            DefaultValueFactory = _ => new CvrTrainerOptions().MaxRowsInMemory,
        };
        var json = CliCommon.JsonOption();
        var cmd = new Command("train", "Train the multi-task CVR model (DIN + SE + PLE + FM towers, ESM²) and save it as an ML.NET model zip.");
        foreach (var o in new Option[] { data, model, epochs, batch, seed, device, negRate, lr, threads, maxRows, resume, skip, json }) cmd.Options.Add(o);
        CliCommon.SetAction(cmd, (parse, ct) =>
        {
            var paths = TianchiPaths.Resolve(parse.GetValue(data)!);
            var log = CliCommon.WithProgress($"Reading {Path.GetFileName(paths.EventsPath)}",
                p => TianchiReader.ReadEvents(paths.EventsPath, new TianchiReadOptions { SkipBadRows = parse.GetValue(skip) }, p, ct));
            var options = new CvrPipelineOptions();
            options.Samples.NegativeKeepRate = parse.GetValue(negRate);
            options.Samples.Seed = parse.GetValue(seed);
            var t = options.Trainer;
            t.Epochs = parse.GetValue(epochs); t.BatchSize = parse.GetValue(batch); t.Seed = parse.GetValue(seed);
            t.Device = parse.GetValue(device)!; t.LearningRate = parse.GetValue(lr); t.Threads = parse.GetValue(threads);
            t.MaxRowsInMemory = parse.GetValue(maxRows);
            t.CancellationToken = ct;
            var modelPath = parse.GetValue(model)!;
            t.CheckpointPath = modelPath + ".ckpt";
            t.Resume = parse.GetValue(resume);
            var ml = new MLContext(t.Seed);
            var result = CliCommon.WithProgress("Training", p =>
            {
                t.Progress = new CliCommon.SyncProgress<CvrTrainingProgress>(r => p.Report(r.Fraction));
                return CvrPipeline.Train(ml, log, options);
            });
            var path = modelPath;
            Cvr.MLNet.Serving.CvrModel.Save(ml, result.Model, result.InputSchema, path); // temp file + rename: an old model survives a failure
            File.Delete(t.CheckpointPath); // the run finished: its checkpoint is no longer needed
            var obj = ToJson(result, path);
            if (parse.GetValue(json)) CliCommon.WriteJson(obj);
            else Print(result, path);
            return 0;
        });
        return cmd;
    }

    private static JsonObject Task(TaskMetrics? m) => m is null ? new JsonObject() : new JsonObject
    {
        ["auc"] = Num(m.Auc), ["logLoss"] = Num(m.LogLoss), ["accuracy"] = Num(m.Accuracy), ["positiveRate"] = Num(m.PositiveRate),
    };

    private static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;

    internal static JsonObject ToJson(CvrTrainResult r, string path)
    {
        var epochs = new JsonArray();
        foreach (var e in r.History)
            epochs.Add(new JsonObject { ["epoch"] = e.Epoch, ["trainLoss"] = Num(e.TrainLoss), ["validationLoss"] = e.ValidationLoss is { } v ? Num(v) : null, ["samplesPerSecond"] = Num(e.SamplesPerSecond) });
        return new JsonObject
        {
            ["buy"] = Task(r.Validation?.Buy),
            ["favCart"] = Task(r.Validation?.FavCart),
            ["bestEpoch"] = r.BestEpoch,
            ["samples"] = r.Samples.Count,
            ["validationSamples"] = r.Validation?.Samples ?? 0,
            ["featureRowsHeld"] = r.PeakFeatureRows,
            ["featureBytesHeld"] = r.PeakFeatureBytes,
            ["epochs"] = epochs,
            ["seconds"] = Math.Round(r.Elapsed.TotalSeconds, 2),
            ["model"] = Path.GetFullPath(path),
        };
    }

    private static void Print(CvrTrainResult r, string path)
    {
        var table = new Table().AddColumns("task", "AUC", "log-loss", "accuracy", "positive rate");
        void Row(string name, TaskMetrics? m)
        {
            if (m is null) return;
            table.AddRow(name, F(m.Auc), F(m.LogLoss), F(m.Accuracy), m.PositiveRate.ToString("P2", CultureInfo.InvariantCulture));
        }
        Row("buy", r.Validation?.Buy);
        Row("fav/cart", r.Validation?.FavCart);
        CliCommon.Out.Write(table);
        CliCommon.Out.MarkupLineInterpolated($"{r.Samples.Count} samples, best epoch {r.BestEpoch}, {r.Elapsed.TotalSeconds:F1} s; model saved to [bold]{path}[/]");
        static string F(double v) => v.ToString("F4", CultureInfo.InvariantCulture);
    }
}
