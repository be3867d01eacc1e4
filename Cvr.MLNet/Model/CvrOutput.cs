using static TorchSharp.torch;

namespace Cvr.MLNet.Model;

/// <summary>
/// Output of <see cref="CvrNetwork"/> for a batch of B clicks (ESM² decomposition). Owns its tensors.
/// </summary>
public sealed class CvrOutput : IDisposable
{
    /// <summary>Logit of y1 = P(fav/cart | click), task 1 tower [B].</summary>
    public required Tensor Y1Logit { get; init; }
    /// <summary>Logit of y2 = P(direct buy | click, no fav/cart), task 2 tower [B].</summary>
    public required Tensor Y2Logit { get; init; }
    /// <summary>Logit of y3 = P(buy | fav/cart), task 2 tower [B].</summary>
    public required Tensor Y3Logit { get; init; }
    /// <summary>P(fav/cart | click) = sigmoid(y1) [B].</summary>
    public required Tensor PFavCart { get; init; }
    /// <summary>P(buy | click) = y1·y3 + (1 − y1)·y2 in probabilities [B].</summary>
    public required Tensor PBuy { get; init; }
    /// <summary>SE field weights [B,F] in (0,1) (F = 7, or 8 with interaction features), field order of <see cref="CvrNetworkOptions.FieldNames"/>.</summary>
    public required Tensor FieldWeights { get; init; }

    /// <summary>Disposes every tensor of the output.</summary>
    public void Dispose()
    {
        Y1Logit.Dispose(); Y2Logit.Dispose(); Y3Logit.Dispose();
        PFavCart.Dispose(); PBuy.Dispose(); FieldWeights.Dispose();
    }
}
