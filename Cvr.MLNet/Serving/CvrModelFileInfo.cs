namespace Cvr.MLNet.Serving;

/// <summary>What <see cref="CvrModel.Validate"/> found in a model file.</summary>
/// <param name="FilePath">Full path of the file.</param>
/// <param name="EntryCount">Entries in the zip.</param>
/// <param name="UncompressedBytes">Sum of the entries' sizes (each read and counted, not trusted from the directory).</param>
/// <param name="Components">One per <c>Model.key</c> entry, in zip order.</param>
public sealed record CvrModelFileInfo(string FilePath, int EntryCount, long UncompressedBytes, IReadOnlyList<CvrModelComponent> Components);

/// <summary>One stored ML.NET component: the loader ML.NET will look up and the assembly it will load for it.</summary>
/// <param name="Entry">Zip entry name of the component's <c>Model.key</c>.</param>
/// <param name="LoaderSignature">The loader signature in the header (what ML.NET's component catalog resolves).</param>
/// <param name="AssemblyName">The loader assembly's full name as stored, or null when none is stored.</param>
public sealed record CvrModelComponent(string Entry, string LoaderSignature, string? AssemblyName);
