using System.Diagnostics;
using System.Text;

namespace Cvr.MLNet.Data.Generation;

/// <summary>
/// Writes a synthetic Tianchi-format behaviour log (<c>tianchi_mobile_recommend_train_user.csv</c>),
/// its item subset file (<c>tianchi_mobile_recommend_train_item.csv</c>) and <c>truth.csv</c>, the
/// exact probabilities behind every distinct click. The process (described in <c>data/README.md</c>)
/// reproduces the real log's marginals and its conversion structure, including the orphan purchases
/// that no click model can recall. Output is streamed user block by user block and is byte-identical
/// for a given <see cref="GeneratorOptions.Seed"/>.
/// </summary>
public sealed class TianchiGenerator
{
    private readonly GeneratorOptions _options;

    /// <summary>A generator for <paramref name="options"/> (validated here).</summary>
    public TianchiGenerator(GeneratorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Check();
        _options = options;
    }

    /// <summary>The options in use.</summary>
    public GeneratorOptions Options => _options;

    /// <summary>Writes the three files into <paramref name="directory"/> (created if missing, files overwritten).</summary>
    public GeneratorReport Generate(string directory, IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(directory);
        string events = Path.Combine(directory, TianchiFiles.EventsFileName);
        string items = Path.Combine(directory, TianchiFiles.ItemsFileName);
        string truth = Path.Combine(directory, TianchiFiles.TruthFileName);
        GeneratorReport report;
        using (var e = Create(events))
        using (var i = Create(items))
        using (var t = Create(truth))
            report = Generate(e, i, t, progress, cancellationToken);
        report.Files = [events, items, truth];
        report.Seconds = clock.Elapsed.TotalSeconds;
        return report;
    }

    /// <summary>Writes the events, item and truth files to the given writers.</summary>
    public GeneratorReport Generate(TextWriter events, TextWriter items, TextWriter truth,
        IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(truth);
        var clock = Stopwatch.StartNew();
        var report = new GeneratorRun(_options).Execute(events, items, truth, progress, cancellationToken);
        report.Seconds = clock.Elapsed.TotalSeconds;
        return report;
    }

    private static StreamWriter Create(string path) =>
        new(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20), new UTF8Encoding(false), 1 << 16);
}
