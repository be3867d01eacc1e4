using Cvr.MLNet.Data;
using Cvr.MLNet.Data.Generation;

namespace Cvr.MLNet.Tests.Data.Generation;

[TestClass]
public sealed class ShippedSampleTests
{
    /// <summary>data/sample is exactly what <c>cvr generate --preset tiny --users 600</c> writes (regenerate it when the generator changes).</summary>
    [TestMethod]
    public void ShippedSampleIsReproducibleFromItsDocumentedCommand()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Cvr.MLNet.sln"))) dir = dir.Parent;
        Assert.IsNotNull(dir, "repository root not found above the test binaries");
        string sample = Path.Combine(dir.FullName, "data", "sample");

        var options = GeneratorOptions.Tiny();
        options.Users = 600;
        var (_, events, items, truth) = TinyLog.Generate(options);
        Assert.AreEqual(events, File.ReadAllText(Path.Combine(sample, TianchiFiles.EventsFileName)));
        Assert.AreEqual(items, File.ReadAllText(Path.Combine(sample, TianchiFiles.ItemsFileName)));
        Assert.AreEqual(truth, File.ReadAllText(Path.Combine(sample, TianchiFiles.TruthFileName)));
    }
}
