using Cvr.MLNet.Pipeline;
using Cvr.MLNet.Samples;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace Cvr.MLNet.Transforms.Interactions;

/// <summary>Fits <see cref="InteractionFeaturesTransformer"/> on an event log (not on the samples passed to <c>Fit</c>, which are only schema-checked).</summary>
public sealed class InteractionFeaturesEstimator : IEstimator<InteractionFeaturesTransformer>
{
    private readonly IHostEnvironment _env;
    private readonly CvrEventSource _events;

    public InteractionFeaturesEstimator(IHostEnvironment env, CvrEventSource events)
    {
        _env = env ?? throw new ArgumentNullException(nameof(env));
        _events = events ?? throw new ArgumentNullException(nameof(events));
    }

    public InteractionFeaturesTransformer Fit(IDataView input)
    {
        foreach (var c in InteractionFeaturesTransformer.Inputs) SchemaChecks.Require(input.Schema, c.Name, c.Type, c.Role);
        return new InteractionFeaturesTransformer(_env, InteractionStore.Fit(_events.History));
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        foreach (var c in InteractionFeaturesTransformer.Inputs) SchemaChecks.Require(inputSchema, c.Name, c.Type, c.Role);
        return SchemaChecks.Add(inputSchema, InteractionFeaturesTransformer.Outputs);
    }
}
