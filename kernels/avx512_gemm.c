/* kernels/avx512_gemm.c - AVX-512F SGEMM: W packed once into 32-column panels, X packed per call
 * into 12-row slivers, 12x32 micro-kernel (24 zmm accumulators); other ops reuse AVX2. */
#include <immintrin.h>
#include <string.h>

#include "kernels_int.h"

#define MR 12    /* rows per micro-tile */
#define NR 32    /* columns per panel (two zmm) */
#define KC 256   /* largest K block: a (KC, NR) panel slice is 32 KiB (L1 is 48 KiB) */
#define MC 144   /* M block: a packed (MC, KC) block of X is at most 144 KiB, stays in L2 */

static size_t k_pack_count_avx512(int n, int k) { return kpack_panels_count(n, k, NR); }

static void k_pack_f32_avx512(float *dst, const float *w, int n, int k)
{
    kpack_panels(dst, w, n, k, NR);
}

static size_t k_sgemm_ws_avx512(int m, int k)
{
    (void)m;
    (void)k;
    return (size_t)MC * KC;
}

/* Pack rows [i0, i0+mc) x cols [p0, p0+kc) of x (ldx) into MR-row slivers (zero-padded). */
static void pack_x(float *dst, const float *x, size_t ldx, int i0, int mc, int p0, int kc)
{
    for (int s = 0; s < mc; s += MR) {
        int rows = mc - s < MR ? mc - s : MR;
        float *d = dst + (size_t)s * kc;
        for (int r = 0; r < MR; r++) {
            const float *src = x + (size_t)(i0 + s + (r < rows ? r : 0)) * ldx + p0;
            if (r < rows)
                for (int kk = 0; kk < kc; kk++)
                    d[kk * MR + r] = src[kk];
            else
                for (int kk = 0; kk < kc; kk++)
                    d[kk * MR + r] = 0.0f;
        }
    }
}

/* c (ROWS, 32) (ldc) = [c +] a . b over kc; ROWS is a compile-time constant at each call. */
static inline __attribute__((always_inline)) void
ukr(const int ROWS, int kc, const float *a, const float *b, float *c, size_t ldc, int load_c)
{
    __m512 acc0[MR], acc1[MR], alt0[2], alt1[2];
KERN_UNROLL
    for (int r = 0; r < ROWS; r++) {
        acc0[r] = _mm512_setzero_ps();
        acc1[r] = _mm512_setzero_ps();
    }
    int kk = 0;
    if (ROWS <= 2) {
KERN_UNROLL
        for (int r = 0; r < ROWS; r++)
            alt0[r] = alt1[r] = _mm512_setzero_ps();
        for (; kk + 2 <= kc; kk += 2) {
            __m512 b0 = _mm512_load_ps(b + kk * NR), b1 = _mm512_load_ps(b + kk * NR + 16);
            __m512 b2 = _mm512_load_ps(b + kk * NR + 32), b3 = _mm512_load_ps(b + kk * NR + 48);
KERN_UNROLL
            for (int r = 0; r < ROWS; r++) {
                __m512 x0 = _mm512_set1_ps(a[kk * MR + r]);
                __m512 x1 = _mm512_set1_ps(a[kk * MR + MR + r]);
                acc0[r] = _mm512_fmadd_ps(x0, b0, acc0[r]);
                acc1[r] = _mm512_fmadd_ps(x0, b1, acc1[r]);
                alt0[r] = _mm512_fmadd_ps(x1, b2, alt0[r]);
                alt1[r] = _mm512_fmadd_ps(x1, b3, alt1[r]);
            }
        }
KERN_UNROLL
        for (int r = 0; r < ROWS; r++) {
            acc0[r] = _mm512_add_ps(acc0[r], alt0[r]);
            acc1[r] = _mm512_add_ps(acc1[r], alt1[r]);
        }
    }
#pragma GCC unroll 2
    for (; kk < kc; kk++) {
        __m512 b0 = _mm512_load_ps(b + kk * NR), b1 = _mm512_load_ps(b + kk * NR + 16);
KERN_UNROLL
        for (int r = 0; r < ROWS; r++) {
            __m512 x = _mm512_set1_ps(a[kk * MR + r]);
            acc0[r] = _mm512_fmadd_ps(x, b0, acc0[r]);
            acc1[r] = _mm512_fmadd_ps(x, b1, acc1[r]);
        }
    }
KERN_UNROLL
    for (int r = 0; r < ROWS; r++) {
        float *cr = c + r * ldc;
        if (load_c) {
            acc0[r] = _mm512_add_ps(acc0[r], _mm512_loadu_ps(cr));
            acc1[r] = _mm512_add_ps(acc1[r], _mm512_loadu_ps(cr + 16));
        }
        _mm512_storeu_ps(cr, acc0[r]);
        _mm512_storeu_ps(cr + 16, acc1[r]);
    }
}

static void ukr_rows(int rows, int kc, const float *a, const float *b, float *c, size_t ldc,
                     int load_c)
{
    switch (rows) {
    case 12: ukr(12, kc, a, b, c, ldc, load_c); break;
    case 11: ukr(11, kc, a, b, c, ldc, load_c); break;
    case 10: ukr(10, kc, a, b, c, ldc, load_c); break;
    case 9: ukr(9, kc, a, b, c, ldc, load_c); break;
    case 8: ukr(8, kc, a, b, c, ldc, load_c); break;
    case 7: ukr(7, kc, a, b, c, ldc, load_c); break;
    case 6: ukr(6, kc, a, b, c, ldc, load_c); break;
    case 5: ukr(5, kc, a, b, c, ldc, load_c); break;
    case 4: ukr(4, kc, a, b, c, ldc, load_c); break;
    case 3: ukr(3, kc, a, b, c, ldc, load_c); break;
    case 2: ukr(2, kc, a, b, c, ldc, load_c); break;
    default: ukr(1, kc, a, b, c, ldc, load_c); break;
    }
}

/* y (M,N) = x (M,K) . W^T [+ y]; this thread computes the panels [lo, hi) of N. */
static void k_sgemm_f32_avx512(float *y, const float *x, const kweight *w, int m, int accumulate,
                               float *ws, int ith, int nth)
{
    ABL_ASSERT(w->variant == KV_AVX512);
    int n = w->n, k = w->k, lo, hi;
    kern_split(n, NR, ith, nth, &lo, &hi);
    if (lo >= hi)
        return;
    float tile[MR * NR] __attribute__((aligned(64)));
    /* equal K blocks <= KC; few rows: one sequential sweep over W (see avx2_gemm.c) */
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
                /* the next panel's slice is fetched while this one works (see avx2_gemm.c) */
                int lines = j0 + NR < hi && mc >= 4 * MR ? kc * NR * 4 / 64 : 0;
                const char *nb = (const char *)(lines ? b + (size_t)NR * k : b);
                int per = (lines + (mc + MR - 1) / MR - 1) / ((mc + MR - 1) / MR);
                for (int s = 0; s < mc; s += MR) {
                    int rows = mc - s < MR ? mc - s : MR;
                    const float *a = ws + (size_t)s * kc;
                    float *c = y + (size_t)(i0 + s) * n + j0;
                    for (int t = (s / MR) * per, e = t + per; t < e && t < lines; t++)
                        __builtin_prefetch(nb + 64 * (size_t)t, 0, 3);
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

/* Twenty-four independent zmm FMA chains: the micro-kernel's ceiling. */
static double avx512_fma_probe(long iters)
{
    __m512 a[24];
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int j = 0; j < 24; j++)
        a[j] = _mm512_set1_ps((float)j);
    for (long i = 0; i < iters; i++) {
#pragma GCC unroll 24
        for (int j = 0; j < 24; j++)
            a[j] = _mm512_fmadd_ps(a[j], m, c);
    }
    __m512 s = a[0];
    for (int j = 1; j < 24; j++)
        s = _mm512_add_ps(s, a[j]);
    volatile float sink = _mm512_reduce_add_ps(s);
    (void)sink;
    return (double)iters * 24 * 16 * 2;
}

static float avx512_read_probe(const float *x, size_t n)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_add_ps(s0, _mm512_loadu_ps(x + i));
        s1 = _mm512_add_ps(s1, _mm512_loadu_ps(x + i + 16));
        s2 = _mm512_add_ps(s2, _mm512_loadu_ps(x + i + 32));
        s3 = _mm512_add_ps(s3, _mm512_loadu_ps(x + i + 48));
    }
    float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
    for (; i < n; i++)
        s += x[i];
    return s;
}

/* AVX-512 CPUs all have AVX2: start from the AVX2 table, replace the GEMM and the probes. */
void kern_fill_avx512(kern_table *t)
{
    kern_fill_avx2(t);
    t->name = "avx512";
    t->variant = KV_AVX512;
    t->pack_count = k_pack_count_avx512;
    t->pack = k_pack_f32_avx512;
    t->sgemm = k_sgemm_f32_avx512;
    t->sgemm_ws_floats = k_sgemm_ws_avx512;
    t->fma_probe = avx512_fma_probe;
    t->read_probe = avx512_read_probe;
}
