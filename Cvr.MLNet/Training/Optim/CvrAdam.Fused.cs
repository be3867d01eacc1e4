using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Cvr.MLNet.Training.Optim;

public sealed partial class CvrAdam
{
    // Reused across steps: the coalesced rows and summed values of each sparse gradient.
    private readonly Dictionary<int, SparseBuffers> _sparseBuffers = [];

    private sealed class SparseBuffers
    {
        public int[] SlotOfRow = [];   // table row → 1 + its slot among this step's unique rows (0 = not touched); all 0 between steps
        public int[] Rows = [];        // slot → table row, in order of first appearance
        public float[] Sums = [];      // slot → summed gradient row
    }

    /// <summary>
    /// One fused step: sparse gradients are coalesced in managed code (the value rows of equal ids summed
    /// in entry order), then dense chunks and sparse row blocks are updated in one parallel pass, each
    /// element read and written once. A gradient may come in parts (the data-parallel step's halves):
    /// dense parts are summed as the update reads them, sparse parts coalesced as one list, the first part's entries first.
    /// </summary>
    private sealed unsafe class FusedStep
    {
        private const int Chunk = 32 * 1024, RowBlock = 128;
        private readonly CvrAdam _adam;
        // A dense gradient part is either contiguous (row offsets null) or a permuted dense view (autograd returns the
        // PLE experts' weight gradient that way): then Off[r] is the element offset of its r-th last-dimension row.
        private readonly List<(nint G0, nint G1, long[]? Off0, long[]? Off1, long RowLength, nint M, nint V, nint P, long N)> _dense = [];
        private readonly List<(SparseBuffers B, int Unique, int Dim, nint M, nint V, nint P)> _sparse = [];
        private double _sparseSq;

        private FusedStep(CvrAdam adam) => _adam = adam;

        /// <summary>
        /// Gathers raw pointers and coalesces sparse gradients; false (nothing changed) when a tensor is not CPU float32
        /// memory it can read in place (contiguous, or for a dense gradient a permuted view with a contiguous last dimension). <paramref name="parts"/>[h][i] is part h of parameter i's gradient (null: its <c>.grad</c>).
        /// </summary>
        public static bool TryPrepare(CvrAdam adam, IReadOnlyList<Tensor?[]>? parts, out FusedStep step)
        {
            step = new FusedStep(adam);
            using var noGrad = no_grad();
            int nParts = parts?.Count ?? 1;
            if (nParts is < 1 or > 2) return false;
            var sparse = new List<(int Param, (nint Idx, nint Vals, int Nnz)[] Segments, int Dim, long Rows, nint M, nint V, nint P)>();
            for (int i = 0; i < adam._params.Length; i++)
            {
                var param = adam._params[i].P;
                var g = parts is null ? (param.grad is { } pg ? [pg] : []) : parts.Select(h => h[i]).OfType<Tensor>().ToArray();
                if (g.Length == 0) continue;
                float* p = FusedAdamKernels.Pointer(param, out long n);
                float* m = FusedAdamKernels.Pointer(adam._m[i], out _);
                float* v = FusedAdamKernels.Pointer(adam._v[i], out _);
                if (p is null || m is null || v is null) return false;
                if (g.Any(t => t.is_sparse != g[0].is_sparse)) return false;
                if (!g[0].is_sparse)
                {
                    var gp = new nint[2];
                    var off = new long[]?[2];
                    for (int h = 0; h < g.Length; h++)
                    {
                        if (g[h].numel() != n || !TryRows(g[h], out gp[h], out off[h])) return false;
                    }
                    step._dense.Add((gp[0], gp[1], off[0], off[1], n == 0 ? 1 : param.shape.LastOrDefault(n), (nint)m, (nint)v, (nint)p, n));
                    continue;
                }
                if (param.dim() != 2) return false;
                int dim = (int)param.shape[1];
                var segments = new (nint, nint, int)[g.Length];
                for (int h = 0; h < g.Length; h++)
                {
                    var indices = g[h].SparseIndices;
                    var values = g[h].SparseValues;
                    if (indices.device_type != DeviceType.CPU || indices.dtype != ScalarType.Int64 || !indices.is_contiguous()) return false;
                    float* vals = FusedAdamKernels.Pointer(values, out long vn);
                    long nnz = indices.shape[^1];
                    if (vals is null || vn != nnz * dim || nnz > int.MaxValue) return false;
                    segments[h] = ((nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(indices.bytes)), (nint)vals, (int)nnz);
                }
                sparse.Add((i, segments, dim, param.shape[0], (nint)m, (nint)v, (nint)p));
            }
            // Every tensor is usable: coalesce now (nothing before this point changed any state).
            foreach (var (i, segments, dim, rows, m, v, p) in sparse)
            {
                if (!adam._sparseBuffers.TryGetValue(i, out var b)) adam._sparseBuffers[i] = b = new SparseBuffers();
                int unique = Coalesce(segments, dim, rows, b, out double sq);
                step._sparseSq += sq;
                step._sparse.Add((b, unique, dim, m, v, p));
            }
            return true;
        }

        // The memory of a CPU float32 gradient read row by row without a copy: contiguous (offsets null), or a
        // permutation of a contiguous tensor with a contiguous last dimension (offsets of each row in index order).
        private static bool TryRows(Tensor g, out nint data, out long[]? offsets)
        {
            offsets = null;
            data = (nint)FusedAdamKernels.Pointer(g, out _);
            if (data != 0) return true;
            if (g.dim() < 2 || g.stride(-1) != 1) return false;
            long[] shape = g.shape, stride = g.stride();
            // Dims ordered by stride (largest first) give the memory order; that view must be contiguous.
            var order = Enumerable.Range(0, shape.Length).OrderByDescending(d => stride[d]).ThenBy(d => d).Select(d => (long)d).ToArray();
            using var inMemoryOrder = g.permute(order);
            data = (nint)FusedAdamKernels.Pointer(inMemoryOrder, out _);
            if (data == 0) return false;
            long rowLength = shape[^1], rows = g.numel() / rowLength;
            offsets = new long[rows];
            var index = new long[shape.Length - 1];
            for (long r = 0; r < rows; r++)
            {
                long o = 0;
                for (int d = 0; d < index.Length; d++) o += index[d] * stride[d];
                offsets[r] = o;
                for (int d = index.Length - 1; d >= 0 && ++index[d] == shape[d]; d--) index[d] = 0;
            }
            return true;
        }

        // Sums the value rows of equal ids in entry order (segment 0's entries, then segment 1's); the unique rows
        // keep the order of their first appearance. A row → slot map instead of a sort: one pass, no comparisons.
        private static int Coalesce((nint Idx, nint Vals, int Nnz)[] segments, int dim, long tableRows, SparseBuffers b, out double sq)
        {
            int total = segments.Sum(s => s.Nnz);
            if (b.SlotOfRow.Length != tableRows) b.SlotOfRow = new int[tableRows];
            if (b.Rows.Length < total) b.Rows = new int[total];
            if (b.Sums.Length < (long)total * dim) b.Sums = new float[(long)total * dim];
            int unique = 0;
            try
            {
                fixed (float* sums = b.Sums)
                    foreach (var (idxPtr, valsPtr, nnz) in segments)
                    {
                        long* idx = (long*)idxPtr;
                        float* vals = (float*)valsPtr;
                        for (int j = 0; j < nnz; j++)
                        {
                            long row = idx[j];
                            if ((ulong)row >= (ulong)tableRows) throw new IndexOutOfRangeException($"Sparse gradient row {row} is outside the table's {tableRows} rows.");
                            int slot = b.SlotOfRow[row] - 1;
                            if (slot < 0)
                            {
                                slot = unique++;
                                b.SlotOfRow[row] = slot + 1;
                                b.Rows[slot] = (int)row;
                                Buffer.MemoryCopy(vals + (long)j * dim, sums + (long)slot * dim, (long)dim * 4, (long)dim * 4);
                            }
                            else FusedAdamKernels.AddTo(sums + (long)slot * dim, vals + (long)j * dim, dim);
                        }
                    }
                sq = 0;
                fixed (float* sums = b.Sums)
                    for (int u = 0; u < unique; u++) sq += FusedAdamKernels.SumSquares(sums + (long)u * dim, dim);
                return unique;
            }
            finally
            {
                for (int u = 0; u < unique; u++) b.SlotOfRow[b.Rows[u]] = 0;
            }
        }

        public double Run(double clipNorm)
        {
            // Dense tasks cover elements [Start, Start + Count) of one parameter, whole rows when its gradient is read by rows.
            var tasks = new List<(int Kind, int Item, long Start, long Count)>();
            for (int d = 0; d < _dense.Count; d++)
            {
                var (_, _, off0, off1, rowLength, _, _, _, n) = _dense[d];
                long chunk = off0 is null && off1 is null ? Chunk : Math.Max(1, Chunk / rowLength) * rowLength;
                for (long s = 0; s < n; s += chunk) tasks.Add((0, d, s, Math.Min(chunk, n - s)));
            }
            for (int k = 0; k < _sparse.Count; k++)
                for (int s = 0; s < _sparse[k].Unique; s += RowBlock) tasks.Add((1, k, s, Math.Min(RowBlock, _sparse[k].Unique - s)));
            var partial = new double[tasks.Count];

            double scale = 1.0, denseSq = 0;
            bool normFirst = clipNorm > 0;
            if (normFirst)
            {
                Parallel.For(0, tasks.Count, t =>
                {
                    var (kind, item, start, count) = tasks[t];
                    if (kind == 0) partial[t] = Dense(item, start, count, (g0, g1, _, n) => FusedAdamKernels.SumSquares(g0, g1, n));
                });
                denseSq = partial.Sum();
                double pre = Math.Sqrt(denseSq + _sparseSq);
                if (pre > clipNorm) scale = clipNorm / (pre + 1e-6);
            }
            var a = _adam;
            a.Step++;
            double bc1 = 1 - Math.Pow(a._beta1, a.Step), bc2 = 1 - Math.Pow(a._beta2, a.Step);
            var c = new FusedAdamKernels.Coefficients((float)a._beta1, (float)(1 - a._beta1), (float)a._beta2, (float)(1 - a._beta2),
                (float)Math.Sqrt(bc2), (float)a._eps, (float)(-(a._lr / bc1)), (float)scale);
            Parallel.For(0, tasks.Count, t =>
            {
                var (kind, item, start, count) = tasks[t];
                if (kind == 0)
                {
                    var (_, _, _, _, _, m, v, p, _) = _dense[item];
                    partial[t] = Dense(item, start, count, (g0, g1, at, n) => FusedAdamKernels.Update(g0, g1, (float*)m + at, (float*)v + at, (float*)p + at, n, c));
                    return;
                }
                var (b, _, dim, ms, vs, ps) = _sparse[item];
                fixed (float* sums = b.Sums)
                    for (long u = start; u < start + count; u++)
                    {
                        long row = (long)b.Rows[u] * dim;
                        FusedAdamKernels.Update(sums + u * dim, (float*)ms + row, (float*)vs + row, (float*)ps + row, dim, c);
                    }
            });
            if (!normFirst) denseSq = partial.Sum();
            return Math.Sqrt(denseSq + _sparseSq);
        }

        private delegate double DenseKernel(float* g0, float* g1, long at, long n);

        // Runs kernel over elements [start, start + count) of dense item d (g1 null for a one-part gradient):
        // in one piece when its parts are contiguous, else row by row (start and count are whole rows then).
        private double Dense(int d, long start, long count, DenseKernel kernel)
        {
            var (g0, g1, off0, off1, rowLength, _, _, _, _) = _dense[d];
            if (off0 is null && off1 is null)
                return kernel((float*)g0 + start, g1 == 0 ? null : (float*)g1 + start, start, count);
            double sum = 0;
            for (long at = start; at < start + count; at += rowLength)
            {
                long r = at / rowLength;
                sum += kernel((float*)g0 + (off0 is null ? at : off0[r]), g1 == 0 ? null : (float*)g1 + (off1 is null ? at : off1[r]), at, rowLength);
            }
            return sum;
        }
    }
}
