using Cvr.MLNet.Pipeline;
using Cvr.MLNet.Transforms.Vocabulary;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

[assembly: LoadableClass(typeof(IdVocabularyTransformer), null, typeof(SignatureLoadModel),
    "CVR id vocabulary", IdVocabularyTransformer.LoaderSignature)]

namespace Cvr.MLNet.Transforms.Vocabulary;

/// <summary>
/// Maps raw user, item and category ids to embedding indices (<see cref="IdVocabulary"/>): the
/// candidate item and the sequence items share one item vocabulary, the candidate category and the
/// sequence categories one category vocabulary, so both land in the same embedding space. Sequence
/// padding (id 0 with behavior 0) stays index 0; unknown ids land in hashed OOV buckets and still score.
/// Outputs: <c>UserIndex, ItemIndex, CategoryIndex</c> (Int32), <c>SeqItemIndices, SeqCategoryIndices</c> (Int32[T]).
/// </summary>
public sealed class IdVocabularyTransformer : RowMappingTransformer
{
    internal const string LoaderSignature = "CvrIdVocabulary";
    private static VersionInfo GetVersionInfo() =>
        ModelPersistence.MakeVersion("CVRVOCAB", LoaderSignature, typeof(IdVocabularyTransformer), 0x00010001);

    private readonly InputColumn[] _inputs;
    private readonly OutputColumn[] _outputs;

    internal IdVocabularyTransformer(IHostEnvironment env, IdVocabulary users, IdVocabulary items, IdVocabulary categories, int sequenceLength)
        : base(env, nameof(IdVocabularyTransformer))
    {
        Users = users; Items = items; Categories = categories; SequenceLength = sequenceLength;
        _inputs = InputsFor(sequenceLength);
        _outputs = OutputsFor(sequenceLength);
    }

    internal static OutputColumn[] OutputsFor(int sequenceLength) =>
    [
        new(CvrColumns.UserIndex, NumberDataViewType.Int32), new(CvrColumns.ItemIndex, NumberDataViewType.Int32),
        new(CvrColumns.CategoryIndex, NumberDataViewType.Int32),
        new(CvrColumns.SeqItemIndices, new VectorDataViewType(NumberDataViewType.Int32, sequenceLength)),
        new(CvrColumns.SeqCategoryIndices, new VectorDataViewType(NumberDataViewType.Int32, sequenceLength)),
    ];

    internal static InputColumn[] InputsFor(int sequenceLength)
    {
        var seqType = new VectorDataViewType(NumberDataViewType.Int32, sequenceLength);
        return
        [
            new(CvrColumns.UserId, NumberDataViewType.Int32, "user"), new(CvrColumns.ItemId, NumberDataViewType.Int32, "item"),
            new(CvrColumns.CategoryId, NumberDataViewType.Int32, "category"), new(CvrColumns.SeqItemIds, seqType, "sequence items"),
            new(CvrColumns.SeqCategoryIds, seqType, "sequence categories"), new(CvrColumns.SeqLength, NumberDataViewType.Int32, "sequence length"),
        ];
    }

    /// <summary>Annotation on every index column: the table size the indices live in (the trainer sizes its embeddings from it).</summary>
    public const string VocabularySizeAnnotation = "CvrVocabularySize";

    /// <summary>Annotation on every index column: the first hashed OOV bucket (indices from here to the size serve unknown ids).</summary>
    public const string OovStartAnnotation = "CvrVocabularyOovStart";

    protected override void AddAnnotations(int outputIndex, DataViewSchema.Annotations.Builder builder)
    {
        var vocab = outputIndex switch { 0 => Users, 1 or 3 => Items, _ => Categories };
        builder.Add(VocabularySizeAnnotation, NumberDataViewType.Int32, (ref int v) => v = vocab.Size);
        builder.Add(OovStartAnnotation, NumberDataViewType.Int32, (ref int v) => v = 1 + vocab.Ids.Length);
    }

    public IdVocabulary Users { get; }
    public IdVocabulary Items { get; }
    public IdVocabulary Categories { get; }
    public int SequenceLength { get; }

    protected override IReadOnlyList<InputColumn> InputColumns => _inputs;
    protected override IReadOnlyList<OutputColumn> OutputColumns => _outputs;

    protected override Action<RowOutputs> CreateRowMapper(DataViewRow input)
    {
        var s = input.Schema;
        var gUser = input.GetGetter<int>(s[CvrColumns.UserId]);
        var gItem = input.GetGetter<int>(s[CvrColumns.ItemId]);
        var gCat = input.GetGetter<int>(s[CvrColumns.CategoryId]);
        var gSeqItems = input.GetGetter<VBuffer<int>>(s[CvrColumns.SeqItemIds]);
        var gSeqCats = input.GetGetter<VBuffer<int>>(s[CvrColumns.SeqCategoryIds]);
        var gLen = input.GetGetter<int>(s[CvrColumns.SeqLength]);
        int user = 0, item = 0, cat = 0, len = 0;
        VBuffer<int> seqItems = default, seqCats = default;
        return o =>
        {
            gUser(ref user); gItem(ref item); gCat(ref cat); gSeqItems(ref seqItems); gSeqCats(ref seqCats); gLen(ref len);
            o.Int32(0)[0] = Users.IndexOf(user);
            o.Int32(1)[0] = Items.IndexOf(item);
            o.Int32(2)[0] = Categories.IndexOf(cat);
            MapSequence(Items, seqItems, len, o.Int32(3));
            MapSequence(Categories, seqCats, len, o.Int32(4));
        };
    }

    private static void MapSequence(IdVocabulary vocab, in VBuffer<int> ids, int length, Span<int> output)
    {
        output.Clear();
        int n = Math.Min(length, output.Length);
        for (int p = 0; p < n; p++) output[p] = vocab.IndexOf(ids.GetItemOrDefault(p));
    }

    protected override void SaveModel(ModelSaveContext ctx) =>
        ModelPersistence.Save(ctx, GetVersionInfo(), w => { w.Write(SequenceLength); Users.Write(w); Items.Write(w); Categories.Write(w); });

    private static IdVocabularyTransformer Create(IHostEnvironment env, ModelLoadContext ctx) =>
        ModelPersistence.Load(env, ctx, GetVersionInfo(), r =>
        {
            int t = r.ReadInt32();
            return new IdVocabularyTransformer(env, IdVocabulary.Read(r), IdVocabulary.Read(r), IdVocabulary.Read(r), t);
        });
}
