namespace Cvr.MLNet.Samples;

/// <summary>
/// Rows cut into runs — maximal ranges of consecutive rows inside the log with one user id and one hour (a sample
/// set's rows come in (hour, user) order, ≈ 6 rows a run) — and the runs grouped by user, each user's in (hour, run)
/// order. The bulk fills sweep a user's events once against the user's runs: a run's rows are contiguous, so
/// reading their inputs and writing their outputs touches a few cache lines, where visiting a user's rows one by
/// one jumped across the whole table at every row.
/// </summary>
internal sealed class UserRuns
{
    /// <summary>One run: rows [Start, End) at hour <see cref="Hour"/>.</summary>
    public readonly record struct Run(int Start, int End, int Hour);

    private UserRuns(int[] userStart, Run[] byUser, Run[] unknownUsers, int afterLog, int lastHour)
    {
        UserStart = userStart; ByUser = byUser; UnknownUsers = unknownUsers; AfterLog = afterLog; LastHour = lastHour;
    }

    /// <summary>User u's runs are <see cref="ByUser"/>[UserStart[u] .. UserStart[u + 1]).</summary>
    public int[] UserStart { get; }
    /// <summary>
    /// The runs of known users, grouped by user, each user's in (hour, run) order: a sweep reads its user's runs one
    /// after the other (by run id they were three cache misses a run).
    /// </summary>
    public Run[] ByUser { get; }
    /// <summary>The runs of users the history does not know, in row order.</summary>
    public Run[] UnknownUsers { get; }
    /// <summary>Rows after <see cref="LastHour"/> (in no run).</summary>
    public int AfterLog { get; }
    /// <summary>The last hour a run can have.</summary>
    public int LastHour { get; }

    /// <summary>User u's runs, in (hour, run) order.</summary>
    public ReadOnlySpan<Run> RunsOf(int u) => ByUser.AsSpan(UserStart[u], UserStart[u + 1] - UserStart[u]);

    /// <summary>
    /// Whether these are the runs of the first <paramref name="count"/> <paramref name="users"/> and <paramref name="hours"/> cut at
    /// <paramref name="lastHour"/>, with user indices of <paramref name="history"/>.
    /// </summary>
    public bool Cuts(UserHistory history, int[] users, int[] hours, int count, int lastHour) =>
        ReferenceEquals(history, _history) && ReferenceEquals(users, _users) && ReferenceEquals(hours, _hours) && count == _count && lastHour == LastHour;

    private UserHistory? _history;
    private int[]? _users, _hours;
    private int _count;

    /// <summary>Rows from which the passes over rows run over one chunk per core (tests lower it).</summary>
    internal static int ParallelRows { get; set; } = 1 << 20;

    /// <summary>
    /// The runs of rows [0, <paramref name="count"/>) whose hour is at most <paramref name="lastHour"/>, their users
    /// looked up in <paramref name="history"/> (one probe per change of user id).
    /// </summary>
    public static UserRuns Build(UserHistory history, int[] users, int[] hours, int count, int lastHour)
    {
        // Whether a row starts a run depends on it and the row before only, so contiguous chunks of rows count and
        // read their runs in parallel.
        int chunks = count >= ParallelRows ? Math.Clamp(Environment.ProcessorCount, 1, 8) : 1;
        int ChunkStart(int c) => (int)((long)count * c / chunks);
        var chunkRuns = new int[chunks + 1];
        var chunkAfter = new int[chunks + 1];
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
        int runCount = chunkRuns[chunks], userCount = history.UserCount;
        var rowStart = new int[runCount]; var rowEnd = new int[runCount]; var runHour = new int[runCount]; var runUser = new int[runCount];
        var perChunkUsers = new int[chunks][];
        Parallel.For(0, chunks, c =>
        {
            var mine = perChunkUsers[c] = new int[userCount];
            int prevId = 0, prevU = -1, k = chunkRuns[c];
            for (int r = ChunkStart(c), end = ChunkStart(c + 1); r < end; r++)
            {
                if (!StartsRun(users, hours, r, lastHour)) continue;
                if (k == chunkRuns[c] || users[r] != prevId) { prevId = users[r]; prevU = history.IndexOf(prevId); }
                int stop = r + 1;
                while (stop < count && users[stop] == users[r] && hours[stop] == hours[r]) stop++;
                rowStart[k] = r; rowEnd[k] = stop; runHour[k] = hours[r]; runUser[k] = prevU;
                if (prevU >= 0) mine[prevU]++;
                k++;
            }
        });
        // Counting sort of the runs by user, stable (chunk c's runs of user u after chunks 0..c−1's), in parallel.
        var userStart = new int[userCount + 1];
        for (int u = 0, at = 0; u < userCount; u++)
        {
            userStart[u] = at;
            for (int c = 0; c < chunks; c++) { int n = perChunkUsers[c][u]; perChunkUsers[c][u] = at; at += n; }
            userStart[u + 1] = at;
        }
        var byUser = new Run[userStart[userCount]];
        Parallel.For(0, chunks, c =>
        {
            var next = perChunkUsers[c];
            for (int k = chunkRuns[c]; k < chunkRuns[c + 1]; k++)
                if (runUser[k] >= 0) byUser[next[runUser[k]]++] = new Run(rowStart[k], rowEnd[k], runHour[k]);
        });
        // Each user's runs in hour order: already so for a sample set (hour-major rows); otherwise sorted by (hour, row)
        // (runs of one user in row order are in run order).
        Parallel.For(0, chunks, c =>
        {
            for (int u = (int)((long)userCount * c / chunks), end = (int)((long)userCount * (c + 1) / chunks); u < end; u++)
            {
                var mine = byUser.AsSpan(userStart[u], userStart[u + 1] - userStart[u]);
                bool sorted = true;
                for (int i = 1; i < mine.Length && sorted; i++) sorted = mine[i].Hour >= mine[i - 1].Hour;
                if (!sorted) mine.Sort(static (a, b) => a.Hour != b.Hour ? a.Hour.CompareTo(b.Hour) : a.Start.CompareTo(b.Start));
            }
        });
        var unknownUsers = new List<Run>();
        for (int k = 0; k < runCount; k++) if (runUser[k] < 0) unknownUsers.Add(new Run(rowStart[k], rowEnd[k], runHour[k]));
        return new UserRuns(userStart, byUser, [.. unknownUsers], chunkAfter[chunks], lastHour)
        {
            _history = history, _users = users, _hours = hours, _count = count,
        };
    }

    private static bool StartsRun(int[] users, int[] hours, int r, int lastHour) =>
        hours[r] <= lastHour && (r == 0 || users[r] != users[r - 1] || hours[r] != hours[r - 1] || hours[r - 1] > lastHour);
}
