using System.Globalization;
using Cvr.MLNet.Data;
using Cvr.MLNet.Samples;

namespace Cvr.MLNet.Evaluation;

/// <summary>
/// The generator's <c>truth.csv</c>: the true P(fav/cart within 24 h) and P(buy within 24 h) of every
/// distinct click (user, item, hour), keyed like the click samples.
/// </summary>
public sealed class GeneratorTruth
{
    private const string Header = "user_id,item_id,item_category,time,p_favcart_24h,p_buy_24h";
    private readonly Dictionary<(int User, int Item, int Hour), (float FavCart, float Buy)> _rows;

    private GeneratorTruth(Dictionary<(int, int, int), (float, float)> rows, string source) { _rows = rows; Source = source; }

    /// <summary>The file read.</summary>
    public string Source { get; }
    /// <summary>Clicks with a truth row.</summary>
    public int Count => _rows.Count;

    /// <summary>Reads a truth file; a bad row throws naming the file, line, column and value.</summary>
    public static GeneratorTruth Read(string path)
    {
        var rows = new Dictionary<(int, int, int), (float, float)>();
        using var reader = new StreamReader(path);
        var header = reader.ReadLine();
        if (header is null || !header.StartsWith(Header, StringComparison.Ordinal))
            throw new FormatException($"{path}: line 1: expected a header starting with '{Header}', got '{header}'.");
        string[] names = header.Split(',');
        long line = 1;
        for (string? text; (text = reader.ReadLine()) is not null;)
        {
            line++;
            if (text.Length == 0) continue;
            var f = text.Split(',');
            if (f.Length < 6) throw new FormatException($"{path}: line {line}: expected at least 6 fields, got {f.Length}: '{text}'.");
            int Int(int i) => int.TryParse(f[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v
                : throw new FormatException($"{path}: line {line}: column '{names[i]}': '{f[i]}' is not an integer.");
            float Prob(int i) => float.TryParse(f[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v is >= 0 and <= 1 ? v
                : throw new FormatException($"{path}: line {line}: column '{names[i]}': '{f[i]}' is not a probability in [0, 1].");
            if (!TianchiTime.TryParse(f[3], out int hour))
                throw new FormatException($"{path}: line {line}: column 'time': '{f[3]}' is not a time in the format {TianchiTime.Format}.");
            rows[(Int(0), Int(1), hour)] = (Prob(4), Prob(5));
        }
        return new GeneratorTruth(rows, path);
    }

    /// <summary>True probabilities of one click.</summary>
    public bool TryGet(int user, int item, int hour, out float pFavCart, out float pBuy)
    {
        bool ok = _rows.TryGetValue((user, item, hour), out var v);
        (pFavCart, pBuy) = v;
        return ok;
    }

    /// <summary>The truth of every sample; throws naming the first sample without a truth row.</summary>
    public (float[] PFavCart, float[] PBuy) Lookup(CvrSampleSet samples)
    {
        var fav = new float[samples.Count]; var buy = new float[samples.Count];
        for (int i = 0; i < samples.Count; i++)
            if (!TryGet(samples.UserIds[i], samples.ItemIds[i], samples.Hours[i], out fav[i], out buy[i]))
                throw new InvalidDataException($"{Source}: no truth row for the click user {samples.UserIds[i]}, item {samples.ItemIds[i]} at {TianchiTime.ToText(samples.Hours[i])} (is it the truth file of this log?).");
        return (fav, buy);
    }
}
