using System.Security.Cryptography;
using Cvr.MLNet.Serving;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Cvr.MLNet.Tests.Reliability;

/// <summary><see cref="CvrModel.Save"/> under injected faults: the previous model stays intact and no temp file remains.</summary>
[TestClass]
public sealed class AtomicSaveTests
{
    private static ReliabilityModel M => ReliabilityModel.Instance;

    /// <summary>Saves the real model, then fails: everything the real model writes reaches the temp file first.</summary>
    private sealed class FailingSaveTransformer(ITransformer inner) : ITransformer, ICanSaveModel
    {
        public bool IsRowToRowMapper => inner.IsRowToRowMapper;
        public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => inner.GetOutputSchema(inputSchema);
        public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => inner.GetRowToRowMapper(inputSchema);
        public IDataView Transform(IDataView input) => inner.Transform(input);

        public void Save(ModelSaveContext ctx)
        {
            ((ICanSaveModel)inner).Save(ctx);
            throw new IOException("No space left on device (simulated)");
        }
    }

    private static string NewFolder()
    {
        var dir = Path.Combine(M.Folder, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    [TestMethod]
    public void FailureMidWriteLeavesTheOldModelAndNoTempFile()
    {
        var dir = NewFolder();
        var path = Path.Combine(dir, "model.zip");
        CvrModel.Save(new MLContext(), M.Model, M.Schema, path);
        var hash = SHA256.HashData(File.ReadAllBytes(path));

        var ex = Assert.ThrowsExactly<IOException>(() => CvrModel.Save(new MLContext(), new FailingSaveTransformer(M.Model), M.Schema, path));
        Assert.AreEqual("No space left on device (simulated)", ex.Message);
        CollectionAssert.AreEqual(hash, SHA256.HashData(File.ReadAllBytes(path)));
        CollectionAssert.AreEqual(new[] { path }, Directory.GetFiles(dir));
        CvrModel.Load(new MLContext(), path, out _);
    }

    [TestMethod]
    public void FailureOnAFirstSaveLeavesNothing()
    {
        var dir = NewFolder();
        var path = Path.Combine(dir, "model.zip");
        Assert.ThrowsExactly<IOException>(() => CvrModel.Save(new MLContext(), new FailingSaveTransformer(M.Model), M.Schema, path));
        Assert.AreEqual(0, Directory.GetFileSystemEntries(dir).Length);
    }

    [TestMethod]
    public void MissingFolderAndFolderTargetAreClearErrors()
    {
        var dir = NewFolder();
        var missing = Path.Combine(dir, "no-such", "model.zip");
        var ex = Assert.ThrowsExactly<DirectoryNotFoundException>(() => CvrModel.Save(new MLContext(), M.Model, M.Schema, missing));
        Assert.AreEqual($"Cannot save the model to '{missing}': the folder '{Path.Combine(dir, "no-such")}' does not exist.", ex.Message);

        var folder = Path.Combine(dir, "taken");
        Directory.CreateDirectory(folder);
        var io = Assert.ThrowsExactly<IOException>(() => CvrModel.Save(new MLContext(), M.Model, M.Schema, folder));
        Assert.AreEqual($"Cannot save the model to '{folder}': a folder of that name exists.", io.Message);
        CollectionAssert.AreEqual(new[] { folder }, Directory.GetFileSystemEntries(dir));
    }

    [TestMethod]
    public void SaveReplacesAnExistingModelWithALoadableOne()
    {
        var dir = NewFolder();
        var path = Path.Combine(dir, "model.zip");
        File.WriteAllText(path, "not a model");
        CvrModel.Save(new MLContext(), M.Model, M.Schema, path);
        CollectionAssert.AreEqual(new[] { path }, Directory.GetFiles(dir));
        var info = CvrModel.Validate(path);
        Assert.AreEqual(new FileInfo(path).Length > 0, info.UncompressedBytes > 0);
        CvrModel.Load(new MLContext(), path, out var schema);
        Assert.AreEqual(M.Schema.Count, schema.Count);
    }
}
