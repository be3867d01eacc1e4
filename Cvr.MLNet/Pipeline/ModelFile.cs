using System.Reflection;
using System.Runtime.ExceptionServices;
using Microsoft.ML;

namespace Cvr.MLNet.Pipeline;

/// <summary>
/// Loads ML.NET model zips like <see cref="ModelOperationsCatalog.Load(Stream, out DataViewSchema)"/>, but with
/// errors a user can act on: a component's own load error is rethrown as is (ML.NET wraps it in a
/// <see cref="TargetInvocationException"/>), and a file that is not a model zip is an <see cref="InvalidDataException"/>
/// naming the file.
/// </summary>
public static class ModelFile
{
    /// <summary>Loads a model saved with <c>mlContext.Model.Save</c> from <paramref name="path"/>.</summary>
    public static ITransformer Load(MLContext mlContext, string path, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var stream = File.OpenRead(path);
        return Load(mlContext, stream, path, out inputSchema);
    }

    /// <summary>Loads a model from <paramref name="stream"/>; <paramref name="sourceName"/> names it in errors.</summary>
    public static ITransformer Load(MLContext mlContext, Stream stream, string sourceName, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(stream);
        try
        {
            return mlContext.Model.Load(stream, out inputSchema);
        }
        catch (Exception e)
        {
            var inner = e;
            while (inner is TargetInvocationException { InnerException: { } cause })
                inner = cause;
            if (inner is InvalidDataException && inner != e)
                ExceptionDispatchInfo.Capture(inner).Throw();
            if (inner is FormatException or InvalidDataException or EndOfStreamException)
                throw new InvalidDataException($"{sourceName}: not a readable ML.NET model ({Describe(inner)}).", inner);
            throw;
        }
    }

    // ML.NET's "Failed to open a zip archive" hides the zip library's reason in the inner exception.
    private static string Describe(Exception e) =>
        e.InnerException is { } cause ? $"{e.Message}: {cause.Message}" : e.Message;
}
