using Microsoft.ML.Runtime;
using Cvr.MLNet.Pipeline;
using Cvr.MLNet.Samples;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Cvr.MLNet.Transforms.Counts;

/// <summary>Fits <see cref="BehaviorCountsTransformer"/> on an event log.</summary>
public sealed class BehaviorCountsEstimator(IHostEnvironment env, CvrEventSource events,
    string userColumn = CvrColumns.UserId, string timeColumn = CvrColumns.Time) : IEstimator<BehaviorCountsTransformer>
{
    public BehaviorCountsTransformer Fit(IDataView input)
    {
        SchemaChecks.Require(input.Schema, userColumn, NumberDataViewType.Int32, "user");
        SchemaChecks.Require(input.Schema, timeColumn, DateTimeDataViewType.Instance, "time");
        return new BehaviorCountsTransformer(env, userColumn, timeColumn, BehaviorStore.Fit(events.History, sequenceLength: 1));
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaChecks.Require(inputSchema, userColumn, NumberDataViewType.Int32, "user");
        SchemaChecks.Require(inputSchema, timeColumn, DateTimeDataViewType.Instance, "time");
        return SchemaChecks.Add(inputSchema, BehaviorCountsTransformer.Outputs);
    }
}
