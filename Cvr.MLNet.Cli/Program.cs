using System.CommandLine;
using Cvr.MLNet.Cli.Commands;

namespace Cvr.MLNet.Cli;

/// <summary>Entry point of the <c>cvr</c> command.</summary>
public static class Program
{
    /// <summary>Builds the command tree (also used by tests).</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("cvr — conversion-rate models for Tianchi-format behavior logs (ML.NET + TorchSharp).");
        root.Options.Add(CliCommon.Verbose);
        // Each command lives in Commands/<Name>Command.cs and exposes Create().
        root.Subcommands.Add(GenerateCommand.Create());
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(PredictCommand.Create());
        root.Subcommands.Add(EvaluateCommand.Create());
        root.Subcommands.Add(SubmitCommand.Create());
        root.Subcommands.Add(AnalyzeCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        return root;
    }

    public static int Main(string[] args) => BuildRoot().Parse(args).Invoke();
}
