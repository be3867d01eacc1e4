namespace Cvr.MLNet.Data;

/// <summary>The Tianchi files found for a <c>--data</c> argument (a file or a folder).</summary>
/// <param name="EventsPath">Full path of the events (user behavior) file.</param>
/// <param name="ItemsPath">Full path of the item subset file, or null when there is none next to it.</param>
public sealed record TianchiPaths(string EventsPath, string? ItemsPath)
{
    /// <summary>
    /// Resolves a file or folder: a folder must contain <see cref="TianchiFiles.EventsFileName"/>; a file is
    /// taken as the events file. In both cases <see cref="TianchiFiles.ItemsFileName"/> in the same folder is
    /// picked up when present.
    /// </summary>
    /// <exception cref="FileNotFoundException">Neither a file nor a folder with the events file exists at the path.</exception>
    public static TianchiPaths Resolve(string fileOrDir)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fileOrDir);
        var full = Path.GetFullPath(fileOrDir);
        string events;
        if (Directory.Exists(full))
        {
            events = Path.Combine(full, TianchiFiles.EventsFileName);
            if (!File.Exists(events))
                throw new FileNotFoundException($"The folder '{full}' has no {TianchiFiles.EventsFileName}.", events);
        }
        else if (File.Exists(full))
        {
            events = full;
        }
        else
        {
            throw new FileNotFoundException($"No such file or folder: '{full}'.", full);
        }
        var items = Path.Combine(Path.GetDirectoryName(events)!, TianchiFiles.ItemsFileName);
        return new TianchiPaths(events, File.Exists(items) && !string.Equals(items, events, StringComparison.Ordinal) ? items : null);
    }
}
