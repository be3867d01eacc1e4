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
public sealed class BehaviorSequenceTransformer : BehaviorTransformer
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

    private readonly OutputColumn[] _outputs;

    internal BehaviorSequenceTransformer(IHostEnvironment env, string userColumn, string timeColumn, BehaviorStore store)
        : base(env, nameof(BehaviorSequenceTransformer), userColumn, timeColumn, store) => _outputs = OutputsFor(store.SequenceLength);

    /// <summary>T, the sequence length.</summary>
    public int Length => Store.SequenceLength;

    protected override IReadOnlyList<OutputColumn> OutputColumns => _outputs;

    private protected override void Fill(int userId, int hour, RowOutputs o) =>
        o.Int32(4)[0] = Fill(userId, hour, o.Int32(0), o.Int32(1), o.Int32(2), o.Single(3));

    /// <summary>Fills the sequence of (<paramref name="userId"/>, <paramref name="hour"/>); returns its length.</summary>
    public int Fill(int userId, int hour, Span<int> items, Span<int> categories, Span<int> behaviors, Span<float> hoursAgo)
    {
        if (Store.TryGetEvents(userId, hour, out var ev)) return BehaviorFeatures.FillSequence(ev, hour, items, categories, behaviors, hoursAgo);
        items.Clear(); categories.Clear(); behaviors.Clear(); hoursAgo.Clear();
        return 0;
    }

    protected override void SaveModel(ModelSaveContext ctx) => SaveState(ctx, GetVersionInfo());

    private static BehaviorSequenceTransformer Create(IHostEnvironment env, ModelLoadContext ctx) =>
        LoadState(env, ctx, GetVersionInfo(), (user, time, store) => new BehaviorSequenceTransformer(env, user, time, store));
}
