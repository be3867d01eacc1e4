using System.Globalization;
using Cvr.MLNet.Data;
using Cvr.MLNet.Samples;

namespace Cvr.MLNet.Evaluation;

/// <summary>
/// The generator's <c>truth.csv</c>: the true P(fav/cart within 24 h) and P(buy within 24 h) of every
/// distinct click (user, item, hour), keyed like the click samples, and where the file has them the
/// point-in-time truth (<c>p_favcart_pit_*</c>, <c>p_buy_pit_*</c>: only the pair's clicks up to the
/// sample's hour, without the later clicks the full truth also knows).
/// </summary>
public sealed class GeneratorTruth
{
    private const string Header = "user_id,item_id,item_category,time,p_favcart_24h,p_buy_24h";
    private readonly Dictionary<(int User, int Item, int Hour), Row> _rows;

    private readonly record struct Row(float FavCart, float Buy, float FavCartPit, float BuyPit);

    private GeneratorTruth(Dictionary<(int, int, int), Row> rows, string source, bool pointInTime)
    {
        _rows = rows; Source = source; HasPointInTime = pointInTime;
    }

    /// <summary>The file read.</summary>
    public string Source { get; }
    /// <summary>Clicks with a truth row.</summary>
    public int Count => _rows.Count;
    /// <summary>Whether the file has the point-in-time columns (files of generators before them do not).</summary>
    public bool HasPointInTime { get; }

    /// <summary>Reads a truth file; a bad row throws naming the file, line, column and value.</summary>
    public static GeneratorTruth Read(string path)
    {
        var rows = new Dictionary<(int, int, int), Row>();
        using var reader = new StreamReader(path);
        var header = reader.ReadLine();
        if (header is null || !header.StartsWith(Header, StringComparison.Ordinal))
            throw new FormatException($"{path}: line 1: expected a header starting with '{Header}', got '{header}'.");
        string[] names = header.Split(',');
        int favPit = Array.FindIndex(names, n => n.StartsWith("p_favcart_pit_", StringComparison.Ordinal));
        int buyPit = Array.FindIndex(names, n => n.StartsWith("p_buy_pit_", StringComparison.Ordinal));
        if ((favPit < 0) != (buyPit < 0))
            throw new FormatException($"{path}: line 1: the point-in-time columns come in a pair (p_favcart_pit_*, p_buy_pit_*); the header has one: '{header}'.");
        bool pit = favPit >= 0;
        int fields = pit ? Math.Max(6, Math.Max(favPit, buyPit) + 1) : 6;
        long line = 1;
        for (string? text; (text = reader.ReadLine()) is not null;)
        {
            line++;
            if (text.Length == 0) continue;
            var f = text.Split(',');
            if (f.Length < fields) throw new FormatException($"{path}: line {line}: expected at least {fields} fields, got {f.Length}: '{text}'.");
            int Int(int i) => int.TryParse(f[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v
                : throw new FormatException($"{path}: line {line}: column '{names[i]}': '{f[i]}' is not an integer.");
            float Prob(int i) => float.TryParse(f[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v is >= 0 and <= 1 ? v
                : throw new FormatException($"{path}: line {line}: column '{names[i]}': '{f[i]}' is not a probability in [0, 1].");
            if (!TianchiTime.TryParse(f[3], out int hour))
                throw new FormatException($"{path}: line {line}: column 'time': '{f[3]}' is not a time in the format {TianchiTime.Format}.");
            rows[(Int(0), Int(1), hour)] = pit ? new Row(Prob(4), Prob(5), Prob(favPit), Prob(buyPit)) : new Row(Prob(4), Prob(5), float.NaN, float.NaN);
        }
        return new GeneratorTruth(rows, path, pit);
    }

    /// <summary>True probabilities of one click.</summary>
    public bool TryGet(int user, int item, int hour, out float pFavCart, out float pBuy)
    {
        bool ok = _rows.TryGetValue((user, item, hour), out var v);
        (pFavCart, pBuy) = (v.FavCart, v.Buy);
        return ok;
    }

    /// <summary>The truth of every sample; throws naming the first sample without a truth row.</summary>
    /// <param name="samples">The click samples.</param>
    /// <param name="pointInTime">Return the point-in-time columns (requires <see cref="HasPointInTime"/>).</param>
    public (float[] PFavCart, float[] PBuy) Lookup(CvrSampleSet samples, bool pointInTime = false)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (pointInTime && !HasPointInTime)
            throw new InvalidOperationException($"{Source} has no point-in-time columns (p_favcart_pit_*, p_buy_pit_*); regenerate it with `cvr generate`.");
        var fav = new float[samples.Count]; var buy = new float[samples.Count];
        for (int i = 0; i < samples.Count; i++)
        {
            if (!_rows.TryGetValue((samples.UserIds[i], samples.ItemIds[i], samples.Hours[i]), out var v))
                throw new InvalidDataException($"{Source}: no truth row for the click user {samples.UserIds[i]}, item {samples.ItemIds[i]} at {TianchiTime.ToText(samples.Hours[i])} (is it the truth file of this log?).");
            (fav[i], buy[i]) = pointInTime ? (v.FavCartPit, v.BuyPit) : (v.FavCart, v.Buy);
        }
        return (fav, buy);
    }
}
