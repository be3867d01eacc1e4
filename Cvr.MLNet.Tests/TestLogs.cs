using Cvr.MLNet.Data;

namespace Cvr.MLNet.Tests;

/// <summary>Small random but learnable logs for tests (the generator's presets test the real process).</summary>
internal static class TestLogs
{
    /// <summary>
    /// Users click items of a few categories; a user who clicked a category in the last day is likelier
    /// to cart and buy (a recency signal), and "good" items (id divisible by 3) convert more.
    /// </summary>
    public static EventLog Random(int users = 60, int days = 10, int seed = 1)
    {
        var rng = new Random(seed);
        var b = new EventLogBuilder("test-log");
        int start = TianchiTime.Parse("2014-12-01 00");
        for (int u = 0; u < users; u++)
        {
            int userId = 1000 + u * 7;
            int favCat = rng.Next(5);
            int lastCatHour = int.MinValue / 2;
            for (int d = 0; d < days; d++)
            {
                int sessions = rng.Next(1, 4);
                for (int s = 0; s < sessions; s++)
                {
                    int hour = start + d * 24 + rng.Next(8, 23);
                    int cat = rng.NextDouble() < 0.7 ? favCat : rng.Next(5);
                    for (int k = 0; k < rng.Next(1, 5); k++)
                    {
                        int item = cat * 100 + rng.Next(30);
                        b.Add(userId, item, BehaviorType.Click, "", cat, hour);
                        double p = 0.05 + (item % 3 == 0 ? 0.15 : 0) + (hour - lastCatHour < 24 ? 0.15 : 0);
                        if (rng.NextDouble() < p) b.Add(userId, item, BehaviorType.Cart, "", cat, hour + rng.Next(0, 2));
                        if (rng.NextDouble() < p * 0.6) b.Add(userId, item, BehaviorType.Buy, "", cat, hour + rng.Next(0, 5));
                    }
                    if (cat == favCat) lastCatHour = hour;
                }
            }
        }
        return b.Build();
    }
}
