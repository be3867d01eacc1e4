using Cvr.MLNet.Data;
using Cvr.MLNet.Serving;
using Cvr.MLNet.Transforms;
using Microsoft.ML;

namespace Cvr.MLNet.Tests.Reliability;

/// <summary>Many threads scoring one loaded model through <see cref="CvrPredictionEnginePool"/>, with and without live appends.</summary>
[TestClass]
[DoNotParallelize] // measures managed memory
public sealed class ConcurrentScoringTests
{
    private const int Threads = 8, PerThread = 1000, Distinct = 300;
    private static ReliabilityModel M => ReliabilityModel.Instance;

    public TestContext TestContext { get; set; } = null!;

    private static (float Fav, float Buy)[] SingleThreaded(MLContext ml, ITransformer model, CvrRequest[] requests)
    {
        using var engine = ml.Model.CreatePredictionEngine<CvrRequest, CvrPrediction>(model);
        return [.. requests.Select(r => { var p = engine.Predict(r); return (p.PFavCart, p.PBuy); })];
    }

    /// <summary>Runs <see cref="Threads"/> × <see cref="PerThread"/> predictions; returns (mismatches, exceptions).</summary>
    private static (int Mismatches, int Errors) Round(CvrPredictionEnginePool pool, CvrRequest[] requests, (float Fav, float Buy)[] expected)
    {
        int mismatches = 0, errors = 0;
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            for (int i = 0; i < PerThread; i++)
            {
                int k = (t * 7919 + i * 31) % requests.Length;
                try
                {
                    var p = pool.Predict(requests[k]);
                    if (p.PFavCart != expected[k].Fav || p.PBuy != expected[k].Buy) Interlocked.Increment(ref mismatches);
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        })).ToArray();
        foreach (var th in threads) th.Start();
        foreach (var th in threads) th.Join();
        return (mismatches, errors);
    }

    private static long SettledMemory()
    {
        GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    [TestMethod]
    public void EightThreadsGetTheSingleThreadedPredictionsAndMemoryStaysFlat()
    {
        var ml = new MLContext();
        var model = CvrModel.Load(ml, M.Path0, out _);
        var requests = M.Requests(Distinct);
        var expected = SingleThreaded(ml, model, requests);
        using var pool = new CvrPredictionEnginePool(ml, model);

        var warm = Round(pool, requests, expected);
        long m1 = SettledMemory();
        var r1 = Round(pool, requests, expected);
        long m2 = SettledMemory();
        var r2 = Round(pool, requests, expected);
        long m3 = SettledMemory();

        TestContext.WriteLine($"{Threads} threads x {PerThread} requests x 3 rounds; engines {pool.EnginesCreated}; " +
            $"managed memory after rounds 1..3: {m1} / {m2} / {m3} bytes; growth {m3 - m2} bytes");
        Assert.AreEqual((0, 0), warm);
        Assert.AreEqual((0, 0), r1);
        Assert.AreEqual((0, 0), r2);
        Assert.IsTrue(pool.EnginesCreated <= Threads + 1, $"{pool.EnginesCreated} engines");
        Assert.IsTrue(m3 - m2 < 2 << 20, $"managed memory grew {m3 - m2} bytes between equal rounds ({m2} → {m3})");
    }

    [TestMethod]
    public void AppendingEventsWhileScoringNeitherThrowsNorCorrupts()
    {
        var ml = new MLContext();
        var live = CvrModel.Load(ml, M.Path0, out _);
        var reference = CvrModel.Load(new MLContext(), M.Path0, out _);
        var requests = M.Requests(Distinct, hoursAfterEnd: 48);
        int start = M.Log.HourRange().Last + 1;
        var users = M.Log.UserIdSpan.ToArray().Distinct().Order().ToArray();

        // Two appenders own disjoint users, so each user's event order is fixed.
        (int User, int Item, int Cat, BehaviorType B, DateTime T)[] Events(int owner) =>
            [.. Enumerable.Range(0, 2000).Select(i =>
            {
                var mine = users.Where((_, k) => k % 2 == owner).ToArray();
                int u = mine[i % mine.Length];
                return (u, 100 + i % 250, (i % 250) / 100, (BehaviorType)(1 + i % 4), TianchiTime.FromHour(start + i / 100));
            })];
        var plans = new[] { Events(0), Events(1) };

        using var pool = new CvrPredictionEnginePool(ml, live);
        int errors = 0, scored = 0;
        var scorers = Enumerable.Range(0, 6).Select(t => new Thread(() =>
        {
            for (int i = 0; i < 1000; i++)
            {
                try
                {
                    var p = pool.Predict(requests[(t * 131 + i) % requests.Length]);
                    if (!(p.PBuy is > 0 and < 1) || !(p.PFavCart is > 0 and < 1)) Interlocked.Increment(ref errors);
                    Interlocked.Increment(ref scored);
                }
                catch (Exception) { Interlocked.Increment(ref errors); }
            }
        }));
        var appenders = plans.Select(plan => new Thread(() =>
        {
            foreach (var e in plan)
            {
                try
                {
                    if (live.AppendEvent(e.User, e.Item, e.Cat, e.B, e.T) != 3) Interlocked.Increment(ref errors);
                }
                catch (Exception) { Interlocked.Increment(ref errors); }
            }
        }));
        var all = scorers.Concat(appenders).ToArray();
        foreach (var th in all) th.Start();
        foreach (var th in all) th.Join();
        Assert.AreEqual(0, errors);
        Assert.AreEqual(6000, scored);

        // Same events applied sequentially to a second copy: identical state, identical predictions.
        foreach (var plan in plans)
            foreach (var e in plan) reference.AppendEvent(e.User, e.Item, e.Cat, e.B, e.T);
        var a = SingleThreaded(ml, live, requests);
        var b = SingleThreaded(new MLContext(), reference, requests);
        CollectionAssert.AreEqual(b, a);
        var before = SingleThreaded(new MLContext(), CvrModel.Load(new MLContext(), M.Path0, out _), requests);
        CollectionAssert.AreNotEqual(before, a, "the appended events changed the features");
    }
}
