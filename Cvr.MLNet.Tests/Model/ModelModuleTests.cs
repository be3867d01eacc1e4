using Cvr.MLNet.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static Cvr.MLNet.Tests.Model.ModelTestData;

namespace Cvr.MLNet.Tests.Model;

[TestClass]
public sealed class ModelModuleTests
{
    // One intra-op thread: on this shared 2-core machine libtorch's spinning OpenMP pool made a
    // 300-step tiny training run take ~50 s instead of ~2 s. Results do not depend on it.
    [ClassInitialize]
    public static void OneThread(TestContext _) => torch.set_num_threads(1);

    private static void Set(nn.Module module, string key, float[] values)
    {
        var p = module.named_parameters().Single(x => x.name == key).parameter;
        using (no_grad()) p.copy_(tensor(values).reshape(p.shape));
    }

    [TestMethod]
    public void FmTower_MatchesHandComputedPairwiseSum()
    {
        using var scope = NewDisposeScope();
        using var fm = new FmTower(inputDim: 8, fields: 4);                      // 4 fields × 2
        Set(fm, "linear.weight", [0.1f, -0.2f, 0.3f, 0.05f, -0.4f, 0.25f, 0.15f, -0.1f]);
        Set(fm, "linear.bias", [0.5f]);
        float[][] rows = [[1f, 2f, -1f, 0.5f, 3f, -2f, 0f, 1.5f], [0.2f, -0.3f, 0.7f, 1.1f, -0.9f, 0.4f, 2f, -1f]];
        var x = tensor(rows.SelectMany(r => r).ToArray(), [2, 8]);
        var got = Values(fm.forward(x));
        CollectionAssert.AreEqual(new long[] { 2 }, fm.forward(x).shape);
        float[] w = [0.1f, -0.2f, 0.3f, 0.05f, -0.4f, 0.25f, 0.15f, -0.1f];
        for (int b = 0; b < 2; b++)
        {
            // w0 + <w,x> + sum_{i<j} <v_i, v_j> with v_i = x[2i..2i+2), by the definition (no trick).
            double expected = 0.5;
            for (int d = 0; d < 8; d++) expected += w[d] * rows[b][d];
            for (int i = 0; i < 4; i++)
                for (int j = i + 1; j < 4; j++)
                    for (int d = 0; d < 2; d++) expected += rows[b][2 * i + d] * rows[b][2 * j + d];
            Assert.AreEqual(expected, got[b], 1e-5, $"row {b}");
        }
        // Row 0 by hand: 0.5 + (0.1 − 0.4 − 0.3 + 0.025 − 1.2 − 0.5 + 0 − 0.15) = −1.925; fields (1,2), (−1,.5),
        // (3,−2), (0,1.5): sums (3,2), squares (11,10.5) → pairwise ½[(9 − 11) + (4 − 10.5)] = −4.25.
        Assert.AreEqual(-6.175, got[0], 1e-5);
    }

    [TestMethod]
    public void SqueezeExcitation_MatchesHandComputation()
    {
        using var scope = NewDisposeScope();
        int[] dims = [2, 3, 1];
        using var se = new SqueezeExcitation(dims, reduction: 2);
        float[] w1 = [0.5f, -1f, 0.25f, 1f, 0.5f, -0.5f], b1 = [0.1f, -0.2f];     // fc1 [2,3]
        float[] w2 = [1f, -1f, 0.5f, 0.5f, -2f, 1f], b2 = [0f, 0.3f, -0.1f];      // fc2 [3,2]
        Set(se, "fc1.weight", w1); Set(se, "fc1.bias", b1);
        Set(se, "fc2.weight", w2); Set(se, "fc2.bias", b2);
        float[] x = [1f, 3f, -1f, 2f, 5f, 4f];
        var (y, weights) = se.forward(tensor(x, [1, 6]));
        CollectionAssert.AreEqual(new long[] { 1, 6 }, y.shape);
        CollectionAssert.AreEqual(new long[] { 1, 3 }, weights.shape);
        double[] z = [(1 + 3) / 2.0, (-1 + 2 + 5) / 3.0, 4];                       // field means 2, 2, 4
        double Silu(double v) => v / (1 + Math.Exp(-v));
        double Sig(double v) => 1 / (1 + Math.Exp(-v));
        var h = new double[2];
        for (int r = 0; r < 2; r++) h[r] = Silu(b1[r] + w1[3 * r] * z[0] + w1[3 * r + 1] * z[1] + w1[3 * r + 2] * z[2]);
        var s = new double[3];
        for (int f = 0; f < 3; f++) s[f] = Sig(b2[f] + w2[2 * f] * h[0] + w2[2 * f + 1] * h[1]);
        var gotW = Values(weights);
        var gotY = Values(y);
        for (int f = 0; f < 3; f++) Assert.AreEqual(s[f], gotW[f], 1e-6, $"weight {f}");
        int[] fieldOf = [0, 0, 1, 1, 1, 2];
        for (int j = 0; j < 6; j++) Assert.AreEqual(x[j] * s[fieldOf[j]], gotY[j], 1e-5, $"column {j}");
        // Only the two Linear layers are parameters; the averaging matrices are not saved.
        CollectionAssert.AreEqual(new[] { "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias" },
            se.state_dict().Keys.ToArray(), string.Join(", ", se.state_dict().Keys));
    }

    [TestMethod]
    public void DinAttention_FactoredFormEqualsConcatForm_AndIgnoresPadding()
    {
        torch.manual_seed(3);
        using var scope = NewDisposeScope();
        using var din = new DinAttention(8, [6, 4]);
        var q = randn(5, 8);
        var k = randn(5, 7, 8);
        var mask = tensor(new float[] { 1, 1, 1, 0, 0, 0, 0 }).expand(5, 7).contiguous();
        var fused = din.forward(q, k, mask);
        CollectionAssert.AreEqual(new long[] { 5, 8 }, fused.shape);
        Assert.IsTrue(MaxAbsDiff(fused, din.ForwardUnfused(q, k, mask)) < 1e-5);
        // Changing the keys at padded positions changes nothing.
        var k2 = k.clone();
        using (no_grad()) k2.narrow(1, 3, 4).copy_(randn(5, 4, 8) * 10);
        Assert.AreEqual(0.0, MaxAbsDiff(fused, din.forward(q, k2, mask)));
        // An empty history gives a zero interest vector.
        Assert.AreEqual(0.0, din.forward(q, k, zeros(5, 7)).abs().max().item<float>());
    }

    [TestMethod]
    public void ExpertBank_BatchedEqualsPerExpert_ForSharedAndPerExpertInputs()
    {
        torch.manual_seed(4);
        using var scope = NewDisposeScope();
        using var bank = new ExpertBank(experts: 5, inputDim: 7, widths: [6, 3]);
        var shared = randn(4, 7);
        var batched = bank.forward(shared);
        CollectionAssert.AreEqual(new long[] { 5, 4, 3 }, batched.shape);
        Assert.IsTrue(MaxAbsDiff(batched, bank.ForwardPerExpert(shared)) < 1e-6);
        // The inference modes give the same result.
        using (inference_mode()) Assert.IsTrue(MaxAbsDiff(bank.forward(shared), batched) < 1e-6, "inference_mode");
        var perExpert = randn(5, 4, 7);
        var b2 = bank.forward(perExpert);
        Assert.IsTrue(MaxAbsDiff(b2, bank.ForwardPerExpert(perExpert)) < 1e-6);
        // Expert 2 on its own input, by plain Linear algebra from the named weights.
        var p = bank.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        var h = nn.functional.silu(perExpert[2].matmul(p["weights.0"][2]) + p["biases.0"][2]);
        h = nn.functional.silu(h.matmul(p["weights.1"][2]) + p["biases.1"][2]);
        Assert.IsTrue(MaxAbsDiff(b2[2], h) < 1e-6);
        var ex = Assert.ThrowsExactly<ArgumentException>(() => bank.forward(randn(4, 4, 7)));
        Assert.AreEqual("ExpertBank input has shape [4,4,7], expected [B,7] or [5,B,7]. (Parameter 'x')", ex.Message);
    }

    [TestMethod]
    public void PleLayer_BatchedEqualsPerExpert_AndGatesAreConvexMixtures()
    {
        torch.manual_seed(5);
        using var scope = NewDisposeScope();
        using var layer = new PleExtractionLayer(6, [5], tasks: 2, specificExperts: 2, sharedExperts: 1, sharedGate: true);
        var x = randn(3, 6);
        var first = layer.forward([x, x], x);
        var firstRef = layer.ForwardPerExpert([x, x], x);
        Assert.AreEqual(2, first.Tasks.Length);
        CollectionAssert.AreEqual(new long[] { 3, 5 }, first.Tasks[1].shape);
        CollectionAssert.AreEqual(new long[] { 3, 5 }, first.Shared!.shape);
        for (int t = 0; t < 2; t++) Assert.IsTrue(MaxAbsDiff(first.Tasks[t], firstRef.Tasks[t]) < 1e-6);
        Assert.IsTrue(MaxAbsDiff(first.Shared, firstRef.Shared!) < 1e-6);

        var t0 = randn(3, 6); var t1 = randn(3, 6); var s = randn(3, 6);
        var second = layer.forward([t0, t1], s);
        var secondRef = layer.ForwardPerExpert([t0, t1], s);
        for (int t = 0; t < 2; t++) Assert.IsTrue(MaxAbsDiff(second.Tasks[t], secondRef.Tasks[t]) < 1e-6);

        // Task 1's output is a convex mix of experts 2, 3 (its own) and 4 (shared) on their inputs.
        var p = layer.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        Tensor Expert(Tensor input, int i) =>
            nn.functional.silu(input.matmul(p["experts.weights.0"][i]) + p["experts.biases.0"][i]);
        var g = nn.functional.linear(t1, p["task_gates.1.weight"], p["task_gates.1.bias"]).softmax(-1);   // [B,3]
        var expected = g.narrow(1, 0, 1) * Expert(t1, 2) + g.narrow(1, 1, 1) * Expert(t1, 3) + g.narrow(1, 2, 1) * Expert(s, 4);
        Assert.IsTrue(MaxAbsDiff(second.Tasks[1], expected) < 1e-6);

        using var last = new PleExtractionLayer(6, [5], 2, 2, 1, sharedGate: false);
        Assert.IsNull(last.forward([x, x], x).Shared);
        Assert.IsFalse(last.named_parameters().Any(p => p.name.StartsWith("shared_gate", StringComparison.Ordinal)));
    }
}
