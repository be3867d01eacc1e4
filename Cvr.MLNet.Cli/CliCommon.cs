using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Cvr.MLNet.Cli;

/// <summary>
/// The contract every <c>cvr</c> command follows: <c>--json</c> prints exactly one JSON object on
/// stdout; progress goes to stderr; an error is one line on stderr and exit code 1, with the stack
/// trace only under <c>--verbose</c>.
/// </summary>
public static class CliCommon
{
    /// <summary>Shared <c>--json</c> option.</summary>
    public static Option<bool> JsonOption() => new("--json") { Description = "Print exactly one JSON object on stdout (progress and messages go to stderr)." };

    /// <summary>Global <c>--verbose</c> option (stack traces on errors).</summary>
    public static readonly Option<bool> Verbose = new("--verbose") { Description = "Show stack traces on errors.", Recursive = true };

    /// <summary>Console for progress and human-readable output on stderr (stdout stays clean for JSON).</summary>
    public static IAnsiConsole Err { get; set; } = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });

    /// <summary>Console for human-readable results on stdout.</summary>
    public static IAnsiConsole Out { get; set; } = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });

    /// <summary>JSON options used for every <c>--json</c> output.</summary>
    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Writes one JSON object on stdout.</summary>
    public static void WriteJson(JsonObject obj) => Console.Out.WriteLine(obj.ToJsonString(Json));

    /// <summary>Sets a command's action, wrapping it in the shared error contract.</summary>
    public static void SetAction(Command command, Func<ParseResult, CancellationToken, int> action) =>
        command.SetAction((parse, ct) => Task.FromResult(Run(parse, () => action(parse, ct))));

    /// <summary>Runs a command body: any exception becomes one line on stderr and exit code 1.</summary>
    public static int Run(ParseResult parse, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            var inner = ex is AggregateException { InnerExceptions.Count: 1 } agg ? agg.InnerException! : ex;
            Console.Error.WriteLine($"error: {OneLine(inner.Message)}");
            if (parse.GetValue(Verbose)) Console.Error.WriteLine(inner.ToString());
            return 1;
        }
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();

    /// <summary>Runs <paramref name="work"/> under a Spectre progress bar on stderr (none when stderr is redirected and not a terminal).</summary>
    public static T WithProgress<T>(string title, Func<IProgress<double>, T> work)
    {
        T result = default!;
        if (Console.IsErrorRedirected)
        {
            return work(new Progress<double>(_ => { }));
        }
        Err.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(title, maxValue: 1.0);
                result = work(new SyncProgress(v => task.Value = Math.Clamp(v, 0, 1)));
                task.Value = 1.0;
            });
        return result;
    }

    /// <summary>An <see cref="IProgress{T}"/> that reports on the caller's thread (no sync-context posting).</summary>
    public sealed class SyncProgress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }

    /// <summary>A typed <see cref="IProgress{T}"/> that reports on the caller's thread.</summary>
    public sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
