using System.IO.Compression;
using Cvr.MLNet.Pipeline;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Cvr.MLNet.Tests.Pipeline;

[TestClass]
public sealed class RowMappingTransformerTests
{
    public sealed class AbRow
    {
        public float A { get; set; }
        public float B { get; set; }
    }

    public sealed class RawRow
    {
        public float A { get; set; }
        public int BInt { get; set; }
    }

    public sealed class SumOut
    {
        public float Sum { get; set; }
        [VectorType(2)]
        public float[] Pair { get; set; } = [];
    }

    public sealed class ScoreRow
    {
        public float X { get; set; }
        public bool Label { get; set; }
    }

    private static readonly AbRow[] Rows = [new() { A = 1, B = 2 }, new() { A = -3, B = 0.5f }, new() { A = 10, B = 20 }];

    private static (MLContext Ml, IDataView Data) AbData()
    {
        var ml = new MLContext(seed: 1);
        return (ml, ml.Data.LoadFromEnumerable(Rows));
    }

    [TestMethod]
    public void OutputSchema_PromisedEqualsDelivered_AndEstimatorShapeMatches()
    {
        var (ml, data) = AbData();
        var estimator = new SumEstimator(ml);
        var shape = estimator.GetOutputSchema(SchemaShape.Create(data.Schema));
        var transformer = estimator.Fit(data);
        var promised = transformer.GetOutputSchema(data.Schema);
        var delivered = transformer.Transform(data).Schema;

        Assert.AreEqual(promised.Count, delivered.Count);
        for (int i = 0; i < promised.Count; i++)
        {
            Assert.AreEqual(promised[i].Name, delivered[i].Name);
            Assert.AreEqual(promised[i].Type, delivered[i].Type);
        }
        CollectionAssert.AreEqual(new[] { "A", "B", "Sum", "Pair" }, delivered.Select(c => c.Name).ToArray());
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, 2), delivered["Pair"].Type);
        Assert.IsTrue(shape.TryFindColumn("Sum", out var sum));
        Assert.AreEqual(SchemaShape.Column.VectorKind.Scalar, sum.Kind);
        Assert.AreEqual(NumberDataViewType.Single, sum.ItemType);
        Assert.IsTrue(shape.TryFindColumn("Pair", out var pair));
        Assert.AreEqual(SchemaShape.Column.VectorKind.Vector, pair.Kind);
        Assert.AreEqual(4, shape.Count);
    }

    [TestMethod]
    public void OutputColumn_ReplacesSameNamedInput()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new { A = 1f, B = 2f, Sum = "old" } });
        var transformer = new SumTransformer(ml, 1);
        var output = transformer.Transform(data);
        Assert.AreEqual(NumberDataViewType.Single, output.Schema["Sum"].Type);
        Assert.AreEqual(3f, output.GetColumn<float>("Sum").Single());
        Assert.IsTrue(output.Schema.Any(c => c.IsHidden && c.Name == "Sum"));
    }

    [TestMethod]
    public void MissingColumn_ErrorNamesColumnAndRole()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new { A = 1f } });
        var transformer = new SumTransformer(ml, 1);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => transformer.GetOutputSchema(data.Schema));
        Assert.AreEqual("Input schema: column 'B' (role right) not found. (Parameter 'inputSchema')", e.Message);
        var shapeError = Assert.ThrowsExactly<ArgumentOutOfRangeException>(
            () => new SumEstimator(ml).GetOutputSchema(SchemaShape.Create(data.Schema)));
        Assert.AreEqual("Input schema: column 'B' (role right) not found. (Parameter 'input')", shapeError.Message);
    }

    [TestMethod]
    public void WrongType_ErrorNamesBothTypes()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new { A = 1f, B = 2 } });
        var transformer = new SumTransformer(ml, 1);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => transformer.Transform(data));
        Assert.AreEqual("Input schema: column 'B' (role right) has type Int32, expected Single.", e.Message);
        var shapeError = Assert.ThrowsExactly<InvalidOperationException>(() => new SumEstimator(ml).Fit(data));
        Assert.AreEqual("Input schema: column 'B' (role right) has type Int32, expected Single.", shapeError.Message);

        var vectors = ml.Data.LoadFromEnumerable(new[] { new VecRow { A = [1f, 2f], B = 1f } });
        var vectorError = Assert.ThrowsExactly<InvalidOperationException>(
            () => new SumEstimator(ml).GetOutputSchema(SchemaShape.Create(vectors.Schema)));
        Assert.AreEqual("Input schema: column 'A' (role left) has type Vector<Single>, expected Single.", vectorError.Message);
    }

    public sealed class VecRow
    {
        [VectorType(2)]
        public float[] A { get; set; } = [];
        public float B { get; set; }
    }

    [TestMethod]
    public void Transform_ComputesValues()
    {
        var (ml, data) = AbData();
        var transformer = new SumEstimator(ml).Fit(data);
        Assert.AreEqual(4f, transformer.Scale);
        var result = ml.Data.CreateEnumerable<SumOut>(transformer.Transform(data), reuseRowObject: false).ToArray();
        CollectionAssert.AreEqual(new[] { 3f, -2.5f, 30f }, result.Select(r => r.Sum).ToArray());
        CollectionAssert.AreEqual(new[] { 4f, 8f }, result[0].Pair);
        CollectionAssert.AreEqual(new[] { -12f, 2f }, result[1].Pair);
        CollectionAssert.AreEqual(new[] { 40f, 80f }, result[2].Pair);
        Assert.AreEqual(3L, transformer.Transform(data).GetRowCount());
    }

    [TestMethod]
    public void RowFunction_IsLazy_OncePerRow_AndSkippedForInactiveOutputs()
    {
        var (ml, data) = AbData();
        var transformer = new SumTransformer(ml, 2);
        var output = transformer.Transform(data);

        using (var cursor = output.GetRowCursor([output.Schema["A"]]))
        {
            Assert.IsFalse(cursor.IsColumnActive(output.Schema["Sum"]));
            while (cursor.MoveNext()) { }
        }
        Assert.AreEqual(0, transformer.RowMappersCreated);
        Assert.AreEqual(0, transformer.RowFunctionCalls);

        using (var cursor = output.GetRowCursor(output.Schema))
        {
            var sum = cursor.GetGetter<float>(output.Schema["Sum"]);
            var pair = cursor.GetGetter<VBuffer<float>>(output.Schema["Pair"]);
            float s = 0;
            VBuffer<float> p = default;
            int rows = 0;
            while (cursor.MoveNext())
            {
                sum(ref s);
                sum(ref s);
                pair(ref p);
                rows++;
            }
            Assert.AreEqual(3, rows);
            CollectionAssert.AreEqual(new[] { 20f, 40f }, p.DenseValues().ToArray());
        }
        Assert.AreEqual(1, transformer.RowMappersCreated);
        Assert.AreEqual(3, transformer.RowFunctionCalls);
    }

    [TestMethod]
    public void WrongGetterType_ErrorNamesColumn()
    {
        var (ml, data) = AbData();
        var output = new SumTransformer(ml, 1).Transform(data);
        using var cursor = output.GetRowCursor(output.Schema);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => cursor.GetGetter<int>(output.Schema["Sum"]));
        Assert.AreEqual("Output column 'Sum' has type Single; a getter of Int32 was requested.", e.Message);
    }

    [TestMethod]
    public void CursorSet_ParallelCursorsEachGetOwnBuffers()
    {
        var ml = new MLContext(seed: 1);
        var rows = Enumerable.Range(0, 5000).Select(i => new AbRow { A = i, B = 2 * i }).ToArray();
        var data = ml.Data.Cache(ml.Data.LoadFromEnumerable(rows));
        var output = new SumTransformer(ml, 1).Transform(data);
        var cursors = output.GetRowCursorSet(output.Schema, 4);
        double total = 0;
        object gate = new();
        Parallel.ForEach(cursors, cursor =>
        {
            using (cursor)
            {
                var sum = cursor.GetGetter<float>(output.Schema["Sum"]);
                var a = cursor.GetGetter<float>(output.Schema["A"]);
                float s = 0, av = 0;
                double local = 0;
                while (cursor.MoveNext())
                {
                    sum(ref s);
                    a(ref av);
                    Assert.AreEqual(3 * av, s);
                    local += s;
                }
                lock (gate)
                    total += local;
            }
        });
        Assert.AreEqual(3.0 * 4999 * 5000 / 2, total);
    }

    [TestMethod]
    public void PredictionEngine_WorksThroughChainWithBuiltInTransform()
    {
        var ml = new MLContext(seed: 1);
        var raw = ml.Data.LoadFromEnumerable(new[] { new RawRow { A = 1, BInt = 2 }, new RawRow { A = 5, BInt = 7 } });
        var pipeline = ml.Transforms.Conversion.ConvertType("B", "BInt", DataKind.Single)
            .Append(new SumEstimator(ml));
        var model = pipeline.Fit(raw);
        var engine = ml.Model.CreatePredictionEngine<RawRow, SumOut>(model);
        var first = engine.Predict(new RawRow { A = 1.5f, BInt = 4 });
        Assert.AreEqual(5.5f, first.Sum);
        CollectionAssert.AreEqual(new[] { 4.5f, 12f }, first.Pair);
        // A second call must not reuse the first row's cached outputs.
        var second = engine.Predict(new RawRow { A = -1, BInt = 1 });
        Assert.AreEqual(0f, second.Sum);
        CollectionAssert.AreEqual(new[] { -3f, 3f }, second.Pair);
    }

    [TestMethod]
    public void SaveAndLoad_InFreshContext_GivesSamePredictions()
    {
        var ml = new MLContext(seed: 1);
        var raw = ml.Data.LoadFromEnumerable(new[] { new RawRow { A = 1, BInt = 2 }, new RawRow { A = 5, BInt = 7 } });
        var model = ml.Transforms.Conversion.ConvertType("B", "BInt", DataKind.Single).Append(new SumEstimator(ml)).Fit(raw);
        var bytes = Save(ml, model, raw.Schema);

        var fresh = new MLContext(seed: 7);
        ITransformer loaded;
        using (var stream = new MemoryStream(bytes))
            loaded = fresh.Model.Load(stream, out var inputSchema);
        var chain = (TransformerChain<ITransformer>)loaded;
        var sum = chain.OfType<SumTransformer>().Single();
        Assert.AreEqual(3f, sum.Scale);

        var before = ml.Model.CreatePredictionEngine<RawRow, SumOut>(model);
        var after = fresh.Model.CreatePredictionEngine<RawRow, SumOut>(loaded);
        foreach (var row in new[] { new RawRow { A = 2, BInt = 3 }, new RawRow { A = -4.25f, BInt = 9 } })
        {
            var x = before.Predict(row);
            var y = after.Predict(row);
            Assert.AreEqual(x.Sum, y.Sum);
            CollectionAssert.AreEqual(x.Pair, y.Pair);
        }
        var transformed = fresh.Data.CreateEnumerable<SumOut>(loaded.Transform(raw), reuseRowObject: false).ToArray();
        CollectionAssert.AreEqual(new[] { 3f, 12f }, transformed.Select(r => r.Sum).ToArray());
    }

    [TestMethod]
    public void TruncatedZip_GivesClearError()
    {
        var (ml, data) = AbData();
        var bytes = Save(ml, new SumTransformer(ml, 2), data.Schema);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => LoadFresh(bytes[..(bytes.Length / 2)]));
        Assert.AreEqual("model.zip: not a readable ML.NET model (Failed to open a zip archive: " +
                        "End of Central Directory record could not be found.).", e.Message);
    }

    [TestMethod]
    public void MissingComponentBlob_ErrorNamesComponent()
    {
        var (ml, data) = AbData();
        var bytes = Save(ml, new SumTransformer(ml, 2), data.Schema);
        // Drop the blob our component requires: the zip stays valid, our loader must say what is missing.
        var edited = RewriteZip(bytes, entry => entry.EndsWith("Note.bin", StringComparison.Ordinal) ? null : b => b);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => LoadFresh(edited));
        Assert.AreEqual("CvrTestSumTransformer: stored model has no blob 'Note.bin'.", e.Message);
    }

    [TestMethod]
    public void TruncatedComponentStream_IsCaughtByMLNetHeaderCheck()
    {
        var (ml, data) = AbData();
        var bytes = Save(ml, new SumTransformer(ml, 2), data.Schema);
        var edited = RewriteZip(bytes, entry => entry.EndsWith("Model.key", StringComparison.Ordinal) ? m => m[..^4] : b => b);
        // ML.NET validates the header's recorded lengths before our loader runs; the message is ML.NET's own.
        var e = Assert.ThrowsExactly<InvalidDataException>(() => LoadFresh(edited));
        Assert.AreEqual("model.zip: not a readable ML.NET model (One of the identified items was in an invalid format.).", e.Message);
    }

    [TestMethod]
    public void CorruptComponentState_ErrorNamesComponentAndValue()
    {
        var (ml, data) = AbData();
        var bytes = Save(ml, new SumTransformer(ml, 2), data.Schema);
        // Our state starts right after ML.NET's fixed 256-byte model header: overwrite Scale with NaN.
        var edited = RewriteZip(bytes, entry => entry.EndsWith("Model.key", StringComparison.Ordinal)
            ? m =>
            {
                Assert.AreEqual(2f, BitConverter.ToSingle(m, 256));
                BitConverter.GetBytes(float.NaN).CopyTo(m, 256);
                return m;
            }
            : b => b);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => LoadFresh(edited));
        Assert.AreEqual("CvrTestSumTransformer: stored Scale NaN is not finite.", e.Message);
    }

    [TestMethod]
    public void ForeignZip_GivesClearError()
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        using (var writer = new StreamWriter(zip.CreateEntry("readme.txt").Open()))
            writer.Write("not a model");
        var e = Assert.Throws<Exception>(() => LoadFresh(buffer.ToArray()));
        Assert.IsNotInstanceOfType<NullReferenceException>(e);
        Assert.Contains("model", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [TestMethod]
    public void Evaluate_WorksOnScoreColumnsFromTheBase()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[]
        {
            new ScoreRow { X = 2, Label = true }, new ScoreRow { X = 0.5f, Label = true },
            new ScoreRow { X = -1, Label = false }, new ScoreRow { X = 0.7f, Label = false },
        });
        var scored = new ScoreTransformer(ml, bias: 0.6f).Transform(data);
        var metrics = ml.BinaryClassification.Evaluate(scored, labelColumnName: "Label");
        // Scores 1.4, -0.1, -1.6, 0.1: positives rank above negatives except -0.1 < 0.1 → AUC 3/4.
        Assert.AreEqual(0.75, metrics.AreaUnderRocCurve, 1e-12);
        Assert.AreEqual(0.5, metrics.Accuracy, 1e-12);
        Assert.AreEqual(1, metrics.ConfusionMatrix.Counts[0][0]);
        var kind = default(ReadOnlyMemory<char>);
        scored.Schema["Score"].Annotations.GetValue("ScoreColumnKind", ref kind);
        Assert.AreEqual("BinaryClassification", kind.ToString());
    }

    private static byte[] Save(MLContext ml, ITransformer model, DataViewSchema schema)
    {
        using var stream = new MemoryStream();
        ml.Model.Save(model, schema, stream);
        return stream.ToArray();
    }

    private static ITransformer LoadFresh(byte[] bytes)
    {
        using var stream = new MemoryStream(bytes);
        return ModelFile.Load(new MLContext(), stream, "model.zip", out _);
    }

    /// <summary>Copies a zip, transforming or (null) dropping entries.</summary>
    private static byte[] RewriteZip(byte[] bytes, Func<string, Func<byte[], byte[]>?> edit)
    {
        using var output = new MemoryStream();
        using (var source = new ZipArchive(new MemoryStream(bytes), ZipArchiveMode.Read))
        using (var target = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var entry in source.Entries)
            {
                var change = edit(entry.FullName);
                if (change is null)
                    continue;
                using var content = new MemoryStream();
                using (var s = entry.Open())
                    s.CopyTo(content);
                using var t = target.CreateEntry(entry.FullName).Open();
                t.Write(change(content.ToArray()));
            }
        }
        return output.ToArray();
    }
}
