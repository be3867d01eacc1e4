namespace Cvr.MLNet.Model;

/// <summary>
/// Sizes of <see cref="CvrNetwork"/>. The defaults are the reference architecture of
/// <c>shared/bench/reference/cvr_torch.py</c> (615 input dims in 7 fields, 2 PLE layers, 3 FM towers), plus
/// an 8th field of interaction features (<see cref="InteractionFeatures"/>; 0 turns it off).
/// </summary>
public sealed class CvrNetworkOptions
{
    /// <summary>User vocabulary size, including padding (index 0) and OOV.</summary>
    public int UserBuckets { get; set; } = 10_000;
    /// <summary>Item vocabulary size, including padding (index 0) and OOV; shared by candidate and sequence items.</summary>
    public int ItemBuckets { get; set; } = 200_000;
    /// <summary>Category vocabulary size, including padding (index 0) and OOV; shared by candidate and sequence categories.</summary>
    public int CategoryBuckets { get; set; } = 10_000;

    /// <summary>Item embedding width; also the DIN query/key width and the short-term interest field.</summary>
    public int ItemEmbeddingDim { get; set; } = 128;
    /// <summary>User embedding width.</summary>
    public int UserEmbeddingDim { get; set; } = 128;
    /// <summary>Category embedding width (projected into the item space for DIN).</summary>
    public int CategoryEmbeddingDim { get; set; } = 64;
    /// <summary>Width of the second user table, the long-term interest field.</summary>
    public int LongTermEmbeddingDim { get; set; } = 128;
    /// <summary>Weekday (0..6) embedding width.</summary>
    public int WeekdayEmbeddingDim { get; set; } = 3;
    /// <summary>Hour-of-day (0..23) embedding width.</summary>
    public int HourEmbeddingDim { get; set; } = 5;
    /// <summary>Dense time features: weekend flag, delta to log end, timestamp.</summary>
    public int TimeDenseFeatures { get; set; } = 3;
    /// <summary>Behavior counts (7 days × 4 types, log1p'd).</summary>
    public int CountFeatures { get; set; } = 28;

    /// <summary>
    /// User–candidate interaction features (<see cref="Samples.InteractionFeatures"/>: the user's events on the
    /// candidate's category and item, the item's events; log1p'd) as an 8th field. Default 19 — on, because
    /// these crosses carry most of the signal the event process conditions conversion on (README, quality);
    /// 0 gives the seed's 7-field, 615-dim network (the PyTorch reference's architecture).
    /// </summary>
    public int InteractionFeatures { get; set; } = Samples.InteractionFeatures.Length;

    /// <summary>Length T of the behavior sequence.</summary>
    public int SequenceLength { get; set; } = 20;
    /// <summary>Hidden widths of the DIN score MLP (input 4 × item width, output 1).</summary>
    public int[] DinHidden { get; set; } = [64, 32];
    /// <summary>Add an embedding of the bucketed log2 hours-ago to each DIN key.</summary>
    public bool UseTimeGap { get; set; } = true;
    /// <summary>Time-gap buckets including padding (0): bucket = 1 + floor(log2(1 + hours)), capped.</summary>
    public int TimeGapBuckets { get; set; } = 12;

    /// <summary>SE bottleneck width (fields → this → fields).</summary>
    public int SeReduction { get; set; } = 3;

    /// <summary>Per PLE extraction layer, the hidden widths of each expert MLP (Linear + SiLU per width).</summary>
    public int[][] PleLayers { get; set; } = [[256], [256, 128]];
    /// <summary>Task-specific experts per task and layer.</summary>
    public int SpecificExperts { get; set; } = 2;
    /// <summary>Shared experts per layer.</summary>
    public int SharedExperts { get; set; } = 2;
    /// <summary>FM tower fields: the tower input (last expert width) is viewed as this many fields.</summary>
    public int FmFields { get; set; } = 8;

    /// <summary>Give the user, item, category and long-term tables sparse gradients (for a sparse optimizer).</summary>
    public bool SparseEmbeddings { get; set; }

    /// <summary>
    /// DIN attention for the short-term-interest field (default true). Ablation: false replaces it by the
    /// masked mean of the sequence's item + category keys (same 128 dims, so SE/PLE shapes are unchanged).
    /// </summary>
    public bool UseDin { get; set; } = true;

    /// <summary>SE field reweighting (default true). Ablation: false passes the fields through (field weights = 1).</summary>
    public bool UseSe { get; set; } = true;

    /// <summary>Number of tasks of the PLE body (fav/cart and buy).</summary>
    public const int Tasks = 2;
    /// <summary>Number of input fields seen by the SE block: 7, or 8 with interaction features.</summary>
    public int FieldCount => InteractionFeatures > 0 ? 8 : 7;

    /// <summary>Width of the time field: weekday embedding + hour embedding + dense time features.</summary>
    public int TimeFieldDim => WeekdayEmbeddingDim + HourEmbeddingDim + TimeDenseFeatures;

    /// <summary>Widths of the fields: item, user, category, time, counts, long-term, short-term (and interactions).</summary>
    public int[] FieldDims => InteractionFeatures > 0
        ? [ItemEmbeddingDim, UserEmbeddingDim, CategoryEmbeddingDim, TimeFieldDim, CountFeatures, LongTermEmbeddingDim, ItemEmbeddingDim, InteractionFeatures]
        : [ItemEmbeddingDim, UserEmbeddingDim, CategoryEmbeddingDim, TimeFieldDim, CountFeatures, LongTermEmbeddingDim, ItemEmbeddingDim];

    /// <summary>Total input width of the PLE body (615 for the seed's 7 fields, 634 with interaction features).</summary>
    public int InputDim => FieldDims.Sum();

    /// <summary>Names of the fields, in <see cref="FieldDims"/> order.</summary>
    public IReadOnlyList<string> FieldNames => AllFieldNames.Take(FieldCount).ToArray();

    private static readonly string[] AllFieldNames = ["item", "user", "category", "time", "counts", "long_term", "short_term", "interactions"];

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid option.</summary>
    public CvrNetworkOptions Validate()
    {
        Positive(UserBuckets, nameof(UserBuckets), min: 2);
        Positive(ItemBuckets, nameof(ItemBuckets), min: 2);
        Positive(CategoryBuckets, nameof(CategoryBuckets), min: 2);
        Positive(ItemEmbeddingDim, nameof(ItemEmbeddingDim));
        Positive(UserEmbeddingDim, nameof(UserEmbeddingDim));
        Positive(CategoryEmbeddingDim, nameof(CategoryEmbeddingDim));
        Positive(LongTermEmbeddingDim, nameof(LongTermEmbeddingDim));
        Positive(WeekdayEmbeddingDim, nameof(WeekdayEmbeddingDim));
        Positive(HourEmbeddingDim, nameof(HourEmbeddingDim));
        Positive(TimeDenseFeatures, nameof(TimeDenseFeatures));
        Positive(CountFeatures, nameof(CountFeatures));
        Positive(InteractionFeatures, nameof(InteractionFeatures), min: 0);
        Positive(SequenceLength, nameof(SequenceLength));
        Widths(DinHidden, nameof(DinHidden));
        if (UseTimeGap) Positive(TimeGapBuckets, nameof(TimeGapBuckets), min: 2);
        Positive(SeReduction, nameof(SeReduction));
        if (PleLayers is null || PleLayers.Length == 0)
            throw new ArgumentOutOfRangeException(nameof(PleLayers), "PleLayers must name at least one extraction layer.");
        for (int i = 0; i < PleLayers.Length; i++) Widths(PleLayers[i], $"{nameof(PleLayers)}[{i}]");
        Positive(SpecificExperts, nameof(SpecificExperts));
        Positive(SharedExperts, nameof(SharedExperts));
        Positive(FmFields, nameof(FmFields));
        int towerDim = PleLayers[^1][^1];
        if (towerDim % FmFields != 0)
            throw new ArgumentOutOfRangeException(nameof(FmFields),
                $"FmFields = {FmFields} must divide the last expert width {towerDim} (PleLayers[{PleLayers.Length - 1}]).");
        return this;
    }

    private static void Positive(int value, string name, int min = 1)
    {
        if (value < min)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least {min}, got {value}.");
    }

    private static void Widths(int[]? widths, string name)
    {
        if (widths is null || widths.Length == 0)
            throw new ArgumentOutOfRangeException(name, $"{name} must list at least one width.");
        for (int i = 0; i < widths.Length; i++)
            if (widths[i] < 1)
                throw new ArgumentOutOfRangeException(name, widths[i], $"{name}[{i}] must be at least 1, got {widths[i]}.");
    }
}
