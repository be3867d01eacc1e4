using Cvr.MLNet.Data;

namespace Cvr.MLNet.Evaluation;

/// <summary>
/// The classic Tianchi rule: predict for day D the (user, item ∈ P) pairs the user carted on day D−1
/// and did not buy on day D−1.
/// </summary>
public static class CartRuleBaseline
{
    /// <summary>The rule's prediction for the day starting at <paramref name="dayStartHour"/>.</summary>
    public static HashSet<(int User, int Item)> Predict(EventLog log, int dayStartHour, ItemCatalog? items)
    {
        ArgumentNullException.ThrowIfNull(log);
        var carted = new HashSet<(int, int)>(); var bought = new HashSet<(int, int)>();
        var hours = log.HourSpan; var beh = log.BehaviorSpan;
        for (int r = 0; r < log.Count; r++)
        {
            if (hours[r] < dayStartHour - 24 || hours[r] >= dayStartHour) continue;
            var pair = (log.UserIdSpan[r], log.ItemIdSpan[r]);
            if (beh[r] == (byte)BehaviorType.Cart) carted.Add(pair);
            else if (beh[r] == (byte)BehaviorType.Buy) bought.Add(pair);
        }
        carted.ExceptWith(bought);
        if (items is not null) carted.RemoveWhere(p => !items.Contains(p.Item2));
        return carted;
    }
}
