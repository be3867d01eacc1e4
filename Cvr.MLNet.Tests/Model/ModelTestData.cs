using Cvr.MLNet.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Cvr.MLNet.Tests.Model;

/// <summary>Tiny seeded configurations and batches for the model tests.</summary>
internal static class ModelTestData
{
    /// <summary>A small network: 8-wide items, 2 PLE layers with K = 2·2 + 1 = 5 experts (asymmetric on purpose).</summary>
    public static CvrNetworkOptions Tiny(bool timeGap = true, bool sparse = false, int interactions = 0) => new()
    {
        InteractionFeatures = interactions,
        UserBuckets = 20,
        ItemBuckets = 30,
        CategoryBuckets = 10,
        ItemEmbeddingDim = 8,
        UserEmbeddingDim = 4,
        CategoryEmbeddingDim = 4,
        LongTermEmbeddingDim = 4,
        CountFeatures = 4,
        SequenceLength = 5,
        DinHidden = [6, 4],
        UseTimeGap = timeGap,
        TimeGapBuckets = 6,
        SeReduction = 3,
        PleLayers = [[8], [8, 8]],
        SpecificExperts = 2,
        SharedExperts = 1,
        FmFields = 4,
        SparseEmbeddings = sparse,
    };

    /// <summary>
    /// A seeded random batch of <paramref name="b"/> samples: ids in 1..buckets−1, sequence lengths
    /// 0..T with padding (id 0, behavior 0, mask 0) at the end.
    /// </summary>
    public static CvrBatch Batch(CvrNetworkOptions o, int b, long seed)
    {
        using var g = new Generator((ulong)seed, CPU);
        int t = o.SequenceLength;
        var len = randint(0, t + 1, [b], generator: g);
        var mask = arange(t).unsqueeze(0).lt(len.unsqueeze(1));                          // [B,T] bool
        var lmask = mask.to(ScalarType.Int64);
        return new CvrBatch
        {
            UserIdx = randint(1, o.UserBuckets, [b], generator: g),
            ItemIdx = randint(1, o.ItemBuckets, [b], generator: g),
            CategoryIdx = randint(1, o.CategoryBuckets, [b], generator: g),
            Weekday = randint(0, 7, [b], generator: g),
            Hour = randint(0, 24, [b], generator: g),
            TimeDense = rand(b, o.TimeDenseFeatures, generator: g),
            Counts = rand(b, o.CountFeatures, generator: g),
            SeqItems = randint(1, o.ItemBuckets, [b, t], generator: g) * lmask,
            SeqCategories = randint(1, o.CategoryBuckets, [b, t], generator: g) * lmask,
            SeqBehaviors = randint(1, 5, [b, t], generator: g) * lmask,
            SeqHoursAgo = rand(b, t, generator: g) * 500 * mask.to(ScalarType.Float32),
            SeqMask = mask.to(ScalarType.Float32),
            // Drawn last so batches without interaction features keep their golden values.
            Interactions = o.InteractionFeatures > 0 ? rand(b, o.InteractionFeatures, generator: g) * 3 : null,
        };
    }

    public static float[] Values(Tensor x) => x.detach().contiguous().data<float>().ToArray();

    public static double MaxAbsDiff(Tensor a, Tensor b) => (a - b).abs().max().item<float>();
}
