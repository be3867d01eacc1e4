using Cvr.MLNet.Model;
using Cvr.MLNet.Samples;
using Cvr.MLNet.Training;
using Cvr.MLNet.Transforms;
using Microsoft.ML;

namespace Cvr.MLNet.Tests.Training;

[TestClass]
public sealed class FieldImportanceTests
{
    [TestMethod]
    public void FieldImportanceIsTheMeanSeWeightOfEachOfTheEightFields()
    {
        var ml = new MLContext(seed: 1);
        var log = TestLogs.Random(users: 30, days: 6);
        var samples = CvrSampleSet.Build(log).ToDataView();
        var featurized = ml.Transforms.CvrFeatures(log, CvrPipelineTests.SmallVocab).Fit(samples).Transform(samples);
        var model = new CvrTrainer(CvrPipelineTests.SmallTrainer(epochs: 1)).Fit(featurized);

        // Batch sizes that do and do not divide the row count give the same means.
        var whole = model.FieldImportance(featurized);
        var batched = model.FieldImportance(featurized, batchSize: 7);

        string[] names = ["item", "user", "category", "time", "counts", "long_term", "short_term", "interactions"];
        CollectionAssert.AreEqual(names, whole.Keys.ToArray());
        CollectionAssert.AreEqual(names[..7], new CvrNetworkOptions { InteractionFeatures = 0 }.FieldNames.ToArray());
        foreach (var name in names)
        {
            Assert.IsTrue(whole[name] is > 0f and < 1f, $"{name}: {whole[name]}");
            Assert.AreEqual(whole[name], batched[name], 1e-5f, name);
        }
    }
}
