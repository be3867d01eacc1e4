using Cvr.MLNet.Data.Generation;

namespace Cvr.MLNet.Tests.Data.Generation;

[TestClass]
public sealed class GeneratorOptionsTests
{
    [TestMethod]
    public void PresetsHaveTheDocumentedSizes()
    {
        Assert.AreEqual(20_000, GeneratorOptions.Tiny().TargetRows);
        Assert.AreEqual(400_000, GeneratorOptions.Sample().TargetRows);
        Assert.AreEqual(12_256_906, GeneratorOptions.Full().TargetRows);
        Assert.AreEqual(10_000, GeneratorOptions.FromPreset("full").Users);
        // The catalog is 2 × the real log's distinct items (2.88 M at full scale).
        Assert.AreEqual(5_760_000, GeneratorOptions.Full().EffectiveItems);
        Assert.AreEqual(38_573, GeneratorOptions.Tiny().EffectiveItems);
        Assert.AreEqual("2014-11-18 00", Cvr.MLNet.Data.TianchiTime.ToText(GeneratorOptions.Full().FirstDay * 24));
    }

    [TestMethod]
    public void UnknownPresetNamesTheChoices()
    {
        var ex = Assert.ThrowsExactly<ArgumentException>(() => GeneratorOptions.FromPreset("huge"));
        StringAssert.StartsWith(ex.Message, "Unknown generator preset 'huge'; expected one of: tiny, sample, full.");
    }

    [TestMethod]
    public void InvalidOptionsAreRejectedNamingTheOption()
    {
        var o = GeneratorOptions.Tiny();
        o.Users = 0;
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new TianchiGenerator(o));
        StringAssert.StartsWith(ex.Message, "Users = 0 is invalid: must be in [1, 1000000].");

        o = GeneratorOptions.Tiny();
        o.Days = 40;
        ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => o.Check());
        StringAssert.StartsWith(ex.Message, "Days = 40 is invalid: must be in [2, 31] (the log is 2014-11-18..2014-12-18).");

        o = GeneratorOptions.Tiny();
        o.BehaviorShares = [0.9, 0.05, 0.05];
        ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => o.Check());
        StringAssert.StartsWith(ex.Message, "BehaviorShares = 3 is invalid: must hold 4 shares (browse, favourite, cart, buy).");
    }

    [TestMethod]
    public void ShorterLogsEndOnTheEighteenth()
    {
        var o = GeneratorOptions.Tiny();
        o.Days = 10;
        var (report, events, _, _) = TinyLog.Generate(o);
        var hours = events.Split('\n').Skip(1).Where(l => l.Length > 0).Select(l => Cvr.MLNet.Data.TianchiTime.Parse(l.Split(',')[5])).ToList();
        Assert.AreEqual("2014-12-09 00", Cvr.MLNet.Data.TianchiTime.ToText(o.FirstDay * 24));
        Assert.IsTrue(hours.Min() >= o.FirstDay * 24 && hours.Max() < (o.FirstDay + 10) * 24);
        Assert.HasCount(10, report.RowsByDay);
    }
}
