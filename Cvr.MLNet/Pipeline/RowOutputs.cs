using Microsoft.ML.Data;

namespace Cvr.MLNet.Pipeline;

/// <summary>
/// Per-row output buffers of a <see cref="RowMappingTransformer"/>, allocated once per cursor or row from its
/// output columns. The row function writes the current row's values here; values of a previous row stay in the
/// buffers, so the row function must write every output it is responsible for.
/// </summary>
public sealed class RowOutputs
{
    private readonly IReadOnlyList<OutputColumn> _columns;
    private readonly float[]?[] _single;
    private readonly int[]?[] _int32;
    private readonly bool[]?[] _boolean;

    internal RowOutputs(IReadOnlyList<OutputColumn> columns)
    {
        _columns = columns;
        _single = new float[columns.Count][];
        _int32 = new int[columns.Count][];
        _boolean = new bool[columns.Count][];
        for (int i = 0; i < columns.Count; i++)
        {
            var (item, size) = Describe(columns[i]);
            if (item == NumberDataViewType.Single)
                _single[i] = new float[size];
            else if (item == NumberDataViewType.Int32)
                _int32[i] = new int[size];
            else
                _boolean[i] = new bool[size];
        }
    }

    /// <summary>Number of output columns.</summary>
    public int Count => _columns.Count;

    /// <summary>Buffer of a Single output: length 1 for a scalar, the vector size for a vector.</summary>
    public Span<float> Single(int outputIndex) => _single[Check(outputIndex, "Single")]
        ?? throw WrongType(outputIndex, "Single");

    /// <summary>Buffer of an Int32 output: length 1 for a scalar, the vector size for a vector.</summary>
    public Span<int> Int32(int outputIndex) => _int32[Check(outputIndex, "Int32")]
        ?? throw WrongType(outputIndex, "Int32");

    /// <summary>Value of a Boolean scalar output.</summary>
    public ref bool Boolean(int outputIndex)
    {
        var buffer = _boolean[Check(outputIndex, "Boolean")] ?? throw WrongType(outputIndex, "Boolean");
        return ref buffer[0];
    }

    internal float[] SingleArray(int i) => _single[i]!;
    internal int[] Int32Array(int i) => _int32[i]!;
    internal bool[] BooleanArray(int i) => _boolean[i]!;

    /// <summary>Item type and value count of a supported output column; throws naming the column otherwise.</summary>
    internal static (DataViewType Item, int Size) Describe(OutputColumn column)
    {
        ArgumentNullException.ThrowIfNull(column);
        if (string.IsNullOrWhiteSpace(column.Name))
            throw new ArgumentException("Output column name must be non-empty.", nameof(column));
        switch (column.Type)
        {
            case NumberDataViewType n when n == NumberDataViewType.Single || n == NumberDataViewType.Int32:
                return (n, 1);
            case BooleanDataViewType b:
                return (b, 1);
            case VectorDataViewType v when v.IsKnownSize && v.Dimensions.Length == 1
                                           && (v.ItemType == NumberDataViewType.Single || v.ItemType == NumberDataViewType.Int32):
                return (v.ItemType, v.Size);
            default:
                throw new ArgumentOutOfRangeException(nameof(column),
                    $"Output column '{column.Name}' has unsupported type {column.Type}; supported: Int32, Single, Boolean scalars " +
                    "and fixed-size one-dimensional vectors of Single or Int32.");
        }
    }

    private int Check(int outputIndex, string requested)
    {
        if ((uint)outputIndex >= (uint)_columns.Count)
            throw new ArgumentOutOfRangeException(nameof(outputIndex),
                $"Output index {outputIndex} requested as {requested} is out of range; there are {_columns.Count} output columns.");
        return outputIndex;
    }

    private InvalidOperationException WrongType(int outputIndex, string requested) =>
        new($"Output column '{_columns[outputIndex].Name}' (index {outputIndex}) has type {_columns[outputIndex].Type}, not {requested}.");
}
