using Cvr.MLNet.Data;
using Cvr.MLNet.Pipeline;
using Cvr.MLNet.Samples;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Cvr.MLNet.Transforms;

/// <summary>
/// Base of the transforms that read a user's behavior state at a time (counts, sequence): the
/// (user, time) inputs, the <see cref="BehaviorStore"/>, live events and the shared persistence.
/// </summary>
public abstract class BehaviorTransformer : RowMappingTransformer, IAcceptLiveEvents
{
    private readonly InputColumn[] _inputs;

    private protected BehaviorTransformer(IHostEnvironment env, string registrationName, string userColumn, string timeColumn, BehaviorStore store)
        : base(env, registrationName)
    {
        UserColumn = userColumn; TimeColumn = timeColumn; Store = store ?? throw new ArgumentNullException(nameof(store));
        _inputs = InputsFor(userColumn, timeColumn);
    }

    /// <summary>Input column of the user id (Int32).</summary>
    public string UserColumn { get; }
    /// <summary>Input column of the sample/request time (DateTime).</summary>
    public string TimeColumn { get; }
    /// <summary>The fitted behavior state (full history in the fitting process, compact after load).</summary>
    public BehaviorStore Store { get; }

    internal static InputColumn[] InputsFor(string userColumn, string timeColumn) =>
        [new(userColumn, NumberDataViewType.Int32, "user"), new(timeColumn, DateTimeDataViewType.Instance, "time")];

    protected sealed override IReadOnlyList<InputColumn> InputColumns => _inputs;

    protected sealed override Action<RowOutputs> CreateRowMapper(DataViewRow input)
    {
        var getUser = input.GetGetter<int>(input.Schema[UserColumn]);
        var getTime = input.GetGetter<DateTime>(input.Schema[TimeColumn]);
        int user = 0; DateTime t = default;
        return o =>
        {
            getUser(ref user); getTime(ref t);
            Fill(user, TianchiTime.ToHour(t), o);
        };
    }

    /// <summary>Fills this transform's outputs for (<paramref name="userId"/>, <paramref name="hour"/>).</summary>
    private protected abstract void Fill(int userId, int hour, RowOutputs outputs);

    /// <inheritdoc/>
    public void AppendEvent(int userId, int itemId, int categoryId, BehaviorType behavior, DateTime time) =>
        Store.Append(userId, itemId, categoryId, behavior, TianchiTime.ToHour(time));

    private protected void SaveState(ModelSaveContext ctx, VersionInfo version) =>
        ModelPersistence.Save(ctx, version, w => { w.Write(UserColumn); w.Write(TimeColumn); Store.Write(w); });

    private protected static T LoadState<T>(IHostEnvironment env, ModelLoadContext ctx, VersionInfo version,
        Func<string, string, BehaviorStore, T> create) =>
        ModelPersistence.Load(env, ctx, version, r => create(r.ReadString(), r.ReadString(), BehaviorStore.Read(r)));
}

/// <summary>Base of the estimators of <see cref="BehaviorTransformer"/>s: schema checks and the store fitted on the event log.</summary>
public abstract class BehaviorEstimator<T> : IEstimator<T> where T : BehaviorTransformer
{
    private protected BehaviorEstimator(IHostEnvironment env, CvrEventSource events, string userColumn, string timeColumn)
    {
        Env = env ?? throw new ArgumentNullException(nameof(env));
        Events = events ?? throw new ArgumentNullException(nameof(events));
        UserColumn = userColumn; TimeColumn = timeColumn;
    }

    private protected IHostEnvironment Env { get; }
    private protected CvrEventSource Events { get; }
    private protected string UserColumn { get; }
    private protected string TimeColumn { get; }

    /// <summary>The columns this estimator adds.</summary>
    private protected abstract IEnumerable<OutputColumn> Outputs { get; }

    /// <summary>Builds the transformer from the log's history.</summary>
    private protected abstract T Create(UserHistory history);

    public T Fit(IDataView input)
    {
        foreach (var c in BehaviorTransformer.InputsFor(UserColumn, TimeColumn)) SchemaChecks.Require(input.Schema, c.Name, c.Type, c.Role);
        return Create(Events.History);
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        foreach (var c in BehaviorTransformer.InputsFor(UserColumn, TimeColumn)) SchemaChecks.Require(inputSchema, c.Name, c.Type, c.Role);
        return SchemaChecks.Add(inputSchema, Outputs);
    }
}
