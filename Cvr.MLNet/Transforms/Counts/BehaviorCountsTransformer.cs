using Cvr.MLNet.Data;
using Cvr.MLNet.Pipeline;
using Cvr.MLNet.Samples;
using Cvr.MLNet.Transforms.Counts;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

[assembly: LoadableClass(typeof(BehaviorCountsTransformer), null, typeof(SignatureLoadModel),
    "CVR behavior window counts", BehaviorCountsTransformer.LoaderSignature)]

namespace Cvr.MLNet.Transforms.Counts;

/// <summary>
/// <c>BehaviorCounts</c> (28 floats): for a sample at (user, t), the user's distinct events of each
/// behavior 1..4 on each of the 7 calendar days before t's day; index (k−1)·4 + (b−1) for day D−k.
/// Only events strictly before t's hour are ever read (see <see cref="BehaviorFeatures"/>).
/// </summary>
public sealed class BehaviorCountsTransformer : RowMappingTransformer, IAcceptLiveEvents
{
    internal const string LoaderSignature = "CvrBehaviorCounts";
    private static VersionInfo GetVersionInfo() =>
        ModelPersistence.MakeVersion("CVRCOUNT", LoaderSignature, typeof(BehaviorCountsTransformer), 0x00010001);

    internal static readonly OutputColumn[] Outputs =
        [new(CvrColumns.BehaviorCounts, new VectorDataViewType(NumberDataViewType.Single, BehaviorFeatures.CountLength))];

    private readonly InputColumn[] _inputs;

    internal BehaviorCountsTransformer(IHostEnvironment env, string userColumn, string timeColumn, BehaviorStore store)
        : base(env, nameof(BehaviorCountsTransformer))
    {
        UserColumn = userColumn; TimeColumn = timeColumn; Store = store;
        _inputs = [new InputColumn(userColumn, NumberDataViewType.Int32, "user"), new InputColumn(timeColumn, DateTimeDataViewType.Instance, "time")];
    }

    public string UserColumn { get; }
    public string TimeColumn { get; }
    /// <summary>The fitted behavior state (full history while in the fitting process, compact after load).</summary>
    public BehaviorStore Store { get; }

    protected override IReadOnlyList<InputColumn> InputColumns => _inputs;
    protected override IReadOnlyList<OutputColumn> OutputColumns => Outputs;

    protected override Action<RowOutputs> CreateRowMapper(DataViewRow input)
    {
        var getUser = input.GetGetter<int>(input.Schema[UserColumn]);
        var getTime = input.GetGetter<DateTime>(input.Schema[TimeColumn]);
        int user = 0; DateTime t = default;
        return o =>
        {
            getUser(ref user); getTime(ref t);
            Fill(user, TianchiTime.ToHour(t), o.Single(0));
        };
    }

    /// <summary>Fills the 28 counts of (<paramref name="userId"/>, <paramref name="hour"/>).</summary>
    public void Fill(int userId, int hour, Span<float> counts)
    {
        if (Store.TryGetEvents(userId, hour, out var ev)) BehaviorFeatures.FillCounts(ev, hour, counts);
        else counts[..BehaviorFeatures.CountLength].Clear();
    }

    /// <inheritdoc/>
    public void AppendEvent(int userId, int itemId, int categoryId, BehaviorType behavior, DateTime time) =>
        Store.Append(userId, itemId, categoryId, behavior, TianchiTime.ToHour(time));

    protected override void SaveModel(ModelSaveContext ctx) =>
        ModelPersistence.Save(ctx, GetVersionInfo(), w => { w.Write(UserColumn); w.Write(TimeColumn); Store.Write(w); });

    private static BehaviorCountsTransformer Create(IHostEnvironment env, ModelLoadContext ctx) =>
        ModelPersistence.Load(env, ctx, GetVersionInfo(), r => new BehaviorCountsTransformer(env, r.ReadString(), r.ReadString(), BehaviorStore.Read(r)));
}
