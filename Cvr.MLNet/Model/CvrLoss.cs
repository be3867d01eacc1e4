using static TorchSharp.torch;

namespace Cvr.MLNet.Model;

/// <summary>
/// ESM² training loss: w_fc · BCE(fav/cart label, y1) + w_buy · BCE(buy label, pBuy), each term a
/// mean over the batch of per-sample-weighted losses (Σ_i s_i·l_i / B, as torch's weighted BCE).
/// y1's term uses the logit (log-sigmoid form, stable for any logit); pBuy is a mixture of two
/// sigmoids, so it is clamped to [ε, 1 − ε] before the logs.
/// </summary>
public sealed class CvrLoss
{
    /// <summary>Weight of the fav/cart term.</summary>
    public double FavCartWeight { get; }
    /// <summary>Weight of the buy term.</summary>
    public double BuyWeight { get; }
    /// <summary>Clamp for pBuy before taking logs.</summary>
    public double Epsilon { get; }

    /// <summary>Creates the loss; weights must be ≥ 0 and finite, <paramref name="epsilon"/> in (0, 0.5).</summary>
    public CvrLoss(double favCartWeight = 1.0, double buyWeight = 1.0, double epsilon = 1e-7)
    {
        if (!(favCartWeight >= 0) || double.IsInfinity(favCartWeight))
            throw new ArgumentOutOfRangeException(nameof(favCartWeight), favCartWeight, $"favCartWeight must be finite and >= 0, got {favCartWeight}.");
        if (!(buyWeight >= 0) || double.IsInfinity(buyWeight))
            throw new ArgumentOutOfRangeException(nameof(buyWeight), buyWeight, $"buyWeight must be finite and >= 0, got {buyWeight}.");
        if (!(epsilon > 0 && epsilon < 0.5))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, $"epsilon must be in (0, 0.5), got {epsilon}.");
        FavCartWeight = favCartWeight;
        BuyWeight = buyWeight;
        Epsilon = epsilon;
    }

    /// <summary>
    /// output (B samples), favCart [B] and buy [B] float labels in {0,1}, optional sample weights [B]
    /// → scalar loss.
    /// </summary>
    public Tensor Compute(CvrOutput output, Tensor favCart, Tensor buy, Tensor? sampleWeight = null)
    {
        long b = output.Y1Logit.shape[0];
        CheckVector(favCart, nameof(favCart), b);
        CheckVector(buy, nameof(buy), b);
        if (sampleWeight is not null) CheckVector(sampleWeight, nameof(sampleWeight), b);
        using var scope = NewDisposeScope();
        var y1 = output.Y1Logit;
        // BCE with logits: −[y·logσ(z) + (1−y)·logσ(−z)].
        var l1 = -(favCart * nn.functional.logsigmoid(y1) + (1 - favCart) * nn.functional.logsigmoid(-y1));
        var p = output.PBuy.clamp(Epsilon, 1 - Epsilon);
        var l2 = -(buy * p.log() + (1 - buy) * (1 - p).log());
        var perSample = l1 * FavCartWeight + l2 * BuyWeight;                     // [B]
        if (sampleWeight is not null) perSample = perSample * sampleWeight;
        return perSample.mean().MoveToOuterDisposeScope();
    }

    private static void CheckVector(Tensor x, string name, long b)
    {
        if (x.dim() != 1 || x.shape[0] != b || x.dtype != ScalarType.Float32)
            throw new ArgumentException($"CvrLoss {name} has shape [{string.Join(",", x.shape)}] {x.dtype}, expected [{b}] Float32.", name);
    }
}
