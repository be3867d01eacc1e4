using Microsoft.ML.Data;

namespace Cvr.MLNet.Data;

/// <summary>
/// One row of <c>tianchi_mobile_recommend_train_user.csv</c>, with the file's exact column names.
/// This is the row type of the events <see cref="Microsoft.ML.IDataView"/>.
/// </summary>
public sealed class TianchiEvent
{
    [LoadColumn(0), ColumnName("user_id")] public int UserId { get; set; }
    [LoadColumn(1), ColumnName("item_id")] public int ItemId { get; set; }
    [LoadColumn(2), ColumnName("behavior_type")] public int BehaviorType { get; set; }
    [LoadColumn(3), ColumnName("user_geohash")] public string UserGeohash { get; set; } = "";
    [LoadColumn(4), ColumnName("item_category")] public int ItemCategory { get; set; }
    /// <summary>The <c>time</c> field as written, <c>yyyy-MM-dd HH</c>.</summary>
    [LoadColumn(5), ColumnName("time")] public string Time { get; set; } = "";
}

/// <summary>One row of <c>tianchi_mobile_recommend_train_item.csv</c> (the prediction item subset P).</summary>
public sealed class TianchiItem
{
    [LoadColumn(0), ColumnName("item_id")] public int ItemId { get; set; }
    [LoadColumn(1), ColumnName("item_geohash")] public string ItemGeohash { get; set; } = "";
    [LoadColumn(2), ColumnName("item_category")] public int ItemCategory { get; set; }
}

/// <summary>Tianchi file and column names.</summary>
public static class TianchiFiles
{
    public const string EventsFileName = "tianchi_mobile_recommend_train_user.csv";
    public const string ItemsFileName = "tianchi_mobile_recommend_train_item.csv";
    public const string TruthFileName = "truth.csv";
    public const string EventsHeader = "user_id,item_id,behavior_type,user_geohash,item_category,time";
    public const string ItemsHeader = "item_id,item_geohash,item_category";
}
