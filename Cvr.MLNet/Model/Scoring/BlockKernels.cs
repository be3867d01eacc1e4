using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Cvr.MLNet.Model.Scoring;

/// <summary>
/// The matrix–matrix product of the managed batched forward: Y[rows,out] = bias + X[rows,in]·W over a
/// row-major W [in,out], register-blocked 6 rows × 64 outputs (24 Vector512 accumulators; 6 × 16 with
/// Vector256 without AVX-512, over blocks of 256 inputs whose weight panels are packed contiguous), so each
/// weight load serves 6 rows instead of one. Every output element is the same chain of fused multiply-adds
/// over i = 0..in−1 starting from its bias (or 0) in every kernel variant and blocking, so a row's result
/// does not depend on which rows share its block.
/// </summary>
internal static class BlockKernels
{
    /// <summary>Rows per register block.</summary>
    public const int Rows = 6;

    /// <summary>Inputs per block of the Vector256 path: a 16-wide weight panel of 256 inputs is 16 KB, half of L1.</summary>
    internal const int KBlock256 = 256;

    // Per thread: the packed weight panels of one input block of the Vector256 path (KBlock256 × out floats).
    [ThreadStatic] private static float[]? t_packed;

    /// <summary>
    /// y[r, 0..out) = bias + Σ_i x[r, i]·w[i, :] for r &lt; rows; x rows at stride <paramref name="ldx"/>,
    /// y rows at stride <paramref name="ldy"/>; bias may be empty.
    /// </summary>
    public static void Gemm(ReadOnlySpan<float> x, int ldx, int rows, ReadOnlySpan<float> w, ReadOnlySpan<float> bias,
        Span<float> y, int ldy, int inDim, int outDim)
    {
        if (rows <= 0 || outDim <= 0) return;
        // One bounds check here; the kernels below index with refs.
        if (x.Length < (long)(rows - 1) * ldx + inDim || y.Length < (long)(rows - 1) * ldy + outDim
            || w.Length < (long)inDim * outDim || (!bias.IsEmpty && bias.Length < outDim))
            throw new ArgumentException($"Gemm: spans too short for {rows} × {inDim} → {outDim} (ldx {ldx}, ldy {ldy}).");
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float wr = ref MemoryMarshal.GetReference(w);
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float br = ref MemoryMarshal.GetReference(bias);
        bool hasBias = !bias.IsEmpty;
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; j + 64 <= outDim; j += 64)
            {
                int r = 0;
                for (; r + Rows <= rows; r += Rows)
                    Strip512x4(ref Unsafe.Add(ref xr, (nint)r * ldx), ldx, ref Unsafe.Add(ref wr, j), outDim, hasBias, ref Unsafe.Add(ref br, j),
                        ref Unsafe.Add(ref Unsafe.Add(ref yr, (nint)r * ldy), j), ldy, inDim);
                for (; r < rows; r++) OneRow(ref Unsafe.Add(ref xr, (nint)r * ldx), ref wr, outDim, hasBias, ref br, ref Unsafe.Add(ref yr, (nint)r * ldy), inDim, j, j + 64);
            }
            for (; j + 16 <= outDim; j += 16)
            {
                int r = 0;
                for (; r + Rows <= rows; r += Rows)
                    Strip512x1(ref Unsafe.Add(ref xr, (nint)r * ldx), ldx, ref Unsafe.Add(ref wr, j), outDim, hasBias, ref Unsafe.Add(ref br, j),
                        ref Unsafe.Add(ref Unsafe.Add(ref yr, (nint)r * ldy), j), ldy, inDim);
                for (; r < rows; r++) OneRow(ref Unsafe.Add(ref xr, (nint)r * ldx), ref wr, outDim, hasBias, ref br, ref Unsafe.Add(ref yr, (nint)r * ldy), inDim, j, j + 16);
            }
        }
        if (Vector256.IsHardwareAccelerated && j + 8 <= outDim)
        {
            // Blocked over the inputs: for each block of KBlock256 inputs, every 16-wide (last: 8-wide) weight panel
            // is packed contiguous, 16 KB that stay in L1 while every row block passes over it. The block's weight
            // rows are read whole, in order, as they lie in memory (a strip at a time would read one 64-byte line
            // per row at a stride of `out` floats: with a power-of-two width such as 256 those lines fall into 4 of
            // L1's 64 sets, and each is a separate miss to L3). Each input block continues the accumulators
            // stored in y, so the FMA chain per element is the same as unblocked.
            int jStart = j, blocked = rows - rows % Rows;
            int jEnd = jStart + (outDim - jStart) / 8 * 8, packedWidth = jEnd - jStart;
            // Strips are 16 wide, the last one 8 when the width is an odd number of 8s; strip s's panel is
            // kc × its width floats at kc·s (s = its first column − jStart).
            int pairs = packedWidth - packedWidth % 16;
            if (blocked > 0)
            {
                var packed = t_packed is { } buf && buf.Length >= KBlock256 * packedWidth ? buf : t_packed = new float[KBlock256 * packedWidth];
                ref float pr0 = ref MemoryMarshal.GetArrayDataReference(packed);
                for (int k0 = 0; k0 == 0 || k0 < inDim; k0 += KBlock256)
                {
                    int kc = Math.Min(KBlock256, inDim - k0);
                    // The first block starts from the bias (one row, stride 0) or 0, later ones from y.
                    bool first = k0 == 0, init = !first || hasBias;
                    nint ldi = first ? 0 : ldy;
                    for (nint i = 0; i < kc; i++)
                    {
                        ref float src = ref Unsafe.Add(ref wr, (k0 + i) * outDim + jStart);
                        for (int c = 0; c < packedWidth; c += 8)
                        {
                            bool pair = c < pairs;
                            nint at = pair ? (nint)kc * (c - c % 16) + i * 16 + c % 16 : (nint)kc * c + i * 8;
                            Vector256.LoadUnsafe(ref src, (nuint)c).StoreUnsafe(ref pr0, (nuint)at);
                        }
                    }
                    for (j = jStart; j < jEnd; j += 8)
                    {
                        bool two = j + 16 <= jEnd;
                        ref float pr = ref Unsafe.Add(ref pr0, (nint)kc * (j - jStart));
                        for (int r = 0; r < blocked; r += Rows)
                        {
                            ref float xb = ref Unsafe.Add(ref xr, (nint)r * ldx + k0);
                            ref float yb = ref Unsafe.Add(ref Unsafe.Add(ref yr, (nint)r * ldy), j);
                            ref float ib = ref first ? ref Unsafe.Add(ref br, j) : ref yb;
                            if (two) Strip256x2(ref xb, ldx, ref pr, 16, init, ref ib, ldi, ref yb, ldy, kc);
                            else Strip256x1(ref xb, ldx, ref pr, 8, init, ref ib, ldi, ref yb, ldy, kc);
                        }
                        if (two) j += 8;
                    }
                }
            }
            j = jEnd;
            for (int r = blocked; r < rows; r++) OneRow(ref Unsafe.Add(ref xr, (nint)r * ldx), ref wr, outDim, hasBias, ref br, ref Unsafe.Add(ref yr, (nint)r * ldy), inDim, jStart, jEnd);
        }
        if (j < outDim)
            for (int r = 0; r < rows; r++) OneRow(ref Unsafe.Add(ref xr, (nint)r * ldx), ref wr, outDim, hasBias, ref br, ref Unsafe.Add(ref yr, (nint)r * ldy), inDim, j, outDim);
    }

    /// <summary>
    /// y[j] = Σ_m w[m]·src[first_m·stride + j] over the sources m = 0..a−1 at firstA + m and then m = a..a+b−1 at
    /// firstB + m − a (a PLE gate's mix of its task's and the shared experts): one pass over y, the sums in
    /// registers, in the order of the sources.
    /// </summary>
    public static void Mix(Span<float> y, ReadOnlySpan<float> w, ReadOnlySpan<float> src, int stride, int firstA, int a, int firstB, int b)
    {
        int n = y.Length, j = 0, m = a + b;
        if (w.Length < m || src.Length < (long)(Math.Max(firstA + a, firstB + b) - 1) * stride + n) throw new ArgumentException("Mix: spans too short.");
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float sr = ref MemoryMarshal.GetReference(src);
        if (Vector256.IsHardwareAccelerated)
            for (; j + 8 <= n; j += 8)
            {
                var acc = Vector256<float>.Zero;
                for (int k = 0; k < m; k++)
                {
                    int s = k < a ? firstA + k : firstB + k - a;
                    acc = Vector256.FusedMultiplyAdd(Vector256.Create(w[k]), Vector256.LoadUnsafe(ref sr, (nuint)((long)s * stride + j)), acc);
                }
                acc.StoreUnsafe(ref yr, (nuint)j);
            }
        for (; j < n; j++)
        {
            float acc = 0f;
            for (int k = 0; k < m; k++) acc = MathF.FusedMultiplyAdd(w[k], Unsafe.Add(ref sr, (k < a ? firstA + k : firstB + k - a) * stride + j), acc);
            Unsafe.Add(ref yr, j) = acc;
        }
    }

    /// <summary>y[i] = ((y[i] + a[i]) + b[i]) (+ c[i]) in one pass (c may be empty): a DIN key from its parts.</summary>
    public static void Add3(Span<float> y, ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c)
    {
        int n = y.Length, i = 0;
        if (a.Length < n || b.Length < n || (!c.IsEmpty && c.Length < n)) throw new ArgumentException("Add3: spans too short.");
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float ar = ref MemoryMarshal.GetReference(a);
        ref float br = ref MemoryMarshal.GetReference(b);
        ref float cr = ref MemoryMarshal.GetReference(c);
        bool three = !c.IsEmpty;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8)
            {
                var v = Vector256.LoadUnsafe(ref yr, (nuint)i) + Vector256.LoadUnsafe(ref ar, (nuint)i) + Vector256.LoadUnsafe(ref br, (nuint)i);
                if (three) v += Vector256.LoadUnsafe(ref cr, (nuint)i);
                v.StoreUnsafe(ref yr, (nuint)i);
            }
        for (; i < n; i++)
        {
            float v = Unsafe.Add(ref yr, i) + Unsafe.Add(ref ar, i) + Unsafe.Add(ref br, i);
            if (three) v += Unsafe.Add(ref cr, i);
            Unsafe.Add(ref yr, i) = v;
        }
    }

    /// <summary>
    /// In-place SiLU over rows × cols of a row-major block with stride <paramref name="ld"/>, a row at a
    /// time: an element's vector-or-scalar path depends only on its column, never on the rows around it.
    /// </summary>
    public static void Silu(Span<float> y, int rows, int cols, int ld)
    {
        if (cols % 8 == 0 && ld == cols) { ScoringKernels.Silu(y[..(rows * cols)]); return; }
        for (int r = 0; r < rows; r++) ScoringKernels.Silu(y.Slice(r * ld, cols));
    }

    // 6 rows × 64 outputs: 24 accumulators, 4 weight loads and 6 broadcasts per input.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Strip512x4(ref float x, nint ldx, ref float w, nint ldw, bool hasBias, ref float b, ref float y, nint ldy, int inDim)
    {
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
        if (hasBias) { b0 = Vector512.LoadUnsafe(ref b); b1 = Vector512.LoadUnsafe(ref b, 16); b2 = Vector512.LoadUnsafe(ref b, 32); b3 = Vector512.LoadUnsafe(ref b, 48); }
        Vector512<float> a00 = b0, a01 = b1, a02 = b2, a03 = b3, a10 = b0, a11 = b1, a12 = b2, a13 = b3, a20 = b0, a21 = b1, a22 = b2, a23 = b3;
        Vector512<float> a30 = b0, a31 = b1, a32 = b2, a33 = b3, a40 = b0, a41 = b1, a42 = b2, a43 = b3, a50 = b0, a51 = b1, a52 = b2, a53 = b3;
        ref float x1 = ref Unsafe.Add(ref x, ldx), x2 = ref Unsafe.Add(ref x, 2 * ldx), x3 = ref Unsafe.Add(ref x, 3 * ldx);
        ref float x4 = ref Unsafe.Add(ref x, 4 * ldx), x5 = ref Unsafe.Add(ref x, 5 * ldx);
        for (nint i = 0; i < inDim; i++)
        {
            ref float wi = ref Unsafe.Add(ref w, i * ldw);
            var w0 = Vector512.LoadUnsafe(ref wi); var w1 = Vector512.LoadUnsafe(ref wi, 16);
            var w2 = Vector512.LoadUnsafe(ref wi, 32); var w3 = Vector512.LoadUnsafe(ref wi, 48);
            var v = Vector512.Create(Unsafe.Add(ref x, i));
            a00 = Vector512.FusedMultiplyAdd(v, w0, a00); a01 = Vector512.FusedMultiplyAdd(v, w1, a01); a02 = Vector512.FusedMultiplyAdd(v, w2, a02); a03 = Vector512.FusedMultiplyAdd(v, w3, a03);
            v = Vector512.Create(Unsafe.Add(ref x1, i));
            a10 = Vector512.FusedMultiplyAdd(v, w0, a10); a11 = Vector512.FusedMultiplyAdd(v, w1, a11); a12 = Vector512.FusedMultiplyAdd(v, w2, a12); a13 = Vector512.FusedMultiplyAdd(v, w3, a13);
            v = Vector512.Create(Unsafe.Add(ref x2, i));
            a20 = Vector512.FusedMultiplyAdd(v, w0, a20); a21 = Vector512.FusedMultiplyAdd(v, w1, a21); a22 = Vector512.FusedMultiplyAdd(v, w2, a22); a23 = Vector512.FusedMultiplyAdd(v, w3, a23);
            v = Vector512.Create(Unsafe.Add(ref x3, i));
            a30 = Vector512.FusedMultiplyAdd(v, w0, a30); a31 = Vector512.FusedMultiplyAdd(v, w1, a31); a32 = Vector512.FusedMultiplyAdd(v, w2, a32); a33 = Vector512.FusedMultiplyAdd(v, w3, a33);
            v = Vector512.Create(Unsafe.Add(ref x4, i));
            a40 = Vector512.FusedMultiplyAdd(v, w0, a40); a41 = Vector512.FusedMultiplyAdd(v, w1, a41); a42 = Vector512.FusedMultiplyAdd(v, w2, a42); a43 = Vector512.FusedMultiplyAdd(v, w3, a43);
            v = Vector512.Create(Unsafe.Add(ref x5, i));
            a50 = Vector512.FusedMultiplyAdd(v, w0, a50); a51 = Vector512.FusedMultiplyAdd(v, w1, a51); a52 = Vector512.FusedMultiplyAdd(v, w2, a52); a53 = Vector512.FusedMultiplyAdd(v, w3, a53);
        }
        Store4(ref y, a00, a01, a02, a03);
        Store4(ref Unsafe.Add(ref y, ldy), a10, a11, a12, a13);
        Store4(ref Unsafe.Add(ref y, 2 * ldy), a20, a21, a22, a23);
        Store4(ref Unsafe.Add(ref y, 3 * ldy), a30, a31, a32, a33);
        Store4(ref Unsafe.Add(ref y, 4 * ldy), a40, a41, a42, a43);
        Store4(ref Unsafe.Add(ref y, 5 * ldy), a50, a51, a52, a53);
    }

    private static void Store4(ref float y, Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3)
    {
        a0.StoreUnsafe(ref y); a1.StoreUnsafe(ref y, 16); a2.StoreUnsafe(ref y, 32); a3.StoreUnsafe(ref y, 48);
    }

    // 6 rows × 16 outputs (the tail of a 64-wide strip).
    private static void Strip512x1(ref float x, nint ldx, ref float w, nint ldw, bool hasBias, ref float b, ref float y, nint ldy, int inDim)
    {
        var b0 = hasBias ? Vector512.LoadUnsafe(ref b) : default;
        Vector512<float> a0 = b0, a1 = b0, a2 = b0, a3 = b0, a4 = b0, a5 = b0;
        for (nint i = 0; i < inDim; i++)
        {
            var wv = Vector512.LoadUnsafe(ref Unsafe.Add(ref w, i * ldw));
            a0 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref x, i)), wv, a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref x, ldx + i)), wv, a1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref x, 2 * ldx + i)), wv, a2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref x, 3 * ldx + i)), wv, a3);
            a4 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref x, 4 * ldx + i)), wv, a4);
            a5 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref x, 5 * ldx + i)), wv, a5);
        }
        a0.StoreUnsafe(ref y); a1.StoreUnsafe(ref Unsafe.Add(ref y, ldy)); a2.StoreUnsafe(ref Unsafe.Add(ref y, 2 * ldy));
        a3.StoreUnsafe(ref Unsafe.Add(ref y, 3 * ldy)); a4.StoreUnsafe(ref Unsafe.Add(ref y, 4 * ldy)); a5.StoreUnsafe(ref Unsafe.Add(ref y, 5 * ldy));
    }

    // 6 rows × 16 outputs with 256-bit vectors (12 accumulators: fits 16 registers without AVX-512), over
    // inDim inputs; the accumulators start from init rows at stride ldi (0: one bias row for all) or 0.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Strip256x2(ref float x, nint ldx, ref float w, nint ldw, bool hasInit, ref float b, nint ldi, ref float y, nint ldy, int inDim)
    {
        Vector256<float> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default;
        Vector256<float> a30 = default, a31 = default, a40 = default, a41 = default, a50 = default, a51 = default;
        if (hasInit)
        {
            a00 = Vector256.LoadUnsafe(ref b); a01 = Vector256.LoadUnsafe(ref b, 8);
            ref float b1 = ref Unsafe.Add(ref b, ldi); a10 = Vector256.LoadUnsafe(ref b1); a11 = Vector256.LoadUnsafe(ref b1, 8);
            ref float b2 = ref Unsafe.Add(ref b, 2 * ldi); a20 = Vector256.LoadUnsafe(ref b2); a21 = Vector256.LoadUnsafe(ref b2, 8);
            ref float b3 = ref Unsafe.Add(ref b, 3 * ldi); a30 = Vector256.LoadUnsafe(ref b3); a31 = Vector256.LoadUnsafe(ref b3, 8);
            ref float b4 = ref Unsafe.Add(ref b, 4 * ldi); a40 = Vector256.LoadUnsafe(ref b4); a41 = Vector256.LoadUnsafe(ref b4, 8);
            ref float b5 = ref Unsafe.Add(ref b, 5 * ldi); a50 = Vector256.LoadUnsafe(ref b5); a51 = Vector256.LoadUnsafe(ref b5, 8);
        }
        for (nint i = 0; i < inDim; i++)
        {
            ref float wi = ref Unsafe.Add(ref w, i * ldw);
            var w0 = Vector256.LoadUnsafe(ref wi); var w1 = Vector256.LoadUnsafe(ref wi, 8);
            var v = Vector256.Create(Unsafe.Add(ref x, i));
            a00 = Vector256.FusedMultiplyAdd(v, w0, a00); a01 = Vector256.FusedMultiplyAdd(v, w1, a01);
            v = Vector256.Create(Unsafe.Add(ref x, ldx + i));
            a10 = Vector256.FusedMultiplyAdd(v, w0, a10); a11 = Vector256.FusedMultiplyAdd(v, w1, a11);
            v = Vector256.Create(Unsafe.Add(ref x, 2 * ldx + i));
            a20 = Vector256.FusedMultiplyAdd(v, w0, a20); a21 = Vector256.FusedMultiplyAdd(v, w1, a21);
            v = Vector256.Create(Unsafe.Add(ref x, 3 * ldx + i));
            a30 = Vector256.FusedMultiplyAdd(v, w0, a30); a31 = Vector256.FusedMultiplyAdd(v, w1, a31);
            v = Vector256.Create(Unsafe.Add(ref x, 4 * ldx + i));
            a40 = Vector256.FusedMultiplyAdd(v, w0, a40); a41 = Vector256.FusedMultiplyAdd(v, w1, a41);
            v = Vector256.Create(Unsafe.Add(ref x, 5 * ldx + i));
            a50 = Vector256.FusedMultiplyAdd(v, w0, a50); a51 = Vector256.FusedMultiplyAdd(v, w1, a51);
        }
        a00.StoreUnsafe(ref y); a01.StoreUnsafe(ref y, 8);
        ref float y1 = ref Unsafe.Add(ref y, ldy); a10.StoreUnsafe(ref y1); a11.StoreUnsafe(ref y1, 8);
        ref float y2 = ref Unsafe.Add(ref y, 2 * ldy); a20.StoreUnsafe(ref y2); a21.StoreUnsafe(ref y2, 8);
        ref float y3 = ref Unsafe.Add(ref y, 3 * ldy); a30.StoreUnsafe(ref y3); a31.StoreUnsafe(ref y3, 8);
        ref float y4 = ref Unsafe.Add(ref y, 4 * ldy); a40.StoreUnsafe(ref y4); a41.StoreUnsafe(ref y4, 8);
        ref float y5 = ref Unsafe.Add(ref y, 5 * ldy); a50.StoreUnsafe(ref y5); a51.StoreUnsafe(ref y5, 8);
    }

    // 6 rows × 8 outputs; init as in Strip256x2.
    private static void Strip256x1(ref float x, nint ldx, ref float w, nint ldw, bool hasInit, ref float b, nint ldi, ref float y, nint ldy, int inDim)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default;
        if (hasInit)
        {
            a0 = Vector256.LoadUnsafe(ref b); a1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref b, ldi)); a2 = Vector256.LoadUnsafe(ref Unsafe.Add(ref b, 2 * ldi));
            a3 = Vector256.LoadUnsafe(ref Unsafe.Add(ref b, 3 * ldi)); a4 = Vector256.LoadUnsafe(ref Unsafe.Add(ref b, 4 * ldi)); a5 = Vector256.LoadUnsafe(ref Unsafe.Add(ref b, 5 * ldi));
        }
        for (nint i = 0; i < inDim; i++)
        {
            var wv = Vector256.LoadUnsafe(ref Unsafe.Add(ref w, i * ldw));
            a0 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, i)), wv, a0);
            a1 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, ldx + i)), wv, a1);
            a2 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, 2 * ldx + i)), wv, a2);
            a3 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, 3 * ldx + i)), wv, a3);
            a4 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, 4 * ldx + i)), wv, a4);
            a5 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, 5 * ldx + i)), wv, a5);
        }
        a0.StoreUnsafe(ref y); a1.StoreUnsafe(ref Unsafe.Add(ref y, ldy)); a2.StoreUnsafe(ref Unsafe.Add(ref y, 2 * ldy));
        a3.StoreUnsafe(ref Unsafe.Add(ref y, 3 * ldy)); a4.StoreUnsafe(ref Unsafe.Add(ref y, 4 * ldy)); a5.StoreUnsafe(ref Unsafe.Add(ref y, 5 * ldy));
    }

    // One row, outputs [from, to): the same per-element FMA chain as the blocked kernels; four independent
    // accumulators per pass where the width allows, so the row is not bound by one chain's FMA latency.
    private static void OneRow(ref float x, ref float w, nint ldw, bool hasBias, ref float b, ref float y, int inDim, int from, int to)
    {
        int j = from;
        if (Vector512.IsHardwareAccelerated)
            for (; j + 64 <= to; j += 64)
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                if (hasBias)
                {
                    ref float bj = ref Unsafe.Add(ref b, j);
                    a0 = Vector512.LoadUnsafe(ref bj); a1 = Vector512.LoadUnsafe(ref bj, 16); a2 = Vector512.LoadUnsafe(ref bj, 32); a3 = Vector512.LoadUnsafe(ref bj, 48);
                }
                ref float wj = ref Unsafe.Add(ref w, j);
                for (nint i = 0; i < inDim; i++)
                {
                    var v = Vector512.Create(Unsafe.Add(ref x, i));
                    ref float wi = ref Unsafe.Add(ref wj, i * ldw);
                    a0 = Vector512.FusedMultiplyAdd(v, Vector512.LoadUnsafe(ref wi), a0);
                    a1 = Vector512.FusedMultiplyAdd(v, Vector512.LoadUnsafe(ref wi, 16), a1);
                    a2 = Vector512.FusedMultiplyAdd(v, Vector512.LoadUnsafe(ref wi, 32), a2);
                    a3 = Vector512.FusedMultiplyAdd(v, Vector512.LoadUnsafe(ref wi, 48), a3);
                }
                Store4(ref Unsafe.Add(ref y, j), a0, a1, a2, a3);
            }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j + 32 <= to; j += 32)
            {
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                if (hasBias)
                {
                    ref float bj = ref Unsafe.Add(ref b, j);
                    a0 = Vector256.LoadUnsafe(ref bj); a1 = Vector256.LoadUnsafe(ref bj, 8); a2 = Vector256.LoadUnsafe(ref bj, 16); a3 = Vector256.LoadUnsafe(ref bj, 24);
                }
                ref float wj = ref Unsafe.Add(ref w, j);
                for (nint i = 0; i < inDim; i++)
                {
                    var v = Vector256.Create(Unsafe.Add(ref x, i));
                    ref float wi = ref Unsafe.Add(ref wj, i * ldw);
                    a0 = Vector256.FusedMultiplyAdd(v, Vector256.LoadUnsafe(ref wi), a0);
                    a1 = Vector256.FusedMultiplyAdd(v, Vector256.LoadUnsafe(ref wi, 8), a1);
                    a2 = Vector256.FusedMultiplyAdd(v, Vector256.LoadUnsafe(ref wi, 16), a2);
                    a3 = Vector256.FusedMultiplyAdd(v, Vector256.LoadUnsafe(ref wi, 24), a3);
                }
                ref float yj = ref Unsafe.Add(ref y, j);
                a0.StoreUnsafe(ref yj); a1.StoreUnsafe(ref yj, 8); a2.StoreUnsafe(ref yj, 16); a3.StoreUnsafe(ref yj, 24);
            }
            for (; j + 8 <= to; j += 8)
            {
                var a = hasBias ? Vector256.LoadUnsafe(ref Unsafe.Add(ref b, j)) : default;
                ref float wj = ref Unsafe.Add(ref w, j);
                for (nint i = 0; i < inDim; i++)
                    a = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, i)), Vector256.LoadUnsafe(ref Unsafe.Add(ref wj, i * ldw)), a);
                a.StoreUnsafe(ref Unsafe.Add(ref y, j));
            }
        }
        for (; j < to; j++)
        {
            float s = hasBias ? Unsafe.Add(ref b, j) : 0f;
            for (nint i = 0; i < inDim; i++) s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, i), Unsafe.Add(ref w, i * ldw + j), s);
            Unsafe.Add(ref y, j) = s;
        }
    }
}
