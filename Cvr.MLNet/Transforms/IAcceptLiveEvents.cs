using Cvr.MLNet.Data;

namespace Cvr.MLNet.Transforms;

/// <summary>
/// A fitted transform whose state a host app can extend with live events (after the fitted log's
/// end) so that serving features stay fresh between retrainings. See
/// <see cref="CvrModelExtensions.AppendEvent"/> to reach every such transform of a pipeline at once.
/// </summary>
public interface IAcceptLiveEvents
{
    /// <summary>Adds one event; throws when <paramref name="time"/> is not after the fitted log's end.</summary>
    void AppendEvent(int userId, int itemId, int categoryId, BehaviorType behavior, DateTime time);
}
