using Cvr.MLNet.Pipeline;
using Cvr.MLNet.Samples;
using Microsoft.ML.Runtime;

namespace Cvr.MLNet.Transforms.Sequence;

/// <summary>Fits <see cref="BehaviorSequenceTransformer"/> on an event log.</summary>
public sealed class BehaviorSequenceEstimator : BehaviorEstimator<BehaviorSequenceTransformer>
{
    private readonly int _length;

    public BehaviorSequenceEstimator(IHostEnvironment env, CvrEventSource events, int length = 20,
        string userColumn = CvrColumns.UserId, string timeColumn = CvrColumns.Time)
        : base(env, events, userColumn, timeColumn)
    {
        if (length < 1 || length > 1000) throw new ArgumentOutOfRangeException(nameof(length), length, "The sequence length must be in 1..1000.");
        _length = length;
    }

    private protected override IEnumerable<OutputColumn> Outputs => BehaviorSequenceTransformer.OutputsFor(_length);

    private protected override BehaviorSequenceTransformer Create(UserHistory history) =>
        new(Env, UserColumn, TimeColumn, BehaviorStore.Fit(history, _length));
}
