using System.Runtime.CompilerServices;

namespace Cvr.MLNet.Data;

/// <summary>Why a field failed to parse (the reader turns these into messages off the hot path).</summary>
internal enum FieldError : byte
{
    None,
    NotInteger,
    Quoted,
    Negative,
    TooLarge,
    Behavior,
    Time,
    FieldCount,
    Empty,
    Text,
}

/// <summary>Strict allocation-free field parsers shared by the file reader and <see cref="EventLog.FromDataView"/>.</summary>
internal static class TianchiParse
{
    /// <summary>Parses a non-negative Int32 written as plain ASCII digits (no sign, spaces or quotes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FieldError ParseId(ReadOnlySpan<byte> s, out int value)
    {
        value = 0;
        if (s.Length is 0 or > 10) return ClassifyBadId(s);
        ulong acc = 0;
        foreach (var b in s)
        {
            uint d = (uint)(b - '0');
            if (d > 9) return ClassifyBadId(s);
            acc = acc * 10 + d;
        }
        if (acc > int.MaxValue) return FieldError.TooLarge;
        value = (int)acc;
        return FieldError.None;
    }

    private static FieldError ClassifyBadId(ReadOnlySpan<byte> s)
    {
        if (s.Length > 0 && s[0] == (byte)'"') return FieldError.Quoted;
        var digits = s.Length > 0 && s[0] == (byte)'-' ? s[1..] : s;
        if (digits.Length == 0 || digits.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0) return FieldError.NotInteger;
        return s[0] == (byte)'-' ? FieldError.Negative : FieldError.TooLarge;
    }

    /// <summary>Parses exactly <c>yyyy-MM-dd HH</c> (valid calendar date, hour 00..23) to an hour index.</summary>
    public static bool TryParseTime(ReadOnlySpan<byte> s, out int hour)
    {
        hour = 0;
        if (s.Length != 13 || s[4] != '-' || s[7] != '-' || s[10] != ' ') return false;
        if (!Digits(s, 0, 4, out int y) || !Digits(s, 5, 2, out int m) || !Digits(s, 8, 2, out int d) || !Digits(s, 11, 2, out int h))
            return false;
        return Combine(y, m, d, h, out hour);
    }

    /// <summary>Char version of <see cref="TryParseTime(ReadOnlySpan{byte}, out int)"/>.</summary>
    public static bool TryParseTime(ReadOnlySpan<char> s, out int hour)
    {
        hour = 0;
        if (s.Length != 13) return false;
        Span<byte> b = stackalloc byte[13];
        for (int i = 0; i < 13; i++)
        {
            if (s[i] > 127) return false;
            b[i] = (byte)s[i];
        }
        return TryParseTime(b, out hour);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Digits(ReadOnlySpan<byte> s, int start, int count, out int value)
    {
        value = 0;
        for (int i = start; i < start + count; i++)
        {
            uint d = (uint)(s[i] - '0');
            if (d > 9) return false;
            value = value * 10 + (int)d;
        }
        return true;
    }

    private static bool Combine(int y, int m, int d, int h, out int hour)
    {
        hour = 0;
        if (y < 1 || m is < 1 or > 12 || d < 1 || d > DateTime.DaysInMonth(y, m) || h > 23) return false;
        hour = checked(DaysFromCivil(y, m, d) * 24 + h);
        return true;
    }

    /// <summary>Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).</summary>
    public static int DaysFromCivil(int y, int m, int d)
    {
        y -= m <= 2 ? 1 : 0;
        int era = (y >= 0 ? y : y - 399) / 400;
        int yoe = y - era * 400;
        int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
    }

    /// <summary>The message tail for a field error, e.g. <c>'7' is not a behavior type (expected 1..4)</c>.</summary>
    public static string Describe(FieldError error, string value) => error switch
    {
        FieldError.NotInteger => $"'{value}' is not an integer",
        FieldError.Quoted => $"'{value}' is not an integer (quoted fields are not supported)",
        FieldError.Negative => $"'{value}' is out of range (expected 0..{int.MaxValue})",
        FieldError.TooLarge => $"'{value}' is out of range (expected 0..{int.MaxValue})",
        FieldError.Behavior => $"'{value}' is not a behavior type (expected 1..4)",
        FieldError.Time => $"'{value}' is not a time in the format {TianchiTime.Format} (valid date, hour 00..23)",
        FieldError.Text => $"'{value}' is not valid text (invalid UTF-8 or a control character)",
        _ => $"'{value}' is invalid",
    };

    /// <summary>Free-text fields (the geohash) must be valid UTF-8 without control characters: anything else
    /// means a binary or wrongly encoded file, which would otherwise be stored silently altered.</summary>
    public static FieldError CheckText(ReadOnlySpan<byte> s)
    {
        if (System.Text.Ascii.IsValid(s))
            return s.IndexOfAnyInRange((byte)0, (byte)0x1F) < 0 && s.IndexOf((byte)0x7F) < 0 ? FieldError.None : FieldError.Text;
        if (!System.Text.Unicode.Utf8.IsValid(s)) return FieldError.Text;
        Span<char> chars = s.Length <= 256 ? stackalloc char[s.Length] : new char[s.Length];
        int n = System.Text.Encoding.UTF8.GetChars(s, chars);
        foreach (char c in chars[..n])
            if (char.IsControl(c)) return FieldError.Text;
        return FieldError.None;
    }

    /// <summary>Shortens a value for messages so one bad line cannot produce a megabyte message.</summary>
    public static string Clip(string s) => s.Length <= 120 ? s : string.Concat(s.AsSpan(0, 117), "...");
}
