using System.Runtime.CompilerServices;
using Cvr.MLNet.Data;
using Cvr.MLNet.Samples;
using Cvr.MLNet.Transforms.Vocabulary;

namespace Cvr.MLNet.Training;

/// <summary>
/// The columns read from a user's history — the sequence (<see cref="BehaviorFeatures.FillSequence"/> followed by
/// the vocabulary's mapping) and optionally the behavior counts (<see cref="BehaviorFeatures.FillCounts"/>) — for
/// many rows at once, the same values as row by row, each stored once and shared: a sequence per (user, hour)
/// (<see cref="FeatureTable.SeqRow"/>; the full log's 7.25 M samples have 1.13 M), counts per (user, day)
/// (<see cref="FeatureTable.CountRow"/>).
/// The rows are cut into runs (consecutive rows with one user and one hour), the runs are grouped by user, and
/// each user's runs are visited in hour order while a pointer walks the user's events: the events stay in cache,
/// no binary search is needed, the user's sequences are written one after the other, and no step touches rows
/// at random. (Row by row in table order, samples sorted by (hour, user) jump to another user's events at every
/// run; those reads and the search were cache misses, ≈ 1.3 µs a run, and every row wrote its own 220-byte copy.)
/// </summary>
internal static class HistoryBulkFill
{
    /// <summary>
    /// Gives <paramref name="table"/> shared sequences (<see cref="FeatureTable.ShareSequences"/>), and shared counts
    /// when <paramref name="counts"/>, and fills those of every row r with <paramref name="hours"/>[r] ≤
    /// <paramref name="lastHour"/>, user <paramref name="users"/>[r] read from <paramref name="history"/>. Every other
    /// row gets a sequence row (and count row) of its own, left zero for the caller. <paramref name="itemIndexOfEvent"/>
    /// holds the item index of every history event (looked up in bulk by the caller, once for all fills).
    /// </summary>
    /// <returns>Whether every hours-ago value and every count fit the table's 16-bit forms.</returns>
    public static (bool WholeHours, bool RawCounts) Fill(UserHistory history, IdVocabulary categories, int[] itemIndexOfEvent,
        int[] users, int[] hours, int count, int lastHour, FeatureTable table, bool counts, CancellationToken ct = default, UserRuns? runs = null)
    {
        if (runs is null || !runs.Cuts(history, users, hours, count, lastHour)) runs = UserRuns.Build(history, users, hours, count, lastHour);
        int userCount = history.UserCount;
        // Per user: sequence rows (one per distinct hour of its runs) and count rows (one per distinct day), then prefix sums.
        var sequenceStarts = new int[userCount + 1];
        var countStarts = new int[userCount + 1];
        int chunks = Math.Clamp(Environment.ProcessorCount, 1, 8);
        Parallel.For(0, chunks, c =>
        {
            for (int u = (int)((long)userCount * c / chunks), end = (int)((long)userCount * (c + 1) / chunks); u < end; u++)
            {
                int previousHour = int.MinValue, previousDay = int.MinValue, sequences = 0, dayRows = 0;
                foreach (var run in runs.RunsOf(u))
                {
                    int hour = run.Hour;
                    if (hour == previousHour) continue;
                    previousHour = hour; sequences++;
                    int day = TianchiTime.DayOf(hour);
                    if (day != previousDay) { previousDay = day; dayRows++; }
                }
                sequenceStarts[u + 1] = sequences; countStarts[u + 1] = dayRows;
            }
        });
        for (int u = 0; u < userCount; u++) { sequenceStarts[u + 1] += sequenceStarts[u]; countStarts[u + 1] += countStarts[u]; }

        // Shared rows: the users' (in user order, hours ascending), one empty one for unknown users, then one per row
        // after the log (filled by the caller).
        int emptySequence = sequenceStarts[^1], emptyCounts = countStarts[^1], after = runs.AfterLog;
        table.ShareSequences(new int[count], emptySequence + 1 + after);
        if (counts) table.ShareCounts(new int[count], emptyCounts + 1 + after);
        var seqRow = table.SeqRow!;
        var countRow = counts ? table.CountRow! : null;
        // The sweeps write each run's rows their shared rows (a run's rows are contiguous).
        int userChunk = Math.Max(64, userCount / 256);
        bool wholeHours = true, rawCounts = true;
        Parallel.For(0, (userCount + userChunk - 1) / userChunk, new ParallelOptions { CancellationToken = ct }, () => new Scratch(),
            (c, _, scratch) =>
            {
                for (int u = c * userChunk, to = Math.Min(userCount, u + userChunk); u < to; u++)
                {
                    if (runs.UserStart[u + 1] == runs.UserStart[u]) continue;
                    var (whole, raw) = FillUser(history, u, runs, sequenceStarts[u], countStarts[u], categories, itemIndexOfEvent, seqRow,
                        countRow, scratch, table);
                    if (!whole) wholeHours = false;
                    if (!raw) rawCounts = false;
                }
                return scratch;
            }, _ => { });

        // Rows of unknown users take the empty rows; rows after the log one each, in row order.
        foreach (var run in runs.UnknownUsers)
        {
            seqRow.AsSpan(run.Start, run.End - run.Start).Fill(emptySequence);
            countRow?.AsSpan(run.Start, run.End - run.Start).Fill(emptyCounts);
        }
        if (after > 0)
            for (int r = 0, a = 0; r < count; r++)
            {
                if (hours[r] <= lastHour) continue;
                seqRow[r] = emptySequence + 1 + a;
                if (countRow is not null) countRow[r] = emptyCounts + 1 + a;
                a++;
            }
        return (wholeHours, rawCounts);
    }

    /// <summary>A worker's buffers: one row of counts, and the category index of each of the current user's events.</summary>
    private sealed class Scratch
    {
        public readonly float[] Counts = new float[BehaviorFeatures.CountLength];
        public int[] Categories = new int[256];
    }

    // One pointer over the user's events against its runs in hour order; each new hour writes the next sequence row
    // from `sequence` on, each new day the next count row from `countRow` on, and every run's rows get them.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (bool WholeHours, bool RawCounts) FillUser(UserHistory history, int u, UserRuns runs, int sequence, int countRow,
        IdVocabulary categories, int[] itemIndexOfEvent, int[] seqRow, int[]? countRowOf, Scratch scratch,
        FeatureTable table)
    {
        var ev = history.EventsOf(u);
        var itemOf = itemIndexOfEvent.AsSpan(history.Offsets[u], ev.Hours.Length);
        // Category indices of the user's events, each probed once as the pointer passes it (an event is in up to T sequences).
        if (scratch.Categories.Length < ev.Hours.Length) scratch.Categories = new int[Math.Max(ev.Hours.Length, 2 * scratch.Categories.Length)];
        var categoryOf = scratch.Categories;
        int t = table.T, end = 0, q = sequence - 1, cq = countRow - 1, previousHour = int.MinValue, previousDay = int.MinValue;
        bool wholeHours = true, rawCounts = true, raw = table.RawHoursAgoMode;
        // The columns in locals: the loop's stores would make the JIT reload each field per position.
        var seqItems = table.SeqItems; var seqCategories = table.SeqCategories; var seqBehaviors = table.SeqBehaviors;
        var rawHoursAgo = table.RawHoursAgo; var floatHoursAgo = table.SeqHoursAgo; var seqLen = table.SeqLen;
        var evHours = ev.Hours; var evBehaviors = ev.Behaviors; var evCategories = ev.Categories;
        foreach (var run in runs.RunsOf(u))
        {
            int hour = run.Hour;
            if (hour != previousHour)
            {
                previousHour = hour;
                q++;
                for (; end < evHours.Length && evHours[end] < hour; end++) categoryOf[end] = categories.IndexOf(evCategories[end]);
                int len = Math.Min(t, end);
                var si = seqItems.AsSpan(q * t, t); var sc = seqCategories.AsSpan(q * t, t); var sb = seqBehaviors.AsSpan(q * t, t);
                for (int p = 0; p < len; p++)
                {
                    int e = end - 1 - p;
                    si[p] = itemOf[e];
                    sc[p] = categoryOf[e];
                    sb[p] = evBehaviors[e];
                    float ago = hour - evHours[e];
                    if (!raw) floatHoursAgo[q * t + p] = ago;
                    else if (FeatureTable.IsWholeHours(ago)) rawHoursAgo[q * t + p] = (ushort)ago;
                    else wholeHours = false;
                }
                seqLen[q] = len;
                int day = TianchiTime.DayOf(hour);
                if (countRowOf is not null && day != previousDay)
                {
                    previousDay = day;
                    cq++;
                    BehaviorFeatures.FillCounts(ev, hour, scratch.Counts);
                    if (!table.TryStoreCountsAt(cq, scratch.Counts)) rawCounts = false;
                }
            }
            for (int r = run.Start; r < run.End; r++) seqRow[r] = q; // (Span.Fill's generic code ran at tier 0 here)
            if (countRowOf is not null) for (int r = run.Start; r < run.End; r++) countRowOf[r] = cq;
        }
        return (wholeHours, rawCounts);
    }
}
