using Cvr.MLNet.Data;
using Cvr.MLNet.Pipeline;
using Cvr.MLNet.Transforms.Time;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

[assembly: LoadableClass(typeof(TimeFeaturesTransformer), null, typeof(SignatureLoadModel),
    "CVR time features", TimeFeaturesTransformer.LoaderSignature)]

namespace Cvr.MLNet.Transforms.Time;

/// <summary>
/// Time features of a sample or request time t: <c>Weekday</c> (0 = Monday … 6), <c>IsWeekend</c>,
/// <c>HourOfDay</c> (0..23; the model embeds weekday in 3 and hour in 5 dims), <c>TimeDelta</c> =
/// (log end − t) / span and <c>Timestamp</c> = (t − log start) / span, normalized over the fitted
/// log's hour range (span = hours in the log), so training samples fall in [0, 1] and requests after
/// the log end get a small negative delta and a timestamp just above 1.
/// </summary>
public sealed class TimeFeaturesTransformer : RowMappingTransformer
{
    internal const string LoaderSignature = "CvrTimeFeatures";
    private static VersionInfo GetVersionInfo() =>
        ModelPersistence.MakeVersion("CVRTIMEF", LoaderSignature, typeof(TimeFeaturesTransformer), 0x00010001);

    internal static readonly OutputColumn[] Outputs =
    [
        new(CvrColumns.Weekday, NumberDataViewType.Int32), new(CvrColumns.IsWeekend, NumberDataViewType.Single),
        new(CvrColumns.HourOfDay, NumberDataViewType.Int32), new(CvrColumns.TimeDelta, NumberDataViewType.Single),
        new(CvrColumns.Timestamp, NumberDataViewType.Single),
    ];

    private readonly InputColumn[] _inputs;

    internal TimeFeaturesTransformer(IHostEnvironment env, string timeColumn, int firstHour, int lastHour)
        : base(env, nameof(TimeFeaturesTransformer))
    {
        if (lastHour < firstHour) throw new ArgumentOutOfRangeException(nameof(lastHour), "The log's last hour precedes its first.");
        TimeColumn = timeColumn; FirstHour = firstHour; LastHour = lastHour;
        _inputs = [new InputColumn(timeColumn, DateTimeDataViewType.Instance, "time")];
    }

    /// <summary>Input column holding the time (DateTime).</summary>
    public string TimeColumn { get; }
    /// <summary>Fitted log range (hour indices).</summary>
    public int FirstHour { get; }
    public int LastHour { get; }
    private float Span => LastHour - FirstHour + 1;

    protected override IReadOnlyList<InputColumn> InputColumns => _inputs;
    protected override IReadOnlyList<OutputColumn> OutputColumns => Outputs;

    protected override Action<RowOutputs> CreateRowMapper(DataViewRow input)
    {
        var getTime = input.GetGetter<DateTime>(input.Schema[TimeColumn]);
        DateTime t = default;
        return o =>
        {
            getTime(ref t);
            int h = TianchiTime.ToHour(t);
            Fill(h, o.Int32(0), o.Single(1), o.Int32(2), o.Single(3), o.Single(4));
        };
    }

    /// <summary>The features of hour index <paramref name="hour"/> (also used by batch featurizers).</summary>
    public void Fill(int hour, Span<int> weekday, Span<float> weekend, Span<int> hourOfDay, Span<float> delta, Span<float> timestamp)
    {
        int wd = TianchiTime.WeekdayOf(hour);
        weekday[0] = wd;
        weekend[0] = wd >= 5 ? 1f : 0f;
        hourOfDay[0] = TianchiTime.HourOfDay(hour);
        delta[0] = (LastHour - hour) / Span;
        timestamp[0] = (hour - FirstHour) / Span;
    }

    protected override void SaveModel(ModelSaveContext ctx) =>
        ModelPersistence.Save(ctx, GetVersionInfo(), w => { w.Write(TimeColumn); w.Write(FirstHour); w.Write(LastHour); });

    private static TimeFeaturesTransformer Create(IHostEnvironment env, ModelLoadContext ctx) =>
        ModelPersistence.Load(env, ctx, GetVersionInfo(), r => new TimeFeaturesTransformer(env, r.ReadString(), r.ReadInt32(), r.ReadInt32()));
}
