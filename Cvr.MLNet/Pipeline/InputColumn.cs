using Microsoft.ML.Data;

namespace Cvr.MLNet.Pipeline;

/// <summary>A column a <see cref="RowMappingTransformer"/> reads, with the role it plays (used in error messages).</summary>
/// <param name="Name">Column name in the input schema.</param>
/// <param name="Type">Exact type the column must have.</param>
/// <param name="Role">Short role name for messages, e.g. "user" or "label".</param>
public sealed record InputColumn(string Name, DataViewType Type, string Role);
