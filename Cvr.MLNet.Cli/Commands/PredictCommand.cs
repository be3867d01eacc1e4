using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Cvr.MLNet.Data;
using Cvr.MLNet.Serving;
using Microsoft.ML;

namespace Cvr.MLNet.Cli.Commands;

/// <summary><c>cvr predict</c>: scores one request with a saved model through a PredictionEngine.</summary>
public static class PredictCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "A model zip written by cvr train.", Required = true };
        var user = new Option<int>("--user") { Description = "user_id.", Required = true };
        var item = new Option<int>("--item") { Description = "item_id.", Required = true };
        var category = new Option<int>("--category") { Description = "item_category.", Required = true };
        var time = new Option<string>("--time") { Description = "Request time \"yyyy-MM-dd HH\" (after the training log's end).", Required = true };
        var json = CliCommon.JsonOption();
        var cmd = new Command("predict", "Score one (user, item, time) request: P(buy) and P(fav/cart) within the horizon.");
        foreach (var o in new Option[] { model, user, item, category, time, json }) cmd.Options.Add(o);
        CliCommon.SetAction(cmd, (parse, ct) =>
        {
            var timeText = parse.GetValue(time)!;
            if (!TianchiTime.TryParse(timeText, out var hour))
                throw new FormatException($"--time '{timeText}' is not a time in the format {TianchiTime.Format}.");
            var ml = new MLContext();
            var loaded = CvrModel.Load(ml, parse.GetValue(model)!, out _); // validates the zip before ML.NET reads it
            var engine = ml.Model.CreatePredictionEngine<CvrRequest, CvrPrediction>(loaded);
            var p = engine.Predict(new CvrRequest
            {
                UserId = parse.GetValue(user), ItemId = parse.GetValue(item), CategoryId = parse.GetValue(category), Time = TianchiTime.FromHour(hour),
            });
            if (parse.GetValue(json)) CliCommon.WriteJson(new JsonObject { ["pBuy"] = p.PBuy, ["pFavCart"] = p.PFavCart });
            else Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"P(buy) = {p.PBuy:F6}   P(fav/cart) = {p.PFavCart:F6}"));
            return 0;
        });
        return cmd;
    }
}
