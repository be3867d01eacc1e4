using Microsoft.ML.Runtime;
using Microsoft.ML;
using TorchSharp;

namespace Cvr.MLNet.Training;

/// <summary>
/// Chooses the libtorch device: "cpu", "cuda", "cuda:N" or "auto". An <see cref="MLContext"/> with
/// <see cref="MLContext.GpuDeviceId"/> set asks for that GPU; <see cref="MLContext.FallbackToCpu"/>
/// decides between CPU and a clear error when CUDA is absent. Never crashes for lack of a GPU.
/// </summary>
public static class DeviceSelector
{
    /// <summary>Validates a device string; returns (wantsCuda, index or null, auto).</summary>
    public static (bool Cuda, int? Index, bool Auto) Parse(string device)
    {
        var d = (device ?? "").Trim().ToLowerInvariant();
        if (d == "cpu") return (false, null, false);
        if (d == "auto") return (true, null, true);
        if (d == "cuda") return (true, null, false);
        if (d.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(d[5..], out var i) && i >= 0) return (true, i, false);
        throw new ArgumentOutOfRangeException("Device", device, "Device must be 'cpu', 'cuda', 'cuda:N' or 'auto'.");
    }

    /// <summary>Resolves the device for training/inference.</summary>
    public static torch.Device Resolve(string device, IHostEnvironment? env, Action<string>? warn = null)
    {
        var (cuda, index, auto) = Parse(device);
        bool fallback = auto;
        if (env is MLContext ml && ml.GpuDeviceId is int gpu)
        {
            cuda = true; index ??= gpu; fallback |= ml.FallbackToCpu;
        }
        if (!cuda) return torch.CPU;
        if (torch.cuda.is_available())
            return new torch.Device(DeviceType.CUDA, index ?? 0);
        if (fallback)
        {
            warn?.Invoke("CUDA was requested but is not available (CPU-only libtorch backend or no GPU); training on CPU.");
            return torch.CPU;
        }
        throw new InvalidOperationException(
            "Device 'cuda' was requested but CUDA is not available: this build uses the CPU libtorch backend or the machine has no GPU. " +
            "Use --device cpu/auto, set MLContext.FallbackToCpu = true, or build with the CUDA backend (see docs/native.md).");
    }
}
