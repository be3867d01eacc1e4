using Cvr.MLNet.Transforms.Vocabulary;

namespace Cvr.MLNet.Tests.Benchmarks;

/// <summary>The open-addressing id index (a featurizing hot path) answers exactly as a dictionary would.</summary>
[TestClass]
public sealed class IdVocabularyIndexTests
{
    [TestMethod]
    [DataRow(1, 50, 0.5)]
    [DataRow(2, 5_000, 0.02)]
    [DataRow(3, 200_000, 0.02)]
    public void IndexOf_MatchesADictionaryOverKnownAndUnknownIds(int seed, int maxSize, double oovShare)
    {
        var rng = new Random(seed);
        // Zipf-ish occurrences over wide ids (negative and int.MaxValue included), so some ids are capped out.
        var occurrences = Enumerable.Range(0, 60_000).Select(_ => rng.Next(8) == 0 ? rng.Next(int.MinValue, int.MaxValue) : (int)(1e6 / (1 + rng.Next(30_000)))).ToArray();
        occurrences[0] = int.MaxValue; occurrences[1] = int.MinValue; occurrences[2] = 0;
        var vocab = IdVocabulary.Fit(occurrences, maxSize, oovShare);
        var reference = new Dictionary<int, int>();
        for (int i = 0; i < vocab.Ids.Length; i++) reference.Add(vocab.Ids[i], i + 1);
        var probes = occurrences.Concat(Enumerable.Range(0, 20_000).Select(_ => rng.Next(int.MinValue, int.MaxValue)));
        foreach (int id in probes)
        {
            bool known = reference.TryGetValue(id, out int expected);
            Assert.AreEqual(known, vocab.Contains(id), $"Contains({id})");
            int got = vocab.IndexOf(id);
            if (known) Assert.AreEqual(expected, got, $"IndexOf({id})");
            else Assert.IsTrue(got > vocab.Ids.Length && got < vocab.Size, $"IndexOf({id}) = {got} must be an OOV bucket in {vocab.Ids.Length + 1}..{vocab.Size - 1}");
        }
    }

    [TestMethod]
    public void IndexOfMany_EqualsIndexOfOneByOne_AtEveryLength()
    {
        var rng = new Random(4);
        var occurrences = Enumerable.Range(0, 60_000).Select(_ => rng.Next(8) == 0 ? rng.Next(int.MinValue, int.MaxValue) : (int)(1e6 / (1 + rng.Next(30_000)))).ToArray();
        var vocab = IdVocabulary.Fit(occurrences, 5_000, 0.02);
        var probes = occurrences.Concat([int.MinValue, int.MaxValue, 0, -1]).ToArray();
        rng.Shuffle(probes);
        // Shorter than the prefetch distance, around it, and long; known and unknown ids.
        foreach (int n in new[] { 0, 1, 15, 16, 17, 33, probes.Length })
        {
            var indices = Enumerable.Repeat(-7, n + 1).ToArray();
            vocab.IndexOfMany(probes.AsSpan(0, n), indices);
            CollectionAssert.AreEqual(probes.Take(n).Select(vocab.IndexOf).ToArray(), indices[..n], $"length {n}");
            Assert.AreEqual(-7, indices[n], "nothing written past the ids");
        }
        var error = Assert.ThrowsExactly<ArgumentException>(() => vocab.IndexOfMany(probes.AsSpan(0, 3), new int[2]));
        StringAssert.Contains(error.Message, "2 indices for 3 ids");
    }
}
