using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Cvr.MLNet.Pipeline;

/// <summary>
/// The one place that touches ML.NET internals (see docs/persistence.md): model save/load contexts,
/// <see cref="VersionInfo"/> and <see cref="SchemaShape.Column"/>'s constructor. Everything here compiles
/// against the publicized references of build/Publicize.targets and runs through [IgnoresAccessChecksTo].
/// </summary>
/// <remarks>
/// A persistable component needs, besides deriving from <see cref="RowMappingTransformer"/> (or implementing
/// <see cref="ICanSaveModel"/>):
/// <code>
/// [assembly: LoadableClass(typeof(MyTransformer), null, typeof(SignatureLoadModel), "My transformer", MyTransformer.LoaderSignature)]
/// internal const string LoaderSignature = "CvrMyTransformer";
/// private static VersionInfo GetVersionInfo() => ModelPersistence.MakeVersion("CVRMYTRF", LoaderSignature, typeof(MyTransformer), 1);
/// protected override void SaveModel(ModelSaveContext ctx) => ModelPersistence.Save(ctx, GetVersionInfo(), w => { w.Write(_k); });
/// private static MyTransformer Create(IHostEnvironment env, ModelLoadContext ctx) =>
///     ModelPersistence.Load(env, ctx, GetVersionInfo(), r => new MyTransformer(env, r.ReadInt32()));
/// </code>
/// ML.NET finds <c>Create</c> by reflection and loads our assembly itself from the name stored in the model header.
/// </remarks>
internal static class ModelPersistence
{
    /// <summary>ML.NET stores the loader signature in a fixed 24-char header slot, NUL-terminated.</summary>
    internal const int MaxLoaderSignatureLength = 23;

    /// <summary>
    /// Builds the version header of a component. <paramref name="modelSignature"/> is 8 ASCII characters
    /// (ML.NET packs it into a 64-bit magic); <paramref name="loaderSignature"/> is what the
    /// <c>[assembly: LoadableClass]</c> attribute registers; the loader assembly is <paramref name="type"/>'s.
    /// </summary>
    /// <param name="modelSignature">8 printable ASCII characters identifying the stored format.</param>
    /// <param name="loaderSignature">Loader signature registered with LoadableClass, at most 23 ASCII characters.</param>
    /// <param name="type">The component type; its assembly is recorded so a fresh MLContext can find the loader.</param>
    /// <param name="version">Version written now (&gt;= 1).</param>
    /// <param name="oldestReadable">Oldest version this code can still read (defaults to <paramref name="version"/>).</param>
    internal static VersionInfo MakeVersion(string modelSignature, string loaderSignature, Type type, uint version, uint? oldestReadable = null)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (modelSignature is null || modelSignature.Length != 8 || modelSignature.Any(c => c < 0x20 || c > 0x7E))
            throw new ArgumentException(
                $"{type.Name}: model signature '{modelSignature}' must be exactly 8 printable ASCII characters.", nameof(modelSignature));
        if (string.IsNullOrEmpty(loaderSignature) || loaderSignature.Length > MaxLoaderSignatureLength || loaderSignature.Any(c => c < 0x21 || c > 0x7E))
            throw new ArgumentException(
                $"{type.Name}: loader signature '{loaderSignature}' must be 1..{MaxLoaderSignatureLength} printable ASCII characters without spaces.",
                nameof(loaderSignature));
        if (version == 0)
            throw new ArgumentOutOfRangeException(nameof(version), $"{type.Name}: version must be at least 1.");
        uint oldest = oldestReadable ?? version;
        if (oldest == 0 || oldest > version)
            throw new ArgumentOutOfRangeException(nameof(oldestReadable),
                $"{type.Name}: oldest readable version {oldest} must be in 1..{version}.");
        // ML.NET compares versions as opaque numbers: written = readable-by-others = version,
        // and we read back anything from `oldest` on.
        return new VersionInfo(modelSignature, version, version, oldest, type.Assembly.FullName, loaderSignature);
    }

    /// <summary>
    /// Writes a component: header (version and loader signature), then <paramref name="writeState"/> on the
    /// model stream, then each named blob as its own entry of the model folder.
    /// </summary>
    internal static void Save(ModelSaveContext ctx, VersionInfo version, Action<BinaryWriter> writeState,
        IReadOnlyDictionary<string, Action<Stream>>? blobs = null)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(writeState);
        ctx.CheckAtModel();
        ctx.SetVersionInfo(version);
        writeState(ctx.Writer);
        if (blobs is null)
            return;
        foreach (var (name, write) in blobs)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(name);
            ArgumentNullException.ThrowIfNull(write);
            ctx.SaveBinaryStream(name, w =>
            {
                w.Flush();
                write(w.BaseStream);
                w.BaseStream.Flush();
            });
        }
    }

    /// <summary>
    /// Checks the header against <paramref name="version"/> and reads the component with <paramref name="readState"/>.
    /// Foreign or truncated data surfaces as <see cref="InvalidDataException"/> naming the component.
    /// </summary>
    internal static T Load<T>(IHostEnvironment env, ModelLoadContext ctx, VersionInfo version, Func<BinaryReader, T> readState)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(readState);
        string component = version.LoaderSignature;
        try
        {
            ctx.CheckAtModel(version);
        }
        catch (Exception e) when (IsDataError(e))
        {
            throw new InvalidDataException(
                $"{component}: the stored model is not a readable '{component}' component ({e.Message}).", e);
        }
        try
        {
            return readState(ctx.Reader);
        }
        catch (InvalidDataException e) when (e.Message.StartsWith(component + ":", StringComparison.Ordinal))
        {
            throw; // already names the component
        }
        catch (Exception e) when (IsDataError(e))
        {
            throw new InvalidDataException(
                $"{component}: stored model data is truncated or corrupt ({e.GetType().Name}: {e.Message}).", e);
        }
    }

    /// <summary>Reads the named blob saved by <see cref="Save"/>; false when the model folder has no such entry.</summary>
    internal static bool TryLoadBlob(ModelLoadContext ctx, string name, Action<Stream> read)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(read);
        return ctx.TryLoadBinaryStream(name, r => read(r.BaseStream));
    }

    /// <summary>Reads a required blob; a missing or unreadable one is an <see cref="InvalidDataException"/> naming the component.</summary>
    internal static void LoadBlob(ModelLoadContext ctx, string component, string name, Action<Stream> read)
    {
        bool found;
        try
        {
            found = TryLoadBlob(ctx, name, read);
        }
        catch (Exception e) when (IsDataError(e))
        {
            throw new InvalidDataException($"{component}: stored blob '{name}' is truncated or corrupt ({e.GetType().Name}: {e.Message}).", e);
        }
        if (!found)
            throw new InvalidDataException($"{component}: stored model has no blob '{name}'.");
    }

    /// <summary>
    /// Estimator helper: <paramref name="input"/> plus <paramref name="outputs"/>, an output replacing a
    /// same-named input column.
    /// </summary>
    internal static SchemaShape AddColumns(SchemaShape input, IEnumerable<OutputColumn> outputs)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(outputs);
        var columns = input.ToDictionary(c => c.Name);
        foreach (var output in outputs)
        {
            var (item, _) = RowOutputs.Describe(output);
            var kind = output.Type is VectorDataViewType ? SchemaShape.Column.VectorKind.Vector : SchemaShape.Column.VectorKind.Scalar;
            columns[output.Name] = new SchemaShape.Column(output.Name, kind, item, isKey: false);
        }
        return new SchemaShape(columns.Values);
    }

    /// <summary>
    /// Estimator helper: requires column <paramref name="name"/> of type <paramref name="expected"/> in
    /// <paramref name="input"/>. Missing → <see cref="ArgumentOutOfRangeException"/>; wrong type →
    /// <see cref="InvalidOperationException"/>; both name the column and its role.
    /// </summary>
    internal static void RequireColumn(SchemaShape input, string name, DataViewType expected, string role)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(expected);
        if (!input.TryFindColumn(name, out var column))
            throw new ArgumentOutOfRangeException(nameof(input), $"Input schema: column '{name}' (role {role}) not found.");
        bool ok = expected is VectorDataViewType vector
            ? column.Kind == SchemaShape.Column.VectorKind.Vector && column.ItemType.Equals(vector.ItemType)
            : column.Kind == SchemaShape.Column.VectorKind.Scalar && column.ItemType.Equals(expected);
        if (!ok)
            throw new InvalidOperationException(
                $"Input schema: column '{name}' (role {role}) has type {Describe(column)}, expected {Describe(expected)}.");
    }

    /// <summary>Readable type name for messages: "Single", "Vector&lt;Single&gt;" (sizes are not known in a SchemaShape).</summary>
    internal static string Describe(DataViewType type) => type is VectorDataViewType v ? $"Vector<{v.ItemType}>" : $"{type}";

    private static string Describe(SchemaShape.Column column) => column.Kind switch
    {
        SchemaShape.Column.VectorKind.Scalar => $"{column.ItemType}",
        _ => $"Vector<{column.ItemType}>",
    };

    private static bool IsDataError(Exception e) =>
        e is EndOfStreamException or InvalidDataException or FormatException or IOException
            or ArgumentOutOfRangeException or OverflowException or InvalidOperationException;
}
