namespace Cvr.MLNet.Training;

/// <summary>
/// The trainer's samples as a source it can fill feature tables from, any rows at a time: what lets training
/// hold a window of rows instead of all of them (<see cref="TrainingRows"/>). Two implementations: the columnar
/// plan over our own feature chain (<see cref="ColumnarFeatureReader"/>), and a cursor over any view
/// (<see cref="CursorFeatureRows"/>). Both give the rows <see cref="FeatureTable.Read"/> gives, bit for bit.
/// </summary>
internal interface IFeatureRowSource
{
    /// <summary>Rows of the source.</summary>
    int Count { get; }

    /// <summary>The <c>Timestamp</c> feature, labels and weight of every row (≈ 10 bytes per row; no other feature).</summary>
    RowLabels ReadLabels(CancellationToken ct = default);

    /// <summary>Every row in one table (the whole-table form <see cref="FeatureTable.Read"/> returns).</summary>
    FeatureTable ReadAll(CancellationToken ct = default);

    /// <summary>A table whose row i holds source row <paramref name="rows"/>[i] (<paramref name="rows"/> ascending).</summary>
    FeatureTable Fill(int[] rows, CancellationToken ct = default);
}

/// <summary>What the trainer needs of every row without its features: the split key, labels and weight.</summary>
internal sealed class RowLabels(int count)
{
    public int Count { get; } = count;
    /// <summary>The <c>Timestamp</c> feature (the by-time split's key).</summary>
    public float[] Timestamp { get; } = new float[count];
    public bool[] FavCart { get; } = new bool[count];
    public bool[] Buy { get; } = new bool[count];
    public float[] Weight { get; } = new float[count];

    /// <summary>The labels of a table held whole (its own arrays; timestamps copied out of the time features).</summary>
    public static RowLabels Of(FeatureTable table)
    {
        var labels = new RowLabels(table.Count);
        for (int i = 0; i < table.Count; i++) labels.Timestamp[i] = table.TimeDense[i * 3 + 2];
        table.FavCart.AsSpan(0, table.Count).CopyTo(labels.FavCart);
        table.Buy.AsSpan(0, table.Count).CopyTo(labels.Buy);
        table.Weight.AsSpan(0, table.Count).CopyTo(labels.Weight);
        return labels;
    }
}
