using Cvr.MLNet.Data;
using Microsoft.ML;

namespace Cvr.MLNet.Samples;

/// <summary><c>mlContext.Data.CreateCvrSamples(events)</c>: the click samples of an events view.</summary>
public static class CvrSamplesCatalog
{
    /// <summary>
    /// Builds the entire-space click samples (labels <c>FavCart</c>, <c>Buy</c>, <c>Weight</c>, …) of an
    /// events view with the Tianchi column names. See <see cref="CvrSampleSet"/>.
    /// </summary>
    public static IDataView CreateCvrSamples(this DataOperationsCatalog catalog, IDataView events, CvrSampleOptions? options = null) =>
        CvrSampleSet.Build(EventLog.FromDataView(events), options).ToDataView();
}
