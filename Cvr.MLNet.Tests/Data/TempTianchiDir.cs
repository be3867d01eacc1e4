using System.Text;
using Cvr.MLNet.Data;

namespace Cvr.MLNet.Tests.Data;

/// <summary>A temporary folder for Tianchi-named test files, deleted on dispose.</summary>
internal sealed class TempTianchiDir : IDisposable
{
    public TempTianchiDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "cvr-dataio-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string EventsPath => System.IO.Path.Combine(Path, TianchiFiles.EventsFileName);
    public string ItemsPath => System.IO.Path.Combine(Path, TianchiFiles.ItemsFileName);

    /// <summary>Writes the events file: the header then <paramref name="rows"/>, each ended by LF.</summary>
    public string WriteEvents(params string[] rows) => WriteRaw(EventsPath, TianchiFiles.EventsHeader + "\n" + string.Concat(rows.Select(r => r + "\n")));

    public string WriteItems(params string[] rows) => WriteRaw(ItemsPath, TianchiFiles.ItemsHeader + "\n" + string.Concat(rows.Select(r => r + "\n")));

    public static string WriteRaw(string path, string text, bool bom = false)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        File.WriteAllBytes(path, bom ? [.. Encoding.UTF8.Preamble, .. bytes] : bytes);
        return path;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
