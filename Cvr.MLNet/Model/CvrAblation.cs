namespace Cvr.MLNet.Model;

/// <summary>The ablations of the evaluation report: switch one part of the network off.</summary>
public static class CvrAblation
{
    /// <summary>The names <see cref="Apply"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["none", "no-din", "no-se", "single-ple"];

    /// <summary>
    /// Applies <paramref name="ablation"/> to <paramref name="network"/>: <c>no-din</c> (masked mean of
    /// the sequence keys instead of DIN attention), <c>no-se</c> (no field reweighting),
    /// <c>single-ple</c> (one extraction layer with the last layer's output width), <c>none</c>.
    /// </summary>
    public static CvrNetworkOptions Apply(CvrNetworkOptions network, string ablation)
    {
        ArgumentNullException.ThrowIfNull(network);
        switch (ablation)
        {
            case "none": break;
            case "no-din": network.UseDin = false; break;
            case "no-se": network.UseSe = false; break;
            case "single-ple": network.PleLayers = [network.PleLayers[^1][^1..]]; break;
            default: throw new ArgumentException($"--ablation '{ablation}' is not one of: {string.Join(", ", Names)}.", nameof(ablation));
        }
        return network;
    }
}
