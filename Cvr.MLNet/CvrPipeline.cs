using System.Diagnostics;
using Cvr.MLNet.Data;
using Cvr.MLNet.Samples;
using Cvr.MLNet.Training;
using Cvr.MLNet.Transforms;
using Cvr.MLNet.Transforms.Vocabulary;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Cvr.MLNet;

/// <summary>Everything that shapes a training run: samples, vocabulary and trainer options.</summary>
public sealed class CvrPipelineOptions
{
    public CvrSampleOptions Samples { get; set; } = new();
    public IdVocabularyOptions Vocabulary { get; set; } = new();
    public CvrTrainerOptions Trainer { get; set; } = new();
}

/// <summary>The outcome of <see cref="CvrPipeline.Train"/>.</summary>
/// <param name="Model">The fitted chain: feature transforms + CVR model (save it with <c>mlContext.Model.Save(Model, InputSchema, path)</c>).</param>
/// <param name="InputSchema">The schema of the samples the chain was fitted on.</param>
/// <param name="Samples">The samples (train + validation) it was fitted on.</param>
/// <param name="Validation">Validation-split metrics of the kept weights.</param>
/// <param name="BestEpoch">The epoch whose weights were kept.</param>
/// <param name="History">Per-epoch training record.</param>
/// <param name="Elapsed">Wall time of samples + features + training.</param>
public sealed record CvrTrainResult(TransformerChain<ITransformer> Model, DataViewSchema InputSchema, CvrSampleSet Samples,
    ValidationMetrics? Validation, int BestEpoch, IReadOnlyList<EpochRecord> History, TimeSpan Elapsed)
{
    /// <summary>The CVR model transformer at the end of the chain.</summary>
    public CvrModelTransformer CvrModel => (CvrModelTransformer)Model.LastTransformer;

    /// <summary>Most samples whose features the trainer held at once (<see cref="CvrTrainerOptions.MaxRowsInMemory"/>).</summary>
    public int PeakFeatureRows { get; init; }

    /// <summary>Bytes of the largest feature table the trainer held.</summary>
    public long PeakFeatureBytes { get; init; }
}

/// <summary>
/// The whole data flow in one place: event log → click samples (<see cref="CvrSampleSet"/>) → feature
/// transforms (<c>CvrFeatures</c>) → <see cref="CvrTrainer"/>. What the CLI, the notebooks and host apps
/// that do not need to assemble the pipeline themselves call.
/// </summary>
public static class CvrPipeline
{
    /// <summary>The estimator chain: features fitted on <paramref name="log"/>, then the trainer.</summary>
    public static EstimatorChain<ITransformer> Create(MLContext ml, EventLog log, CvrPipelineOptions? options = null)
    {
        options ??= new CvrPipelineOptions();
        return ml.Transforms.CvrFeatures(log, options.Vocabulary)
            .Append<ITransformer>(new CvrTrainer(ml, options.Trainer));
    }

    /// <summary>Builds the samples of <paramref name="log"/>, fits the pipeline and reports validation metrics.</summary>
    public static CvrTrainResult Train(MLContext ml, EventLog log, CvrPipelineOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(ml);
        ArgumentNullException.ThrowIfNull(log);
        options ??= new CvrPipelineOptions();
        var sw = Stopwatch.StartNew();
        var source = new CvrEventSource(log);
        var samples = CvrSampleSet.Build(source.History, options.Samples);
        if (samples.Count == 0)
            throw new InvalidOperationException($"The event log{(log.Source is null ? "" : $" '{log.Source}'")} yields no uncensored click samples (it needs clicks at least {options.Samples.HorizonHours} h before its end).");
        var view = samples.ToDataView();
        var trainer = new CvrTrainer(ml, options.Trainer);
        var chain = ml.Transforms.CvrFeatures(source, options.Vocabulary).Append<ITransformer>(trainer);
        var model = chain.Fit(view);
        return new CvrTrainResult(model, view.Schema, samples, trainer.LastValidation,
            ((CvrModelTransformer)model.LastTransformer).BestEpoch, trainer.LastTrainingHistory, sw.Elapsed)
        {
            PeakFeatureRows = trainer.LastPeakFeatureRows, PeakFeatureBytes = trainer.LastPeakFeatureBytes,
        };
    }
}
