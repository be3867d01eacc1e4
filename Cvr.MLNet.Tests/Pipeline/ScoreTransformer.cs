using Cvr.MLNet.Pipeline;
using Cvr.MLNet.Tests.Pipeline;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

[assembly: LoadableClass(typeof(ScoreTransformer), null, typeof(SignatureLoadModel), "Score test transformer", ScoreTransformer.LoaderSignature)]

namespace Cvr.MLNet.Tests.Pipeline;

/// <summary>Test scorer: Score = X - Bias, Probability = sigmoid(Score), PredictedLabel = Score &gt; 0.</summary>
public sealed class ScoreTransformer : RowMappingTransformer
{
    internal const string LoaderSignature = "CvrTestScoreTransformer";
    private static readonly InputColumn[] Inputs = [new("X", NumberDataViewType.Single, "feature")];
    private static readonly OutputColumn[] Outputs =
    [
        new("Score", NumberDataViewType.Single),
        new("Probability", NumberDataViewType.Single),
        new("PredictedLabel", BooleanDataViewType.Instance),
    ];
    private readonly bool _annotate;

    public ScoreTransformer(IHostEnvironment env, float bias, bool annotate = true) : base(env, nameof(ScoreTransformer))
    {
        Bias = bias;
        _annotate = annotate;
    }

    public float Bias { get; }

    protected override IReadOnlyList<InputColumn> InputColumns => Inputs;
    protected override IReadOnlyList<OutputColumn> OutputColumns => Outputs;

    protected override void AddAnnotations(int outputIndex, DataViewSchema.Annotations.Builder builder)
    {
        if (_annotate)
            AddBinaryClassificationAnnotations(builder, Outputs[outputIndex].Name);
    }

    protected override Action<RowOutputs> CreateRowMapper(DataViewRow input)
    {
        var getX = input.GetGetter<float>(input.Schema["X"]);
        float x = 0;
        return outputs =>
        {
            getX(ref x);
            float score = x - Bias;
            outputs.Single(0)[0] = score;
            outputs.Single(1)[0] = 1f / (1f + MathF.Exp(-score));
            outputs.Boolean(2) = score > 0;
        };
    }

    private static VersionInfo GetVersionInfo() =>
        ModelPersistence.MakeVersion("CVRTSCOR", LoaderSignature, typeof(ScoreTransformer), 1);

    protected override void SaveModel(ModelSaveContext ctx) => ModelPersistence.Save(ctx, GetVersionInfo(), w => w.Write(Bias));

    private static ScoreTransformer Create(IHostEnvironment env, ModelLoadContext ctx) =>
        ModelPersistence.Load(env, ctx, GetVersionInfo(), r => new ScoreTransformer(env, r.ReadSingle()));
}
