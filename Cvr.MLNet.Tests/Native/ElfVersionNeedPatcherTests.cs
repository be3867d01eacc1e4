using System.Runtime.InteropServices;
using Cvr.MLNet.Native;

namespace Cvr.MLNet.Tests.Native;

[TestClass]
public sealed class ElfVersionNeedPatcherTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateDirectory() => _dir = NativeTestFiles.NewTempDirectory();

    [TestCleanup]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    [TestMethod]
    public void ReadVersionNeeds_RealLibrary_ListsEveryVernauxWithItsLibrary()
    {
        string lib = Path.Combine(_dir, "lib.so");
        NativeTestFiles.CopyUnpatchedLibrary(lib);

        IReadOnlyList<VersionNeedEntry> entries = ElfVersionNeedPatcher.ReadVersionNeeds(lib);

        // readelf -V: ld-linux 1, libm 1, libgcc_s 1, libc 5, libstdc++ 20.
        Assert.AreEqual(28, entries.Count);
        Assert.AreEqual(20, entries.Count(e => e.File == "libstdc++.so.6"));
        Assert.AreEqual(5, entries.Count(e => e.File == "libc.so.6"));
        VersionNeedEntry glibcxx = entries.Single(e => e.Name == "GLIBCXX_3.4.32");
        Assert.AreEqual("libstdc++.so.6", glibcxx.File);
        Assert.AreEqual((ushort)18, glibcxx.Other);
        Assert.AreEqual((ushort)0, glibcxx.Flags);
        Assert.IsFalse(glibcxx.IsWeak);
        Assert.AreEqual(ElfHash("GLIBCXX_3.4.32"), glibcxx.Hash);
        Assert.IsTrue(entries.All(e => e.Hash == ElfHash(e.Name)), "every vna_hash is the ELF hash of its vna_name");
        Assert.IsTrue(entries.All(e => !e.IsWeak), "TorchSharp ships no weak version needs");
    }

    [TestMethod]
    public void MarkWeak_FlipsOnlyTheGlibcxx3432Flag_AndSecondRunChangesNothing()
    {
        string lib = Path.Combine(_dir, "libLibTorchSharp.so");
        NativeTestFiles.CopyUnpatchedLibrary(lib);
        var originalTime = new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(lib, originalTime);
        byte[] before = File.ReadAllBytes(lib);
        IReadOnlyList<VersionNeedEntry> entriesBefore = ElfVersionNeedPatcher.ReadVersionNeeds(lib);
        VersionNeedEntry target = entriesBefore.Single(e => e.Name == "GLIBCXX_3.4.32");

        Assert.AreEqual(VersionNeedPatchResult.MarkedWeak, ElfVersionNeedPatcher.MarkWeak(lib, "GLIBCXX_3.4.32"));

        byte[] after = File.ReadAllBytes(lib);
        Assert.AreEqual(before.Length, after.Length);
        int[] changed = Enumerable.Range(0, before.Length).Where(i => before[i] != after[i]).ToArray();
        // Only the low byte of vna_flags changes: 0x0000 -> 0x0002.
        CollectionAssert.AreEqual(new[] { (int)target.FlagsOffset }, changed);
        Assert.AreEqual((byte)ElfVersionNeedPatcher.VerFlagWeak, after[target.FlagsOffset]);
        Assert.AreEqual(originalTime, File.GetLastWriteTimeUtc(lib), "the patch keeps the copy's timestamp");

        IReadOnlyList<VersionNeedEntry> entriesAfter = ElfVersionNeedPatcher.ReadVersionNeeds(lib);
        Assert.AreEqual(entriesBefore.Count, entriesAfter.Count);
        for (int i = 0; i < entriesBefore.Count; i++)
        {
            VersionNeedEntry b = entriesBefore[i], a = entriesAfter[i];
            Assert.AreEqual(b.File + ":" + b.Name, a.File + ":" + a.Name);
            Assert.AreEqual(b.Other, a.Other);
            Assert.AreEqual(b.Name == "GLIBCXX_3.4.32" ? (ushort)(b.Flags | 2) : b.Flags, a.Flags, b.Name);
        }

        File.SetLastWriteTimeUtc(lib, originalTime);
        Assert.AreEqual(VersionNeedPatchResult.AlreadyWeak, ElfVersionNeedPatcher.MarkWeak(lib, "GLIBCXX_3.4.32"));
        CollectionAssert.AreEqual(after, File.ReadAllBytes(lib));
        Assert.AreEqual(originalTime, File.GetLastWriteTimeUtc(lib));
        Assert.AreEqual(1, Directory.GetFiles(_dir).Length, "no temporary file is left behind");
    }

    [TestMethod]
    public void MarkWeak_ReplacesAHardLinkInsteadOfWritingThroughIt()
    {
        // The shared copy (think: the NuGet cache) must stay as shipped when an output copy is a hard link to it.
        string shared = Path.Combine(_dir, "shared.so");
        string output = Path.Combine(_dir, "output.so");
        NativeTestFiles.CopyUnpatchedLibrary(shared);
        Assert.AreEqual(0, Link(shared, output), "link(2) failed");
        byte[] sharedBefore = File.ReadAllBytes(shared);

        Assert.AreEqual(VersionNeedPatchResult.MarkedWeak, ElfVersionNeedPatcher.MarkWeak(output, "GLIBCXX_3.4.32"));

        CollectionAssert.AreEqual(sharedBefore, File.ReadAllBytes(shared));
        Assert.IsTrue(ElfVersionNeedPatcher.ReadVersionNeeds(output).Single(e => e.Name == "GLIBCXX_3.4.32").IsWeak);
    }

    [TestMethod]
    public void MarkWeak_VersionNotNeeded_ReturnsNotReferencedAndLeavesFileAlone()
    {
        string lib = Path.Combine(_dir, "lib.so");
        NativeTestFiles.CopyUnpatchedLibrary(lib);
        byte[] before = File.ReadAllBytes(lib);

        Assert.AreEqual(VersionNeedPatchResult.NotReferenced, ElfVersionNeedPatcher.MarkWeak(lib, "GLIBCXX_9.9.99"));

        CollectionAssert.AreEqual(before, File.ReadAllBytes(lib));
    }

    [TestMethod]
    public void MarkWeak_NonElfFile_ThrowsNamingTheFile()
    {
        string text = Path.Combine(_dir, "not-elf.so");
        File.WriteAllText(text, "#!/bin/sh\necho this is a shell script, not a shared library\n");

        var ex = Assert.ThrowsExactly<InvalidDataException>(() => ElfVersionNeedPatcher.MarkWeak(text, "GLIBCXX_3.4.32"));

        Assert.AreEqual($"'{text}' is not an ELF file (no \\x7fELF magic at offset 0).", ex.Message);
    }

    [TestMethod]
    public void ReadVersionNeeds_Elf32_ThrowsNamingClassAndData()
    {
        string lib = Path.Combine(_dir, "elf32.so");
        byte[] header = new byte[64];
        header[0] = 0x7f; header[1] = (byte)'E'; header[2] = (byte)'L'; header[3] = (byte)'F';
        header[4] = 1; // ELFCLASS32
        header[5] = 1;
        File.WriteAllBytes(lib, header);

        var ex = Assert.ThrowsExactly<InvalidDataException>(() => ElfVersionNeedPatcher.ReadVersionNeeds(lib));

        Assert.AreEqual($"'{lib}' is an ELF file with EI_CLASS=1, EI_DATA=1; only 64-bit little-endian ELF (EI_CLASS=2, EI_DATA=1) is supported.", ex.Message);
    }

    [TestMethod]
    public void ReadVersionNeeds_TruncatedLibrary_ThrowsNamingTheSectionHeaderTable()
    {
        string lib = Path.Combine(_dir, "truncated.so");
        NativeTestFiles.CopyUnpatchedLibrary(lib);
        byte[] head = File.ReadAllBytes(lib)[..4096];
        File.WriteAllBytes(lib, head);

        var ex = Assert.ThrowsExactly<InvalidDataException>(() => ElfVersionNeedPatcher.ReadVersionNeeds(lib));

        StringAssert.StartsWith(ex.Message, $"'{lib}' is a truncated or corrupt ELF file: the section header table (e_shoff=");
        StringAssert.EndsWith(ex.Message, "lies outside the file or its section (file size 4096 bytes).");
    }

    [TestMethod]
    public void HostDetection_AgreesWithTheHostLibStdCxxContents()
    {
        string? host = ElfVersionNeedPatcher.FindHostLibStdCxx(preferLoaded: false);
        Assert.IsNotNull(host, "this Linux host has a libstdc++.so.6");
        Assert.IsTrue(File.Exists(host));
        IReadOnlyList<string> defined = ElfVersionNeedPatcher.ReadVersionDefinitions(host);
        CollectionAssert.Contains(defined.ToList(), "GLIBCXX_3.4");
        CollectionAssert.Contains(defined.ToList(), "CXXABI_1.3");
        CollectionAssert.DoesNotContain(defined.ToList(), "GLIBCXX_9.9.99");

        bool defines3432 = NativeTestFiles.FileContainsString(host, "GLIBCXX_3.4.32");
        Assert.AreEqual(defines3432, ElfVersionNeedPatcher.DefinesVersion(host, "GLIBCXX_3.4.32"));
        Assert.AreEqual(!defines3432, ElfVersionNeedPatcher.HostLacksVersion("GLIBCXX_3.4.32", preferLoaded: false, out string? found));
        Assert.AreEqual(host, found);
        // Debian 12 / Ubuntu 22.04 (GCC 12) stop at GLIBCXX_3.4.30; that is the case this project patches for.
        if (defined.Contains("GLIBCXX_3.4.30") && !defined.Contains("GLIBCXX_3.4.31"))
        {
            Assert.IsFalse(ElfVersionNeedPatcher.DefinesVersion(host, "GLIBCXX_3.4.32"));
        }

        // The copy mapped into this process is the same library (maybe under its real name).
        string? loaded = ElfVersionNeedPatcher.FindHostLibStdCxx(preferLoaded: true);
        Assert.IsNotNull(loaded);
        StringAssert.StartsWith(Path.GetFileName(loaded), "libstdc++.so.6");
        CollectionAssert.AreEqual(defined.ToList(), ElfVersionNeedPatcher.ReadVersionDefinitions(loaded).ToList());
    }

    [TestMethod]
    public void PickFromLoaderCache_PrefersThisProcessArchitecture()
    {
        string other = Path.Combine(_dir, "libstdc++.so.6.i386");
        string mine = Path.Combine(_dir, "libstdc++.so.6.mine");
        File.WriteAllText(other, "");
        File.WriteAllText(mine, "");
        string tag = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "AArch64" : "x86-64";
        string output = $"""
            1234 libs found in cache `/etc/ld.so.cache'
            	libstdc++.so.6 (libc6) => {other}
            	libstdc++.so.6 (libc6,{tag}) => {mine}
            	libstdc++fs.so.6 (libc6,{tag}) => /nonexistent
            	libstdc (libc6,{tag}) => /nonexistent
            """;

        Assert.AreEqual(mine, ElfVersionNeedPatcher.PickFromLoaderCache(output));
        Assert.AreEqual(other, ElfVersionNeedPatcher.PickFromLoaderCache(output.Replace("," + tag + ") => " + mine, ") => /nonexistent", StringComparison.Ordinal)));
        Assert.IsNull(ElfVersionNeedPatcher.PickFromLoaderCache("0 libs found in cache `/etc/ld.so.cache'\n"));
    }

    /// <summary>The System V ELF hash (what vna_hash holds), computed independently of the reader.</summary>
    private static uint ElfHash(string name)
    {
        uint h = 0;
        foreach (char c in name)
        {
            h = (h << 4) + c;
            uint g = h & 0xf0000000;
            if (g != 0) h ^= g >> 24;
            h &= ~g;
        }
        return h;
    }

    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int Link(string existing, string newPath);
}
