using Cvr.MLNet.Data;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Cvr.MLNet.Transforms;

/// <summary>Host-app helpers over a fitted or loaded CVR pipeline.</summary>
public static class CvrModelExtensions
{
    /// <summary>
    /// Appends a live event to every transform of <paramref name="model"/> that keeps behavior state,
    /// so serving features include it. Safe to call while other threads score (lock-free readers).
    /// </summary>
    /// <returns>How many transforms took the event (0 means the model has no behavior state).</returns>
    public static int AppendEvent(this ITransformer model, int userId, int itemId, int categoryId, BehaviorType behavior, DateTime time)
    {
        int n = 0;
        foreach (var t in Flatten(model).OfType<IAcceptLiveEvents>()) { t.AppendEvent(userId, itemId, categoryId, behavior, time); n++; }
        return n;
    }

    /// <summary>The transformers of a (possibly nested) chain, in order.</summary>
    public static IEnumerable<ITransformer> Flatten(this ITransformer model)
    {
        if (model is IEnumerable<ITransformer> chain)
        {
            foreach (var t in chain)
                foreach (var inner in Flatten(t)) yield return inner;
        }
        else yield return model;
    }
}
