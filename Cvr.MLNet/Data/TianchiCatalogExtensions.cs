using Microsoft.ML;

namespace Cvr.MLNet.Data;

/// <summary>Loading Tianchi files from <see cref="MLContext.Data"/>.</summary>
public static class TianchiCatalogExtensions
{
    /// <summary>
    /// Reads a Tianchi events file (<c>tianchi_mobile_recommend_train_user.csv</c>) with the fast, validating
    /// <see cref="TianchiReader"/> and returns it as an <see cref="IDataView"/> with the columns of
    /// <see cref="TianchiEvent"/>. <see cref="EventLog.FromDataView"/> recovers the log without copying.
    /// </summary>
    /// <param name="catalog">The data catalog.</param>
    /// <param name="path">The events file, or a folder containing it.</param>
    /// <param name="options">Read options; null for the strict defaults.</param>
    public static IDataView LoadTianchiEvents(this DataOperationsCatalog catalog, string path, TianchiReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return TianchiReader.ReadEvents(TianchiPaths.Resolve(path).EventsPath, options).ToDataView();
    }
}
