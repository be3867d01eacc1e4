using Cvr.MLNet.Model;
using TorchSharp;
using static TorchSharp.torch;
using static Cvr.MLNet.Tests.Model.ModelTestData;

namespace Cvr.MLNet.Tests.Model;

/// <summary>
/// The sequence part of the network runs on the real positions only (<see cref="PackedSequence"/>);
/// these tests pin that it computes the same values and gradients as the full [B,T] form.
/// </summary>
[TestClass]
public sealed class PackedSequenceTests
{
    [ClassInitialize]
    public static void OneThread(TestContext _) => torch.set_num_threads(1);

    [TestMethod]
    public void PackedSequence_KeepsRealPositionsInOrder_AndSumsPerSample()
    {
        using var scope = NewDisposeScope();
        var mask = tensor(new float[] { 1, 1, 0, 0, 0, 0, 1, 0, 0, 1, 1, 1 }, [4, 3]);
        using var seq = new PackedSequence(mask);
        Assert.AreEqual(6L, seq.Count);
        CollectionAssert.AreEqual(new long[] { 0, 0, 2, 3, 3, 3 }, seq.Rows.data<long>().ToArray());
        CollectionAssert.AreEqual(new float[] { 1, 1, 1, 1, 1, 1 }, Values(seq.Mask));
        var ids = arange(12, dtype: ScalarType.Int64).reshape(4, 3) * 10;
        CollectionAssert.AreEqual(new long[] { 0, 10, 60, 90, 100, 110 }, seq.Gather(ids).data<long>().ToArray());
        var rows = arange(24, dtype: ScalarType.Float32).reshape(4, 3, 2);
        CollectionAssert.AreEqual(new float[] { 0, 1, 2, 3, 12, 13, 18, 19, 20, 21, 22, 23 }, Values(seq.GatherRows(rows)));
        // Per-sample sums; sample 1 has no real position and gets 0.
        CollectionAssert.AreEqual(new float[] { 2, 4, 0, 0, 12, 13, 60, 63 }, Values(seq.SumPerSample(seq.GatherRows(rows))));

        using var empty = new PackedSequence(zeros(3, 5));
        Assert.AreEqual(0L, empty.Count);
        var none = empty.SumPerSample(zeros(0, 4));
        CollectionAssert.AreEqual(new long[] { 3, 4 }, none.shape);
        Assert.AreEqual(0f, none.abs().sum().item<float>());
        Assert.ThrowsExactly<ArgumentException>(() => new PackedSequence(zeros(3)));
    }

    [TestMethod]
    public void DinAttention_PackedForward_EqualsFullForm_InValuesAndGradients()
    {
        torch.manual_seed(11);
        using var scope = NewDisposeScope();
        using var din = new DinAttention(8, [6, 4]);
        var q = randn(5, 8).requires_grad_(true);
        var k = randn(5, 7, 8).requires_grad_(true);
        // Mixed lengths, one sample without history, one full.
        var lens = tensor(new long[] { 3, 0, 7, 1, 5 });
        var mask = arange(7).unsqueeze(0).lt(lens.unsqueeze(1)).to(ScalarType.Float32);
        var r = randn(5, 8);
        Tensor[] inputs = [q, k, .. din.parameters()];

        var packed = din.forward(q, k, mask);
        var full = din.ForwardUnfused(q, k, mask);
        Assert.IsTrue(MaxAbsDiff(packed, full) < 1e-5, $"values differ by {MaxAbsDiff(packed, full)}");
        Assert.AreEqual(0f, packed[1].abs().sum().item<float>(), "a sample without history gets a zero interest vector");

        var gPacked = torch.autograd.grad([(packed * r).sum()], inputs);
        var gFull = torch.autograd.grad([(full * r).sum()], inputs);
        for (int i = 0; i < inputs.Length; i++)
            Assert.IsTrue(MaxAbsDiff(gPacked[i], gFull[i]) < 1e-5, $"gradient {i} differs by {MaxAbsDiff(gPacked[i], gFull[i])}");
        // Padded keys get no gradient.
        Assert.AreEqual(0f, gPacked[1][0].narrow(0, 3, 4).abs().sum().item<float>());
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void CvrNetwork_SequenceKeysAndInterest_EqualFullPositionReference(bool sparse)
    {
        torch.manual_seed(5);
        using var scope = NewDisposeScope();
        var o = ModelTestData.Tiny(sparse: sparse);
        using var net = new CvrNetwork(o);
        using var batch = ModelTestData.Batch(o, 9, seed: 21);
        var w = net.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        var din = (DinAttention)net.named_modules().Single(m => m.name == "din").module;
        int e = o.ItemEmbeddingDim, offset = o.FieldDims.Take(6).Sum();
        long b = batch.Size, t = o.SequenceLength;

        // Reference: every one of the B·T positions, the category projected per position.
        Tensor Lookup(string table, Tensor ids) => w[table].index_select(0, ids.reshape(-1)).reshape([.. ids.shape, w[table].shape[1]]);
        var keys = Lookup("item_emb.weight", batch.SeqItems)
                   + Lookup("cat_emb.weight", batch.SeqCategories).matmul(w["cat_to_item.weight"].t())
                   + Lookup("behavior_emb.weight", batch.SeqBehaviors)
                   + Lookup("time_gap_emb.weight", net.TimeGapBucket(batch.SeqHoursAgo, batch.SeqMask)); // [B,T,E]
        var query = Lookup("item_emb.weight", batch.ItemIdx) + Lookup("cat_emb.weight", batch.CategoryIdx).matmul(w["cat_to_item.weight"].t());
        var reference = din.ForwardUnfused(query, keys, batch.SeqMask);
        var got = net.Features(batch).narrow(1, offset, e);
        CollectionAssert.AreEqual(new long[] { b, e }, got.shape);
        Assert.IsTrue(MaxAbsDiff(got, reference) < 1e-5, $"interest differs by {MaxAbsDiff(got, reference)}");
        Assert.IsTrue(batch.SeqMask.sum().item<float>() < b * t, "the batch has padding");

        var r = randn(b, e);
        string[] names = ["item_emb.weight", "cat_emb.weight", "cat_to_item.weight", "behavior_emb.weight", "time_gap_emb.weight", "din.score.weight"];
        Tensor[] ps = names.Select(n => w[n]).ToArray();
        var gGot = torch.autograd.grad([(got * r).sum()], ps);
        var gRef = torch.autograd.grad([(reference * r).sum()], ps);
        for (int i = 0; i < ps.Length; i++)
        {
            var a = gGot[i].is_sparse ? gGot[i].to_dense() : gGot[i];
            Assert.AreEqual(sparse && i < 2, gGot[i].is_sparse, names[i]);
            Assert.IsTrue(MaxAbsDiff(a, gRef[i]) < 1e-5, $"{names[i]}: gradient differs by {MaxAbsDiff(a, gRef[i])}");
        }
    }
}
