using Cvr.MLNet.Data;
using Cvr.MLNet.Pipeline;
using Cvr.MLNet.Samples;
using Cvr.MLNet.Transforms.Sequence;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

[assembly: LoadableClass(typeof(BehaviorSequenceTransformer), null, typeof(SignatureLoadModel),
    "CVR behavior sequence", BehaviorSequenceTransformer.LoaderSignature)]

namespace Cvr.MLNet.Transforms.Sequence;

/// <summary>
/// The user's last T behaviors strictly before the sample's hour, most recent first, zero-padded:
/// <c>SeqItemIds</c>, <c>SeqCategoryIds</c>, <c>SeqBehaviors</c> (1..4, 0 = padding) as Int32[T],
/// <c>SeqHoursAgo</c> (Single[T]) and <c>SeqLength</c> (the unpadded length; the mask is
/// position &lt; length). Ids are raw; the vocabulary transform maps them into the embedding space.
/// </summary>
public sealed class BehaviorSequenceTransformer : RowMappingTransformer, IAcceptLiveEvents
{
    internal const string LoaderSignature = "CvrBehaviorSequence";
    private static VersionInfo GetVersionInfo() =>
        ModelPersistence.MakeVersion("CVRSEQNC", LoaderSignature, typeof(BehaviorSequenceTransformer), 0x00010001);

    internal static OutputColumn[] OutputsFor(int length) =>
    [
        new(CvrColumns.SeqItemIds, new VectorDataViewType(NumberDataViewType.Int32, length)),
        new(CvrColumns.SeqCategoryIds, new VectorDataViewType(NumberDataViewType.Int32, length)),
        new(CvrColumns.SeqBehaviors, new VectorDataViewType(NumberDataViewType.Int32, length)),
        new(CvrColumns.SeqHoursAgo, new VectorDataViewType(NumberDataViewType.Single, length)),
        new(CvrColumns.SeqLength, NumberDataViewType.Int32),
    ];

    private readonly InputColumn[] _inputs;
    private readonly OutputColumn[] _outputs;

    internal BehaviorSequenceTransformer(IHostEnvironment env, string userColumn, string timeColumn, BehaviorStore store)
        : base(env, nameof(BehaviorSequenceTransformer))
    {
        UserColumn = userColumn; TimeColumn = timeColumn; Store = store;
        _inputs = [new InputColumn(userColumn, NumberDataViewType.Int32, "user"), new InputColumn(timeColumn, DateTimeDataViewType.Instance, "time")];
        _outputs = OutputsFor(store.SequenceLength);
    }

    public string UserColumn { get; }
    public string TimeColumn { get; }
    public BehaviorStore Store { get; }
    /// <summary>T, the sequence length.</summary>
    public int Length => Store.SequenceLength;

    protected override IReadOnlyList<InputColumn> InputColumns => _inputs;
    protected override IReadOnlyList<OutputColumn> OutputColumns => _outputs;

    protected override Action<RowOutputs> CreateRowMapper(DataViewRow input)
    {
        var getUser = input.GetGetter<int>(input.Schema[UserColumn]);
        var getTime = input.GetGetter<DateTime>(input.Schema[TimeColumn]);
        int user = 0; DateTime t = default;
        return o =>
        {
            getUser(ref user); getTime(ref t);
            o.Int32(4)[0] = Fill(user, TianchiTime.ToHour(t), o.Int32(0), o.Int32(1), o.Int32(2), o.Single(3));
        };
    }

    /// <summary>Fills the sequence of (<paramref name="userId"/>, <paramref name="hour"/>); returns its length.</summary>
    public int Fill(int userId, int hour, Span<int> items, Span<int> categories, Span<int> behaviors, Span<float> hoursAgo)
    {
        if (Store.TryGetEvents(userId, hour, out var ev)) return BehaviorFeatures.FillSequence(ev, hour, items, categories, behaviors, hoursAgo);
        items.Clear(); categories.Clear(); behaviors.Clear(); hoursAgo.Clear();
        return 0;
    }

    /// <inheritdoc/>
    public void AppendEvent(int userId, int itemId, int categoryId, BehaviorType behavior, DateTime time) =>
        Store.Append(userId, itemId, categoryId, behavior, TianchiTime.ToHour(time));

    protected override void SaveModel(ModelSaveContext ctx) =>
        ModelPersistence.Save(ctx, GetVersionInfo(), w => { w.Write(UserColumn); w.Write(TimeColumn); Store.Write(w); });

    private static BehaviorSequenceTransformer Create(IHostEnvironment env, ModelLoadContext ctx) =>
        ModelPersistence.Load(env, ctx, GetVersionInfo(), r => new BehaviorSequenceTransformer(env, r.ReadString(), r.ReadString(), BehaviorStore.Read(r)));
}
