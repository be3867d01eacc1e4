using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;
using Cvr.MLNet.Evaluation;

namespace Cvr.MLNet.Cli.Commands;

/// <summary><c>cvr submit</c>: the competition's <c>user_id,item_id</c> file for day D (normally the day after the log).</summary>
public static class SubmitCommand
{
    public static Command Create()
    {
        var common = new EvaluateCommand.ProtocolOptions();
        var output = new Option<string>("--out") { Description = "Where to write the user_id,item_id CSV.", Required = true };
        var json = CliCommon.JsonOption();
        var cmd = new Command("submit", "Write the competition's submission (user_id,item_id pairs predicted to be bought on --day).");
        common.AddTo(cmd);
        cmd.Options.Add(output);
        cmd.Options.Add(json);
        CliCommon.SetAction(cmd, (parse, ct) =>
        {
            var report = common.Run(parse, ct, null, requireTruth: false);
            var path = parse.GetValue(output)!;
            Write(path, report.Model.Predicted);
            var obj = new JsonObject
            {
                ["day"] = Cvr.MLNet.Data.TianchiTime.ToText(report.Day)[..10], ["pairs"] = report.Model.Predicted.Count,
                ["candidates"] = report.Candidates, ["fraction"] = report.Model.Fraction, ["selectionF1"] = report.Model.SelectionF1,
                ["out"] = Path.GetFullPath(path),
            };
            if (parse.GetValue(json)) CliCommon.WriteJson(obj);
            else Console.Out.WriteLine($"{report.Model.Predicted.Count} pairs written to {path}");
            return 0;
        });
        return cmd;
    }

    /// <summary>Writes the submission: header <c>user_id,item_id</c>, one distinct pair per line, sorted, LF endings.</summary>
    public static void Write(string path, IEnumerable<(int User, int Item)> pairs)
    {
        var sb = new StringBuilder("user_id,item_id\n");
        foreach (var (u, i) in pairs.Distinct().Order()) sb.Append(u).Append(',').Append(i).Append('\n');
        File.WriteAllText(path, sb.ToString());
    }
}
