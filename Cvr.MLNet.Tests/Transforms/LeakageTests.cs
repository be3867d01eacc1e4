using Cvr.MLNet.Data;
using Cvr.MLNet.Samples;
using CsCheck;

namespace Cvr.MLNet.Tests.Transforms;

/// <summary>
/// The point-in-time property: no feature of a sample changes when every event at or after the
/// sample's hour is deleted, and labels change only through such events.
/// </summary>
[TestClass]
public sealed class LeakageTests
{
    private static readonly int Start = TianchiTime.Parse("2014-12-01 00");

    private static readonly Gen<(int User, int Item, int Beh, int Hour)[]> GenLog =
        Gen.Select(Gen.Int[1, 4], Gen.Int[1, 6], Gen.Int[1, 4], Gen.Int[0, 24 * 12]).Array[5, 120];

    private static EventLog Build(IEnumerable<(int User, int Item, int Beh, int Hour)> rows)
    {
        var b = new EventLogBuilder();
        foreach (var (u, i, beh, h) in rows) b.Add(u, i, (BehaviorType)beh, "", i % 3, Start + h);
        return b.Build();
    }

    private static (int[] Items, int[] Behs, float[] Ago, float[] Counts) Features(UserHistory h, int user, int hour)
    {
        var items = new int[20]; var cats = new int[20]; var behs = new int[20]; var ago = new float[20]; var counts = new float[28];
        int u = h.IndexOf(user);
        if (u >= 0)
        {
            BehaviorFeatures.FillSequence(h.EventsOf(u), hour, items, cats, behs, ago);
            BehaviorFeatures.FillCounts(h.EventsOf(u), hour, counts);
        }
        return (items, behs, ago, counts);
    }

    [TestMethod]
    public void NoFeatureSeesTheSampleHourOrLater()
    {
        GenLog.Sample(rows =>
        {
            // Pin the log's range so truncation keeps the same hour range semantics.
            var full = Build(rows.Append((9, 9, 1, 24 * 12)));
            var history = UserHistory.Build(full);
            var samples = CvrSampleSet.Build(history);
            for (int s = 0; s < samples.Count; s++)
            {
                int hour = samples.Hours[s], user = samples.UserIds[s];
                var past = Build(rows.Where(r => Start + r.Hour < hour).Append((9, 9, 1, 0)));
                var a = Features(history, user, hour);
                var b = Features(UserHistory.Build(past), user, hour);
                if (!a.Items.SequenceEqual(b.Items) || !a.Behs.SequenceEqual(b.Behs) || !a.Ago.SequenceEqual(b.Ago) || !a.Counts.SequenceEqual(b.Counts))
                    return false;
            }
            return true;
        }, iter: 150);
    }

    [TestMethod]
    public void LabelsDependOnlyOnEventsInTheHorizon()
    {
        GenLog.Sample(rows =>
        {
            var full = Build(rows.Append((9, 9, 1, 24 * 12)));
            var samples = CvrSampleSet.Build(full);
            for (int s = 0; s < samples.Count; s++)
            {
                int hour = samples.Hours[s];
                // Remove everything outside [hour, hour + 24) except the clicks that define samples.
                var kept = rows.Where(r => r.Beh == 1 || (Start + r.Hour >= hour && Start + r.Hour < hour + 24)).Append((9, 9, 1, 24 * 12));
                var other = CvrSampleSet.Build(Build(kept));
                int j = Enumerable.Range(0, other.Count).First(k => other.Hours[k] == hour && other.UserIds[k] == samples.UserIds[s] && other.ItemIds[k] == samples.ItemIds[s]);
                if (other.Buy[j] != samples.Buy[s] || other.FavCart[j] != samples.FavCart[s]) return false;
            }
            return true;
        }, iter: 100);
    }
}
