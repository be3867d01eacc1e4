using Cvr.MLNet.Data;
using Cvr.MLNet.Samples;

namespace Cvr.MLNet.Transforms;

/// <summary>
/// The event log the feature transforms are fitted on, with its user index built once and shared by
/// every transform fitted from the same source (the index is the expensive part).
/// </summary>
public sealed class CvrEventSource
{
    private readonly Lazy<UserHistory> _history;

    public CvrEventSource(EventLog log)
    {
        Log = log ?? throw new ArgumentNullException(nameof(log));
        _history = new Lazy<UserHistory>(() => UserHistory.Build(Log), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The log.</summary>
    public EventLog Log { get; }
    /// <summary>The per-user index of the log (built on first use).</summary>
    public UserHistory History => _history.Value;

    public static implicit operator CvrEventSource(EventLog log) => new(log);

    /// <summary>
    /// An event source from an events <see cref="Microsoft.ML.IDataView"/> with the Tianchi column names
    /// (e.g. <c>mlContext.Data.LoadTianchiEvents(path)</c> or <c>LoadFromEnumerable&lt;TianchiEvent&gt;</c>).
    /// </summary>
    public static CvrEventSource FromDataView(Microsoft.ML.IDataView events) => new(EventLog.FromDataView(events));
}
