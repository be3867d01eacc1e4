using Cvr.MLNet.Data;
using Cvr.MLNet.Data.Generation;
using Cvr.MLNet.Evaluation;
using Cvr.MLNet.Samples;
using Cvr.MLNet.Training;
using Cvr.MLNet.Transforms;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Cvr.MLNet.Tests.Training;

/// <summary>
/// On generated data the trained model must learn something real: its AUC on later samples beats a
/// constant (0.5) and an item-popularity baseline by a stated margin (0.02 AUC).
/// </summary>
[TestClass]
public sealed class CvrQualityTests
{
    [TestMethod]
    public void TrainedModelBeatsConstantAndPopularityOnTheGeneratorsTinyPreset()
    {
        var dir = Directory.CreateTempSubdirectory("cvr-quality").FullName;
        try
        {
            new TianchiGenerator(GeneratorOptions.Tiny()).Generate(dir);
            var log = TianchiReader.ReadEvents(Path.Combine(dir, TianchiFiles.EventsFileName));
            var history = UserHistory.Build(log);
            var all = CvrSampleSet.Build(history);
            int split = TianchiTime.Parse("2014-12-12 00");
            var train = all.Slice(int.MinValue, split);
            var test = all.Slice(split, int.MaxValue);

            var ml = new MLContext(1);
            var o = CvrPipelineTests.SmallTrainer(epochs: 4, seed: 3);
            o.LearningRate = 3e-3;
            o.ValidationFraction = 0.15;
            var vocab = new Cvr.MLNet.Transforms.Vocabulary.IdVocabularyOptions { UserSize = 512, ItemSize = 8192, CategorySize = 2048 };
            var model = ml.Transforms.CvrFeatures(log, vocab).Append(new CvrTrainer(o)).Fit(train.ToDataView());
            var (pFav, pBuy) = model.LastTransformer.Score(FeaturesOf(model, test));

            // Popularity: clicks of the item before the split.
            var clicks = new Dictionary<int, int>();
            for (int i = 0; i < train.Count; i++) clicks[train.ItemIds[i]] = clicks.GetValueOrDefault(train.ItemIds[i]) + 1;
            var pop = test.ItemIds.Select(i => (float)clicks.GetValueOrDefault(i)).ToArray();

            double buyAuc = BinaryMetrics.Auc(test.Buy, pBuy), favAuc = BinaryMetrics.Auc(test.FavCart, pFav);
            var truth = new Dictionary<(int, int, int), (float Fav, float Buy)>();
            foreach (var line in File.ReadLines(Path.Combine(dir, TianchiFiles.TruthFileName)).Skip(1))
            {
                var f = line.Split(',');
                truth[(int.Parse(f[0]), int.Parse(f[1]), TianchiTime.Parse(f[3]))] = (float.Parse(f[4], System.Globalization.CultureInfo.InvariantCulture), float.Parse(f[5], System.Globalization.CultureInfo.InvariantCulture));
            }
            var oFav = new float[test.Count]; var oBuy = new float[test.Count];
            for (int i = 0; i < test.Count; i++) { var t = truth[(test.UserIds[i], test.ItemIds[i], test.Hours[i])]; oFav[i] = t.Fav; oBuy[i] = t.Buy; }
            Console.WriteLine($"oracle: buy AUC {BinaryMetrics.Auc(test.Buy, oBuy):F4}, fav/cart AUC {BinaryMetrics.Auc(test.FavCart, oFav):F4}; positives buy {test.Buy.Count(x => x)}, fav/cart {test.FavCart.Count(x => x)}");
            double popBuy = BinaryMetrics.Auc(test.Buy, pop), popFav = BinaryMetrics.Auc(test.FavCart, pop);
            Console.WriteLine($"test samples {test.Count}: buy AUC {buyAuc:F4} (popularity {popBuy:F4}), fav/cart AUC {favAuc:F4} (popularity {popFav:F4})");
            // Measured here: buy 0.748 vs popularity 0.699, fav/cart 0.631 vs 0.608 (oracle 0.92 / 0.81 on the same samples).
            const double margin = 0.02;
            Assert.IsTrue(buyAuc > 0.5 + margin && buyAuc > popBuy + margin, $"buy AUC {buyAuc:F4} vs popularity {popBuy:F4}");
            Assert.IsTrue(favAuc > 0.5 + margin && favAuc > popFav + margin, $"fav/cart AUC {favAuc:F4} vs popularity {popFav:F4}");
        }
        finally { Directory.Delete(dir, true); }
    }

    private static IDataView FeaturesOf(TransformerChain<CvrModelTransformer> model, CvrSampleSet samples)
    {
        IDataView view = samples.ToDataView();
        foreach (var t in model.Take(model.Count() - 1)) view = t.Transform(view);
        return view;
    }
}
