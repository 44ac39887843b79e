/* tests/test_kernels.c - every kernel variant this machine runs against the scalar reference
 * (and the reference against naive loops with explicit masks), the pool, and dispatch. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/kernels.h"
#include "t.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static unsigned long long rng_state = 0x9e3779b97f4a7c15ull;

static float frand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0);
}

static float *rand_buf(size_t n, float scale)
{
    float *p = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++)
        p[i] = frand() * scale;
    return p;
}

static float *ws_alloc(size_t floats)
{
    size_t bytes = ((floats ? floats : 16) * sizeof(float) + 63) & ~(size_t)63;
    return aligned_alloc(64, bytes);
}

static const char *const vnames[KV_COUNT] = {"ref", "avx2", "avx512", "neon"};

/* Switch the global table to v; skips the test (with the reason) when v cannot run here. */
static int use_variant(tctx *t, kern_variant v)
{
    abl_err e = {0};
    if (!kern_supported(v)) {
        char why[200];
        snprintf(why, sizeof why, "%s kernels cannot run on this machine (best here: %s)",
                 vnames[v], kern_best_name());
        t_skip(t, why);
        return 0;
    }
    if (kern_init(vnames[v], &e) != ABL_OK) {
        t_fail(t, "kern_init(%s): %s", vnames[v], e.msg);
        return 0;
    }
    return 1;
}

static void use_ref(tctx *t)
{
    abl_err e = {0};
    if (kern_init("ref", &e) != ABL_OK)
        t_fail(t, "kern_init(ref): %s", e.msg);
}

/* ---- sgemm --------------------------------------------------------------------------------- */

/* y = x . W^T with the active variant, through k_matmul on pool (NULL = inline). */
static void run_matmul(kpool *pool, float *y, const float *x, const float *w, int m, int n, int k,
                       int accumulate)
{
    kweight kw;
    abl_err e = {0};
    ABL_ASSERT(kweight_pack(&kw, w, n, k, &e) == ABL_OK);
    int nt = kpool_nthreads(pool);
    float *ws = ws_alloc(kern_ws_floats(m, k, 0) * (size_t)nt);
    k_matmul(pool, y, x, &kw, m, accumulate, ws);
    free(ws);
    kweight_free(&kw);
}

/* |y - naive| <= 2e-6 * K^0.5 * sum|x||w| + 1e-30 per element (fp32 rounding growth). */
static int check_gemm(tctx *t, const char *what, const float *y, const float *x, const float *w,
                      const float *y0, int m, int n, int k)
{
    double worst = 0;
    int bad = -1;
    for (int i = 0; i < m && bad < 0; i++)
        for (int j = 0; j < n; j++) {
            double s = y0 ? y0[(size_t)i * n + j] : 0, a = fabs(s);
            for (int kk = 0; kk < k; kk++) {
                double p = (double)x[(size_t)i * k + kk] * w[(size_t)j * k + kk];
                s += p;
                a += fabs(p);
            }
            double err = fabs(y[(size_t)i * n + j] - s);
            double tol = 2e-6 * sqrt((double)k + 1) * a + 1e-30;
            if (err / tol > worst)
                worst = err / tol;
            if (!(err <= tol)) {
                t_fail(t, "%s m=%d n=%d k=%d: y[%d][%d]=%.9g expected %.9g (abs sum %.3g)", what,
                       m, n, k, i, j, y[(size_t)i * n + j], s, a);
                bad = i;
                break;
            }
        }
    return bad < 0 ? (t_note(t, "%s m=%d n=%d k=%d: worst err/tol %.3f", what, m, n, k, worst), 1)
                   : 0;
}

static const int gemm_shapes[][3] = {
    {1, 1, 1}, {1, 2, 3}, {2, 3, 7}, {3, 7, 2}, {7, 63, 65}, {1, 577, 576}, {2, 65, 1537},
    {3, 17, 129}, {4, 16, 256}, {5, 15, 257}, {6, 33, 383}, {7, 31, 385}, {8, 48, 64},
    {9, 1, 577}, {11, 13, 17}, {13, 64, 97}, {16, 577, 63}, {16, 192, 576}, {17, 19, 23},
    {63, 65, 1537}, {65, 63, 7}, {121, 40, 300}, {127, 131, 577}, {241, 37, 769},
    {512, 192, 576}, {61, 1537, 67}, {12, 32, 1}, {14, 96, 5}, {10, 37, 45}, {15, 37, 45},
    {130, 33, 129}, {257, 17, 770}, {5, 20, 4001}, {16, 3, 2561}, {1, 40, 9000},
};

static void sgemm_variant(tctx *t, kern_variant v)
{
    if (!use_variant(t, v))
        return;
    kpool *pool = kpool_create(2);
    for (size_t s = 0; s < ABL_ARRAY_LEN(gemm_shapes) && !t_failed(t); s++) {
        int m = gemm_shapes[s][0], n = gemm_shapes[s][1], k = gemm_shapes[s][2];
        float *x = rand_buf((size_t)m * k, 1), *w = rand_buf((size_t)n * k, 0.5f);
        float *y0 = rand_buf((size_t)m * n, 1), *y = malloc(sizeof(float) * m * n);
        float *y2 = malloc(sizeof(float) * m * n);
        run_matmul(NULL, y, x, w, m, n, k, 0);
        check_gemm(t, vnames[v], y, x, w, NULL, m, n, k);
        run_matmul(pool, y2, x, w, m, n, k, 0);
        if (memcmp(y, y2, sizeof(float) * m * n) != 0)
            t_fail(t, "%s m=%d n=%d k=%d: 1 and 2 threads differ", vnames[v], m, n, k);
        memcpy(y, y0, sizeof(float) * m * n);
        run_matmul(pool, y, x, w, m, n, k, 1);
        check_gemm(t, "accumulate", y, x, w, y0, m, n, k);
        free(x), free(w), free(y0), free(y), free(y2);
    }
    kpool_free(pool);
}

void test_kernels_sgemm_ref(tctx *t)
{
    sgemm_variant(t, KV_REF);
}

void test_kernels_sgemm_avx2(tctx *t)
{
    sgemm_variant(t, KV_AVX2);
}

void test_kernels_sgemm_avx512(tctx *t)
{
    sgemm_variant(t, KV_AVX512);
}

void test_kernels_sgemm_neon(tctx *t)
{
    sgemm_variant(t, KV_NEON);
}


/* ---- row and elementwise ops against ref ----------------------------------------------------- */

static void ops_variant(tctx *t, kern_variant v)
{
    if (!use_variant(t, v))
        return;
    kern_table opt = kern;
    use_ref(t);
    kern_table ref = kern;
    static const int sizes[] = {1, 2, 3, 7, 8, 15, 63, 64, 65, 576, 577, 1537};
    for (size_t si = 0; si < ABL_ARRAY_LEN(sizes) && !t_failed(t); si++) {
        int d = sizes[si], m = 3;
        size_t n = (size_t)m * d;
        float *x = rand_buf(n, 3), *g = rand_buf((size_t)d, 1);
        float *a = malloc(n * 4), *b = malloc(n * 4);
        /* rmsnorm, also in place (y == x) */
        ref.rmsnorm(a, x, g, m, d, 1e-5f);
        opt.rmsnorm(b, x, g, m, d, 1e-5f);
        t_close_f32(t, "rmsnorm", b, a, n, 1e-6, 2e-6);
        memcpy(b, x, n * 4);
        opt.rmsnorm(b, b, g, m, d, 1e-5f);
        t_close_f32(t, "rmsnorm y==x", b, a, n, 1e-6, 2e-6);
        /* swiglu out==gate and out==up, with large gates */
        float *u = rand_buf(n, 2), *gg = rand_buf(n, 30);
        ref.swiglu(a, gg, u, n);
        memcpy(b, gg, n * 4);
        opt.swiglu(b, b, u, n);
        t_close_f32(t, "swiglu out==gate", b, a, n, 1e-6, 4e-6);
        memcpy(b, u, n * 4);
        opt.swiglu(b, gg, b, n);
        t_close_f32(t, "swiglu out==up", b, a, n, 1e-6, 4e-6);
        /* add */
        memcpy(a, x, n * 4);
        memcpy(b, x, n * 4);
        ref.add(a, u, n);
        opt.add(b, u, n);
        t_close_f32(t, "add", b, a, n, 0, 0);
        /* logsumexp: plain, shifted far up, and with -inf entries */
        for (int sh = 0; sh < 3; sh++) {
            for (size_t i = 0; i < (size_t)d; i++)
                a[i] = x[i] * 10 + (sh == 1 ? 1000.0f : 0.0f);
            if (sh == 2)
                a[d / 2] = -INFINITY;
            double lr = ref.logsumexp(a, d), lo = opt.logsumexp(a, d);
            if (!(lr == lo || fabs(lr - lo) <= 1e-6 * (1 + fabs(lr))))
                t_fail(t, "logsumexp d=%d shift=%d: %.12g vs ref %.12g", d, sh, lo, lr);
        }
        /* dot3 */
        double sr[3], so[3];
        ref.dot3(x, u, (int)n, sr);
        opt.dot3(x, u, (int)n, so);
        for (int i = 0; i < 3; i++)
            if (!(fabs(sr[i] - so[i]) <= 1e-12 * (1 + fabs(sr[i]))))
                t_fail(t, "dot3 n=%zu sum %d: %.15g vs ref %.15g", n, i, so[i], sr[i]);
        free(x), free(g), free(a), free(b), free(u), free(gg);
    }
    /* rope: heads of dh in {2, 16, 64, 128}, arbitrary positions */
    static const int dhs[] = {2, 16, 64, 128};
    for (size_t di = 0; di < ABL_ARRAY_LEN(dhs); di++) {
        int dh = dhs[di], nh = 3, tt = 5, maxp = 40, half = dh / 2;
        float *ct = malloc(sizeof(float) * maxp * half), *st = malloc(sizeof(float) * maxp * half);
        for (int p = 0; p < maxp; p++)
            for (int i = 0; i < half; i++) {
                double ang = p * pow(1e5, -2.0 * i / dh);
                ct[p * half + i] = (float)cos(ang);
                st[p * half + i] = (float)sin(ang);
            }
        int32_t pos[5] = {0, 39, 7, 7, 20};
        size_t n = (size_t)tt * nh * dh;
        float *x = rand_buf(n, 2), *a = malloc(n * 4), *b = malloc(n * 4);
        memcpy(a, x, n * 4);
        memcpy(b, x, n * 4);
        ref.rope(a, tt, nh, dh, pos, ct, st);
        opt.rope(b, tt, nh, dh, pos, ct, st);
        t_close_f32(t, "rope", b, a, n, 1e-6, 1e-6);
        /* the reference against the definition: pairs (i, i + dh/2) rotated by angle(pos, i) */
        for (int i = 0; i < tt; i++)
            for (int hh = 0; hh < nh; hh++)
                for (int j = 0; j < half; j++) {
                    size_t o = ((size_t)i * nh + hh) * dh;
                    double ang = pos[i] * pow(1e5, -2.0 * j / dh);
                    double e0 = x[o + j] * cos(ang) - x[o + j + half] * sin(ang);
                    double e1 = x[o + j + half] * cos(ang) + x[o + j] * sin(ang);
                    if (fabs(a[o + j] - e0) > 1e-5 || fabs(a[o + j + half] - e1) > 1e-5)
                        t_fail(t, "ref rope dh=%d t=%d h=%d i=%d: (%g, %g) expected (%g, %g)", dh,
                               i, hh, j, a[o + j], a[o + j + half], e0, e1);
                }
        free(ct), free(st), free(x), free(a), free(b);
    }
}

void test_kernels_ops_avx2(tctx *t)
{
    ops_variant(t, KV_AVX2);
}

void test_kernels_ops_avx512(tctx *t)
{
    ops_variant(t, KV_AVX512);
}

void test_kernels_ops_neon(tctx *t)
{
    ops_variant(t, KV_NEON);
}


void test_kernels_ref_rmsnorm_logsumexp(tctx *t)
{
    use_ref(t);
    float x[4] = {1, -2, 3, -4}, g[4] = {1, 1, 2, 0.5f}, y[4];
    kern.rmsnorm(y, x, g, 1, 4, 0.0f);
    double r = 1.0 / sqrt((1 + 4 + 9 + 16) / 4.0);
    float e[4] = {(float)(1 * r), (float)(-2 * r), (float)(6 * r), (float)(-2 * r)};
    t_close_f32(t, "rmsnorm", y, e, 4, 1e-7, 1e-6);
    float big[3] = {1000, 1000, 1000};
    T_CHECK(t, fabs(kern.logsumexp(big, 3) - (1000 + log(3.0))) < 1e-9);
    float one[1] = {-5};
    T_CHECK(t, kern.logsumexp(one, 1) == -5.0);
    double s[3];
    kern.dot3(x, g, 4, s);
    T_CHECK(t, s[0] == 3 && s[1] == 30 && s[2] == 1 + 1 + 4 + 0.25);
}

/* ---- attention ----------------------------------------------------------------------------- */

/* Naive attention from an explicit visibility matrix vis (T, Tk): softmax over visible keys. */
static void naive_attention(float *out, const float *q, const float *k, const float *v,
                            const unsigned char *vis, int t, int tk, int h, int hkv, int dh)
{
    double *p = malloc(sizeof(double) * tk);
    int group = h / hkv;
    for (int i = 0; i < t; i++)
        for (int hh = 0; hh < h; hh++) {
            const float *qr = q + ((size_t)i * h + hh) * dh;
            double mx = -INFINITY, sum = 0;
            for (int j = 0; j < tk; j++) {
                p[j] = -INFINITY;
                if (!vis[(size_t)i * tk + j])
                    continue;
                double s = 0;
                for (int d = 0; d < dh; d++)
                    s += (double)qr[d] * k[((size_t)j * hkv + hh / group) * dh + d];
                p[j] = s / sqrt((double)dh);
                mx = p[j] > mx ? p[j] : mx;
            }
            for (int j = 0; j < tk; j++) {
                p[j] = vis[(size_t)i * tk + j] ? exp(p[j] - mx) : 0;
                sum += p[j];
            }
            for (int d = 0; d < dh; d++) {
                double a = 0;
                for (int j = 0; j < tk; j++)
                    a += p[j] * v[((size_t)j * hkv + hh / group) * dh + d];
                out[((size_t)i * h + hh) * dh + d] = sum > 0 ? (float)(a / sum) : 0.0f;
            }
        }
    free(p);
}

/* Layouts: 0 = one causal sequence; 1 = three packed causal sequences; 2 = two items, each a
 * prefix plus branches (a branch sees its prefix and its own earlier tokens only).
 * Fills span (T) and the explicit matrix vis (T, T) built from the rule, not from span. */
static void make_layout(int layout, int t, k_span *span, unsigned char *vis)
{
    int seg[4096], seg_start[4096];
    memset(vis, 0, (size_t)t * t);
    for (int i = 0; i < t; i++) {
        seg[i] = 0, seg_start[i] = 0;
        if (layout == 1) {
            int b1 = t / 3, b2 = 2 * t / 3;
            seg[i] = i < b1 ? 0 : i < b2 ? 1 : 2;
            seg_start[i] = i < b1 ? 0 : i < b2 ? b1 : b2;
        }
    }
    if (layout == 2) {
        /* item A: prefix [0, p) + branches of lengths 3, 1, rest split; item B likewise */
        int half = t / 2, pos = 0;
        for (int item = 0; item < 2; item++) {
            int end = item ? t : half, plen = (end - pos) / 3 + 1, ps = pos;
            for (int i = ps; i < ps + plen && i < end; i++)
                seg[i] = item * 100, seg_start[i] = ps;
            int b = ps + plen, br = 1, lens[3] = {3, 1, (end - b) / 2};
            while (b < end) {
                int len = br <= 3 ? lens[br - 1] : end - b;
                if (len < 1)
                    len = 1;
                for (int i = b; i < b + len && i < end; i++)
                    seg[i] = item * 100 + br, seg_start[i] = b;
                b += len, br++;
            }
            for (int i = ps; i < end; i++) {
                if (seg[i] % 100) {
                    span[i] = (k_span){ps, ps + plen, seg_start[i], i + 1};
                    for (int j = ps; j < ps + plen; j++)
                        vis[(size_t)i * t + j] = 1;
                } else {
                    span[i] = (k_span){0, 0, ps, i + 1};
                }
                for (int j = ps; j <= i; j++)
                    if (seg[j] == seg[i])
                        vis[(size_t)i * t + j] = 1;
            }
            pos = end;
        }
        return;
    }
    for (int i = 0; i < t; i++) {
        span[i] = (k_span){0, 0, seg_start[i], i + 1};
        for (int j = 0; j <= i; j++)
            if (seg[j] == seg[i])
                vis[(size_t)i * t + j] = 1;
    }
}

static void attention_variant(tctx *t, kern_variant v)
{
    if (v != KV_REF && !use_variant(t, v))
        return;
    if (v == KV_REF)
        use_ref(t);
    kpool *pool = kpool_create(2);
    static const int cases[][5] = {
        /* layout, T, H, Hkv, Dh */
        {0, 1, 1, 1, 64}, {0, 7, 2, 1, 64}, {0, 70, 9, 3, 64}, {1, 65, 4, 2, 64},
        {2, 40, 9, 3, 64}, {2, 131, 3, 3, 64}, {0, 300, 2, 1, 64}, {2, 257, 2, 2, 128},
        {0, 33, 4, 1, 32}, {2, 50, 2, 1, 16}, {1, 29, 3, 1, 24},
    };
    for (size_t c = 0; c < ABL_ARRAY_LEN(cases) && !t_failed(t); c++) {
        int layout = cases[c][0], tt = cases[c][1], h = cases[c][2], hkv = cases[c][3];
        int dh = cases[c][4];
        size_t nq = (size_t)tt * h * dh, nk = (size_t)tt * hkv * dh;
        float *q = rand_buf(nq, 2), *k = rand_buf(nk, 2), *vv = rand_buf(nk, 1);
        float *o1 = malloc(nq * 4), *o2 = malloc(nq * 4), *on = malloc(nq * 4);
        k_span *span = malloc(sizeof(k_span) * tt);
        unsigned char *vis = malloc((size_t)tt * tt);
        make_layout(layout, tt, span, vis);
        naive_attention(on, q, k, vv, vis, tt, tt, h, hkv, dh);
        float *ws = ws_alloc(kern_ws_floats(1, 1, dh) * 2);
        k_attention(NULL, o1, q, k, vv, span, tt, h, hkv, dh, ws);
        k_attention(pool, o2, q, k, vv, span, tt, h, hkv, dh, ws);
        char what[96];
        snprintf(what, sizeof what, "%s layout=%d T=%d H=%d Hkv=%d Dh=%d", vnames[v], layout, tt,
                 h, hkv, dh);
        t_close_f32(t, what, o1, on, nq, 2e-6, 2e-5);
        if (memcmp(o1, o2, nq * 4) != 0)
            t_fail(t, "%s: 1 and 2 threads differ", what);
        /* the table entry on a sub-range of rows gives the same rows */
        int lo = tt / 3, hi = tt - tt / 4;
        memset(o2, 0, nq * 4);
        kern.attention(o2, q, k, vv, span, h, hkv, dh, lo, hi, ws);
        t_close_f32(t, "row range", o2 + (size_t)lo * h * dh, o1 + (size_t)lo * h * dh,
                    (size_t)(hi - lo) * h * dh, 1e-6, 1e-5);
        free(ws), free(q), free(k), free(vv), free(o1), free(o2), free(on), free(span), free(vis);
    }
    kpool_free(pool);
}

void test_kernels_attention_ref(tctx *t)
{
    attention_variant(t, KV_REF);
}

void test_kernels_attention_avx2(tctx *t)
{
    attention_variant(t, KV_AVX2);
}

void test_kernels_attention_avx512(tctx *t)
{
    attention_variant(t, KV_AVX512);
}

void test_kernels_attention_neon(tctx *t)
{
    attention_variant(t, KV_NEON);
}


/* Decode-style: one query row against a long cache (the query's span points far into k). */
void test_kernels_attention_long_cache(tctx *t)
{
    use_ref(t);
    int tk = 1500, h = 3, hkv = 1, dh = 64;
    float *q = rand_buf((size_t)h * dh, 2), *k = rand_buf((size_t)tk * dh, 2);
    float *v = rand_buf((size_t)tk * dh, 1), *oref = malloc(sizeof(float) * h * dh);
    float *oopt = malloc(sizeof(float) * h * dh), *ws = ws_alloc(kern_ws_floats(1, 1, dh) * 2);
    k_span sp = {10, 700, 1000, 1500};
    kern.attention(oref, q, k, v, &sp, h, hkv, dh, 0, 1, ws);
    unsigned char *vis = calloc((size_t)tk, 1);
    for (int j = 0; j < tk; j++)
        vis[j] = (j >= 10 && j < 700) || (j >= 1000 && j < 1500);
    float *on = malloc(sizeof(float) * h * dh);
    naive_attention(on, q, k, v, vis, 1, tk, h, hkv, dh);
    t_close_f32(t, "ref vs naive", oref, on, (size_t)h * dh, 1e-6, 1e-5);
    for (int vi = KV_AVX2; vi < KV_COUNT; vi++) {
        if (!kern_supported((kern_variant)vi))
            continue;
        abl_err e;
        kern_init(vnames[vi], &e);
        kpool *pool = kpool_create(2);
        k_attention(pool, oopt, q, k, v, &sp, 1, h, hkv, dh, ws);
        kpool_free(pool);
        t_close_f32(t, vnames[vi], oopt, on, (size_t)h * dh, 2e-6, 2e-5);
    }
    free(q), free(k), free(v), free(oref), free(oopt), free(ws), free(vis), free(on);
}

/* ---- pool and dispatch ---------------------------------------------------------------------- */

typedef struct {
    atomic_int hits[8];
    atomic_int total;
} pool_probe;

static void pool_fn(void *arg, int ith, int nth)
{
    pool_probe *p = arg;
    atomic_fetch_add(&p->hits[ith], 1);
    atomic_fetch_add(&p->total, nth);
}

void test_kernels_pool_runs_every_share(tctx *t)
{
    for (int n = 1; n <= 4; n++) {
        kpool *p = kpool_create(n);
        T_CHECK(t, p != NULL && kpool_nthreads(p) == n);
        pool_probe pr;
        for (int i = 0; i < 8; i++)
            atomic_init(&pr.hits[i], 0);
        atomic_init(&pr.total, 0);
        for (int r = 0; r < 2000; r++)
            kpool_run(p, pool_fn, &pr);
        for (int i = 0; i < n; i++)
            if (atomic_load(&pr.hits[i]) != 2000)
                t_fail(t, "n=%d: share %d ran %d times, expected 2000", n, i,
                       atomic_load(&pr.hits[i]));
        T_CHECK(t, atomic_load(&pr.total) == 2000 * n * n);
        kpool_free(p);
    }
    T_CHECK(t, kpool_nthreads(NULL) == 1);
    kpool_free(NULL);
    pool_probe pr;
    atomic_init(&pr.hits[0], 0);
    atomic_init(&pr.total, 0);
    kpool_run(NULL, pool_fn, &pr);
    T_CHECK(t, atomic_load(&pr.hits[0]) == 1);
}

void test_kernels_dispatch_names(tctx *t)
{
    abl_err e = {0};
    T_CHECK(t, kern_init("ref", &e) == ABL_OK && !strcmp(kern.name, "ref"));
    T_CHECK(t, kern_init("avx3", &e) == ABL_E_ARG && strstr(e.msg, "avx3"));
    T_CHECK(t, kern_init("auto", &e) == ABL_OK && !strcmp(kern.name, kern_best_name()));
    for (int v = 0; v < KV_COUNT; v++) {
        abl_status s = kern_init(vnames[v], &e);
        if (kern_supported((kern_variant)v))
            T_CHECK(t, s == ABL_OK && kern.variant == (kern_variant)v);
        else
            T_CHECK(t, s == ABL_E_DEVICE && strstr(e.msg, vnames[v]) && strstr(e.msg, "hint"));
    }
    T_CHECK(t, kern_supported(KV_REF));
    t_note(t, "best variant here: %s", kern_best_name());
    /* $ABLATE_KERNELS when no name is given (this test runs in its own process) */
    setenv("ABLATE_KERNELS", "ref", 1);
    T_CHECK(t, kern_init(NULL, &e) == ABL_OK && kern.variant == KV_REF);
    setenv("ABLATE_KERNELS", "fastest", 1);
    T_CHECK(t, kern_init(NULL, &e) == ABL_E_ARG && strstr(e.msg, "ABLATE_KERNELS"));
    T_CHECK(t, kern_init(kern_best_name(), &e) == ABL_OK); /* an explicit name wins */
    unsetenv("ABLATE_KERNELS");
    kweight w;
    float one = 1;
    T_CHECK(t, kweight_pack(&w, &one, 0, 1, &e) == ABL_E_SHAPE);
    kweight_free(&w);
    kweight_free(NULL);
}

/* Spans the API allows at the edges: a row that sees nothing (output zeros), a row that sees only
 * its prefix range, a row whose ranges touch. Every variant against the naive loops. */
void test_kernels_attention_edge_spans(tctx *t)
{
    int tk = 70, tt = 4, h = 4, hkv = 2, dh = 64;
    float *q = rand_buf((size_t)tt * h * dh, 2), *k = rand_buf((size_t)tk * hkv * dh, 2);
    float *v = rand_buf((size_t)tk * hkv * dh, 1), *on = malloc(sizeof(float) * tt * h * dh);
    float *o = malloc(sizeof(float) * tt * h * dh), *ws = ws_alloc(kern_ws_floats(1, 1, dh) * 2);
    k_span sp[4] = {{0, 0, 5, 5}, {3, 40, 0, 0}, {0, 33, 33, 70}, {69, 70, 0, 1}};
    unsigned char *vis = calloc((size_t)tt * tk, 1);
    for (int i = 0; i < tt; i++)
        for (int j = 0; j < tk; j++)
            vis[i * tk + j] = (j >= sp[i].a0 && j < sp[i].a1) || (j >= sp[i].b0 && j < sp[i].b1);
    naive_attention(on, q, k, v, vis, tt, tk, h, hkv, dh);
    for (int vi = 0; vi < KV_COUNT; vi++) {
        if (!kern_supported((kern_variant)vi))
            continue;
        abl_err e;
        kern_init(vnames[vi], &e);
        memset(o, 0xff, sizeof(float) * tt * h * dh); /* NaN: every output must be written */
        kpool *pool = kpool_create(2);
        k_attention(pool, o, q, k, v, sp, tt, h, hkv, dh, ws);
        kpool_free(pool);
        t_close_f32(t, vnames[vi], o, on, (size_t)tt * h * dh, 2e-6, 2e-5);
    }
    free(q), free(k), free(v), free(on), free(o), free(ws), free(vis);
}
