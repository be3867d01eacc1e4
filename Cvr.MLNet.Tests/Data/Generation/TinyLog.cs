using System.Globalization;
using Cvr.MLNet.Data;
using Cvr.MLNet.Data.Generation;

namespace Cvr.MLNet.Tests.Data.Generation;

/// <summary>The tiny preset generated once (seed 1) and parsed at the text level, shared by the generator tests.</summary>
internal sealed class TinyLog
{
    private static readonly Lazy<TinyLog> Instance = new(() => new TinyLog(GeneratorOptions.Tiny()));

    public static TinyLog Default => Instance.Value;

    public GeneratorOptions Options { get; }
    public GeneratorReport Report { get; }
    public string EventsText { get; }
    public string ItemsText { get; }
    public string TruthText { get; }
    public List<string[]> Events { get; } = [];
    public List<string[]> Items { get; } = [];
    public List<string[]> Truth { get; } = [];

    public TinyLog(GeneratorOptions options)
    {
        Options = options;
        var (report, e, i, t) = Generate(options);
        Report = report; EventsText = e; ItemsText = i; TruthText = t;
        Events = Split(e, TianchiFiles.EventsHeader);
        Items = Split(i, TianchiFiles.ItemsHeader);
        Truth = Split(t, "user_id,item_id,item_category,time,p_favcart_24h,p_buy_24h,z,censored,p_favcart_pit_24h,p_buy_pit_24h");
    }

    public static (GeneratorReport Report, string Events, string Items, string Truth) Generate(GeneratorOptions options)
    {
        using var e = new StringWriter(CultureInfo.InvariantCulture);
        using var i = new StringWriter(CultureInfo.InvariantCulture);
        using var t = new StringWriter(CultureInfo.InvariantCulture);
        var report = new TianchiGenerator(options).Generate(e, i, t);
        return (report, e.ToString(), i.ToString(), t.ToString());
    }

    /// <summary>Lines after the header, split on commas; asserts the header and LF endings.</summary>
    private static List<string[]> Split(string text, string header)
    {
        Assert.IsTrue(text.EndsWith('\n'), "the file must end with a newline");
        Assert.DoesNotContain("\r", text, "LF line endings by default");
        var lines = text.Split('\n');
        Assert.AreEqual(header, lines[0]);
        return lines.Skip(1).Take(lines.Length - 2).Select(l => l.Split(',')).ToList();
    }

    public static int Hour(string time) => TianchiTime.Parse(time);
}
