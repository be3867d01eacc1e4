using System.Runtime.InteropServices;

namespace Cvr.MLNet.Benchmarks;

/// <summary>
/// The "fair process environment" of the PyTorch reference (<c>cvr_torch.py --tuned</c>) applied from
/// inside a .NET process: glibc malloc keeps large blocks instead of mmap'ing and unmapping every
/// tensor over 32 MB (each munmap costs ~80 k page faults on the next batch-4096 forward), and OpenMP
/// threads sleep instead of spin-waiting on a small machine. Linux/glibc only; elsewhere a no-op.
/// Call <see cref="Apply"/> before the first TorchSharp call: libgomp reads <c>OMP_WAIT_POLICY</c>
/// when libtorch is loaded.
/// </summary>
public static class ProcessTuning
{
    private const int M_TRIM_THRESHOLD = -1, M_MMAP_MAX = -4;

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int MallOpt(int param, int value);

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);

    /// <summary>What <see cref="Apply"/> did, for the benchmark report.</summary>
    public static IReadOnlyDictionary<string, string> Applied { get; private set; } = new Dictionary<string, string>();

    /// <summary>
    /// mallopt(M_MMAP_MAX, 0) and mallopt(M_TRIM_THRESHOLD, 2 GiB − 1) (the in-process equivalent of
    /// <c>MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=…</c>), and OMP_WAIT_POLICY=PASSIVE in the native
    /// environment unless already set. Returns false where it cannot apply (not Linux).
    /// </summary>
    public static bool Apply()
    {
        if (!OperatingSystem.IsLinux()) return false;
        var applied = new Dictionary<string, string>();
        try
        {
            if (MallOpt(M_MMAP_MAX, 0) == 1) applied["mallopt(M_MMAP_MAX)"] = "0";
            if (MallOpt(M_TRIM_THRESHOLD, int.MaxValue) == 1) applied["mallopt(M_TRIM_THRESHOLD)"] = int.MaxValue.ToString();
        }
        catch (EntryPointNotFoundException) { } // musl: no mallopt
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null)
        {
            // .NET keeps its own copy of the environment; libgomp reads the C one.
            SetEnv("OMP_WAIT_POLICY", "PASSIVE", 0);
            Environment.SetEnvironmentVariable("OMP_WAIT_POLICY", "PASSIVE");
        }
        applied["OMP_WAIT_POLICY"] = Environment.GetEnvironmentVariable("OMP_WAIT_POLICY")!;
        Applied = applied;
        return true;
    }

    /// <summary>Peak resident set size of this process in bytes (VmHWM), or -1 where unknown.</summary>
    public static long PeakRss() => ReadStatus("/proc/self/status", "VmHWM:");

    /// <summary>Current resident set size of this process in bytes (VmRSS), or -1 where unknown.</summary>
    public static long CurrentRss() => ReadStatus("/proc/self/status", "VmRSS:");

    /// <summary>Peak RSS of another process (VmHWM), or -1 if it is gone or unknown.</summary>
    public static long PeakRss(int pid) => ReadStatus($"/proc/{pid}/status", "VmHWM:");

    /// <summary>Resets the peak RSS to the current RSS (Linux ≥ 4.0), so the next phase's peak is its own.</summary>
    public static bool ResetPeakRss()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); return true; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    private static long ReadStatus(string path, string key)
    {
        try
        {
            foreach (var line in File.ReadLines(path))
                if (line.StartsWith(key, StringComparison.Ordinal))
                    return long.Parse(line.AsSpan(key.Length).Trim().TrimEnd("kB").Trim()) * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return -1;
    }
}
