namespace Cvr.MLNet.Native;

/// <summary>What <see cref="TorchSharpNative.EnsureLoadable()"/> found and did.</summary>
/// <param name="LibraryPath">The libLibTorchSharp.so TorchSharp will load, or null when none was found (or off Linux).</param>
/// <param name="HostLibStdCxxPath">The host libstdc++.so.6 whose version definitions were read, or null when none was found (or off Linux).</param>
/// <param name="HostNeedsPatch">True when that libstdc++ lacks <see cref="TorchSharpNative.RequiredLibStdCxxVersion"/>.</param>
/// <param name="Patched">True when this call marked the version weak in <paramref name="LibraryPath"/>.</param>
public sealed record TorchSharpNativeReport(string? LibraryPath, string? HostLibStdCxxPath, bool HostNeedsPatch, bool Patched)
{
    /// <summary>Human-readable one-liner for logs.</summary>
    public override string ToString() =>
        LibraryPath is null ? $"libLibTorchSharp.so not found (host libstdc++: {HostLibStdCxxPath ?? "none"})"
        : Patched ? $"patched {LibraryPath} ({TorchSharpNative.RequiredLibStdCxxVersion} marked weak; host {HostLibStdCxxPath} lacks it)"
        : HostNeedsPatch ? $"{LibraryPath} already loadable ({TorchSharpNative.RequiredLibStdCxxVersion} weak or not needed)"
        : $"{LibraryPath} loadable as is (host {HostLibStdCxxPath} defines {TorchSharpNative.RequiredLibStdCxxVersion})";
}
