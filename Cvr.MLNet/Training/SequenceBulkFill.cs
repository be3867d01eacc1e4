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
        // Runs: maximal ranges of consecutive rows inside the log with one user id and one hour (a sample set's
        // rows come in (hour, user) order: 7.25 M rows, 1.13 M runs). Everything below works on runs, so no step
        // reads or writes row by row at random. One index probe per change of user id.
        int runCount = 0;
        for (int r = 0; r < count; r++) if (StartsRun(users, hours, r, lastHour)) runCount++;
        int userCount = history.UserCount;
        var runUser = new int[runCount];
        var runHour = new int[runCount];
        var runStarts = new int[userCount + 1];      // runs per user, then prefix sums
        var sequenceStarts = new int[userCount + 1]; // sequence rows per user (a new one per change of hour), then prefix sums
        var lastHourOf = new int[userCount];
        Array.Fill(lastHourOf, int.MinValue);
        int prevId = 0, prevU = -1, after = 0;
        for (int r = 0, k = 0; r < count; r++)
        {
            if (hours[r] > lastHour) { after++; continue; }
            if (!StartsRun(users, hours, r, lastHour)) continue;
            if (k == 0 || users[r] != prevId) { prevId = users[r]; prevU = history.IndexOf(prevId); }
            runUser[k] = prevU; runHour[k] = hours[r];
            if (prevU >= 0)
            {
                runStarts[prevU + 1]++;
                if (lastHourOf[prevU] != hours[r]) { lastHourOf[prevU] = hours[r]; sequenceStarts[prevU + 1]++; }
            }
            k++;
        }
        for (int u = 0; u < userCount; u++) { runStarts[u + 1] += runStarts[u]; sequenceStarts[u + 1] += sequenceStarts[u]; }

        // A user's runs as (hour, run) keys, so the user's sweep reads them in order.
        var runsByUser = new long[runStarts[^1]];
        var next = runStarts.AsSpan(0, userCount).ToArray();
        for (int k = 0; k < runCount; k++)
            if (runUser[k] >= 0) runsByUser[next[runUser[k]]++] = ((long)runHour[k] << 32) | (uint)k;
        next = lastHourOf = null!;

        // Sequence rows: the users' (in user order, hours ascending), one empty one for unknown users, then one per
        // row after the log (filled by the caller).
        int empty = sequenceStarts[^1];
        table.ShareSequences(new int[count], empty + 1 + after);
        var sequenceOfRun = runUser; // reused: runsByUser holds what the sweeps need; unknown users' runs keep −1
        int userChunk = Math.Max(64, userCount / 256);
        bool wholeHours = true;
        Parallel.For(0, (userCount + userChunk - 1) / userChunk, new ParallelOptions { CancellationToken = ct }, c =>
        {
            for (int u = c * userChunk, to = Math.Min(userCount, u + userChunk); u < to; u++)
                if (runStarts[u + 1] > runStarts[u]
                    && !FillUser(history, u, runsByUser.AsSpan(runStarts[u], runStarts[u + 1] - runStarts[u]), sequenceStarts[u],
                        items, categories, itemIndexOfEvent, sequenceOfRun, table))
                    wholeHours = false;
        });
        for (int k = 0; k < runCount; k++) if (sequenceOfRun[k] < 0) sequenceOfRun[k] = empty;

        // Rows take their run's sequence row, in row order.
        var seqRow = table.SeqRow!;
        for (int r = 0, k = -1, a = empty + 1; r < count; r++)
        {
            if (hours[r] > lastHour) { seqRow[r] = a++; continue; }
            if (StartsRun(users, hours, r, lastHour)) k++;
            seqRow[r] = sequenceOfRun[k];
        }
        return wholeHours;
    }

    private static bool StartsRun(int[] users, int[] hours, int r, int lastHour) =>
        hours[r] <= lastHour && (r == 0 || users[r] != users[r - 1] || hours[r] != hours[r - 1] || hours[r - 1] > lastHour);

    // One user's runs sorted by (hour, run), then one pointer over the user's events; each new hour writes the next
    // sequence row from `sequence` on, and every run of that hour gets it.
    private static bool FillUser(UserHistory history, int u, Span<long> runs, int sequence, IdVocabulary items,
        IdVocabulary categories, int[] itemIndexOfEvent, int[] sequenceOfRun, FeatureTable table)
    {
        for (int i = 1; i < runs.Length; i++) if (runs[i] < runs[i - 1]) { runs.Sort(); break; }
        var ev = history.EventsOf(u);
        var memo = itemIndexOfEvent.AsSpan(history.Offsets[u], ev.Hours.Length);
        int t = table.T, end = 0, q = sequence - 1, previousHour = int.MinValue;
        bool wholeHours = true, raw = table.RawHoursAgoMode;
        foreach (var key in runs)
        {
            int hour = (int)(key >> 32);
            if (hour != previousHour)
            {
                previousHour = hour;
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
            sequenceOfRun[(int)(uint)key] = q;
        }
        return wholeHours;
    }
}
