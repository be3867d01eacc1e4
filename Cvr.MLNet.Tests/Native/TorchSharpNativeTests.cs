using Cvr.MLNet.Native;
using TorchSharp;

namespace Cvr.MLNet.Tests.Native;

[TestClass]
public sealed class TorchSharpNativeTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateDirectory() => _dir = NativeTestFiles.NewTempDirectory();

    [TestCleanup]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    [TestMethod]
    public void EnsureLoadable_PatchesOnlyTheFirstExistingCandidate_Once()
    {
        string host = ElfVersionNeedPatcher.FindHostLibStdCxx(preferLoaded: false)!;
        bool hostLacks = !ElfVersionNeedPatcher.DefinesVersion(host, "GLIBCXX_3.4.32");
        string missing = Path.Combine(_dir, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        string first = Path.Combine(_dir, "libLibTorchSharp.so");
        string second = Path.Combine(_dir, "cache.so");
        NativeTestFiles.CopyUnpatchedLibrary(first);
        NativeTestFiles.CopyUnpatchedLibrary(second);
        byte[] secondBytes = File.ReadAllBytes(second);

        TorchSharpNativeReport report = TorchSharpNative.EnsureLoadable([missing, first, second], host);

        Assert.AreEqual(new TorchSharpNativeReport(first, host, hostLacks, Patched: hostLacks), report);
        Assert.AreEqual(hostLacks, IsWeak(first));
        CollectionAssert.AreEqual(secondBytes, File.ReadAllBytes(second), "only the library TorchSharp will load is touched");

        TorchSharpNativeReport again = TorchSharpNative.EnsureLoadable([missing, first, second], host);
        Assert.AreEqual(new TorchSharpNativeReport(first, host, hostLacks, Patched: false), again);
    }

    [TestMethod]
    public void EnsureLoadable_NoHostLibStdCxxOrNoLibrary_ChangesNothing()
    {
        string lib = Path.Combine(_dir, "libLibTorchSharp.so");
        NativeTestFiles.CopyUnpatchedLibrary(lib);
        byte[] before = File.ReadAllBytes(lib);

        Assert.AreEqual(new TorchSharpNativeReport(lib, null, false, false), TorchSharpNative.EnsureLoadable([lib], null));
        CollectionAssert.AreEqual(before, File.ReadAllBytes(lib));

        string host = ElfVersionNeedPatcher.FindHostLibStdCxx(preferLoaded: false)!;
        TorchSharpNativeReport none = TorchSharpNative.EnsureLoadable([Path.Combine(_dir, "absent.so")], host);
        Assert.IsNull(none.LibraryPath);
        Assert.IsFalse(none.Patched);
        Assert.AreEqual("libLibTorchSharp.so not found (host libstdc++: " + host + ")", none.ToString());
    }

    [TestMethod]
    public void EnsureLoadable_InTheTestProcess_FindsTheBuildOutputCopyAlreadyPatched()
    {
        TorchSharpNativeReport report = TorchSharpNative.EnsureLoadable();

        Assert.AreEqual(Path.GetFullPath(NativeTestFiles.OutputLibrary), Path.GetFullPath(report.LibraryPath!));
        Assert.IsFalse(report.Patched, "the build (build/TorchSharpNative.targets) already patched the output copy");
        Assert.IsNotNull(report.HostLibStdCxxPath);
        Assert.AreEqual(!NativeTestFiles.FileContainsString(report.HostLibStdCxxPath, "GLIBCXX_3.4.32"), report.HostNeedsPatch);
        Assert.AreEqual(report.HostNeedsPatch, IsWeak(report.LibraryPath!), "weak exactly where the host needs it");
        Assert.AreSame(report, TorchSharpNative.EnsureLoadable(), "computed once per process");
    }

    [TestMethod]
    public void CandidatePaths_EndWithTheNuGetCacheCopyForTorchSharpsVersion()
    {
        string version = TorchSharpNative.PackageVersionOf(typeof(torch).Assembly)!;
        StringAssert.Matches(version, new System.Text.RegularExpressions.Regex(@"^\d+\.\d+\.\d+$"));
        string expected = Path.Combine(TorchSharpNative.NuGetPackagesRoot(), "torchsharp", version, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

        List<string> candidates = TorchSharpNative.CandidatePaths().ToList();

        Assert.AreEqual(NativeTestFiles.OutputLibrary, candidates[0]);
        Assert.AreEqual(Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so"), candidates[1]);
        Assert.AreEqual(expected, candidates[^1]);
        Assert.IsTrue(File.Exists(expected), $"restore put TorchSharp {version} in the package cache at {expected}");
    }

    private static bool IsWeak(string path) =>
        ElfVersionNeedPatcher.ReadVersionNeeds(path).Single(e => e.Name == "GLIBCXX_3.4.32").IsWeak;
}
