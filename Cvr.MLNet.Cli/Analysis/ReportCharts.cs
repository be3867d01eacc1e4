using System.Globalization;
using Cvr.MLNet.Analysis;
using Cvr.MLNet.Data;
using ScottPlot;

namespace Cvr.MLNet.Cli.Analysis;

/// <summary>Renders the <c>cvr analyze</c> records as PNG charts with ScottPlot (titles, axis labels with units, legends).</summary>
internal static class ReportCharts
{
    public const int Width = 960, Height = 560;

    private static readonly string[] BehaviorNames = ["clicks", "favorites", "carts", "buys"];
    private static readonly Color[] BehaviorColors =
        [Color.FromHex("#1f77b4"), Color.FromHex("#ff7f0e"), Color.FromHex("#2ca02c"), Color.FromHex("#d62728")];

    private static string Pct(double v) => double.IsFinite(v) ? (v * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%" : "n/a";

    private static Plot NewPlot(string title, string x, string y)
    {
        var plt = new Plot();
        plt.Title(title);
        plt.XLabel(x);
        plt.YLabel(y);
        return plt;
    }

    private static void Save(Plot plt, string path) => plt.SavePng(path, Width, Height);

    /// <summary>Favorite → buy and cart → buy delays as grouped bars (share of each kind's buys per bucket).</summary>
    public static void Delays(DelayHistogram fav, DelayHistogram cart, string path)
    {
        var plt = NewPlot("Delay to purchase after the pair's latest favorite / cart", "delay (hours, bucketed)", "share of buys (%)");
        var bars = new List<Bar>();
        var series = new[] { (h: fav, name: "favorite → buy", color: BehaviorColors[1]), (h: cart, name: "cart → buy", color: BehaviorColors[2]) };
        for (int s = 0; s < series.Length; s++)
        {
            var (h, name, color) = series[s];
            for (int i = 0; i < h.Counts.Count; i++)
            {
                double share = h.Buys == 0 ? 0 : 100.0 * h.Counts[i] / h.Buys;
                bars.Add(new Bar { Position = i * 3 + s, Value = share, FillColor = color, Size = 0.9 });
            }
            plt.Legend.ManualItems.Add(new LegendItem
            {
                LabelText = $"{name} (n = {h.Buys.ToString("N0", CultureInfo.InvariantCulture)}, median {h.MedianHours.ToString("0", CultureInfo.InvariantCulture)} h)",
                FillColor = color,
            });
        }
        plt.Add.Bars(bars);
        var ticks = Enumerable.Range(0, fav.BucketStarts.Count).Select(i => i * 3 + 0.5).ToArray();
        plt.Axes.Bottom.SetTicks(ticks, Enumerable.Range(0, fav.BucketStarts.Count).Select(fav.BucketLabel).ToArray());
        plt.Axes.Margins(bottom: 0);
        plt.ShowLegend(Alignment.UpperRight);
        Save(plt, path);
    }

    /// <summary>Buy-within-horizon rates after a favorite, after a cart, and of clicks (direct and any path).</summary>
    public static void Conversion(ConversionPaths c, string path)
    {
        var plt = NewPlot($"Conversion within {c.HorizonHours} h by path", "", "bought within the horizon (%)");
        var items = new[]
        {
            ("after favorite", c.FavoriteBuyRate, BehaviorColors[1]),
            ("after cart", c.CartBuyRate, BehaviorColors[2]),
            ("click, direct buy", c.DirectRate, BehaviorColors[0]),
            ("click, any path", c.ClickBuyRate, Color.FromHex("#7f7f7f")),
        };
        var bars = items.Select((x, i) => new Bar
        {
            Position = i, Value = double.IsFinite(x.Item2) ? x.Item2 * 100 : 0, FillColor = x.Item3, Label = Pct(x.Item2), Size = 0.7,
        }).ToList();
        plt.Add.Bars(bars);
        plt.Axes.Bottom.SetTicks(Enumerable.Range(0, items.Length).Select(i => (double)i).ToArray(), items.Select(x => x.Item1).ToArray());
        plt.Axes.Margins(bottom: 0, top: 0.15);
        Save(plt, path);
    }

    /// <summary>Rows per day by behavior (clicks on the left axis, the rarer behaviors on the right), the peak day marked.</summary>
    public static void Daily(EventVolumes v, string path)
    {
        var plt = NewPlot("Daily event volume", "day (MM-dd)", "clicks per day");
        plt.Axes.Right.Label.Text = "favorites / carts / buys per day";
        var xs = Enumerable.Range(0, v.DayCount).Select(i => (double)i).ToArray();
        for (int b = 0; b < 4; b++)
        {
            var sc = plt.Add.Scatter(xs, v.Daily[b].Select(x => (double)x).ToArray(), BehaviorColors[b]);
            sc.LegendText = b == 0 ? "clicks (left axis)" : $"{BehaviorNames[b]} (right axis)";
            sc.MarkerSize = 4;
            if (b > 0) sc.Axes.YAxis = plt.Axes.Right;
        }
        if (v.PeakDay is { } peak)
        {
            var line = plt.Add.VerticalLine(peak - v.FirstDay, 1, Colors.Gray, LinePattern.Dashed);
            line.LabelText = $"peak {EventVolumes.DayText(peak)[5..]}";
            line.LabelOppositeAxis = true;
        }
        int step = Math.Max(1, v.DayCount / 12);
        var tickIdx = Enumerable.Range(0, v.DayCount).Where(i => i % step == 0).ToArray();
        plt.Axes.Bottom.SetTicks(tickIdx.Select(i => (double)i).ToArray(), tickIdx.Select(i => EventVolumes.DayText(v.FirstDay + i)[5..]).ToArray());
        plt.ShowLegend(Alignment.UpperLeft);
        Save(plt, path);
    }

    /// <summary>Rows per hour of day by behavior over the whole log (clicks left, the rest right).</summary>
    public static void Hourly(EventVolumes v, string path)
    {
        var plt = NewPlot("Event volume by hour of day (all days)", "hour of day (0–23)", "clicks (rows)");
        plt.Axes.Right.Label.Text = "favorites / carts / buys (rows)";
        var xs = Enumerable.Range(0, 24).Select(i => (double)i).ToArray();
        for (int b = 0; b < 4; b++)
        {
            var sc = plt.Add.Scatter(xs, v.Hourly[b].Select(x => (double)x).ToArray(), BehaviorColors[b]);
            sc.LegendText = b == 0 ? "clicks (left axis)" : $"{BehaviorNames[b]} (right axis)";
            sc.MarkerSize = 5;
            if (b > 0) sc.Axes.YAxis = plt.Axes.Right;
        }
        plt.Axes.Bottom.SetTicks(Enumerable.Range(0, 12).Select(i => i * 2.0).ToArray(), Enumerable.Range(0, 12).Select(i => (i * 2).ToString(CultureInfo.InvariantCulture)).ToArray());
        plt.ShowLegend(Alignment.UpperLeft);
        Save(plt, path);
    }

    /// <summary>Mean squeeze-excitation weight per feature field, largest at the top.</summary>
    public static void FieldWeights(ModelAnalysis m, string path)
    {
        var plt = NewPlot("Feature-field importance (mean SE weight)", "mean squeeze-excitation weight", "");
        var sorted = m.FieldImportance.OrderBy(kv => kv.Value).ToArray();
        var bars = sorted.Select((kv, i) => new Bar { Position = i, Value = kv.Value, FillColor = BehaviorColors[0], Size = 0.7 }).ToList();
        var plot = plt.Add.Bars(bars);
        plot.Horizontal = true;
        plt.Axes.Left.SetTicks(Enumerable.Range(0, sorted.Length).Select(i => (double)i).ToArray(), sorted.Select(kv => kv.Key).ToArray());
        plt.Axes.Margins(left: 0);
        Save(plt, path);
    }

    /// <summary>Train and validation loss per epoch, the kept epoch marked.</summary>
    public static void TrainingCurves(ModelAnalysis m, string path)
    {
        var plt = NewPlot("Training curves", "epoch", "loss (weighted ESMM log-loss)");
        var xs = m.History.Select(e => (double)e.Epoch).ToArray();
        var train = plt.Add.Scatter(xs, m.History.Select(e => e.TrainLoss).ToArray(), BehaviorColors[0]);
        train.LegendText = "train";
        var val = m.History.Where(e => e.ValidationLoss is not null).ToArray();
        if (val.Length > 0)
        {
            var sc = plt.Add.Scatter(val.Select(e => (double)e.Epoch).ToArray(), val.Select(e => e.ValidationLoss!.Value).ToArray(), BehaviorColors[3]);
            sc.LegendText = "validation";
        }
        var best = plt.Add.VerticalLine(m.BestEpoch, 1, Colors.Gray, LinePattern.Dashed);
        best.LabelText = $"kept epoch {m.BestEpoch}";
        best.LabelOppositeAxis = true;
        plt.Axes.Bottom.SetTicks(xs, xs.Select(x => x.ToString("0", CultureInfo.InvariantCulture)).ToArray());
        if (xs.Length == 1) plt.Axes.SetLimitsX(xs[0] - 1, xs[0] + 1);
        plt.ShowLegend(Alignment.UpperRight);
        Save(plt, path);
    }

    /// <summary>Reliability diagram: observed buy rate against mean predicted pBuy per equal-count bin, with the diagonal.</summary>
    public static void Calibration(ModelAnalysis m, string path)
    {
        var plt = NewPlot($"Calibration of pBuy, clicks {TianchiTime.ToText(m.FromHour)} – {TianchiTime.ToText(m.ToHour - 1)}",
            "mean predicted pBuy (%)", "observed buy rate (%)");
        double max = Math.Max(m.Calibration.Max(b => Math.Max(b.MeanPredicted, b.ObservedRate)) * 100, 1e-3) * 1.05;
        var diag = plt.Add.Line(0, 0, max, max);
        diag.LineColor = Colors.Gray; diag.LinePattern = LinePattern.Dashed; diag.LegendText = "perfect calibration";
        var sc = plt.Add.Scatter(m.Calibration.Select(b => b.MeanPredicted * 100).ToArray(), m.Calibration.Select(b => b.ObservedRate * 100).ToArray(), BehaviorColors[3]);
        sc.LegendText = $"model ({m.Calibration.Count} equal-count bins, ECE {m.Ece.ToString("0.0000", CultureInfo.InvariantCulture)})";
        sc.MarkerSize = 8;
        plt.Axes.SetLimits(0, max, 0, max);
        plt.ShowLegend(Alignment.UpperLeft);
        Save(plt, path);
    }
}
