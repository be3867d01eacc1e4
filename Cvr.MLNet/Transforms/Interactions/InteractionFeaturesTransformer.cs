using Cvr.MLNet.Data;
using Cvr.MLNet.Pipeline;
using Cvr.MLNet.Samples;
using Cvr.MLNet.Transforms.Interactions;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

[assembly: LoadableClass(typeof(InteractionFeaturesTransformer), null, typeof(SignatureLoadModel),
    "CVR user-candidate interaction features", InteractionFeaturesTransformer.LoaderSignature)]

namespace Cvr.MLNet.Transforms.Interactions;

/// <summary>
/// <c>Interactions</c> (<see cref="InteractionFeatures.Length"/> floats): the user's events before t overall,
/// on the candidate's category (with the last-24-hours count and hours since the last one) and on the
/// candidate item, and every user's events on the item; layout in <see cref="InteractionFeatures"/>.
/// Only events strictly before t's hour are read.
/// </summary>
public sealed class InteractionFeaturesTransformer : RowMappingTransformer, IAcceptLiveEvents
{
    internal const string LoaderSignature = "CvrInteractionFeatures";
    private static VersionInfo GetVersionInfo() =>
        ModelPersistence.MakeVersion("CVRINTER", LoaderSignature, typeof(InteractionFeaturesTransformer), 0x00010001);

    internal static readonly OutputColumn[] Outputs =
        [new(CvrColumns.Interactions, new VectorDataViewType(NumberDataViewType.Single, InteractionFeatures.Length))];

    internal static readonly InputColumn[] Inputs =
    [
        new(CvrColumns.UserId, NumberDataViewType.Int32, "user"),
        new(CvrColumns.ItemId, NumberDataViewType.Int32, "item"),
        new(CvrColumns.CategoryId, NumberDataViewType.Int32, "category"),
        new(CvrColumns.Time, DateTimeDataViewType.Instance, "time"),
    ];

    internal InteractionFeaturesTransformer(IHostEnvironment env, InteractionStore store)
        : base(env, nameof(InteractionFeaturesTransformer)) =>
        Store = store ?? throw new ArgumentNullException(nameof(store));

    /// <summary>The fitted state (exact index in the fitting process, compact after load).</summary>
    public InteractionStore Store { get; }

    protected override IReadOnlyList<InputColumn> InputColumns => Inputs;
    protected override IReadOnlyList<OutputColumn> OutputColumns => Outputs;

    protected override Action<RowOutputs> CreateRowMapper(DataViewRow input)
    {
        var s = input.Schema;
        var gUser = input.GetGetter<int>(s[CvrColumns.UserId]);
        var gItem = input.GetGetter<int>(s[CvrColumns.ItemId]);
        var gCat = input.GetGetter<int>(s[CvrColumns.CategoryId]);
        var gTime = input.GetGetter<DateTime>(s[CvrColumns.Time]);
        int user = 0, item = 0, cat = 0; DateTime t = default;
        return o =>
        {
            gUser(ref user); gItem(ref item); gCat(ref cat); gTime(ref t);
            Store.Fill(user, item, cat, TianchiTime.ToHour(t), o.Single(0));
        };
    }

    /// <summary>Fills the values of one (user, item, category, hour).</summary>
    public void Fill(int userId, int itemId, int categoryId, int hour, Span<float> values) => Store.Fill(userId, itemId, categoryId, hour, values);

    /// <inheritdoc/>
    public void AppendEvent(int userId, int itemId, int categoryId, BehaviorType behavior, DateTime time) =>
        Store.Append(userId, itemId, categoryId, behavior, TianchiTime.ToHour(time));

    protected override void SaveModel(ModelSaveContext ctx) => ModelPersistence.Save(ctx, GetVersionInfo(), Store.Write);

    private static InteractionFeaturesTransformer Create(IHostEnvironment env, ModelLoadContext ctx) =>
        ModelPersistence.Load(env, ctx, GetVersionInfo(), r => new InteractionFeaturesTransformer(env, InteractionStore.Read(r)));
}
