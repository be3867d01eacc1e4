using TorchSharp;

namespace Cvr.MLNet.Native;

/// <summary>
/// Makes libtorch usable before the library's first TorchSharp call (training, model load): patches
/// the native bridge when the host needs it (<see cref="TorchSharpNative.EnsureLoadable()"/>), then
/// initializes TorchSharp, turning its long loader trace into one actionable message when no libtorch
/// backend package is referenced; on AMD CPUs lets MKL choose its kernels by CPU features
/// (<see cref="MklCpuDispatch"/>).
/// </summary>
internal static class TorchRuntime
{
    private static readonly Lazy<Exception?> Init = new(() =>
    {
        try
        {
            TorchSharpNative.EnsureLoadable();
            _ = torch.CPU.type; // runs TorchSharp's static initializer (loads the native backend)
            MklCpuDispatch.Apply(); // before libtorch's first GEMM: MKL decides its code path once
            return null;
        }
        catch (Exception ex) when (ex is TypeInitializationException or DllNotFoundException or NotSupportedException)
        {
            return new InvalidOperationException(
                "TorchSharp could not load its native libtorch backend. Reference a backend package next to Cvr.MLNet " +
                "(Linux CPU: libtorch-cpu-linux-x64 2.10.0; any OS CPU: TorchSharp-cpu 0.107.0; CUDA: see docs/native.md). " +
                $"Loader said: {Innermost(ex).Message.Split('\n')[0]}", ex);
        }
    });

    /// <summary>Throws a clear <see cref="InvalidOperationException"/> when libtorch cannot be loaded.</summary>
    public static void EnsureReady()
    {
        if (Init.Value is { } error) throw error;
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}
