using Microsoft.ML;

namespace Cvr.MLNet.Pipeline;

/// <summary>
/// A view produced by <see cref="RowMappingTransformer.Transform"/>: its source and the transformer,
/// so columnar readers can recognise a chain of our own transforms and compute it without cursors.
/// </summary>
internal interface IMappedDataView : IDataView
{
    /// <summary>The view the transformer was applied to.</summary>
    IDataView Source { get; }

    /// <summary>The transformer that maps <see cref="Source"/>'s rows.</summary>
    RowMappingTransformer Transformer { get; }
}
