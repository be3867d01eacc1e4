using System.Reflection;
using System.Runtime.InteropServices;

namespace Cvr.MLNet.Native;

/// <summary>
/// Makes TorchSharp's native bridge (<c>libLibTorchSharp.so</c>) loadable on Linux hosts whose libstdc++
/// lacks <c>GLIBCXX_3.4.32</c> (Debian 12, Ubuntu 22.04). Builds of this repository and of projects that
/// reference the Cvr.MLNet package patch their output copies already; this is for hosts that load the
/// library from elsewhere, such as notebooks, which load it from the NuGet package cache.
/// </summary>
public static class TorchSharpNative
{
    /// <summary>File name of TorchSharp's native bridge on Linux.</summary>
    public const string NativeLibraryFileName = "libLibTorchSharp.so";

    /// <summary>The libstdc++ version TorchSharp 0.107 needs only for a symbol it never calls.</summary>
    public const string RequiredLibStdCxxVersion = ElfVersionNeedPatcher.RequiredGlibcxx;

    private static readonly Lock Gate = new();
    private static TorchSharpNativeReport? _report;

    /// <summary>
    /// Call before anything touches TorchSharp (its first use loads the native library). On Linux, when
    /// the host libstdc++ lacks <see cref="RequiredLibStdCxxVersion"/>, finds the libLibTorchSharp.so
    /// TorchSharp will load — first of <c>{app}/runtimes/linux-x64/native/</c>, <c>{app}/</c>, then the
    /// TorchSharp package (next to the loaded TorchSharp.dll, or in the NuGet cache for its version) —
    /// and marks that version weak in it if not done yet. Does nothing elsewhere. The result is computed
    /// once per process; later calls return it without touching the disk.
    /// </summary>
    /// <exception cref="IOException">The library needs the patch but could not be rewritten (e.g. a read-only package cache).</exception>
    /// <exception cref="InvalidDataException">The library or the host libstdc++ is not a valid ELF64 file.</exception>
    public static TorchSharpNativeReport EnsureLoadable()
    {
        lock (Gate)
        {
            if (_report is not null) return _report;
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
            {
                return _report = new TorchSharpNativeReport(null, null, HostNeedsPatch: false, Patched: false);
            }
            string? host = ElfVersionNeedPatcher.FindHostLibStdCxx(preferLoaded: true);
            return _report = EnsureLoadable(CandidatePaths(), host);
        }
    }

    /// <summary>
    /// The core of <see cref="EnsureLoadable()"/>: the first existing path of <paramref name="candidates"/> is
    /// the library; it is patched when <paramref name="hostLibStdCxx"/> lacks the version. Not cached.
    /// </summary>
    internal static TorchSharpNativeReport EnsureLoadable(IEnumerable<string> candidates, string? hostLibStdCxx)
    {
        string? library = candidates.FirstOrDefault(File.Exists);
        bool needsPatch = hostLibStdCxx is not null && !ElfVersionNeedPatcher.DefinesVersion(hostLibStdCxx, RequiredLibStdCxxVersion);
        if (library is null || !needsPatch) return new TorchSharpNativeReport(library, hostLibStdCxx, needsPatch, Patched: false);
        try
        {
            VersionNeedPatchResult result = ElfVersionNeedPatcher.MarkWeak(library, RequiredLibStdCxxVersion);
            return new TorchSharpNativeReport(library, hostLibStdCxx, needsPatch, result == VersionNeedPatchResult.MarkedWeak);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new IOException($"Cannot patch '{library}' to mark {RequiredLibStdCxxVersion} weak (host libstdc++ '{hostLibStdCxx}' lacks it): {ex.Message}", ex);
        }
    }

    /// <summary>Where TorchSharp's loader will find the library, in the order it looks.</summary>
    internal static IEnumerable<string> CandidatePaths()
    {
        string rid = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";
        string app = AppContext.BaseDirectory;
        yield return Path.Combine(app, "runtimes", rid, "native", NativeLibraryFileName);
        yield return Path.Combine(app, NativeLibraryFileName);

        Assembly? torchSharp = FindTorchSharpAssembly();
        if (torchSharp is null) yield break;
        // A package-cache TorchSharp.dll sits in {package}/lib/{tfm}/; the native lib in {package}/runtimes/.
        if (!string.IsNullOrEmpty(torchSharp.Location))
        {
            DirectoryInfo? dir = new FileInfo(torchSharp.Location).Directory;
            for (int up = 0; up < 3 && dir is not null; up++, dir = dir.Parent)
            {
                yield return Path.Combine(dir.FullName, "runtimes", rid, "native", NativeLibraryFileName);
            }
        }
        string? version = PackageVersionOf(torchSharp);
        if (version is not null)
        {
            yield return Path.Combine(NuGetPackagesRoot(), "torchsharp", version, "runtimes", rid, "native", NativeLibraryFileName);
        }
    }

    /// <summary>The NuGet global packages folder: $NUGET_PACKAGES, else ~/.nuget/packages.</summary>
    internal static string NuGetPackagesRoot()
    {
        string? configured = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        return !string.IsNullOrWhiteSpace(configured)
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
    }

    /// <summary>The package version ("0.107.0") of a TorchSharp assembly, from its informational version.</summary>
    internal static string? PackageVersionOf(Assembly assembly)
    {
        string? informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (!string.IsNullOrEmpty(informational))
        {
            int plus = informational.IndexOf('+', StringComparison.Ordinal);
            return plus >= 0 ? informational[..plus] : informational;
        }
        Version? v = assembly.GetName().Version;
        return v is null ? null : $"{v.Major}.{v.Minor}.{Math.Max(v.Build, 0)}";
    }

    // Loading the assembly runs no TorchSharp code: the native library is loaded by torch's static
    // constructor, which only the first use of a TorchSharp type triggers.
    private static Assembly? FindTorchSharpAssembly()
    {
        foreach (Assembly loaded in AppDomain.CurrentDomain.GetAssemblies())
        {
            if (loaded.GetName().Name == "TorchSharp") return loaded;
        }
        try
        {
            return Assembly.Load(new AssemblyName("TorchSharp"));
        }
        catch (IOException)
        {
            return null;
        }
        catch (BadImageFormatException)
        {
            return null;
        }
    }
}
