using Cvr.MLNet.Pipeline;
using Cvr.MLNet.Tests.Pipeline;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

[assembly: LoadableClass(typeof(SumTransformer), null, typeof(SignatureLoadModel), "Sum test transformer", SumTransformer.LoaderSignature)]

namespace Cvr.MLNet.Tests.Pipeline;

/// <summary>Test transformer: Sum = A + B and Pair = [A * Scale, B * Scale], Scale fitted and persisted.</summary>
public sealed class SumTransformer : RowMappingTransformer
{
    internal const string LoaderSignature = "CvrTestSumTransformer";
    private static readonly InputColumn[] Inputs =
    [
        new("A", NumberDataViewType.Single, "left"),
        new("B", NumberDataViewType.Single, "right"),
    ];
    private static readonly OutputColumn[] Outputs =
    [
        new("Sum", NumberDataViewType.Single),
        new("Pair", new VectorDataViewType(NumberDataViewType.Single, 2)),
    ];
    private int _rowFunctionCalls;
    private int _rowMappersCreated;

    internal SumTransformer(IHostEnvironment env, float scale) : base(env, nameof(SumTransformer)) => Scale = scale;

    /// <summary>Fitted multiplier of Pair.</summary>
    public float Scale { get; }

    /// <summary>How often a row function ran (laziness checks).</summary>
    public int RowFunctionCalls => Volatile.Read(ref _rowFunctionCalls);

    /// <summary>How often CreateRowMapper ran.</summary>
    public int RowMappersCreated => Volatile.Read(ref _rowMappersCreated);

    protected override IReadOnlyList<InputColumn> InputColumns => Inputs;
    protected override IReadOnlyList<OutputColumn> OutputColumns => Outputs;

    protected override Action<RowOutputs> CreateRowMapper(DataViewRow input)
    {
        Interlocked.Increment(ref _rowMappersCreated);
        var getA = input.GetGetter<float>(input.Schema["A"]);
        var getB = input.GetGetter<float>(input.Schema["B"]);
        float a = 0, b = 0;
        return outputs =>
        {
            Interlocked.Increment(ref _rowFunctionCalls);
            getA(ref a);
            getB(ref b);
            outputs.Single(0)[0] = a + b;
            var pair = outputs.Single(1);
            pair[0] = a * Scale;
            pair[1] = b * Scale;
        };
    }

    private static VersionInfo GetVersionInfo() =>
        ModelPersistence.MakeVersion("CVRTSUM ", LoaderSignature, typeof(SumTransformer), 1);

    protected override void SaveModel(ModelSaveContext ctx) =>
        ModelPersistence.Save(ctx, GetVersionInfo(), w => w.Write(Scale),
            new Dictionary<string, Action<Stream>> { ["Note.bin"] = s => s.Write("scale"u8) });

    private static SumTransformer Create(IHostEnvironment env, ModelLoadContext ctx) =>
        ModelPersistence.Load(env, ctx, GetVersionInfo(), r =>
        {
            float scale = r.ReadSingle();
            if (!float.IsFinite(scale))
                throw new InvalidDataException($"{LoaderSignature}: stored Scale {scale} is not finite.");
            ModelPersistence.LoadBlob(ctx, LoaderSignature, "Note.bin", s =>
            {
                using var reader = new StreamReader(s);
                string note = reader.ReadToEnd();
                if (note != "scale")
                    throw new InvalidDataException($"{LoaderSignature}: blob Note.bin holds '{note}', expected 'scale'.");
            });
            return new SumTransformer(env, scale);
        });
}

/// <summary>Fits <see cref="SumTransformer"/>: Scale = 1 + number of rows (so fitting is observable).</summary>
public sealed class SumEstimator : IEstimator<SumTransformer>
{
    private readonly IHostEnvironment _env;

    public SumEstimator(IHostEnvironment env) => _env = env;

    public SumTransformer Fit(IDataView input)
    {
        GetOutputSchema(SchemaShape.Create(input.Schema));
        long rows = 0;
        using (var cursor = input.GetRowCursor([]))
            while (cursor.MoveNext())
                rows++;
        return new SumTransformer(_env, 1 + rows);
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ModelPersistence.RequireColumn(inputSchema, "A", NumberDataViewType.Single, "left");
        ModelPersistence.RequireColumn(inputSchema, "B", NumberDataViewType.Single, "right");
        return ModelPersistence.AddColumns(inputSchema,
            [new("Sum", NumberDataViewType.Single), new("Pair", new VectorDataViewType(NumberDataViewType.Single, 2))]);
    }
}
