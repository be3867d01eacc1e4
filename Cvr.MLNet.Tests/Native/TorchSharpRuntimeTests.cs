using TorchSharp;
using static TorchSharp.torch;

namespace Cvr.MLNet.Tests.Native;

/// <summary>
/// TorchSharp's native stack (libLibTorchSharp.so + libtorch) loads and computes in the test process.
/// On hosts without GLIBCXX_3.4.32 this only works because the build patched the output copy, so the
/// test deliberately does not call TorchSharpNative.EnsureLoadable() first.
/// </summary>
[TestClass]
public sealed class TorchSharpRuntimeTests
{
    [TestMethod]
    public void LinearForwardBackward_MatchesHandComputedGradients()
    {
        using var linear = nn.Linear(2, 1);
        using (no_grad())
        {
            linear.weight!.copy_(tensor(new[] { 0.5f, -1.0f }).reshape(1, 2));
            linear.bias!.copy_(tensor(new[] { 0.25f }));
        }
        using var x = tensor(new[] { 1f, 2f, 3f, -1f }).reshape(2, 2);
        using var target = tensor(new[] { 0f, 1f }).reshape(2, 1);

        using var y = linear.forward(x);
        using var mse = nn.MSELoss();
        using var loss = mse.forward(y, target);
        loss.backward();

        // y = xWᵀ + b = [-1.25, 2.75]; loss = mean((y - t)²) = (1.5625 + 3.0625) / 2.
        CollectionAssert.AreEqual(new long[] { 2, 1 }, y.shape);
        CollectionAssert.AreEqual(new[] { -1.25f, 2.75f }, y.data<float>().ToArray());
        Assert.AreEqual(2.3125f, loss.item<float>(), 1e-6f);
        // dL/dy = (y - t) = [-1.25, 1.75]; dW = Σ dL/dy·x = [4, -4.25]; db = Σ dL/dy = 0.5.
        using var weightGrad = linear.weight!.grad!;
        using var biasGrad = linear.bias!.grad!;
        CollectionAssert.AreEqual(new long[] { 1, 2 }, weightGrad.shape);
        float[] dw = weightGrad.data<float>().ToArray();
        Assert.AreEqual(4.0f, dw[0], 1e-6f);
        Assert.AreEqual(-4.25f, dw[1], 1e-6f);
        Assert.AreEqual(0.5f, biasGrad.item<float>(), 1e-6f);
    }
}
