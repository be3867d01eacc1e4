using System.Globalization;

namespace Cvr.MLNet.Data;

/// <summary>
/// The log's clock. Tianchi times have hour resolution (<c>yyyy-MM-dd HH</c>), so everything in the
/// library works on an integer hour index: hours since 1970-01-01 00:00 (no time zone; the log's
/// local time is kept as written). Day index = hour / 24 (floor).
/// </summary>
public static class TianchiTime
{
    /// <summary>The format of the <c>time</c> field.</summary>
    public const string Format = "yyyy-MM-dd HH";

    /// <summary>Hour index of a timestamp (minutes and seconds are dropped).</summary>
    public static int ToHour(DateTime time) => checked((int)Math.Floor((time - DateTime.UnixEpoch).TotalHours));

    /// <summary>The timestamp of an hour index.</summary>
    public static DateTime FromHour(int hour) => DateTime.UnixEpoch.AddHours(hour);

    /// <summary>Day index (days since 1970-01-01) of an hour index.</summary>
    public static int DayOf(int hour) => hour >= 0 ? hour / 24 : (hour - 23) / 24;

    /// <summary>Hour of day 0..23 of an hour index.</summary>
    public static int HourOfDay(int hour) => hour - DayOf(hour) * 24;

    /// <summary>Day of week, Monday = 0 … Sunday = 6 (1970-01-01 was a Thursday).</summary>
    public static int WeekdayOf(int hour) => (int)(((long)DayOf(hour) + 3) % 7 + 7) % 7;

    /// <summary>Formats an hour index as <c>yyyy-MM-dd HH</c>.</summary>
    public static string ToText(int hour) => FromHour(hour).ToString(Format, CultureInfo.InvariantCulture);

    /// <summary>Parses <c>yyyy-MM-dd HH</c> (also accepts <c>yyyy-MM-dd</c> for midnight).</summary>
    public static bool TryParse(string? text, out int hour)
    {
        hour = 0;
        if (text is null) return false;
        if (DateTime.TryParseExact(text.Trim(), [Format, "yyyy-MM-dd"], CultureInfo.InvariantCulture,
                DateTimeStyles.None, out var t))
        {
            hour = ToHour(t);
            return true;
        }
        return false;
    }

    /// <summary>Parses <c>yyyy-MM-dd HH</c> or throws a <see cref="FormatException"/> naming the text.</summary>
    public static int Parse(string text) =>
        TryParse(text, out var h) ? h : throw new FormatException($"'{text}' is not a time in the format {Format}.");
}
