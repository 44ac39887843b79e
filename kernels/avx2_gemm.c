/* kernels/avx2_gemm.c - AVX2+FMA SGEMM: W packed once into 16-column panels, X packed per call into
 * 6-row slivers (per-thread workspace), K blocked for L1, M blocked for L2, 6x16 micro-kernel. */
#include <immintrin.h>
#include <string.h>

#include "kernels_int.h"

#define MR 6     /* rows per micro-tile (12 ymm accumulators) */
#define NR 16    /* columns per panel (two ymm) */
#define KC 384   /* largest K block: a (KC, NR) panel slice is at most 24 KiB, stays in L1;
                  * K is cut into equal blocks of at most KC (576 -> 2 x 288), no short tail */
#define MC 120   /* M block: a packed (MC, KC) block of X is at most 180 KiB, stays in L2 */

static size_t k_pack_count_avx2(int n, int k) { return kpack_panels_count(n, k, NR); }

static void k_pack_f32_avx2(float *dst, const float *w, int n, int k)
{
    kpack_panels(dst, w, n, k, NR);
}

static size_t k_sgemm_ws_avx2(int m, int k)
{
    (void)m;
    (void)k;
    return (size_t)MC * KC;
}

/* Pack rows [i0, i0+mc) x cols [p0, p0+kc) of x (ldx) into slivers of MR rows:
 * dst[(s*kc + kk)*MR + r] = x[i0 + s*MR + r][p0 + kk], rows past mc zero-filled. */
static void pack_x(float *dst, const float *x, size_t ldx, int i0, int mc, int p0, int kc)
{
    for (int s = 0; s < mc; s += MR) {
        int rows = mc - s < MR ? mc - s : MR;
        float *d = dst + (size_t)s * kc;
        const float *src[MR];
        for (int r = 0; r < MR; r++)
            src[r] = x + (size_t)(i0 + s + (r < rows ? r : 0)) * ldx + p0;
        if (rows == MR) {
            for (int kk = 0; kk < kc; kk++)
                for (int r = 0; r < MR; r++)
                    d[kk * MR + r] = src[r][kk];
        } else {
            for (int kk = 0; kk < kc; kk++)
                for (int r = 0; r < MR; r++)
                    d[kk * MR + r] = r < rows ? src[r][kk] : 0.0f;
        }
    }
}

/* c (ROWS, 16) (ldc) = [c +] a . b over kc: a is an MR-interleaved sliver, b a panel slice.
 * ROWS is a compile-time constant at every call site so the accumulators live in registers;
 * with ROWS <= 2 the k loop keeps two sets of accumulators to hide the FMA latency. */
static inline __attribute__((always_inline)) void
ukr(const int ROWS, int kc, const float *a, const float *b, float *c, size_t ldc, int load_c)
{
    __m256 acc0[MR], acc1[MR], alt0[2], alt1[2];
KERN_UNROLL
    for (int r = 0; r < ROWS; r++) {
        acc0[r] = _mm256_setzero_ps();
        acc1[r] = _mm256_setzero_ps();
    }
    int kk = 0;
    if (ROWS <= 2) {
KERN_UNROLL
        for (int r = 0; r < ROWS; r++)
            alt0[r] = alt1[r] = _mm256_setzero_ps();
        for (; kk + 2 <= kc; kk += 2) {
            __m256 b0 = _mm256_load_ps(b + kk * NR), b1 = _mm256_load_ps(b + kk * NR + 8);
            __m256 b2 = _mm256_load_ps(b + kk * NR + 16), b3 = _mm256_load_ps(b + kk * NR + 24);
KERN_UNROLL
            for (int r = 0; r < ROWS; r++) {
                __m256 x0 = _mm256_broadcast_ss(a + kk * MR + r);
                __m256 x1 = _mm256_broadcast_ss(a + kk * MR + MR + r);
                acc0[r] = _mm256_fmadd_ps(x0, b0, acc0[r]);
                acc1[r] = _mm256_fmadd_ps(x0, b1, acc1[r]);
                alt0[r] = _mm256_fmadd_ps(x1, b2, alt0[r]);
                alt1[r] = _mm256_fmadd_ps(x1, b3, alt1[r]);
            }
        }
KERN_UNROLL
        for (int r = 0; r < ROWS; r++) {
            acc0[r] = _mm256_add_ps(acc0[r], alt0[r]);
            acc1[r] = _mm256_add_ps(acc1[r], alt1[r]);
        }
    }
#pragma GCC unroll 4
    for (; kk < kc; kk++) {
        __m256 b0 = _mm256_load_ps(b + kk * NR), b1 = _mm256_load_ps(b + kk * NR + 8);
KERN_UNROLL
        for (int r = 0; r < ROWS; r++) {
            __m256 x = _mm256_broadcast_ss(a + kk * MR + r);
            acc0[r] = _mm256_fmadd_ps(x, b0, acc0[r]);
            acc1[r] = _mm256_fmadd_ps(x, b1, acc1[r]);
        }
    }
KERN_UNROLL
    for (int r = 0; r < ROWS; r++) {
        float *cr = c + r * ldc;
        if (load_c) {
            acc0[r] = _mm256_add_ps(acc0[r], _mm256_loadu_ps(cr));
            acc1[r] = _mm256_add_ps(acc1[r], _mm256_loadu_ps(cr + 8));
        }
        _mm256_storeu_ps(cr, acc0[r]);
        _mm256_storeu_ps(cr + 8, acc1[r]);
    }
}

/* One micro-tile of `rows` (1..MR) rows; the row count is dispatched to a constant. */
static void ukr_rows(int rows, int kc, const float *a, const float *b, float *c, size_t ldc,
                     int load_c)
{
    switch (rows) {
    case 6: ukr(6, kc, a, b, c, ldc, load_c); break;
    case 5: ukr(5, kc, a, b, c, ldc, load_c); break;
    case 4: ukr(4, kc, a, b, c, ldc, load_c); break;
    case 3: ukr(3, kc, a, b, c, ldc, load_c); break;
    case 2: ukr(2, kc, a, b, c, ldc, load_c); break;
    default: ukr(1, kc, a, b, c, ldc, load_c); break;
    }
}

/* y (M,N) = x (M,K) . W^T [+ y]; this thread computes the panels [lo, hi) of N. */
static void k_sgemm_f32_avx2(float *y, const float *x, const kweight *w, int m, int accumulate,
                             float *ws, int ith, int nth)
{
    ABL_ASSERT(w->variant == KV_AVX2);
    int n = w->n, k = w->k, lo, hi;
    kern_split(n, NR, ith, nth, &lo, &hi);
    if (lo >= hi)
        return;
    float tile[MR * NR] __attribute__((aligned(32)));
    /* K blocks of equal size <= KC; with few rows W is streamed once and barely reused, so
     * it is read in one sequential sweep (no K blocking) */
    int nkb = (k + KC - 1) / KC;
    if (m <= 16 && (size_t)((m + MR - 1) / MR * MR) * (size_t)k <= (size_t)MC * KC)
        nkb = 1; /* the whole (m, k) still fits the workspace */
    int kcb = (k + nkb - 1) / nkb;
    for (int p0 = 0; p0 < k; p0 += kcb) {
        int kc = k - p0 < kcb ? k - p0 : kcb;
        int load = p0 > 0 || accumulate;
        for (int i0 = 0; i0 < m; i0 += MC) {
            int mc = m - i0 < MC ? m - i0 : MC;
            pack_x(ws, x, (size_t)k, i0, mc, p0, kc);
            for (int j0 = lo; j0 < hi; j0 += NR) {
                const float *b = w->data + (size_t)j0 * k + (size_t)p0 * NR;
                int nr = n - j0 < NR ? n - j0 : NR;
                /* the next panel's slice (kc*NR floats) is fetched from memory while this one
                 * works: a share of its cache lines before each micro-tile (only with enough
                 * micro-tiles to spread them over; few rows leave it to the hardware) */
                int lines = j0 + NR < hi && mc >= 4 * MR ? kc * NR * 4 / 64 : 0;
                const char *nb = (const char *)(lines ? b + (size_t)NR * k : b);
                int per = (lines + (mc + MR - 1) / MR - 1) / ((mc + MR - 1) / MR);
                for (int s = 0; s < mc; s += MR) {
                    int rows = mc - s < MR ? mc - s : MR;
                    const float *a = ws + (size_t)s * kc;
                    float *c = y + (size_t)(i0 + s) * n + j0;
                    for (int t = (s / MR) * per, e = t + per; t < e && t < lines; t++)
                        _mm_prefetch(nb + 64 * (size_t)t, _MM_HINT_T0);
                    if (nr == NR) {
                        ukr_rows(rows, kc, a, b, c, (size_t)n, load);
                        continue;
                    }
                    ukr_rows(rows, kc, a, b, tile, NR, 0);
                    for (int r = 0; r < rows; r++)
                        for (int j = 0; j < nr; j++)
                            c[(size_t)r * n + j] = load ? c[(size_t)r * n + j] + tile[r * NR + j]
                                                        : tile[r * NR + j];
                }
            }
        }
    }
}

void kern_fill_avx2(kern_table *t)
{
    t->name = "avx2";
    t->variant = KV_AVX2;
    t->pack_count = k_pack_count_avx2;
    t->pack = k_pack_f32_avx2;
    t->sgemm = k_sgemm_f32_avx2;
    t->sgemm_ws_floats = k_sgemm_ws_avx2;
    kern_avx2_ops(t);
}
