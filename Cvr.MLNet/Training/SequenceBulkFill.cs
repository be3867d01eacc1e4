using Cvr.MLNet.Samples;
using Cvr.MLNet.Transforms.Vocabulary;

namespace Cvr.MLNet.Training;

/// <summary>
/// The sequences of many rows at once, the same values as <see cref="BehaviorFeatures.FillSequence"/> followed
/// by the vocabulary's mapping, row by row — stored once per (user, hour) and shared by that hour's rows
/// (<see cref="FeatureTable.SeqRow"/>): the full log's 7.25 M samples have 1.13 M distinct (user, hour).
/// Rows are grouped by user and each user's hours are visited in order while a pointer walks the user's
/// events, so the events stay in cache, no binary search is needed, and the user's sequences are written
/// one after the other. (Row by row in table order, samples sorted by (hour, user) jump to another user's
/// events at every run; those reads and the search were cache misses, ≈ 1.3 µs a run, and every row wrote
/// its own 220-byte copy.)
/// </summary>
internal static class SequenceBulkFill
{
    /// <summary>
    /// Gives <paramref name="table"/> shared sequences (<see cref="FeatureTable.ShareSequences"/>) and fills those of
    /// every row r with <paramref name="hours"/>[r] ≤ <paramref name="lastHour"/>, user <paramref name="users"/>[r]
    /// read from <paramref name="history"/>. Every other row gets a sequence row of its own, left zero for the
    /// caller. <paramref name="itemIndexOfEvent"/> memoises the item index of each history event (0 = not yet).
    /// Returns false when some hours-ago value does not fit the table's 16-bit form.
    /// </summary>
    public static bool Fill(UserHistory history, IdVocabulary items, IdVocabulary categories, int[] itemIndexOfEvent,
        int[] users, int[] hours, int count, int lastHour, FeatureTable table, CancellationToken ct = default)
    {
        // Sequence rows: per user one for each new hour among its rows (exact when a user's rows come in hour
        // order, an upper bound otherwise), then one shared empty sequence for unknown users, then one per row
        // after the log. One index probe per run of equal user ids, then a stable counting sort of rows by user.
        int userCount = history.UserCount;
        var userOf = new int[count];
        var rowStarts = new int[userCount + 1];
        var sequenceStarts = new int[userCount + 1];
        var lastHourOf = new int[userCount];
        Array.Fill(lastHourOf, int.MinValue);
        var seqRow = new int[count];
        int prevId = 0, prevU = -1, after = 0;
        for (int r = 0; r < count; r++)
        {
            if (hours[r] > lastHour) { userOf[r] = -1; seqRow[r] = ~after++; continue; }
            if (r == 0 || users[r] != prevId) { prevId = users[r]; prevU = history.IndexOf(prevId); }
            userOf[r] = prevU;
            if (prevU < 0) { seqRow[r] = -1; continue; }
            rowStarts[prevU + 1]++;
            if (lastHourOf[prevU] != hours[r]) { lastHourOf[prevU] = hours[r]; sequenceStarts[prevU + 1]++; }
        }
        for (int u = 0; u < userCount; u++) { rowStarts[u + 1] += rowStarts[u]; sequenceStarts[u + 1] += sequenceStarts[u]; }
        int empty = sequenceStarts[^1];
        for (int r = 0; r < count; r++)
            if (userOf[r] < 0) seqRow[r] = seqRow[r] == -1 ? empty : empty + 1 + ~seqRow[r];
        table.ShareSequences(seqRow, empty + 1 + after);

        var rowsByUser = new int[rowStarts[^1]];
        var next = rowStarts.AsSpan(0, userCount).ToArray();
        for (int r = 0; r < count; r++) if (userOf[r] >= 0) rowsByUser[next[userOf[r]]++] = r;
        userOf = next = lastHourOf = null!;

        int userChunk = Math.Max(64, userCount / 256);
        bool wholeHours = true;
        Parallel.For(0, (userCount + userChunk - 1) / userChunk, new ParallelOptions { CancellationToken = ct },
            () => new int[64], (c, _, sampleHours) =>
            {
                for (int u = c * userChunk, to = Math.Min(userCount, u + userChunk); u < to; u++)
                {
                    int m = rowStarts[u + 1] - rowStarts[u];
                    if (m == 0) continue;
                    if (sampleHours.Length < m) sampleHours = new int[Math.Max(m, 2 * sampleHours.Length)];
                    if (!FillUser(history, u, rowsByUser.AsSpan(rowStarts[u], m), sampleHours.AsSpan(0, m), sequenceStarts[u],
                            items, categories, itemIndexOfEvent, hours, table))
                        wholeHours = false;
                }
                return sampleHours;
            }, _ => { });
        return wholeHours;
    }

    // One user's rows sorted by hour (ties in any order: the values are a function of (user, hour)), then one
    // pointer over the user's events; each new hour writes the next sequence row from `sequence` on.
    private static bool FillUser(UserHistory history, int u, Span<int> rows, Span<int> sampleHours, int sequence, IdVocabulary items,
        IdVocabulary categories, int[] itemIndexOfEvent, int[] hours, FeatureTable table)
    {
        bool sorted = true;
        for (int i = 0; i < rows.Length; i++) { sampleHours[i] = hours[rows[i]]; if (i > 0 && sampleHours[i] < sampleHours[i - 1]) sorted = false; }
        if (!sorted) sampleHours.Sort(rows);

        var ev = history.EventsOf(u);
        var memo = itemIndexOfEvent.AsSpan(history.Offsets[u], ev.Hours.Length);
        int t = table.T, end = 0, q = sequence - 1;
        bool wholeHours = true, raw = table.RawHoursAgoMode;
        var seqRow = table.SeqRow!;
        for (int i = 0; i < rows.Length; i++)
        {
            int hour = sampleHours[i];
            if (i == 0 || hour != sampleHours[i - 1])
            {
                q++;
                while (end < ev.Hours.Length && ev.Hours[end] < hour) end++;
                int len = Math.Min(t, end);
                var si = table.SeqItems.AsSpan(q * t, t); var sc = table.SeqCategories.AsSpan(q * t, t);
                var sb = table.SeqBehaviors.AsSpan(q * t, t);
                for (int p = 0; p < len; p++)
                {
                    int e = end - 1 - p;
                    int item = memo[e];
                    if (item == 0) memo[e] = item = items.IndexOf(ev.Items[e]);
                    si[p] = item;
                    sc[p] = categories.IndexOf(ev.Categories[e]);
                    sb[p] = ev.Behaviors[e];
                    float ago = hour - ev.Hours[e];
                    if (!raw) table.SeqHoursAgo[q * t + p] = ago;
                    else if (FeatureTable.IsWholeHours(ago)) table.RawHoursAgo[q * t + p] = (ushort)ago;
                    else wholeHours = false;
                }
                table.SeqLen[q] = len;
            }
            seqRow[rows[i]] = q;
        }
        return wholeHours;
    }
}
