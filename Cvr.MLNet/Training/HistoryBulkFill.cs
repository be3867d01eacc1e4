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
    /// memoises the item index of each history event (0 = not yet).
    /// </summary>
    /// <returns>Whether every hours-ago value and every count fit the table's 16-bit forms.</returns>
    public static (bool WholeHours, bool RawCounts) Fill(UserHistory history, IdVocabulary items, IdVocabulary categories, int[] itemIndexOfEvent,
        int[] users, int[] hours, int count, int lastHour, FeatureTable table, bool counts, CancellationToken ct = default)
    {
        // Runs: maximal ranges of consecutive rows inside the log with one user id and one hour (a sample set's
        // rows come in (hour, user) order). Whether a row starts a run depends on it and the row before only, so
        // contiguous chunks of rows count and read their runs in parallel; one index probe per change of user id.
        int chunks = count >= ParallelRows ? Math.Clamp(Environment.ProcessorCount, 1, 8) : 1;
        int ChunkStart(int c) => (int)((long)count * c / chunks);
        var chunkRuns = new int[chunks + 1];   // runs before chunk c (after the prefix sum)
        var chunkAfter = new int[chunks + 1];  // rows after the log before chunk c
        Parallel.For(0, chunks, c =>
        {
            int runs = 0, after = 0;
            for (int r = ChunkStart(c), end = ChunkStart(c + 1); r < end; r++)
            {
                if (hours[r] > lastHour) after++;
                else if (StartsRun(users, hours, r, lastHour)) runs++;
            }
            chunkRuns[c + 1] = runs; chunkAfter[c + 1] = after;
        });
        for (int c = 0; c < chunks; c++) { chunkRuns[c + 1] += chunkRuns[c]; chunkAfter[c + 1] += chunkAfter[c]; }
        int runCount = chunkRuns[chunks], after = chunkAfter[chunks];
        int userCount = history.UserCount;
        var runUser = new int[runCount];
        var runHour = new int[runCount];
        Parallel.For(0, chunks, c =>
        {
            int prevId = 0, prevU = -1, k = chunkRuns[c];
            for (int r = ChunkStart(c), end = ChunkStart(c + 1); r < end; r++)
            {
                if (!StartsRun(users, hours, r, lastHour)) continue;
                if (k == chunkRuns[c] || users[r] != prevId) { prevId = users[r]; prevU = history.IndexOf(prevId); }
                runUser[k] = prevU; runHour[k] = hours[r];
                k++;
            }
        });
        // Per user: runs, sequence rows (a new one per change of hour) and count rows (per change of day), in run
        // order; then prefix sums.
        var runStarts = new int[userCount + 1];
        var sequenceStarts = new int[userCount + 1];
        var countStarts = new int[userCount + 1];
        var lastHourOf = new int[userCount];
        var lastDayOf = new int[userCount];
        Array.Fill(lastHourOf, int.MinValue);
        Array.Fill(lastDayOf, int.MinValue);
        for (int k = 0; k < runCount; k++)
        {
            int u = runUser[k], hour = runHour[k];
            if (u < 0) continue;
            runStarts[u + 1]++;
            if (lastHourOf[u] != hour) { lastHourOf[u] = hour; sequenceStarts[u + 1]++; }
            int day = TianchiTime.DayOf(hour);
            if (lastDayOf[u] != day) { lastDayOf[u] = day; countStarts[u + 1]++; }
        }
        for (int u = 0; u < userCount; u++)
        {
            runStarts[u + 1] += runStarts[u]; sequenceStarts[u + 1] += sequenceStarts[u]; countStarts[u + 1] += countStarts[u];
        }

        // A user's runs as (hour, run) keys, so the user's sweep reads them in order.
        var runsByUser = new long[runStarts[^1]];
        var next = runStarts.AsSpan(0, userCount).ToArray();
        for (int k = 0; k < runCount; k++)
            if (runUser[k] >= 0) runsByUser[next[runUser[k]]++] = ((long)runHour[k] << 32) | (uint)k;
        next = lastHourOf = lastDayOf = runHour = null!;

        // Shared rows: the users' (in user order, hours ascending), one empty one for unknown users, then one per row
        // after the log (filled by the caller).
        int emptySequence = sequenceStarts[^1], emptyCounts = countStarts[^1];
        table.ShareSequences(new int[count], emptySequence + 1 + after);
        if (counts) table.ShareCounts(new int[count], emptyCounts + 1 + after);
        // Per run: its sequence row, and its count row when counts are shared. Unknown users' runs keep −1.
        var sequenceOfRun = runUser; // reused: runsByUser holds everything the sweeps need
        var countsOfRun = counts ? new int[runCount] : null;
        if (countsOfRun is not null) Array.Fill(countsOfRun, -1);
        int userChunk = Math.Max(64, userCount / 256);
        bool wholeHours = true, rawCounts = true;
        Parallel.For(0, (userCount + userChunk - 1) / userChunk, new ParallelOptions { CancellationToken = ct }, () => new Scratch(),
            (c, _, scratch) =>
            {
                for (int u = c * userChunk, to = Math.Min(userCount, u + userChunk); u < to; u++)
                {
                    if (runStarts[u + 1] == runStarts[u]) continue;
                    var (whole, raw) = FillUser(history, u, runsByUser.AsSpan(runStarts[u], runStarts[u + 1] - runStarts[u]), sequenceStarts[u],
                        countStarts[u], items, categories, itemIndexOfEvent, sequenceOfRun, countsOfRun, scratch, table);
                    if (!whole) wholeHours = false;
                    if (!raw) rawCounts = false;
                }
                return scratch;
            }, _ => { });
        for (int k = 0; k < runCount; k++)
        {
            if (sequenceOfRun[k] < 0) sequenceOfRun[k] = emptySequence;
            if (countsOfRun is not null && countsOfRun[k] < 0) countsOfRun[k] = emptyCounts;
        }

        // Rows take their run's shared rows, in row order (chunks in parallel, from their first run and after-log row).
        var seqRow = table.SeqRow!;
        var countRow = counts ? table.CountRow! : null;
        Parallel.For(0, chunks, c =>
        {
            for (int r = ChunkStart(c), end = ChunkStart(c + 1), k = chunkRuns[c] - 1, a = chunkAfter[c]; r < end; r++)
            {
                if (hours[r] > lastHour)
                {
                    seqRow[r] = emptySequence + 1 + a;
                    if (countRow is not null) countRow[r] = emptyCounts + 1 + a;
                    a++;
                    continue;
                }
                if (StartsRun(users, hours, r, lastHour)) k++;
                seqRow[r] = sequenceOfRun[k];
                if (countRow is not null) countRow[r] = countsOfRun![k];
            }
        });
        return (wholeHours, rawCounts);
    }

    /// <summary>A worker's buffers: one row of counts, and the category index of each of the current user's events.</summary>
    private sealed class Scratch
    {
        public readonly float[] Counts = new float[BehaviorFeatures.CountLength];
        public int[] Categories = new int[256];
    }

    /// <summary>Rows from which the run passes split the rows into one chunk per core (tests lower it).</summary>
    internal static int ParallelRows { get; set; } = 1 << 20;

    private static bool StartsRun(int[] users, int[] hours, int r, int lastHour) =>
        hours[r] <= lastHour && (r == 0 || users[r] != users[r - 1] || hours[r] != hours[r - 1] || hours[r - 1] > lastHour);

    // One user's runs sorted by (hour, run), then one pointer over the user's events; each new hour writes the next
    // sequence row from `sequence` on, each new day the next count row from `countRow` on, and every run gets them.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (bool WholeHours, bool RawCounts) FillUser(UserHistory history, int u, Span<long> runs, int sequence, int countRow,
        IdVocabulary items, IdVocabulary categories, int[] itemIndexOfEvent, int[] sequenceOfRun, int[]? countsOfRun, Scratch scratch,
        FeatureTable table)
    {
        for (int i = 1; i < runs.Length; i++) if (runs[i] < runs[i - 1]) { runs.Sort(); break; }
        var ev = history.EventsOf(u);
        var memo = itemIndexOfEvent.AsSpan(history.Offsets[u], ev.Hours.Length);
        // Category indices of the user's events, each probed once as the pointer passes it (an event is in up to T sequences).
        if (scratch.Categories.Length < ev.Hours.Length) scratch.Categories = new int[Math.Max(ev.Hours.Length, 2 * scratch.Categories.Length)];
        var categoryOf = scratch.Categories;
        int t = table.T, end = 0, q = sequence - 1, cq = countRow - 1, previousHour = int.MinValue, previousDay = int.MinValue;
        bool wholeHours = true, rawCounts = true, raw = table.RawHoursAgoMode;
        // The columns in locals: the loop's stores would make the JIT reload each field per position.
        var seqItems = table.SeqItems; var seqCategories = table.SeqCategories; var seqBehaviors = table.SeqBehaviors;
        var rawHoursAgo = table.RawHoursAgo; var floatHoursAgo = table.SeqHoursAgo; var seqLen = table.SeqLen;
        var evHours = ev.Hours; var evItems = ev.Items; var evBehaviors = ev.Behaviors; var evCategories = ev.Categories;
        foreach (var key in runs)
        {
            int hour = (int)(key >> 32), run = (int)(uint)key;
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
                    int item = memo[e];
                    if (item == 0) memo[e] = item = items.IndexOf(evItems[e]);
                    si[p] = item;
                    sc[p] = categoryOf[e];
                    sb[p] = evBehaviors[e];
                    float ago = hour - evHours[e];
                    if (!raw) floatHoursAgo[q * t + p] = ago;
                    else if (FeatureTable.IsWholeHours(ago)) rawHoursAgo[q * t + p] = (ushort)ago;
                    else wholeHours = false;
                }
                seqLen[q] = len;
                int day = TianchiTime.DayOf(hour);
                if (countsOfRun is not null && day != previousDay)
                {
                    previousDay = day;
                    cq++;
                    BehaviorFeatures.FillCounts(ev, hour, scratch.Counts);
                    if (!table.TryStoreCountsAt(cq, scratch.Counts)) rawCounts = false;
                }
            }
            sequenceOfRun[run] = q;
            if (countsOfRun is not null) countsOfRun[run] = cq;
        }
        return (wholeHours, rawCounts);
    }
}
