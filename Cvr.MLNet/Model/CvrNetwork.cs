using Cvr.MLNet.Model.Scoring;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Cvr.MLNet.Model;

/// <summary>
/// The multi-task CVR network: 7 input fields (item, user, category, time, counts, long-term user
/// interest, DIN short-term interest; 615 dims) plus, by default, an 8th of interaction features (634 dims) → SE field reweighting → PLE body
/// (2 tasks) → 3 FM towers → ESM² outputs. Same layer structure and default sizes as the PyTorch
/// reference <c>cvr_torch.py</c>; the experts of a PLE layer are held batched (<see cref="ExpertBank"/>).
/// Field names below are the weight keys.
/// </summary>
public sealed class CvrNetwork : Module<CvrBatch, CvrOutput>
{
    /// <summary>Keys of the four large id tables (sparse-capable; see <see cref="CvrNetworkOptions.SparseEmbeddings"/>).</summary>
    public static IReadOnlyList<string> IdTableKeys { get; } =
        ["item_emb.weight", "user_emb.weight", "cat_emb.weight", "user_long_emb.weight"];

    private readonly CvrNetworkOptions _options;
    private readonly Embedding item_emb;
    private readonly Embedding user_emb;
    private readonly Embedding cat_emb;
    private readonly Embedding user_long_emb;
    private readonly Embedding weekday_emb;
    private readonly Embedding hour_emb;
    private readonly Embedding behavior_emb;
    private readonly Embedding? time_gap_emb;
    private readonly Linear cat_to_item;
    private readonly DinAttention? din;
    private readonly SqueezeExcitation? se;
    private readonly ModuleList<PleExtractionLayer> ple;
    private readonly ModuleList<FmTower> towers;

    /// <summary>Creates the network; <paramref name="options"/> is validated (defaults when null).</summary>
    public CvrNetwork(CvrNetworkOptions? options = null) : base(nameof(CvrNetwork))
    {
        _options = (options ?? new CvrNetworkOptions()).Validate();
        var o = _options;
        bool sparse = o.SparseEmbeddings;
        // Index 0 is padding in every id vocabulary: its row stays zero and gets no gradient.
        item_emb = Embedding(o.ItemBuckets, o.ItemEmbeddingDim, padding_idx: 0, sparse: sparse);
        user_emb = Embedding(o.UserBuckets, o.UserEmbeddingDim, padding_idx: 0, sparse: sparse);
        cat_emb = Embedding(o.CategoryBuckets, o.CategoryEmbeddingDim, padding_idx: 0, sparse: sparse);
        user_long_emb = Embedding(o.UserBuckets, o.LongTermEmbeddingDim, padding_idx: 0, sparse: sparse);
        weekday_emb = Embedding(7, o.WeekdayEmbeddingDim);
        hour_emb = Embedding(24, o.HourEmbeddingDim);
        behavior_emb = Embedding(BehaviorTypes + 1, o.ItemEmbeddingDim, padding_idx: 0);
        time_gap_emb = o.UseTimeGap ? Embedding(o.TimeGapBuckets, o.ItemEmbeddingDim, padding_idx: 0) : null;
        cat_to_item = Linear(o.CategoryEmbeddingDim, o.ItemEmbeddingDim, hasBias: false);
        din = o.UseDin ? new DinAttention(o.ItemEmbeddingDim, o.DinHidden) : null;
        se = o.UseSe ? new SqueezeExcitation(o.FieldDims, o.SeReduction) : null;
        ple = new ModuleList<PleExtractionLayer>();
        int input = o.InputDim;
        for (int l = 0; l < o.PleLayers.Length; l++)
        {
            bool last = l == o.PleLayers.Length - 1;
            var layer = new PleExtractionLayer(input, o.PleLayers[l], CvrNetworkOptions.Tasks, o.SpecificExperts, o.SharedExperts, sharedGate: !last);
            ple.Add(layer);
            input = layer.OutputDim;
        }
        towers = new ModuleList<FmTower>();
        for (int i = 0; i < 3; i++) towers.Add(new FmTower(input, o.FmFields));
        RegisterComponents();
    }

    /// <summary>Behavior types 1..4 (click, fav, cart, buy); 0 is sequence padding.</summary>
    public const int BehaviorTypes = 4;

    /// <summary>The validated options the network was built with.</summary>
    public CvrNetworkOptions Options => _options;

    /// <summary>Named parameters of the four large id tables (<see cref="IdTableKeys"/>), for a sparse optimizer.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> IdTableParameters() =>
        named_parameters().Where(p => IdTableKeys.Contains(p.name)).Select(p => (p.name, p.parameter)).ToList();

    /// <summary>Every other named parameter (dense layers and the small weekday/hour/behavior/time-gap tables).</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> DenseParameters() =>
        named_parameters().Where(p => !IdTableKeys.Contains(p.name)).Select(p => (p.name, p.parameter)).ToList();

    /// <summary>
    /// batch (B samples, T = <see cref="CvrNetworkOptions.SequenceLength"/>) → logits and ESM²
    /// probabilities [B] and SE field weights [B,F] (F = 7, or 8 with interaction features). Shapes are checked first.
    /// </summary>
    public override CvrOutput forward(CvrBatch batch)
    {
        batch.Validate(_options);
        using var scope = NewDisposeScope();
        var features = Features(batch);                                          // [B,D] D = InputDim (615 / 634)
        var (x, fieldWeights) = se is not null
            ? se.forward(features)                                               // [B,D], [B,F]
            : (features, torch.ones(features.shape[0], _options.FieldCount, device: features.device));
        Tensor[] tasks = Enumerable.Repeat(x, CvrNetworkOptions.Tasks).ToArray();
        Tensor shared = x;
        foreach (var layer in ple)
        {
            var r = layer.forward(tasks, shared);
            tasks = r.Tasks;
            shared = r.Shared!;                                                  // null only after the last layer
        }
        var y1 = towers[0].forward(tasks[0]);                                    // [B] P(fav/cart | click)
        var y2 = towers[1].forward(tasks[1]);                                    // [B] P(buy | click, no fav/cart)
        var y3 = towers[2].forward(tasks[1]);                                    // [B] P(buy | fav/cart)
        var p1 = y1.sigmoid();
        var pBuy = p1 * y3.sigmoid() + (1 - p1) * y2.sigmoid();
        return new CvrOutput
        {
            Y1Logit = y1.MoveToOuterDisposeScope(),
            Y2Logit = y2.MoveToOuterDisposeScope(),
            Y3Logit = y3.MoveToOuterDisposeScope(),
            PFavCart = p1.MoveToOuterDisposeScope(),
            PBuy = pBuy.MoveToOuterDisposeScope(),
            FieldWeights = fieldWeights.MoveToOuterDisposeScope(),
        };
    }

    /// <summary>The concatenated input fields [B, <see cref="CvrNetworkOptions.InputDim"/>] before SE.</summary>
    public Tensor Features(CvrBatch b)
    {
        using var scope = NewDisposeScope();
        var item = item_emb.forward(b.ItemIdx);                                  // [B,E]
        var cat = cat_emb.forward(b.CategoryIdx);                                // [B,C]
        var time = torch.cat([weekday_emb.forward(b.Weekday), b.TimeDense.narrow(1, 0, 1),
            hour_emb.forward(b.Hour), b.TimeDense.narrow(1, 1, _options.TimeDenseFeatures - 1)], 1);   // [B,11]
        // DIN: query = candidate item + its category in the item space; keys = the last T behaviors,
        // built at the real positions only (padding contributes nothing; see PackedSequence).
        var query = item + cat_to_item.forward(cat);                             // [B,E]
        using var seq = new PackedSequence(b.SeqMask);
        var keys = SequenceKeys(b, seq);                                         // [N,E]
        var shortTerm = din is not null
            ? din.ForwardPacked(query, keys, seq)                                // [B,E]
            : seq.SumPerSample(keys * seq.Mask.unsqueeze(1)) / b.SeqMask.sum(1, keepdim: true).clamp_min(1);   // [B,E] masked mean
        var user = user_emb.forward(b.UserIdx);
        var longTerm = user_long_emb.forward(b.UserIdx);
        Tensor[] fields = _options.InteractionFeatures > 0
            ? [item, user, cat, time, b.Counts, longTerm, shortTerm, b.Interactions!]
            : [item, user, cat, time, b.Counts, longTerm, shortTerm];
        return torch.cat(fields, 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The DIN keys [N,E] at the real positions of <paramref name="seq"/>: item + category (in the item
    /// space) + behavior (+ time gap) embeddings. The category projection runs once per distinct
    /// category of the batch and is then gathered (a batch's histories repeat popular categories),
    /// which is the same function as projecting every position.
    /// </summary>
    private Tensor SequenceKeys(CvrBatch b, PackedSequence seq)
    {
        using var scope = NewDisposeScope();
        var (categories, inverse, _) = torch.unique(seq.Gather(b.SeqCategories), sorted: true, return_inverse: true);
        var keys = item_emb.forward(seq.Gather(b.SeqItems))
                   + cat_to_item.forward(cat_emb.forward(categories)).index_select(0, inverse!)
                   + behavior_emb.forward(seq.Gather(b.SeqBehaviors));         // [N,E]
        if (time_gap_emb is not null) keys = keys + time_gap_emb.forward(TimeGapBucket(seq.Gather(b.SeqHoursAgo), seq.Mask));
        return keys.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// hours ago [B,T] (or [N]) float, mask of the same shape → bucket int64 of that shape: 1 + floor(log2(1 + hours)) capped at
    /// TimeGapBuckets − 1 (negative hours count as 0); padding positions get 0.
    /// </summary>
    public Tensor TimeGapBucket(Tensor hoursAgo, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var bucket = (hoursAgo.clamp_min(0) + 1).log2().floor().to(ScalarType.Int64) + 1;
        bucket = bucket.clamp_max(_options.TimeGapBuckets - 1) * (mask > 0).to(ScalarType.Int64);
        return bucket.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <see cref="CreateScorer"/>, or null when a parameter is too large for one managed array (the
    /// caller keeps the libtorch path).
    /// </summary>
    internal CvrNetworkScorer? TryCreateScorer() =>
        parameters().Any(p => p.numel() > Array.MaxLength) ? null : CreateScorer();

    /// <summary>
    /// A frozen managed copy of the current weights for single-sample scoring without libtorch
    /// (<see cref="CvrNetworkScorer"/>); later weight changes do not reach it.
    /// </summary>
    internal CvrNetworkScorer CreateScorer()
    {
        using var _ = no_grad();
        var tables = new List<float[]>
        {
            DenseScorer.Floats(item_emb.weight!), DenseScorer.Floats(user_emb.weight!), DenseScorer.Floats(cat_emb.weight!),
            DenseScorer.Floats(user_long_emb.weight!), DenseScorer.Floats(weekday_emb.weight!), DenseScorer.Floats(hour_emb.weight!),
            DenseScorer.Floats(behavior_emb.weight!),
        };
        if (time_gap_emb is not null) tables.Add(DenseScorer.Floats(time_gap_emb.weight!));
        return new CvrNetworkScorer(_options, [.. tables], DenseScorer.From(cat_to_item), din?.CreateScorer(), se?.CreateScorer(),
            ple.Select(l => l.CreateScorer()).ToArray(), towers.Select(t => t.CreateScorer()).ToArray());
    }

    /// <summary>
    /// The managed batched forward for inference (<see cref="CvrBatchScorer"/>): the id tables and the
    /// expert weights are read in place (so it sees the current weights while it is used), the small
    /// layers copied. Null when a weight is not contiguous CPU float32 memory of fewer than 2³¹ bytes
    /// (the caller keeps the libtorch path).
    /// </summary>
    internal CvrBatchScorer? TryCreateBatchScorer()
    {
        using var _ = no_grad();
        var embeddings = new List<Embedding> { item_emb, user_emb, cat_emb, user_long_emb, weekday_emb, hour_emb, behavior_emb };
        if (time_gap_emb is not null) embeddings.Add(time_gap_emb);
        var tables = embeddings.Select(m => TensorMemory.Of(m.weight!)).ToArray();
        var layers = ple.Select(l => l.TryCreateBlockScorer()).ToArray();
        if (tables.Any(m => m is null) || layers.Any(l => l is null)) return null;
        return new CvrBatchScorer(this, _options, tables.Select(m => m!.Value).ToArray(), DenseScorer.From(cat_to_item), din?.CreateScorer(), se?.CreateScorer(),
            layers.Select(l => l!).ToArray(), towers.Select(t => t.CreateScorer()).ToArray());
    }

    /// <summary>Writes the state dict (every parameter) to <paramref name="stream"/>, leaving it open.</summary>
    public void SaveWeights(Stream stream)
    {
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        save(writer);
        writer.Flush();
    }

    /// <summary>Reads a state dict written by <see cref="SaveWeights"/> (strict: every key must match), leaving the stream open.</summary>
    public void LoadWeights(Stream stream)
    {
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        load(reader, strict: true);
    }
}
