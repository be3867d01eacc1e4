using Microsoft.ML.Runtime;
using Cvr.MLNet.Pipeline;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Cvr.MLNet.Transforms.Time;

/// <summary>Fits <see cref="TimeFeaturesTransformer"/>: records the event log's hour range.</summary>
public sealed class TimeFeaturesEstimator : IEstimator<TimeFeaturesTransformer>
{
    private readonly IHostEnvironment _env;
    private readonly CvrEventSource _events;
    private readonly string _timeColumn;

    public TimeFeaturesEstimator(IHostEnvironment env, CvrEventSource events, string timeColumn = CvrColumns.Time)
    {
        _env = env ?? throw new ArgumentNullException(nameof(env));
        _events = events ?? throw new ArgumentNullException(nameof(events));
        _timeColumn = timeColumn;
    }

    public TimeFeaturesTransformer Fit(IDataView input)
    {
        SchemaChecks.Require(input.Schema, _timeColumn, DateTimeDataViewType.Instance, "time");
        var (first, last) = _events.Log.HourRange();
        return new TimeFeaturesTransformer(_env, _timeColumn, first, last);
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaChecks.Require(inputSchema, _timeColumn, DateTimeDataViewType.Instance, "time");
        return SchemaChecks.Add(inputSchema, TimeFeaturesTransformer.Outputs);
    }
}
