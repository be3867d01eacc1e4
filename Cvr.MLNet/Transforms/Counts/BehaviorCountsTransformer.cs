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
public sealed class BehaviorCountsTransformer : BehaviorTransformer
{
    internal const string LoaderSignature = "CvrBehaviorCounts";
    private static VersionInfo GetVersionInfo() =>
        ModelPersistence.MakeVersion("CVRCOUNT", LoaderSignature, typeof(BehaviorCountsTransformer), 0x00010001);

    internal static readonly OutputColumn[] Outputs =
        [new(CvrColumns.BehaviorCounts, new VectorDataViewType(NumberDataViewType.Single, BehaviorFeatures.CountLength))];

    internal BehaviorCountsTransformer(IHostEnvironment env, string userColumn, string timeColumn, BehaviorStore store)
        : base(env, nameof(BehaviorCountsTransformer), userColumn, timeColumn, store) { }

    protected override IReadOnlyList<OutputColumn> OutputColumns => Outputs;

    private protected override void Fill(int userId, int hour, RowOutputs outputs) => Fill(userId, hour, outputs.Single(0));

    /// <summary>Fills the 28 counts of (<paramref name="userId"/>, <paramref name="hour"/>).</summary>
    public void Fill(int userId, int hour, Span<float> counts)
    {
        if (Store.TryGetEvents(userId, hour, out var ev)) BehaviorFeatures.FillCounts(ev, hour, counts);
        else counts[..BehaviorFeatures.CountLength].Clear();
    }

    protected override void SaveModel(ModelSaveContext ctx) => SaveState(ctx, GetVersionInfo());

    private static BehaviorCountsTransformer Create(IHostEnvironment env, ModelLoadContext ctx) =>
        LoadState(env, ctx, GetVersionInfo(), (user, time, store) => new BehaviorCountsTransformer(env, user, time, store));
}
