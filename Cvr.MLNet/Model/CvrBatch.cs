using TorchSharp;
using static TorchSharp.torch;

namespace Cvr.MLNet.Model;

/// <summary>
/// One mini-batch of model inputs as tensors (B samples, T sequence positions). Ids are embedding
/// indices from an upstream vocabulary (0 = padding). The batch owns its tensors: disposing it
/// disposes them.
/// </summary>
public sealed class CvrBatch : IDisposable
{
    /// <summary>User index [B] int64.</summary>
    public required Tensor UserIdx { get; init; }
    /// <summary>Candidate item index [B] int64.</summary>
    public required Tensor ItemIdx { get; init; }
    /// <summary>Candidate category index [B] int64.</summary>
    public required Tensor CategoryIdx { get; init; }
    /// <summary>Weekday [B] int64, 0 = Monday .. 6.</summary>
    public required Tensor Weekday { get; init; }
    /// <summary>Hour of day [B] int64, 0..23.</summary>
    public required Tensor Hour { get; init; }
    /// <summary>[B,3] float: weekend flag, delta to log end, timestamp (both normalized).</summary>
    public required Tensor TimeDense { get; init; }
    /// <summary>[B,28] float, log1p'd behavior counts.</summary>
    public required Tensor Counts { get; init; }
    /// <summary>[B,K] float, log1p'd interaction features; null when the network has none (K = 0).</summary>
    public Tensor? Interactions { get; init; }
    /// <summary>[B,T] int64 item indices of the last behaviors (0 = padding).</summary>
    public required Tensor SeqItems { get; init; }
    /// <summary>[B,T] int64 category indices of the last behaviors (0 = padding).</summary>
    public required Tensor SeqCategories { get; init; }
    /// <summary>[B,T] int64 behavior types 1..4 (0 = padding).</summary>
    public required Tensor SeqBehaviors { get; init; }
    /// <summary>[B,T] float hours between each behavior and the sample time.</summary>
    public required Tensor SeqHoursAgo { get; init; }
    /// <summary>[B,T] float, 1 = real behavior, 0 = padding.</summary>
    public required Tensor SeqMask { get; init; }

    /// <summary>Batch size B.</summary>
    public long Size => ItemIdx.shape[0];

    /// <summary>
    /// Checks shapes and element types against <paramref name="options"/> (no data is read);
    /// throws <see cref="ArgumentException"/> naming the tensor, its shape and the expected one.
    /// </summary>
    public void Validate(CvrNetworkOptions options)
    {
        long b = ItemIdx.dim() == 1 ? ItemIdx.shape[0] : -1;
        if (b < 1) throw Bad(nameof(ItemIdx), ItemIdx, "[B] with B >= 1", ScalarType.Int64);
        long t = options.SequenceLength;
        Check(nameof(UserIdx), UserIdx, ScalarType.Int64, b);
        Check(nameof(ItemIdx), ItemIdx, ScalarType.Int64, b);
        Check(nameof(CategoryIdx), CategoryIdx, ScalarType.Int64, b);
        Check(nameof(Weekday), Weekday, ScalarType.Int64, b);
        Check(nameof(Hour), Hour, ScalarType.Int64, b);
        Check(nameof(TimeDense), TimeDense, ScalarType.Float32, b, options.TimeDenseFeatures);
        Check(nameof(Counts), Counts, ScalarType.Float32, b, options.CountFeatures);
        if (options.InteractionFeatures > 0)
        {
            if (Interactions is null) throw new ArgumentException($"CvrBatch.{nameof(Interactions)} is null, expected [{b},{options.InteractionFeatures}] Float32.", nameof(Interactions));
            Check(nameof(Interactions), Interactions, ScalarType.Float32, b, options.InteractionFeatures);
        }
        Check(nameof(SeqItems), SeqItems, ScalarType.Int64, b, t);
        Check(nameof(SeqCategories), SeqCategories, ScalarType.Int64, b, t);
        Check(nameof(SeqBehaviors), SeqBehaviors, ScalarType.Int64, b, t);
        Check(nameof(SeqHoursAgo), SeqHoursAgo, ScalarType.Float32, b, t);
        Check(nameof(SeqMask), SeqMask, ScalarType.Float32, b, t);
    }

    private static void Check(string name, Tensor x, ScalarType type, params long[] shape)
    {
        if (x.dtype != type || !x.shape.SequenceEqual(shape))
            throw Bad(name, x, "[" + string.Join(",", shape) + "]", type);
    }

    private static ArgumentException Bad(string name, Tensor x, string expected, ScalarType type) =>
        new($"CvrBatch.{name} has shape [{string.Join(",", x.shape)}] {x.dtype}, expected {expected} {type}.", name);

    /// <summary>Disposes every tensor of the batch.</summary>
    public void Dispose()
    {
        foreach (var x in new[] { UserIdx, ItemIdx, CategoryIdx, Weekday, Hour, TimeDense, Counts, Interactions,
                     SeqItems, SeqCategories, SeqBehaviors, SeqHoursAgo, SeqMask })
            x?.Dispose();
    }
}
