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
        public long[] Keys = [];
        public int[] Order = [];
        public int[] Rows = [];
        public float[] Sums = [];
    }

    /// <summary>
    /// One fused step: sparse gradients are coalesced in managed code (sort + sum of duplicate rows), then
    /// dense chunks and sparse row blocks are updated in one parallel pass, each element read and written once.
    /// </summary>
    private sealed unsafe class FusedStep
    {
        private const int Chunk = 32 * 1024, RowBlock = 128;
        private readonly CvrAdam _adam;
        private readonly List<(nint G, nint M, nint V, nint P, long N)> _dense = [];
        private readonly List<(SparseBuffers B, int Unique, int Dim, nint M, nint V, nint P)> _sparse = [];
        private double _sparseSq;

        private FusedStep(CvrAdam adam) => _adam = adam;

        /// <summary>Gathers raw pointers and coalesces sparse gradients; false (nothing changed) when a tensor is not CPU float32 contiguous.</summary>
        public static bool TryPrepare(CvrAdam adam, out FusedStep step)
        {
            step = new FusedStep(adam);
            using var noGrad = no_grad();
            for (int i = 0; i < adam._params.Length; i++)
            {
                var param = adam._params[i].P;
                var g = param.grad;
                if (g is null) continue;
                float* p = FusedAdamKernels.Pointer(param, out long n);
                float* m = FusedAdamKernels.Pointer(adam._m[i], out _);
                float* v = FusedAdamKernels.Pointer(adam._v[i], out _);
                if (p is null || m is null || v is null) return false;
                if (!g.is_sparse)
                {
                    float* gp = FusedAdamKernels.Pointer(g, out long gn);
                    if (gp is null || gn != n) return false;
                    step._dense.Add(((nint)gp, (nint)m, (nint)v, (nint)p, n));
                    continue;
                }
                if (param.dim() != 2) return false;
                int dim = (int)param.shape[1];
                var indices = g.SparseIndices;
                var values = g.SparseValues;
                if (indices.device_type != DeviceType.CPU || indices.dtype != ScalarType.Int64 || !indices.is_contiguous()) return false;
                float* vals = FusedAdamKernels.Pointer(values, out long vn);
                long nnz = indices.shape[^1];
                if (vals is null || vn != nnz * dim) return false;
                if (!adam._sparseBuffers.TryGetValue(i, out var b)) adam._sparseBuffers[i] = b = new SparseBuffers();
                var idx = MemoryMarshal.Cast<byte, long>(indices.bytes)[..(int)nnz];
                int unique = Coalesce(idx, vals, dim, param.shape[0], b, out double sq);
                step._sparseSq += sq;
                step._sparse.Add((b, unique, dim, (nint)m, (nint)v, (nint)p));
            }
            return true;
        }

        // Sorts the row ids (with their positions) and sums the value rows of equal ids, in position order.
        private static int Coalesce(ReadOnlySpan<long> idx, float* vals, int dim, long tableRows, SparseBuffers b, out double sq)
        {
            int nnz = idx.Length;
            if (b.Keys.Length < nnz) { b.Keys = new long[nnz]; b.Order = new int[nnz]; b.Rows = new int[nnz]; }
            if (b.Sums.Length < (long)nnz * dim) b.Sums = new float[(long)nnz * dim];
            var keys = b.Keys.AsSpan(0, nnz);
            var order = b.Order.AsSpan(0, nnz);
            idx.CopyTo(keys);
            for (int j = 0; j < nnz; j++)
            {
                if ((ulong)keys[j] >= (ulong)tableRows) throw new IndexOutOfRangeException($"Sparse gradient row {keys[j]} is outside the table's {tableRows} rows.");
                order[j] = j;
            }
            // Sorting (key, position) pairs keeps the summation order of duplicates deterministic.
            keys.Sort(order);
            int unique = 0;
            sq = 0;
            for (int j = 0; j < nnz;)
            {
                long key = keys[j];
                int start = j;
                while (j < nnz && keys[j] == key) j++;
                order[start..j].Sort();
                var sum = b.Sums.AsSpan(unique * dim, dim);
                new ReadOnlySpan<float>(vals + (long)order[start] * dim, dim).CopyTo(sum);
                fixed (float* s = sum)
                {
                    for (int k = start + 1; k < j; k++) FusedAdamKernels.AddTo(s, vals + (long)order[k] * dim, dim);
                    sq += FusedAdamKernels.SumSquares(s, dim);
                }
                b.Rows[unique++] = (int)key;
            }
            return unique;
        }

        public double Run(double clipNorm)
        {
            var tasks = new List<(int Kind, int Item, long Start, long Count)>();
            for (int d = 0; d < _dense.Count; d++)
                for (long s = 0; s < _dense[d].N; s += Chunk) tasks.Add((0, d, s, Math.Min(Chunk, _dense[d].N - s)));
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
                    if (kind == 0) partial[t] = FusedAdamKernels.SumSquares((float*)_dense[item].G + start, count);
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
                    var (g, m, v, p, _) = _dense[item];
                    partial[t] = FusedAdamKernels.Update((float*)g + start, (float*)m + start, (float*)v + start, (float*)p + start, count, c);
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
    }
}
