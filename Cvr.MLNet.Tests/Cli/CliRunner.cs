using Cvr.MLNet.Cli;
using Spectre.Console;

namespace Cvr.MLNet.Tests.Cli;

/// <summary>Runs the <c>cvr</c> command tree in-process with stdout/stderr captured (callers are [DoNotParallelize]).</summary>
internal static class CliRunner
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var oldOut = Console.Out;
        var oldErr = Console.Error;
        var oldAnsi = CliCommon.Out;
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        try
        {
            Console.SetOut(stdout);
            Console.SetError(stderr);
            CliCommon.Out = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(stdout), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors,
            });
            int code = Program.BuildRoot().Parse(args).Invoke();
            return (code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
            CliCommon.Out = oldAnsi;
        }
    }
}
