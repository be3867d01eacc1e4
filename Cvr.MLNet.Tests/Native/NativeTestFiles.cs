using Cvr.MLNet.Native;

namespace Cvr.MLNet.Tests.Native;

/// <summary>Scratch copies of the real libLibTorchSharp.so for patcher tests.</summary>
internal static class NativeTestFiles
{
    /// <summary>The copy the build put next to the tests (patched there when this host needed it).</summary>
    public static string OutputLibrary =>
        Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", TorchSharpNative.NativeLibraryFileName);

    public static string NewTempDirectory()
    {
        string dir = Path.Combine(Path.GetTempPath(), "cvr-native-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>
    /// Copies the output library to <paramref name="path"/> and clears VER_FLG_WEAK on GLIBCXX_3.4.32,
    /// giving the bytes TorchSharp ships (the build may already have patched the output copy).
    /// </summary>
    public static void CopyUnpatchedLibrary(string path)
    {
        Assert.IsTrue(File.Exists(OutputLibrary), $"The build did not copy {OutputLibrary}.");
        File.Copy(OutputLibrary, path, overwrite: true);
        VersionNeedEntry entry = ElfVersionNeedPatcher.ReadVersionNeeds(path).Single(e => e.Name == "GLIBCXX_3.4.32");
        ushort flags = (ushort)(entry.Flags & ~ElfVersionNeedPatcher.VerFlagWeak);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write);
        stream.Position = entry.FlagsOffset;
        stream.Write([(byte)(flags & 0xff), (byte)(flags >> 8)]);
    }

    /// <summary>Independent check of what the ELF reader reports: the name is in the file's string data.</summary>
    public static bool FileContainsString(string path, string text)
    {
        byte[] needle = [.. System.Text.Encoding.ASCII.GetBytes(text), 0];
        return File.ReadAllBytes(path).AsSpan().IndexOf(needle) >= 0;
    }
}
