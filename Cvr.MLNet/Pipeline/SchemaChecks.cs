using Microsoft.ML;
using Microsoft.ML.Data;

namespace Cvr.MLNet.Pipeline;

/// <summary>
/// Column checks shared by our estimators and transformers, before any work starts: the message names
/// the column, its role and both types, in the same words for a <see cref="SchemaShape"/> (estimator
/// time) and a <see cref="DataViewSchema"/> (fit/transform time).
/// </summary>
internal static class SchemaChecks
{
    /// <summary>Requires <paramref name="name"/> with exactly <paramref name="expected"/> (vector sizes included).</summary>
    public static void Require(DataViewSchema schema, string name, DataViewType expected, string role)
    {
        var col = schema.GetColumnOrNull(name)
            ?? throw new ArgumentOutOfRangeException(nameof(schema), $"Input schema: column '{name}' (role {role}) not found.");
        if (!col.Type.Equals(expected))
            throw new InvalidOperationException($"Input schema: column '{name}' (role {role}) has type {Describe(col.Type)}, expected {Describe(expected)}.");
    }

    /// <summary>Estimator-time check (vector sizes are unknown in a <see cref="SchemaShape"/>).</summary>
    public static void Require(SchemaShape shape, string name, DataViewType expected, string role) =>
        ModelPersistence.RequireColumn(shape, name, expected, role);

    /// <summary><paramref name="input"/> plus <paramref name="outputs"/>.</summary>
    public static SchemaShape Add(SchemaShape input, IEnumerable<OutputColumn> outputs) => ModelPersistence.AddColumns(input, outputs);

    private static string Describe(DataViewType t) => t is VectorDataViewType v ? $"Vector<{v.ItemType}, {v.Size}>" : t.ToString() ?? "";
}
