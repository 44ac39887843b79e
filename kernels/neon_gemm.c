/* kernels/neon_gemm.c - NEON SGEMM for aarch64: W packed once into 16-column panels (the same
 * layout as AVX2), X packed per call into 6-row slivers, 6x16 micro-kernel (24 q accumulators). */
#include <arm_neon.h>
#include <string.h>

#include "kernels_int.h"

#define MR 6     /* rows per micro-tile */
#define NR 16    /* columns per panel (four q registers) */
#define KC 256   /* largest K block: a (KC, NR) panel slice is 16 KiB */
#define MC 120   /* M block: a packed (MC, KC) block of X is at most 120 KiB */

static size_t k_pack_count_neon(int n, int k) { return kpack_panels_count(n, k, NR); }

static void k_pack_f32_neon(float *dst, const float *w, int n, int k)
{
    kpack_panels(dst, w, n, k, NR);
}

static size_t k_sgemm_ws_neon(int m, int k)
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
            for (int kk = 0; kk < kc; kk++)
                d[kk * MR + r] = r < rows ? src[kk] : 0.0f;
        }
    }
}

/* c (ROWS, 16) (ldc) = [c +] a . b over kc; ROWS is a compile-time constant at each call. */
static inline __attribute__((always_inline)) void
ukr(const int ROWS, int kc, const float *a, const float *b, float *c, size_t ldc, int load_c)
{
    float32x4_t acc[MR][4];
KERN_UNROLL
    for (int r = 0; r < ROWS; r++)
        for (int q = 0; q < 4; q++)
            acc[r][q] = vdupq_n_f32(0.0f);
    for (int kk = 0; kk < kc; kk++) {
        float32x4_t b0 = vld1q_f32(b + kk * NR), b1 = vld1q_f32(b + kk * NR + 4);
        float32x4_t b2 = vld1q_f32(b + kk * NR + 8), b3 = vld1q_f32(b + kk * NR + 12);
KERN_UNROLL
        for (int r = 0; r < ROWS; r++) {
            float32x4_t x = vdupq_n_f32(a[kk * MR + r]);
            acc[r][0] = vfmaq_f32(acc[r][0], b0, x);
            acc[r][1] = vfmaq_f32(acc[r][1], b1, x);
            acc[r][2] = vfmaq_f32(acc[r][2], b2, x);
            acc[r][3] = vfmaq_f32(acc[r][3], b3, x);
        }
    }
KERN_UNROLL
    for (int r = 0; r < ROWS; r++) {
        float *cr = c + r * ldc;
        for (int q = 0; q < 4; q++) {
            float32x4_t v = acc[r][q];
            if (load_c)
                v = vaddq_f32(v, vld1q_f32(cr + 4 * q));
            vst1q_f32(cr + 4 * q, v);
        }
    }
}

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
static void k_sgemm_f32_neon(float *y, const float *x, const kweight *w, int m, int accumulate,
                             float *ws, int ith, int nth)
{
    ABL_ASSERT(w->variant == KV_NEON);
    int n = w->n, k = w->k, lo, hi;
    kern_split(n, NR, ith, nth, &lo, &hi);
    if (lo >= hi)
        return;
    float tile[MR * NR];
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

/* NEON (Advanced SIMD) is part of every aarch64 CPU. */
int kern_cpu_neon(void) { return 1; }

void kern_fill_neon(kern_table *t)
{
    t->name = "neon";
    t->variant = KV_NEON;
    t->pack_count = k_pack_count_neon;
    t->pack = k_pack_f32_neon;
    t->sgemm = k_sgemm_f32_neon;
    t->sgemm_ws_floats = k_sgemm_ws_neon;
    kern_neon_ops(t);
}
