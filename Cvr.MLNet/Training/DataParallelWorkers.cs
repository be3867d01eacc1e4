using System.Runtime.ExceptionServices;
using TorchSharp;

namespace Cvr.MLNet.Training;

/// <summary>
/// Long-lived worker threads for data-parallel training steps, each running libtorch with one intra-op
/// thread. Two single-threaded workers keep both cores busy on their own half of a batch, where one
/// two-threaded caller pays a wake-up of OpenMP's second thread in every parallel region (the
/// "1.4 of 2 cores" of docs/performance.md). Dedicated threads rather than the thread pool: libtorch
/// keeps the thread count per thread (OpenMP's nthreads ICV and MKL's thread-local count).
/// </summary>
internal sealed class DataParallelWorkers : IDisposable
{
    private Worker[] _workers;
    private Action<int>? _work;
    private bool _disposed;

    /// <summary>Starts <paramref name="count"/> workers and waits until each has set its libtorch thread count to 1.</summary>
    public DataParallelWorkers(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        int callerThreads = torch.get_num_threads();
        _workers = new Worker[count];
        try
        {
            for (int i = 0; i < count; i++) (_workers[i] = new Worker(this, i)).Start();
        }
        catch
        {
            _workers = _workers.Where(w => w?.Thread is { IsAlive: true }).ToArray();
            Dispose();
            torch.set_num_threads(callerThreads);
            throw;
        }
        // at::set_num_threads also stores a process-wide count that a thread reads on its first libtorch
        // parallel op; put the caller's back so threads that start later (inference, ML.NET transforms)
        // get what they got before. The workers already initialized theirs and keep 1.
        torch.set_num_threads(callerThreads);
    }

    /// <summary>Number of workers.</summary>
    public int Count => _workers.Length;

    /// <summary>libtorch's intra-op thread count as each worker sees it (1 after start).</summary>
    public int[] WorkerThreadCounts => _workers.Select(w => w.TorchThreads).ToArray();

    /// <summary>
    /// Runs <paramref name="work"/>(i) on worker i for every worker and waits for all of them; a worker's
    /// exception is rethrown here (the lowest worker index first) after every worker has finished.
    /// </summary>
    public void Run(Action<int> work)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _work = work;
        foreach (var w in _workers) w.Go.Set();
        foreach (var w in _workers) { w.Done.Wait(); w.Done.Reset(); }
        _work = null;
        ExceptionDispatchInfo? first = null;
        foreach (var w in _workers) { first ??= w.Error; w.Error = null; }
        first?.Throw();
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var w in _workers) { w.Stop = true; w.Go.Set(); }
        foreach (var w in _workers) { w.Thread.Join(); w.Go.Dispose(); w.Done.Dispose(); }
    }

    private sealed class Worker(DataParallelWorkers owner, int index)
    {
        // No spinning: a waiting worker would take CPU from the other worker or the optimizer's threads.
        public readonly ManualResetEventSlim Go = new(false, 0), Done = new(false, 0);
        public Thread Thread = null!;
        public volatile bool Stop;
        public ExceptionDispatchInfo? Error;
        public int TorchThreads;

        public void Start()
        {
            // 8 MB like the main thread: the forward and the autograd engine run on this stack.
            Thread = new Thread(Loop, 8 << 20) { IsBackground = true, Name = $"cvr-data-parallel-{index}" };
            Thread.Start();
            Done.Wait(); // set once the thread count is set
            Done.Reset();
            if (Error is { } e) { Error = null; e.Throw(); }
        }

        private void Loop()
        {
            try
            {
                // The first query runs ATen's per-thread lazy init (which applies the process-wide count);
                // setting 1 after it sticks to this thread for its lifetime.
                torch.get_num_threads();
                torch.set_num_threads(1);
                TorchThreads = torch.get_num_threads();
            }
            catch (Exception e) { Error = ExceptionDispatchInfo.Capture(e); Stop = true; }
            Done.Set();
            while (!Stop)
            {
                Go.Wait();
                Go.Reset();
                if (Stop) return;
                try { owner._work!(index); }
                catch (Exception e) { Error = ExceptionDispatchInfo.Capture(e); }
                finally { Done.Set(); }
            }
        }
    }
}
