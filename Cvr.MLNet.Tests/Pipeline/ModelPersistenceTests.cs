using Cvr.MLNet.Pipeline;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Cvr.MLNet.Tests.Pipeline;

[TestClass]
public sealed class ModelPersistenceTests
{
    [TestMethod]
    public void MakeVersion_RecordsAssemblyAndSignatures()
    {
        var v = ModelPersistence.MakeVersion("CVRTEST1", "CvrTestLoader", typeof(ModelPersistenceTests), 3, oldestReadable: 2);
        Assert.AreEqual("CvrTestLoader", v.LoaderSignature);
        Assert.AreEqual(typeof(ModelPersistenceTests).Assembly.FullName, v.LoaderAssemblyName);
        Assert.AreEqual(3u, v.VerWrittenCur);
        Assert.AreEqual(2u, v.VerWeCanReadBack);
    }

    [TestMethod]
    public void MakeVersion_RejectsBadSignaturesAndVersions()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(
            () => ModelPersistence.MakeVersion("SHORT", "CvrX", typeof(ModelPersistenceTests), 1));
        Assert.AreEqual("ModelPersistenceTests: model signature 'SHORT' must be exactly 8 printable ASCII characters. (Parameter 'modelSignature')", e.Message);
        e = Assert.ThrowsExactly<ArgumentException>(
            () => ModelPersistence.MakeVersion("CVRTEST1", "ThisLoaderSignatureIsTooLong", typeof(ModelPersistenceTests), 1));
        Assert.AreEqual("ModelPersistenceTests: loader signature 'ThisLoaderSignatureIsTooLong' must be 1..23 printable ASCII characters without spaces. (Parameter 'loaderSignature')", e.Message);
        var r = Assert.ThrowsExactly<ArgumentOutOfRangeException>(
            () => ModelPersistence.MakeVersion("CVRTEST1", "CvrX", typeof(ModelPersistenceTests), 2, oldestReadable: 3));
        Assert.AreEqual("ModelPersistenceTests: oldest readable version 3 must be in 1..2. (Parameter 'oldestReadable')", r.Message);
    }

    [TestMethod]
    public void AddColumns_ReplacesSameNamedAndAppendsNew()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new { UserId = 1, Score = "x" } });
        var shape = ModelPersistence.AddColumns(SchemaShape.Create(data.Schema),
            [new("Score", NumberDataViewType.Single), new("Emb", new VectorDataViewType(NumberDataViewType.Int32, 4))]);
        CollectionAssert.AreEqual(new[] { "UserId", "Score", "Emb" }, shape.Select(c => c.Name).ToArray());
        Assert.AreEqual(NumberDataViewType.Single, shape[1].ItemType);
        Assert.AreEqual(SchemaShape.Column.VectorKind.Vector, shape[2].Kind);
        Assert.AreEqual(NumberDataViewType.Int32, shape[2].ItemType);
        ModelPersistence.RequireColumn(shape, "Emb", new VectorDataViewType(NumberDataViewType.Int32, 4), "embedding");
        var e = Assert.ThrowsExactly<InvalidOperationException>(
            () => ModelPersistence.RequireColumn(shape, "UserId", NumberDataViewType.Single, "user"));
        Assert.AreEqual("Input schema: column 'UserId' (role user) has type Int32, expected Single.", e.Message);
    }

    [TestMethod]
    public void AddColumns_RejectsUnsupportedOutputType()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new { UserId = 1 } });
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ModelPersistence.AddColumns(
            SchemaShape.Create(data.Schema), [new("Name", TextDataViewType.Instance)]));
        StringAssert.StartsWith(e.Message, "Output column 'Name' has unsupported type String;");
    }

    [TestMethod]
    public void RowOutputs_WrongAccessorNamesColumn()
    {
        var outputs = new RowOutputs([new("Sum", NumberDataViewType.Single), new("Flag", BooleanDataViewType.Instance)]);
        Assert.AreEqual(1, outputs.Single(0).Length);
        outputs.Boolean(1) = true;
        Assert.IsTrue(outputs.Boolean(1));
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => outputs.Int32(0).Length);
        Assert.AreEqual("Output column 'Sum' (index 0) has type Single, not Int32.", e.Message);
        var r = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => outputs.Single(2).Length);
        StringAssert.StartsWith(r.Message, "Output index 2 requested as Single is out of range; there are 2 output columns.");
    }
}
