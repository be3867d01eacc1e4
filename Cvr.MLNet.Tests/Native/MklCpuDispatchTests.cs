using System.Diagnostics;
using System.Text.Json;
using Cvr.MLNet.Data.Generation;
using Cvr.MLNet.Native;

namespace Cvr.MLNet.Tests.Native;

/// <summary>
/// MKL's vendor check redirected in process (<see cref="MklCpuDispatch"/>): the ELF lookup of its GOT slots, when it
/// applies, and — in fresh processes, since MKL decides once per process — that it changes MKL's code path on
/// this AMD machine, that the switch turns it off, and that both paths train the same model.
/// </summary>
[TestClass]
public sealed class MklCpuDispatchTests
{
    private static string Libtorch => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libtorch_cpu.so");

    [TestMethod]
    public void TheElfReaderFindsTheGotSlotsOfTheVendorCheck()
    {
        Assert.IsTrue(File.Exists(Libtorch), Libtorch);
        var slots = ElfVersionNeedPatcher.ReadSymbolSlots(Libtorch, MklCpuDispatch.VendorCheck);
        Assert.IsTrue(slots.Count >= 1, "libtorch calls the vendor check through its GOT");
        Assert.IsTrue(slots.All(s => s % 8 == 0 && s > 0), "8-byte slots");
        Assert.AreEqual(slots.Count, slots.Distinct().Count());
        Assert.AreEqual(0, ElfVersionNeedPatcher.ReadSymbolSlots(Libtorch, "no_such_symbol_anywhere").Count);
        // A prefix of a real name is not the name.
        Assert.AreEqual(0, ElfVersionNeedPatcher.ReadSymbolSlots(Libtorch, "mkl_serv_intel_cpu").Count(s => slots.Contains(s)));
        var notElf = Path.GetTempFileName();
        try
        {
            File.WriteAllText(notElf, "not an ELF file at all, just text");
            Assert.ThrowsExactly<InvalidDataException>(() => ElfVersionNeedPatcher.ReadSymbolSlots(notElf, MklCpuDispatch.VendorCheck));
        }
        finally { File.Delete(notElf); }
    }

    [TestMethod]
    public void ItAppliesOnlyOnLinuxX64WithAnAmdCpuUnlessSwitchedOff()
    {
        Assert.IsTrue(MklCpuDispatch.Wanted("AuthenticAMD", null, out var reason), reason);
        Assert.IsTrue(MklCpuDispatch.Wanted("AuthenticAMD", "1", out _));
        Assert.IsFalse(MklCpuDispatch.Wanted("AuthenticAMD", "0", out reason));
        StringAssert.Contains(reason, "CVR_MKL_CPU_DISPATCH=0");
        Assert.IsFalse(MklCpuDispatch.Wanted("GenuineIntel", null, out reason));
        StringAssert.Contains(reason, "GenuineIntel");
        Assert.IsFalse(MklCpuDispatch.Wanted(null, null, out _));
        Assert.AreEqual(12, MklCpuDispatch.CpuVendor()!.Length);
    }

    [TestMethod]
    public void ALibraryWithoutMklIsLeftAlone()
    {
        // The native bridge is loaded in every test process and has no MKL inside: nothing to redirect, no write.
        var bridge = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", TorchSharpNative.NativeLibraryFileName);
        var report = MklCpuDispatch.Redirect(bridge, MklCpuDispatch.Mappings());
        Assert.IsFalse(report.Applied);
        Assert.AreEqual(0, report.Slots);
        StringAssert.Contains(report.Reason, "no mkl_serv_intel_cpu_true");
    }

    /// <summary>Runs the CLI in a fresh process (the test host's own MKL may already have decided) and returns its stdout.</summary>
    private static string Cli(string dispatch, params string[] args)
    {
        var dir = AppContext.BaseDirectory;
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
        foreach (var a in new[] { "exec", "--runtimeconfig", Path.Combine(dir, "Cvr.MLNet.Tests.runtimeconfig.json"),
                     "--depsfile", Path.Combine(dir, "Cvr.MLNet.Tests.deps.json"), Path.Combine(dir, "cvr.dll") }.Concat(args))
            psi.ArgumentList.Add(a);
        psi.Environment[MklCpuDispatch.EnvironmentVariable] = dispatch;
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        Assert.IsTrue(p.WaitForExit(300_000), "the CLI finished");
        Assert.AreEqual(0, p.ExitCode, stderr.Result);
        return stdout;
    }

    [TestMethod]
    public void InAFreshProcessItChangesMklsCodePath_AndTheSwitchTurnsItOff()
    {
        (string Dispatch, string CpuType) Bench(string dispatch)
        {
            using var doc = JsonDocument.Parse(Cli(dispatch, "bench", "--parts", "train", "--train-batch-sizes", "16", "--threads", "1", "--seconds", "0.2", "--warmup", "0", "--json"));
            var env = doc.RootElement.GetProperty("details").GetProperty("environment");
            return (env.GetProperty("mklCpuDispatch").GetString()!, env.GetProperty("mklCpuType").GetString()!);
        }
        var on = Bench("1");
        var off = Bench("0");
        StringAssert.StartsWith(off.Dispatch, "not applied: CVR_MKL_CPU_DISPATCH=0");
        if (MklCpuDispatch.CpuVendor() == "AuthenticAMD")
        {
            StringAssert.StartsWith(on.Dispatch, "applied: mkl_serv_intel_cpu_true answers 1");
            Assert.AreEqual("0", off.CpuType, "MKL's generic path on AMD");
            Assert.AreNotEqual("0", on.CpuType, "a feature-chosen path");
            Assert.AreNotEqual("-1", on.CpuType, "MKL ran");
            if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported) Assert.AreEqual("7", on.CpuType, "the AVX-512 path");
        }
        else StringAssert.StartsWith(on.Dispatch, "not applied");
    }

    [TestMethod]
    public void BothCodePathsTrainTheSameModel()
    {
        var dir = Directory.CreateTempSubdirectory("cvr-mkl").FullName;
        try
        {
            new TianchiGenerator(new GeneratorOptions { Users = 40, RowsPerUser = 80, Seed = 3 }).Generate(dir);
            JsonElement Train(string dispatch)
            {
                using var doc = JsonDocument.Parse(Cli(dispatch, "train", "--data", dir, "--model", Path.Combine(dir, $"m{dispatch}.zip"),
                    "--epochs", "1", "--threads", "1", "--json"));
                return doc.RootElement.Clone();
            }
            var on = Train("1");
            var off = Train("0");
            foreach (var task in new[] { "buy", "favCart" })
                foreach (var metric in new[] { "logLoss", "auc" })
                {
                    double a = on.GetProperty(task).GetProperty(metric).GetDouble(), b = off.GetProperty(task).GetProperty(metric).GetDouble();
                    Assert.AreEqual(b, a, 1e-3, $"{task} {metric}: AVX-512 path {a}, generic path {b}");
                }
            Assert.AreEqual(off.GetProperty("samples").GetInt32(), on.GetProperty("samples").GetInt32());
        }
        finally { Directory.Delete(dir, true); }
    }
}
