using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Cvr.MLNet.Pipeline;

/// <summary>
/// Base of our row-by-row transformers (feature transforms and the trainer's model): declares its input and
/// output columns and a per-row function; this class supplies the ML.NET plumbing — output schema with
/// checks, a lazy <see cref="IDataView"/>, row-to-row mapping (so <c>PredictionEngine</c> works) and saving.
/// </summary>
/// <remarks>
/// Output columns are appended to the input schema and hide same-named input columns. The row function runs
/// at most once per input row position and only when some output value is read; inactive outputs cost
/// nothing. Each cursor or row gets its own buffers and its own row function, so cursor sets run in parallel.
/// Persistence: derived classes implement <see cref="SaveModel"/> and a static
/// <c>Create(IHostEnvironment, ModelLoadContext)</c> with <c>ModelPersistence</c> (docs/persistence.md).
/// </remarks>
public abstract class RowMappingTransformer : ITransformer
{
    /// <summary>Creates the transformer with a host registered under <paramref name="registrationName"/>.</summary>
    protected RowMappingTransformer(IHostEnvironment env, string registrationName)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentException.ThrowIfNullOrWhiteSpace(registrationName);
        Host = env.Register(registrationName);
    }

    /// <summary>Host for this component (exceptions, channels, randomness).</summary>
    protected IHost Host { get; }

    /// <summary>Columns read; each must exist in the input schema with exactly its type.</summary>
    protected abstract IReadOnlyList<InputColumn> InputColumns { get; }

    /// <summary>Columns produced, in the order their buffers are indexed in <see cref="RowOutputs"/>.</summary>
    protected abstract IReadOnlyList<OutputColumn> OutputColumns { get; }

    /// <summary>The columns this transformer adds (for columnar readers that resolve which view produces a column).</summary>
    internal IReadOnlyList<OutputColumn> DeclaredOutputs => OutputColumns;

    /// <summary>
    /// Called once per cursor/row object, and only if some output is read: make getters on <paramref name="input"/>
    /// (its schema contains <see cref="InputColumns"/>, all active) and return a function that fills every
    /// output for the current input row.
    /// </summary>
    protected abstract Action<RowOutputs> CreateRowMapper(DataViewRow input);

    /// <summary>Writes this transformer's state (with <c>ModelPersistence.Save</c>).</summary>
    protected abstract void SaveModel(ModelSaveContext ctx);

    /// <summary>Adds annotations to output column <paramref name="outputIndex"/>; none by default.</summary>
    protected virtual void AddAnnotations(int outputIndex, DataViewSchema.Annotations.Builder builder)
    {
    }

    /// <summary>
    /// Adds the annotations ML.NET's binary-classification scorer puts on its outputs, so evaluators and other
    /// ML.NET tools treat our column like theirs. <paramref name="scoreValueKind"/> is "Score", "Probability" or
    /// "PredictedLabel".
    /// </summary>
    protected static void AddBinaryClassificationAnnotations(DataViewSchema.Annotations.Builder builder, string scoreValueKind)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (scoreValueKind is not (AnnotationUtils.Const.ScoreValueKind.Score or AnnotationUtils.Const.ScoreValueKind.Probability
            or AnnotationUtils.Const.ScoreValueKind.PredictedLabel))
            throw new ArgumentOutOfRangeException(nameof(scoreValueKind),
                $"Score value kind '{scoreValueKind}' is not one of Score, Probability, PredictedLabel.");
        builder.Add(AnnotationUtils.Kinds.ScoreColumnSetId, AnnotationUtils.ScoreColumnSetIdType, (ref uint v) => v = 1);
        builder.Add(AnnotationUtils.Kinds.ScoreColumnKind, TextDataViewType.Instance,
            (ref ReadOnlyMemory<char> v) => v = AnnotationUtils.Const.ScoreColumnKind.BinaryClassification.AsMemory());
        builder.Add(AnnotationUtils.Kinds.ScoreValueKind, TextDataViewType.Instance,
            (ref ReadOnlyMemory<char> v) => v = scoreValueKind.AsMemory());
        if (scoreValueKind == AnnotationUtils.Const.ScoreValueKind.Probability)
            builder.Add(AnnotationUtils.Kinds.IsNormalized, BooleanDataViewType.Instance, (ref bool v) => v = true);
    }

    /// <inheritdoc/>
    public bool IsRowToRowMapper => true;

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => Bind(inputSchema).OutputSchema;

    /// <inheritdoc/>
    public virtual IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new MappedDataView(input, Bind(input.Schema));
    }

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => Bind(inputSchema);

    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        SaveModel(ctx);
    }

    private Mapper Bind(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var inputs = InputColumns;
        var inputIndices = new int[inputs.Count];
        for (int i = 0; i < inputs.Count; i++)
        {
            var (name, type, role) = inputs[i];
            var column = inputSchema.GetColumnOrNull(name)
                ?? throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Input schema: column '{name}' (role {role}) not found.");
            if (!column.Type.Equals(type))
                throw new InvalidOperationException($"Input schema: column '{name}' (role {role}) has type {column.Type}, expected {type}.");
            inputIndices[i] = column.Index;
        }

        var outputs = OutputColumns;
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < outputs.Count; i++)
        {
            RowOutputs.Describe(outputs[i]);
            if (!seen.Add(outputs[i].Name))
                throw new InvalidOperationException($"{GetType().Name}: output column '{outputs[i].Name}' is declared twice.");
            var annotations = new DataViewSchema.Annotations.Builder();
            AddAnnotations(i, annotations);
            builder.AddColumn(outputs[i].Name, outputs[i].Type, annotations.ToAnnotations());
        }
        return new Mapper(this, inputSchema, builder.ToSchema(), inputIndices, outputs);
    }

    /// <summary>The transformer bound to one input schema.</summary>
    private sealed class Mapper : IRowToRowMapper
    {
        private readonly RowMappingTransformer _owner;
        private readonly int[] _inputIndices;

        public Mapper(RowMappingTransformer owner, DataViewSchema inputSchema, DataViewSchema outputSchema,
            int[] inputIndices, IReadOnlyList<OutputColumn> outputs)
        {
            _owner = owner;
            InputSchema = inputSchema;
            OutputSchema = outputSchema;
            _inputIndices = inputIndices;
            Outputs = outputs;
        }

        public RowMappingTransformer Owner => _owner;
        public DataViewSchema InputSchema { get; }
        public DataViewSchema OutputSchema { get; }
        public IReadOnlyList<OutputColumn> Outputs { get; }
        public int InputCount => InputSchema.Count;

        public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
        {
            ArgumentNullException.ThrowIfNull(dependingColumns);
            var needed = new SortedSet<int>();
            bool anyOutput = false;
            foreach (var column in dependingColumns)
            {
                if (column.Index < InputCount)
                    needed.Add(column.Index);
                else
                    anyOutput = true;
            }
            if (anyOutput)
                needed.UnionWith(_inputIndices);
            return needed.Select(i => InputSchema[i]).ToArray();
        }

        public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
        {
            ArgumentNullException.ThrowIfNull(input);
            ArgumentNullException.ThrowIfNull(activeColumns);
            // Reference equality is too strict (ML.NET rebuilds equal schemas), so check the shape that matters.
            if (input.Schema.Count != InputCount)
                throw new ArgumentException(
                    $"Input row has {input.Schema.Count} columns but this mapper was bound to a schema of {InputCount}.", nameof(input));
            return new MappedRow(new RowState(this, input, ActiveOutputs(activeColumns)));
        }

        public bool[] ActiveOutputs(IEnumerable<DataViewSchema.Column> columns)
        {
            var active = new bool[Outputs.Count];
            foreach (var column in columns)
            {
                if (column.Index >= InputCount && column.Index < OutputSchema.Count)
                    active[column.Index - InputCount] = true;
            }
            return active;
        }

        public Action<RowOutputs> CreateRowFunction(DataViewRow input) => _owner.CreateRowMapper(input)
            ?? throw new InvalidOperationException($"{_owner.GetType().Name}.CreateRowMapper returned null.");
    }

    /// <summary>Output buffers, lazily created row function and getters shared by a row or cursor.</summary>
    private sealed class RowState
    {
        private readonly Mapper _mapper;
        private readonly bool[] _active;
        private RowOutputs? _outputs;
        private Action<RowOutputs>? _rowFunction;
        private long _computedPosition = -1;

        public RowState(Mapper mapper, DataViewRow input, bool[] active)
        {
            _mapper = mapper;
            Input = input;
            _active = active;
        }

        public DataViewRow Input { get; }
        public DataViewSchema Schema => _mapper.OutputSchema;

        public bool IsColumnActive(DataViewSchema.Column column)
        {
            CheckColumn(column);
            return column.Index < _mapper.InputCount
                ? Input.IsColumnActive(Input.Schema[column.Index])
                : _active[column.Index - _mapper.InputCount];
        }

        public ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            CheckColumn(column);
            if (column.Index < _mapper.InputCount)
                return Input.GetGetter<TValue>(Input.Schema[column.Index]);
            int i = column.Index - _mapper.InputCount;
            if (!_active[i])
                throw new InvalidOperationException($"Output column '{column.Name}' is not active in this row or cursor.");
            _outputs ??= new RowOutputs(_mapper.Outputs);
            var type = _mapper.Outputs[i].Type;
            Delegate getter = type switch
            {
                VectorDataViewType v when v.ItemType == NumberDataViewType.Single => VectorGetter(_outputs.SingleArray(i)),
                VectorDataViewType => VectorGetter(_outputs.Int32Array(i)),
                NumberDataViewType n when n == NumberDataViewType.Single => ScalarGetter(_outputs.SingleArray(i)),
                NumberDataViewType => ScalarGetter(_outputs.Int32Array(i)),
                _ => ScalarGetter(_outputs.BooleanArray(i)),
            };
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException(
                    $"Output column '{column.Name}' has type {type}; a getter of {typeof(TValue).Name} was requested.");
        }

        private ValueGetter<T> ScalarGetter<T>(T[] buffer) => (ref T value) =>
        {
            Compute();
            value = buffer[0];
        };

        private ValueGetter<VBuffer<T>> VectorGetter<T>(T[] buffer) => (ref VBuffer<T> value) =>
        {
            Compute();
            var editor = VBufferEditor.Create(ref value, buffer.Length);
            buffer.AsSpan().CopyTo(editor.Values);
            value = editor.Commit();
        };

        private void Compute()
        {
            long position = Input.Position;
            if (position == _computedPosition)
                return;
            if (position < 0)
                throw new InvalidOperationException("No current row: the cursor has not been moved to a row yet.");
            _rowFunction ??= _mapper.CreateRowFunction(Input);
            _rowFunction(_outputs!);
            _computedPosition = position;
        }

        private void CheckColumn(DataViewSchema.Column column)
        {
            if (column.Index < 0 || column.Index >= _mapper.OutputSchema.Count
                || !_mapper.OutputSchema[column.Index].Type.Equals(column.Type))
                throw new ArgumentOutOfRangeException(nameof(column), $"Column '{column.Name}' (index {column.Index}) is not in this schema.");
        }
    }

    private sealed class MappedRow : DataViewRow
    {
        private readonly RowState _state;
        private bool _disposed;

        public MappedRow(RowState state) => _state = state;

        public override long Position => _state.Input.Position;
        public override long Batch => _state.Input.Batch;
        public override DataViewSchema Schema => _state.Schema;
        public override ValueGetter<DataViewRowId> GetIdGetter() => _state.Input.GetIdGetter();
        public override bool IsColumnActive(DataViewSchema.Column column) => _state.IsColumnActive(column);
        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => _state.GetGetter<TValue>(column);

        protected override void Dispose(bool disposing)
        {
            if (_disposed)
                return;
            if (disposing)
                _state.Input.Dispose();
            _disposed = true;
            base.Dispose(disposing);
        }
    }

    private sealed class MappedCursor : DataViewRowCursor
    {
        private readonly RowState _state;
        private readonly DataViewRowCursor _input;
        private bool _disposed;

        public MappedCursor(Mapper mapper, DataViewRowCursor input, bool[] active)
        {
            _input = input;
            _state = new RowState(mapper, input, active);
        }

        public override long Position => _input.Position;
        public override long Batch => _input.Batch;
        public override DataViewSchema Schema => _state.Schema;
        public override bool MoveNext() => _input.MoveNext();
        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();
        public override bool IsColumnActive(DataViewSchema.Column column) => _state.IsColumnActive(column);
        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => _state.GetGetter<TValue>(column);

        protected override void Dispose(bool disposing)
        {
            if (_disposed)
                return;
            if (disposing)
                _input.Dispose();
            _disposed = true;
            base.Dispose(disposing);
        }
    }

    /// <summary>The lazy result of <see cref="Transform"/>.</summary>
    private sealed class MappedDataView : IDataView, IMappedDataView
    {
        private readonly IDataView _input;
        private readonly Mapper _mapper;

        public MappedDataView(IDataView input, Mapper mapper)
        {
            _input = input;
            _mapper = mapper;
        }

        public IDataView Source => _input;
        public RowMappingTransformer Transformer => _mapper.Owner;
        public bool CanShuffle => _input.CanShuffle;
        public DataViewSchema Schema => _mapper.OutputSchema;
        public long? GetRowCount() => _input.GetRowCount();

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        {
            ArgumentNullException.ThrowIfNull(columnsNeeded);
            var needed = columnsNeeded.ToArray();
            var cursor = _input.GetRowCursor(_mapper.GetDependencies(needed), rand);
            return new MappedCursor(_mapper, cursor, _mapper.ActiveOutputs(needed));
        }

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        {
            ArgumentNullException.ThrowIfNull(columnsNeeded);
            var needed = columnsNeeded.ToArray();
            var active = _mapper.ActiveOutputs(needed);
            return _input.GetRowCursorSet(_mapper.GetDependencies(needed), n, rand)
                .Select(c => (DataViewRowCursor)new MappedCursor(_mapper, c, (bool[])active.Clone()))
                .ToArray();
        }
    }
}
