using Microsoft.ML.Runtime;
using Cvr.MLNet.Pipeline;
using Cvr.MLNet.Samples;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Cvr.MLNet.Transforms.Sequence;

/// <summary>Fits <see cref="BehaviorSequenceTransformer"/> on an event log.</summary>
public sealed class BehaviorSequenceEstimator : IEstimator<BehaviorSequenceTransformer>
{
    private readonly IHostEnvironment _env;
    private readonly CvrEventSource _events;
    private readonly string _userColumn, _timeColumn;
    private readonly int _length;

    public BehaviorSequenceEstimator(IHostEnvironment env, CvrEventSource events, int length = 20,
        string userColumn = CvrColumns.UserId, string timeColumn = CvrColumns.Time)
    {
        _env = env ?? throw new ArgumentNullException(nameof(env));
        _events = events ?? throw new ArgumentNullException(nameof(events));
        if (length < 1 || length > 1000) throw new ArgumentOutOfRangeException(nameof(length), length, "The sequence length must be in 1..1000.");
        _length = length; _userColumn = userColumn; _timeColumn = timeColumn;
    }

    public BehaviorSequenceTransformer Fit(IDataView input)
    {
        SchemaChecks.Require(input.Schema, _userColumn, NumberDataViewType.Int32, "user");
        SchemaChecks.Require(input.Schema, _timeColumn, DateTimeDataViewType.Instance, "time");
        return new BehaviorSequenceTransformer(_env, _userColumn, _timeColumn, BehaviorStore.Fit(_events.History, _length));
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaChecks.Require(inputSchema, _userColumn, NumberDataViewType.Int32, "user");
        SchemaChecks.Require(inputSchema, _timeColumn, DateTimeDataViewType.Instance, "time");
        return SchemaChecks.Add(inputSchema, BehaviorSequenceTransformer.OutputsFor(_length));
    }
}
