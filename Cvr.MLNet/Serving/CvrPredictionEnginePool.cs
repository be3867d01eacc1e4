using System.Collections.Concurrent;
using Microsoft.ML;

namespace Cvr.MLNet.Serving;

/// <summary>
/// Thread-safe scoring of one model: ML.NET's <see cref="PredictionEngine{TSrc, TDst}"/> is not thread-safe
/// (it reuses its input/output buffers), so each call rents an engine from a pool, creating one when none
/// is free, and returns it afterwards. The same pattern as <c>Microsoft.Extensions.ML</c>'s
/// <c>PredictionEnginePool</c>, without its DI and file-watching dependencies. The model's behavior state may
/// be extended with <c>model.AppendEvent(...)</c> while other threads score.
/// </summary>
public sealed class CvrPredictionEnginePool : IDisposable
{
    private readonly MLContext _mlContext;
    private readonly ITransformer _model;
    private readonly ConcurrentBag<PredictionEngine<CvrRequest, CvrPrediction>> _free = [];
    private readonly object _createLock = new();
    private readonly int _maxRetained;
    private int _retained, _created;
    private volatile bool _disposed;

    /// <summary>Creates a pool over a fitted or loaded CVR pipeline.</summary>
    /// <param name="mlContext">The context the model belongs to.</param>
    /// <param name="model">The pipeline (features + <c>CvrModelTransformer</c>).</param>
    /// <param name="maxRetained">Most idle engines kept for reuse (1..1024, default the larger of 8 and 2 × processor count); extra ones are disposed on return.</param>
    public CvrPredictionEnginePool(MLContext mlContext, ITransformer model, int? maxRetained = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(model);
        int max = maxRetained ?? Math.Max(8, 2 * Environment.ProcessorCount);
        if (max is < 1 or > 1024)
            throw new ArgumentOutOfRangeException(nameof(maxRetained), max, $"{nameof(maxRetained)} must be in 1..1024.");
        _mlContext = mlContext;
        _model = model;
        _maxRetained = max;
        // Build one engine now so schema errors surface here, not on the first request.
        Return(Create());
    }

    /// <summary>The model being served.</summary>
    public ITransformer Model => _model;

    /// <summary>Engines created so far (at most the peak number of concurrent callers, plus the first).</summary>
    public int EnginesCreated => Volatile.Read(ref _created);

    /// <summary>Scores one request; safe to call from any number of threads.</summary>
    public CvrPrediction Predict(CvrRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var engine = _free.TryTake(out var e) ? e : Create();
        if (e is not null) Interlocked.Decrement(ref _retained);
        try
        {
            // A new output object per call: the engine's own would be overwritten by its next use.
            var result = new CvrPrediction();
            engine.Predict(request, ref result);
            return result;
        }
        finally
        {
            Return(engine);
        }
    }

    private PredictionEngine<CvrRequest, CvrPrediction> Create()
    {
        // Creating engines touches the model's schema bindings; one at a time is cheap and safe.
        lock (_createLock)
        {
            Interlocked.Increment(ref _created);
            return _mlContext.Model.CreatePredictionEngine<CvrRequest, CvrPrediction>(_model);
        }
    }

    private void Return(PredictionEngine<CvrRequest, CvrPrediction> engine)
    {
        if (!_disposed && Interlocked.Increment(ref _retained) <= _maxRetained)
        {
            _free.Add(engine);
            return;
        }
        Interlocked.Decrement(ref _retained);
        engine.Dispose();
    }

    /// <summary>Disposes the idle engines; engines in use are disposed when their call returns.</summary>
    public void Dispose()
    {
        _disposed = true;
        while (_free.TryTake(out var e)) e.Dispose();
    }
}
