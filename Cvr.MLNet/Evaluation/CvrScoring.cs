using Cvr.MLNet.Data;
using Cvr.MLNet.Pipeline;
using Cvr.MLNet.Samples;
using Cvr.MLNet.Training;
using Cvr.MLNet.Transforms;
using Cvr.MLNet.Transforms.Counts;
using Microsoft.ML;

namespace Cvr.MLNet.Evaluation;

/// <summary>Batched scoring of (user, item, category, time) rows with a fitted or loaded CVR chain.</summary>
public static class CvrScoring
{
    /// <summary>A samples-like view of requests: <c>UserId, ItemId, CategoryId</c> and <c>Time</c> (all at <paramref name="hour"/>).</summary>
    public static IDataView Requests(int[] users, int[] items, int[] categories, int hour)
    {
        var hours = new int[users.Length];
        Array.Fill(hours, hour);
        return Requests(users, items, categories, hours);
    }

    /// <summary>A samples-like view of requests with one hour per row.</summary>
    public static IDataView Requests(int[] users, int[] items, int[] categories, int[] hours)
    {
        if (items.Length != users.Length || categories.Length != users.Length || hours.Length != users.Length)
            throw new ArgumentException("users, items, categories and hours differ in length.");
        return new ArrayDataView(users.Length,
        [
            ArrayColumn.Int32(CvrColumns.UserId, users), ArrayColumn.Int32(CvrColumns.ItemId, items),
            ArrayColumn.Int32(CvrColumns.CategoryId, categories), ArrayColumn.HourTime(CvrColumns.Time, hours),
        ]);
    }

    /// <summary>Runs the chain's feature transforms, then the CVR model's batched scoring.</summary>
    public static (float[] PFavCart, float[] PBuy) Score(ITransformer model, IDataView input)
    {
        var (features, cvr) = Split(model);
        return cvr.Score(features.Aggregate(input, (v, t) => t.Transform(v)));
    }

    /// <summary>The transformers before the CVR model, and the model.</summary>
    public static (IReadOnlyList<ITransformer> Features, CvrModelTransformer Model) Split(ITransformer model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var all = model.Flatten().ToList();
        int k = all.FindIndex(t => t is CvrModelTransformer);
        if (k < 0) throw new ArgumentException("The model holds no CVR model transformer (is it a model written by cvr train?).", nameof(model));
        return (all.Take(k).ToList(), (CvrModelTransformer)all[k]);
    }

    /// <summary>The last hour of the log the model's behavior state was fitted on.</summary>
    public static int FittedLastHour(ITransformer model) =>
        model.Flatten().OfType<BehaviorCountsTransformer>().FirstOrDefault()?.Store.FittedLastHour
        ?? throw new ArgumentException("The model has no behavior-count state (BehaviorCountsTransformer).", nameof(model));

    /// <summary>Appends the log's events with hours in [fromHour, toHour) to every model's behavior state.</summary>
    /// <returns>Events appended.</returns>
    public static int AppendEvents(EventLog log, int fromHour, int toHour, params ITransformer[] models)
    {
        var hours = log.HourSpan; var users = log.UserIdSpan; var items = log.ItemIdSpan; var cats = log.CategoryIdSpan; var beh = log.BehaviorSpan;
        int n = 0;
        for (int r = 0; r < log.Count; r++)
        {
            int h = hours[r];
            if (h < fromHour || h >= toHour) continue;
            var time = TianchiTime.FromHour(h);
            foreach (var m in models) m.AppendEvent(users[r], items[r], cats[r], (BehaviorType)beh[r], time);
            n++;
        }
        return n;
    }
}
