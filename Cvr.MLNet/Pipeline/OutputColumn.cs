using Microsoft.ML.Data;

namespace Cvr.MLNet.Pipeline;

/// <summary>
/// A column a <see cref="RowMappingTransformer"/> adds: an <see cref="NumberDataViewType.Int32"/>,
/// <see cref="NumberDataViewType.Single"/> or <see cref="BooleanDataViewType"/> scalar, or a
/// fixed-size <see cref="VectorDataViewType"/> of Single or Int32.
/// </summary>
/// <param name="Name">Column name; replaces (hides) a same-named input column.</param>
/// <param name="Type">Column type, see the summary for what is supported.</param>
public sealed record OutputColumn(string Name, DataViewType Type);
