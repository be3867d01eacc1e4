using Cvr.MLNet.Transforms;
using Microsoft.ML;

namespace Cvr.MLNet.Training;

/// <summary>
/// Any view's rows, filled by cursor: each <see cref="Fill"/> is one forward pass that reads the wanted rows'
/// columns and only moves past the others (ML.NET cursors cannot seek; a view's cursors see the same rows in
/// the same order). The path for views that are not our own feature chain over a sample set (a filter, a
/// cache, a foreign transform).
/// </summary>
internal sealed class CursorFeatureRows(IDataView view, int t, string? favCartColumn, string? buyColumn, string? weightColumn, int interactions)
    : IFeatureRowSource
{
    private int _count = -1;

    /// <summary>Rows of the view (counted by a cursor pass over no columns when the view does not know it).</summary>
    public int Count => _count >= 0 ? _count : _count = checked((int)(view.GetRowCount() ?? CountRows()));

    private long CountRows()
    {
        long n = 0;
        using var cur = view.GetRowCursor([]);
        while (cur.MoveNext()) n++;
        return n;
    }

    public RowLabels ReadLabels(CancellationToken ct = default)
    {
        var s = view.Schema;
        var cols = new List<DataViewSchema.Column> { s[CvrColumns.Timestamp] };
        foreach (var name in new[] { favCartColumn, buyColumn, weightColumn }) if (name is not null) cols.Add(s[name]);
        var ts = new List<float>(); var fav = new List<bool>(); var buy = new List<bool>(); var w = new List<float>();
        using (var cur = view.GetRowCursor(cols))
        {
            var getTs = cur.GetGetter<float>(s[CvrColumns.Timestamp]);
            var getFav = favCartColumn is null ? null : cur.GetGetter<bool>(s[favCartColumn]);
            var getBuy = buyColumn is null ? null : cur.GetGetter<bool>(s[buyColumn]);
            var getW = weightColumn is null ? null : cur.GetGetter<float>(s[weightColumn]);
            float f = 0; bool b = false;
            while (cur.MoveNext())
            {
                if ((ts.Count & 4095) == 0) ct.ThrowIfCancellationRequested();
                getTs(ref f); ts.Add(f);
                if (getFav is null) fav.Add(false); else { getFav(ref b); fav.Add(b); }
                if (getBuy is null) buy.Add(false); else { getBuy(ref b); buy.Add(b); }
                if (getW is null) w.Add(1f);
                else
                {
                    getW(ref f);
                    w.Add(FeatureTable.CheckWeight(f, weightColumn, w.Count));
                }
            }
        }
        _count = ts.Count;
        var labels = new RowLabels(_count);
        ts.CopyTo(labels.Timestamp); fav.CopyTo(labels.FavCart); buy.CopyTo(labels.Buy); w.CopyTo(labels.Weight);
        return labels;
    }

    public FeatureTable ReadAll(CancellationToken ct = default) =>
        FeatureTable.ReadRows(view, t, favCartColumn, buyColumn, weightColumn, ct, interactions);

    public FeatureTable Fill(int[] rows, CancellationToken ct = default)
    {
        for (int i = 1; i < rows.Length; i++)
            if (rows[i] <= rows[i - 1]) throw new ArgumentOutOfRangeException(nameof(rows), $"Rows must be ascending; got {rows[i]} after {rows[i - 1]}.");
        var table = FeatureTable.Create(rows.Length, t, compact: true, interactions);
        if (rows.Length == 0) return table;
        var s = view.Schema;
        var cols = FeatureTable.RequiredColumns(t, interactions).Select(c => s[c.Name]).ToList();
        foreach (var name in new[] { favCartColumn, buyColumn, weightColumn }) if (name is not null) cols.Add(s[name]);
        using var cur = view.GetRowCursor(cols);
        var reader = new FeatureTable.RowReader(cur, t, favCartColumn, buyColumn, weightColumn, interactions);
        int j = 0;
        for (long position = 0; j < rows.Length && cur.MoveNext(); position++)
        {
            if ((position & 4095) == 0) ct.ThrowIfCancellationRequested();
            if (position != rows[j]) continue;
            reader.Read(table, j++, position);
        }
        if (j < rows.Length)
            throw new InvalidOperationException($"The training view has fewer rows than before: row {rows[j]} was asked for, the cursor ended first. A view that changes between cursors cannot be trained on in windows; set MaxRowsInMemory = 0.");
        return table;
    }
}
