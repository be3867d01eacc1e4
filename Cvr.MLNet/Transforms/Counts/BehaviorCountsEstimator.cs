using Cvr.MLNet.Pipeline;
using Cvr.MLNet.Samples;
using Microsoft.ML.Runtime;

namespace Cvr.MLNet.Transforms.Counts;

/// <summary>Fits <see cref="BehaviorCountsTransformer"/> on an event log.</summary>
public sealed class BehaviorCountsEstimator(IHostEnvironment env, CvrEventSource events,
    string userColumn = CvrColumns.UserId, string timeColumn = CvrColumns.Time)
    : BehaviorEstimator<BehaviorCountsTransformer>(env, events, userColumn, timeColumn)
{
    private protected override IEnumerable<OutputColumn> Outputs => BehaviorCountsTransformer.Outputs;

    // Counts read only the per-day table: keep one event per user in the saved state.
    private protected override BehaviorCountsTransformer Create(UserHistory history) =>
        new(Env, UserColumn, TimeColumn, BehaviorStore.Fit(history, sequenceLength: 1));
}
