/* tests/test_cuda.c - every CUDA op (kernels_cuda.h) against the CPU reference kernels by
 * relative error. Without a CUDA build or without a GPU each test is skipped with the reason. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/kernels.h"
#include "../kernels_cuda/kernels_cuda.h"
#include "t.h"
#include "test_model_util.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static unsigned long long rng = 0x2545f4914f6cdd1dull;

static float frand(void) /* uniform in [-1, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0);
}

static float *rand_buf(size_t n, float scale)
{
    float *p = malloc((n ? n : 1) * sizeof(float));
    ABL_ASSERT(p);
    for (size_t i = 0; i < n; i++)
        p[i] = frand() * scale;
    return p;
}

/* Device buffers of one test, freed together. */
typedef struct {
    void *p[32];
    int n;
} devs;

static void devs_free(devs *d)
{
    for (int i = 0; i < d->n; i++)
        kc_free(d->p[i]);
    d->n = 0;
}

/* A device buffer of `bytes`, filled from host h when h != NULL. NULL (and a failure) on error. */
static void *dev(tctx *t, devs *d, const void *h, size_t bytes)
{
    void *p = NULL;
    abl_err e = {0};
    ABL_ASSERT(d->n < (int)ABL_ARRAY_LEN(d->p));
    if (kc_malloc(&p, bytes ? bytes : 4, &e) != ABL_OK || (h && kc_upload(p, h, bytes, &e))) {
        t_fail(t, "device buffer of %zu bytes: %s", bytes, e.msg);
        kc_free(p);
        return NULL;
    }
    d->p[d->n++] = p;
    return p;
}

static int ok(tctx *t, abl_status s, const abl_err *e, const char *what)
{
    if (s != ABL_OK)
        t_fail(t, "%s: %s", what, e->msg);
    return s == ABL_OK;
}

/* Waits for the device and copies bytes back to host h. */
static int fetch(tctx *t, void *h, const void *d, size_t bytes)
{
    abl_err e = {0};
    abl_status s = kc_sync(&e);
    if (s == ABL_OK)
        s = kc_download(h, d, bytes, &e);
    return ok(t, s, &e, "download");
}

/* Initialise the GPU and the reference CPU table; skip the test (with the reason) when there is
 * no CUDA backend or no device. */
static int need_gpu(tctx *t)
{
    abl_err e = {0};
    if (kc_init(0, &e) != ABL_OK) {
        t_skip(t, e.msg);
        return 0;
    }
    abl_err e2 = {0};
    if (kern_init("ref", &e2) != ABL_OK) {
        t_fail(t, "kern_init(ref): %s", e2.msg);
        return 0;
    }
    char desc[256];
    kc_device_desc(desc, sizeof desc);
    t_note(t, "device: %s", desc);
    return 1;
}

/* |got - want| <= tol * (max|want| + |want|) elementwise: relative to the output's scale. */
static int close_rel(tctx *t, const char *what, const float *got, const float *want, size_t n,
                     double tol)
{
    double mx = 0;
    for (size_t i = 0; i < n; i++)
        mx = fabs(want[i]) > mx ? fabs(want[i]) : mx;
    return t_close_f32(t, what, got, want, n, tol * (mx > 0 ? mx : 1.0), tol);
}

/* ---- the error path (runs everywhere) ------------------------------------------------------ */

void test_cuda_unavailable_is_clear_error(tctx *t)
{
    abl_err e = {0};
    abl_status s = kc_init(0, &e);
    if (cuda_available()) {
        T_CHECK(t, s == ABL_OK);
        t_note(t, "a CUDA device is present: kc_init succeeded");
        return;
    }
    T_CHECK(t, s == ABL_E_DEVICE);
    T_CHECK(t, strstr(e.msg, "no CUDA backend") || strstr(e.msg, "no CUDA device found"));
    t_note(t, "kc_init: %s", e.msg);
    /* Nothing else runs before a successful kc_init, and nothing crashes. */
    void *p = (void *)&e;
    abl_err e2 = {0};
    T_CHECK(t, kc_malloc(&p, 64, &e2) == ABL_E_DEVICE && p == NULL);
    T_CHECK(t, kc_sgemm_f32(NULL, NULL, NULL, 1, 1, 1, 0, &e2) == ABL_E_DEVICE);
    T_CHECK(t, kc_sync(NULL) == ABL_E_DEVICE);
    kc_free(NULL);
}

/* ---- sgemm --------------------------------------------------------------------------------- */

/* Y = X . W^T on the device (tf32: tensor-core path) against the reference, with and without
 * accumulate, for shapes that hit both tile sizes and every edge. */
static void sgemm_case(tctx *t, int m, int n, int k, int tf32, double tol)
{
    devs d = {0};
    float *x = rand_buf((size_t)m * k, 1.0f), *w = rand_buf((size_t)n * k, 1.0f);
    float *y0 = rand_buf((size_t)m * n, 1.0f); /* initial Y for accumulate */
    float *want = malloc((size_t)m * n * sizeof(float)), *got = malloc((size_t)m * n * sizeof(float));
    kweight kw;
    abl_err e = {0};
    ABL_ASSERT(want && got && kweight_pack(&kw, w, n, k, &e) == ABL_OK);
    float *dx = dev(t, &d, x, (size_t)m * k * 4), *dw = dev(t, &d, w, (size_t)n * k * 4);
    float *dy = dev(t, &d, y0, (size_t)m * n * 4);
    char what[96];
    for (int acc = 0; acc < 2 && dx && dw && dy && !t_failed(t); acc++) {
        memcpy(want, y0, (size_t)m * n * sizeof(float));
        kern.sgemm(want, x, &kw, m, acc, NULL, 0, 1);
        abl_status s = tf32 ? kc_sgemm_tf32(dy, dx, dw, m, n, k, acc, &e)
                            : kc_sgemm_f32(dy, dx, dw, m, n, k, acc, &e);
        if (!ok(t, s, &e, "sgemm") || !fetch(t, got, dy, (size_t)m * n * 4))
            break;
        snprintf(what, sizeof what, "%s M=%d N=%d K=%d acc=%d", tf32 ? "tf32" : "f32", m, n, k,
                 acc);
        close_rel(t, what, got, want, (size_t)m * n, tol);
        /* the next round accumulates onto y0 again */
        abl_err e2 = {0};
        ok(t, kc_upload(dy, y0, (size_t)m * n * 4, &e2), &e2, "upload");
    }
    kweight_free(&kw);
    free(x), free(w), free(y0), free(want), free(got);
    devs_free(&d);
}

static const int gemm_shapes[][3] = {
    {1, 576, 576}, {3, 7, 5}, {2, 1, 1}, {7, 192, 576}, {65, 1536, 576}, {130, 576, 1536},
    {129, 129, 63}, {300, 577, 65}, {17, 49152, 64}, {1030, 2310, 37}, {512, 576, 576},
};

void test_cuda_sgemm_f32(tctx *t)
{
    if (!need_gpu(t))
        return;
    for (size_t i = 0; i < ABL_ARRAY_LEN(gemm_shapes) && !t_failed(t); i++)
        sgemm_case(t, gemm_shapes[i][0], gemm_shapes[i][1], gemm_shapes[i][2], 0, 1e-5);
}

void test_cuda_sgemm_tf32(tctx *t)
{
    if (!need_gpu(t))
        return;
    for (size_t i = 0; i < ABL_ARRAY_LEN(gemm_shapes) && !t_failed(t); i++)
        sgemm_case(t, gemm_shapes[i][0], gemm_shapes[i][1], gemm_shapes[i][2], 1, 3e-3);
}

/* Every tile shape of both kernels, in one K slice and split along K (three slices and the
 * deterministic sum), at ragged shapes; odd K takes the scalar-load path, K % 4 == 0 the
 * 16-byte one. */
void test_cuda_sgemm_tiles(tctx *t)
{
    if (!need_gpu(t))
        return;
    static const int shapes[][3] = {{70, 130, 100}, {33, 72, 37}};
    static const int splits[] = {1, 3};
    for (int tf32 = 0; tf32 < 2; tf32++)
        for (int tile = 0; tile < (tf32 ? 2 : 4); tile++)
            for (size_t s = 0; s < ABL_ARRAY_LEN(splits); s++)
                for (size_t i = 0; i < ABL_ARRAY_LEN(shapes) && !t_failed(t); i++) {
                    kc_sgemm_force(tile, splits[s]);
                    sgemm_case(t, shapes[i][0], shapes[i][1], shapes[i][2], tf32,
                               tf32 ? 3e-3 : 1e-5);
                }
    kc_sgemm_force(-1, 0);
}

/* kc_matmul follows kc_set_tf32, and F32 is the default. */
void test_cuda_matmul_switch(tctx *t)
{
    if (!need_gpu(t))
        return;
    T_CHECK(t, kc_tf32() == 0);
    kc_set_tf32(1);
    T_CHECK(t, kc_tf32() == 1);
    kc_set_tf32(0);
    int m = 33, n = 70, k = 300;
    devs d = {0};
    float *x = rand_buf((size_t)m * k, 1.0f), *w = rand_buf((size_t)n * k, 1.0f);
    float *a = malloc((size_t)m * n * 4), *b = malloc((size_t)m * n * 4);
    float *dx = dev(t, &d, x, (size_t)m * k * 4), *dw = dev(t, &d, w, (size_t)n * k * 4);
    float *dy = dev(t, &d, NULL, (size_t)m * n * 4), *dz = dev(t, &d, NULL, (size_t)m * n * 4);
    abl_err e = {0};
    if (dx && dw && dy && dz && ok(t, kc_matmul(dy, dx, dw, m, n, k, 0, &e), &e, "matmul") &&
        ok(t, kc_sgemm_f32(dz, dx, dw, m, n, k, 0, &e), &e, "sgemm_f32") &&
        fetch(t, a, dy, (size_t)m * n * 4) && fetch(t, b, dz, (size_t)m * n * 4))
        T_CHECK(t, memcmp(a, b, (size_t)m * n * 4) == 0);
    /* overlapping output is refused, M = 0 is a no-op */
    T_CHECK(t, kc_sgemm_f32(dx, dx, dw, m, n, k, 0, &e) == ABL_E_ARG);
    T_CHECK(t, kc_sgemm_f32(dy, dx, dw, 0, n, k, 0, &e) == ABL_OK);
    free(x), free(w), free(a), free(b);
    devs_free(&d);
}

/* ---- row and elementwise ops --------------------------------------------------------------- */

void test_cuda_rmsnorm(tctx *t)
{
    if (!need_gpu(t))
        return;
    static const int shapes[][2] = {{1, 576}, {5, 7}, {33, 1000}, {2, 1}, {300, 576}};
    for (size_t c = 0; c < ABL_ARRAY_LEN(shapes) && !t_failed(t); c++) {
        int m = shapes[c][0], dd = shapes[c][1];
        size_t n = (size_t)m * dd;
        devs d = {0};
        float *x = rand_buf(n, 3.0f), *g = rand_buf((size_t)dd, 1.0f);
        float *want = malloc(n * 4), *got = malloc(n * 4);
        kern.rmsnorm(want, x, g, m, dd, 1e-5f);
        float *dx = dev(t, &d, x, n * 4), *dg = dev(t, &d, g, (size_t)dd * 4);
        float *dy = dev(t, &d, NULL, n * 4);
        abl_err e = {0};
        char what[64];
        snprintf(what, sizeof what, "rmsnorm %dx%d", m, dd);
        if (dx && dg && dy && ok(t, kc_rmsnorm(dy, dx, dg, m, dd, 1e-5f, &e), &e, what) &&
            fetch(t, got, dy, n * 4))
            close_rel(t, what, got, want, n, 1e-5);
        snprintf(what, sizeof what, "rmsnorm in place %dx%d", m, dd);
        if (dx && dg && ok(t, kc_rmsnorm(dx, dx, dg, m, dd, 1e-5f, &e), &e, what) &&
            fetch(t, got, dx, n * 4))
            close_rel(t, what, got, want, n, 1e-5);
        free(x), free(g), free(want), free(got);
        devs_free(&d);
    }
}

void test_cuda_rope(tctx *t)
{
    if (!need_gpu(t))
        return;
    static const int shapes[][3] = {{9, 9, 64}, {5, 3, 64}, {4, 2, 8}, {70, 4, 128}, {3, 1, 2}};
    for (size_t c = 0; c < ABL_ARRAY_LEN(shapes) && !t_failed(t); c++) {
        int tt = shapes[c][0], nh = shapes[c][1], dh = shapes[c][2], half = dh / 2, maxp = 300;
        size_t n = (size_t)tt * nh * dh;
        float *ct = malloc((size_t)maxp * half * 4), *st = malloc((size_t)maxp * half * 4);
        for (int p = 0; p < maxp; p++)
            for (int i = 0; i < half; i++) {
                double a = p * pow(100000.0, -2.0 * i / dh);
                ct[p * half + i] = (float)cos(a);
                st[p * half + i] = (float)sin(a);
            }
        int32_t *pos = malloc((size_t)tt * sizeof(int32_t));
        for (int i = 0; i < tt; i++)
            pos[i] = (i * 37 + 5) % maxp;
        devs d = {0};
        float *x = rand_buf(n, 2.0f), *want = malloc(n * 4), *got = malloc(n * 4);
        memcpy(want, x, n * 4);
        kern.rope(want, tt, nh, dh, pos, ct, st);
        float *dx = dev(t, &d, x, n * 4), *dc = dev(t, &d, ct, (size_t)maxp * half * 4);
        float *ds = dev(t, &d, st, (size_t)maxp * half * 4);
        int32_t *dp = dev(t, &d, pos, (size_t)tt * 4);
        abl_err e = {0};
        char what[64];
        snprintf(what, sizeof what, "rope T=%d heads=%d Dh=%d", tt, nh, dh);
        if (dx && dc && ds && dp && ok(t, kc_rope(dx, tt, nh, dh, dp, dc, ds, &e), &e, what) &&
            fetch(t, got, dx, n * 4))
            close_rel(t, what, got, want, n, 1e-6);
        free(ct), free(st), free(pos), free(x), free(want), free(got);
        devs_free(&d);
    }
}

void test_cuda_swiglu_add(tctx *t)
{
    if (!need_gpu(t))
        return;
    static const size_t sizes[] = {1, 7, 1536 * 3, 100003};
    for (size_t c = 0; c < ABL_ARRAY_LEN(sizes) && !t_failed(t); c++) {
        size_t n = sizes[c];
        devs d = {0};
        float *g = rand_buf(n, 6.0f), *u = rand_buf(n, 2.0f);
        float *want = malloc(n * 4), *got = malloc(n * 4);
        float *dg = dev(t, &d, g, n * 4), *du = dev(t, &d, u, n * 4), *dout = dev(t, &d, NULL, n * 4);
        abl_err e = {0};
        char what[64];
        kern.swiglu(want, g, u, n);
        snprintf(what, sizeof what, "swiglu n=%zu", n);
        if (dg && du && dout && ok(t, kc_swiglu(dout, dg, du, n, &e), &e, what) &&
            fetch(t, got, dout, n * 4))
            close_rel(t, what, got, want, n, 1e-6);
        /* in place over gate, as the engine calls it */
        if (dg && du && ok(t, kc_swiglu(dg, dg, du, n, &e), &e, what) && fetch(t, got, dg, n * 4))
            close_rel(t, "swiglu in place", got, want, n, 1e-6);
        memcpy(want, u, n * 4);
        kern.add(want, g, n);
        if (du && dout && ok(t, kc_upload(dout, g, n * 4, &e), &e, "upload") &&
            ok(t, kc_add(du, dout, n, &e), &e, "add") && fetch(t, got, du, n * 4))
            T_CHECK(t, memcmp(got, want, n * 4) == 0);
        free(g), free(u), free(want), free(got);
        devs_free(&d);
    }
}

void test_cuda_embed_gather(tctx *t)
{
    if (!need_gpu(t))
        return;
    int V = 100, D = 576, T = 37;
    devs d = {0};
    float *emb = rand_buf((size_t)V * D, 1.0f);
    float *want = malloc((size_t)T * D * 4), *got = malloc((size_t)T * D * 4);
    int32_t ids[37];
    for (int i = 0; i < T; i++)
        ids[i] = (i * 53 + 11) % V;
    for (int i = 0; i < T; i++)
        memcpy(want + (size_t)i * D, emb + (size_t)ids[i] * D, (size_t)D * 4);
    float *de = dev(t, &d, emb, (size_t)V * D * 4), *dx = dev(t, &d, NULL, (size_t)T * D * 4);
    int32_t *di = dev(t, &d, ids, sizeof ids);
    abl_err e = {0};
    if (de && dx && di && ok(t, kc_embed(dx, de, di, T, D, &e), &e, "embed") &&
        fetch(t, got, dx, (size_t)T * D * 4))
        T_CHECK(t, memcmp(got, want, (size_t)T * D * 4) == 0);
    if (de && dx && di && ok(t, kc_gather_rows(dx, de, di, 5, D, &e), &e, "gather") &&
        fetch(t, got, dx, (size_t)5 * D * 4))
        T_CHECK(t, memcmp(got, want, (size_t)5 * D * 4) == 0);
    free(emb), free(want), free(got);
    devs_free(&d);
}

void test_cuda_logsoftmax_gather(tctx *t)
{
    if (!need_gpu(t))
        return;
    static const int shapes[][2] = {{5, 49152}, {3, 7}, {64, 1000}, {1, 1}};
    for (size_t c = 0; c < ABL_ARRAY_LEN(shapes) && !t_failed(t); c++) {
        int rows = shapes[c][0], v = shapes[c][1];
        size_t n = (size_t)rows * v;
        devs d = {0};
        float *x = rand_buf(n, 8.0f), want[64], got[64];
        int32_t tgt[64];
        uint8_t top_want[64], top_got[64];
        for (int r = 0; r < rows; r++) {
            const float *row = x + (size_t)r * v;
            int am = 0;
            for (int i = 1; i < v; i++)
                am = row[i] > row[am] ? i : am;
            tgt[r] = r % 2 ? am : (int32_t)((r * 7919 + 3) % v); /* odd rows: the argmax */
            want[r] = (float)((double)row[tgt[r]] - kern.logsumexp(row, v));
            top_want[r] = row[tgt[r]] >= row[am];
        }
        float *dx = dev(t, &d, x, n * 4), *dl = dev(t, &d, NULL, (size_t)rows * 4);
        int32_t *dt = dev(t, &d, tgt, (size_t)rows * 4);
        uint8_t *du = dev(t, &d, NULL, (size_t)rows);
        abl_err e = {0};
        char what[64];
        snprintf(what, sizeof what, "log-softmax %dx%d", rows, v);
        if (dx && dl && dt && du &&
            ok(t, kc_logsoftmax_gather(dl, du, dx, dt, rows, v, &e), &e, what) &&
            fetch(t, got, dl, (size_t)rows * 4) && fetch(t, top_got, du, (size_t)rows)) {
            t_close_f32(t, what, got, want, (size_t)rows, 2e-6, 1e-6);
            T_CHECK(t, memcmp(top_got, top_want, (size_t)rows) == 0);
        }
        free(x);
        devs_free(&d);
    }
}

void test_cuda_dot3(tctx *t)
{
    if (!need_gpu(t))
        return;
    static const int shapes[][2] = {{4, 576}, {1, 1}, {300, 7}, {2, 5000}};
    for (size_t c = 0; c < ABL_ARRAY_LEN(shapes) && !t_failed(t); c++) {
        int rows = shapes[c][0], dd = shapes[c][1];
        size_t n = (size_t)rows * dd;
        devs d = {0};
        float *a = rand_buf(n, 5.0f), *b = rand_buf(n, 5.0f);
        double *want = malloc((size_t)rows * 3 * sizeof(double));
        double *got = malloc((size_t)rows * 3 * sizeof(double));
        for (int r = 0; r < rows; r++)
            kern.dot3(a + (size_t)r * dd, b + (size_t)r * dd, dd, want + 3 * r);
        float *da = dev(t, &d, a, n * 4), *db = dev(t, &d, b, n * 4);
        double *ds = dev(t, &d, NULL, (size_t)rows * 3 * sizeof(double));
        abl_err e = {0};
        if (da && db && ds && ok(t, kc_dot3(ds, da, db, rows, dd, &e), &e, "dot3") &&
            fetch(t, got, ds, (size_t)rows * 3 * sizeof(double))) {
            double worst = 0;
            for (int i = 0; i < rows * 3; i++) {
                double r = fabs(got[i] - want[i]) / (fabs(want[i]) + 1e-300);
                worst = r > worst ? r : worst;
            }
            t_note(t, "dot3 %dx%d: max_rel_err=%.3g", rows, dd, worst);
            T_CHECK(t, worst < 1e-9);
        }
        free(a), free(b), free(want), free(got);
        devs_free(&d);
    }
}

/* ---- attention ----------------------------------------------------------------------------- */

/* Spans of a packed batch: a plain causal sequence, "prefix + branches" sequences, and one row
 * that sees nothing. Returns T. */
static int make_spans(k_span *sp, int cap)
{
    int T = 0;
    /* plain causal sequence of 40 */
    int s = T;
    for (int i = 0; i < 40; i++, T++)
        sp[T] = (k_span){0, 0, s, T + 1};
    /* prefix 20, branches 5, 9, 1 */
    static const int br1[] = {5, 9, 1};
    static const int br2[] = {70, 2};
    const int *brs[2] = {br1, br2};
    int nbr[2] = {3, 2}, pre[2] = {20, 3};
    for (int q = 0; q < 2; q++) {
        s = T;
        for (int i = 0; i < pre[q]; i++, T++)
            sp[T] = (k_span){0, 0, s, T + 1};
        for (int b = 0; b < nbr[q]; b++) {
            int bs = T;
            for (int j = 0; j < brs[q][b]; j++, T++)
                sp[T] = (k_span){s, s + pre[q], bs, T + 1};
        }
    }
    sp[T] = (k_span){0, 0, 0, 0}; /* sees nothing: zeros */
    T++;
    ABL_ASSERT(T <= cap);
    return T;
}

static void attention_case(tctx *t, const k_span *sp, int T, int h, int hkv, int dh)
{
    size_t nq = (size_t)T * h * dh, nk = (size_t)T * hkv * dh;
    devs d = {0};
    float *q = rand_buf(nq, 1.0f), *k = rand_buf(nk, 1.0f), *v = rand_buf(nk, 1.0f);
    float *want = malloc(nq * 4), *got = malloc(nq * 4);
    float *ws = malloc(kern_attn_ws_floats(dh) * sizeof(float) + 64);
    kern.attention(want, q, k, v, sp, h, hkv, dh, 0, T, ws);
    float *dq = dev(t, &d, q, nq * 4), *dk = dev(t, &d, k, nk * 4), *dv = dev(t, &d, v, nk * 4);
    float *dout = dev(t, &d, NULL, nq * 4);
    k_span *dsp = dev(t, &d, sp, (size_t)T * sizeof(k_span));
    abl_err e = {0};
    char what[96];
    snprintf(what, sizeof what, "attention T=%d H=%d Hkv=%d Dh=%d", T, h, hkv, dh);
    if (dq && dk && dv && dout && dsp &&
        ok(t, kc_attention(dout, dq, dk, dv, dsp, T, h, hkv, dh, &e), &e, what) &&
        fetch(t, got, dout, nq * 4))
        close_rel(t, what, got, want, nq, 2e-5);
    free(q), free(k), free(v), free(want), free(got), free(ws);
    devs_free(&d);
}

void test_cuda_attention_packed(tctx *t)
{
    if (!need_gpu(t))
        return;
    k_span sp[256];
    int T = make_spans(sp, 256);
    static const int heads[][3] = {{9, 3, 64}, {4, 4, 8}, {6, 2, 80}, {2, 1, 128}, {3, 3, 33}};
    for (size_t c = 0; c < ABL_ARRAY_LEN(heads) && !t_failed(t); c++)
        attention_case(t, sp, T, heads[c][0], heads[c][1], heads[c][2]);
}

void test_cuda_attention_long_causal(tctx *t)
{
    if (!need_gpu(t))
        return;
    int T = 600;
    k_span *sp = malloc((size_t)T * sizeof(k_span));
    for (int i = 0; i < T; i++)
        sp[i] = (k_span){0, 0, 0, i + 1};
    attention_case(t, sp, T, 9, 3, 64);
    free(sp);
}

void test_cuda_add_bias(tctx *t)
{
    if (!need_gpu(t))
        return;
    int rows = 7, n = 1537;
    devs d = {0};
    float *y = rand_buf((size_t)rows * n, 1.0f), *bias = rand_buf((size_t)n, 1.0f);
    float *want = malloc((size_t)rows * n * 4), *got = malloc((size_t)rows * n * 4);
    memcpy(want, y, (size_t)rows * n * 4);
    for (int r = 0; r < rows; r++)
        kern.add(want + (size_t)r * n, bias, (size_t)n);
    float *dy = dev(t, &d, y, (size_t)rows * n * 4), *db = dev(t, &d, bias, (size_t)n * 4);
    abl_err e = {0};
    if (dy && db && ok(t, kc_add_bias(dy, db, rows, n, &e), &e, "add_bias") &&
        fetch(t, got, dy, (size_t)rows * n * 4))
        T_CHECK(t, memcmp(got, want, (size_t)rows * n * 4) == 0);
    free(y), free(bias), free(want), free(got);
    devs_free(&d);
}

/* ---- the whole forward on the device against the CPU --------------------------------------- */

/* Per-row dot3(resid_pre, resid_post) of every block, computed on the host by hooks. */
typedef struct {
    int D;
    float *pre;     /* (T, D) */
    double *stats;  /* (L, T, 3) */
} stats_hook;

static void on_stats(void *user, int l, hook_point p, float *x, const fwd_batch *b)
{
    stats_hook *h = user;
    size_t n = (size_t)b->n_tok * h->D;
    if (p == HOOK_RESID_PRE)
        memcpy(h->pre, x, n * sizeof(float));
    else if (p == HOOK_RESID_POST)
        for (int r = 0; r < b->n_tok; r++)
            kern.dot3(h->pre + (size_t)r * h->D, x + (size_t)r * h->D, h->D,
                      h->stats + ((size_t)l * b->n_tok + r) * 3);
}

/* Zero the attention output of one block: a writing hook (equals skipping that attention). */
typedef struct {
    int layer, D;
} zero_at;

static void zero_attn(void *user, int layer, hook_point p, float *x, const fwd_batch *b)
{
    const zero_at *z = user;
    if (layer == z->layer && p == HOOK_ATTN_OUT)
        memset(x, 0, (size_t)b->n_tok * (size_t)z->D * sizeof(float));
}

/* Log-probs of plan on the CPU (m without backend) and on the GPU (after attach) within tol. */
static void forward_pair(tctx *t, model *m, fwd_batch *b, const run_plan *plan, const char *what,
                         double tol)
{
    backend *be = m->be;
    float *lp = malloc((size_t)b->n_score * sizeof(float));
    uint8_t *top = malloc((size_t)b->n_score);
    abl_err e = {0};
    m->be = &m->cpu; /* the CPU pass */
    abl_status s = model_forward(m, b, plan, &e);
    m->be = be;
    if (ok(t, s, &e, what)) {
        memcpy(lp, b->score_lp, (size_t)b->n_score * sizeof(float));
        memcpy(top, b->score_top1, (size_t)b->n_score);
        if (ok(t, model_forward(m, b, plan, &e), &e, what)) {
            t_close_f32(t, what, b->score_lp, lp, (size_t)b->n_score, tol, 0);
            int bad = 0;
            for (int i = 0; i < b->n_score; i++)
                bad += b->score_top1[i] != top[i];
            if (bad)
                t_note(t, "%s: %d of %d top-1 flags differ (near ties)", what, bad, b->n_score);
            T_CHECK(t, bad <= b->n_score / 50);
        }
    }
    free(lp);
    free(top);
}

static void check_device_forward(tctx *t, const char *dir, const char *golden_path, double tol)
{
    model *m = load(t, dir, 1);
    golden *g = m ? golden_load(t, golden_path, model_config(m)->d_model) : NULL;
    fwd_batch b;
    if (!g || !teacher_batch(g, &b)) {
        golden_free(g);
        model_free(m);
        return;
    }
    abl_err e = {0};
    if (model_cuda_attach(m, 0, &e) != ABL_OK) {
        t_fail(t, "model_cuda_attach: %s", e.msg);
    } else {
        const hf_config *c = model_config(m);
        int L = c->n_layers, D = c->d_model, T = b.n_tok;
        char dev_desc[256];
        kc_device_desc(dev_desc, sizeof dev_desc);
        t_note(t, "device: %s; T=%d, %d scored rows", dev_desc, T, b.n_score);
        forward_pair(t, m, &b, NULL, "plain forward", tol);
        uint8_t sa[64] = {0}, sm[64] = {0};
        ABL_ASSERT(L <= 64);
        sa[1 % L] = 1;
        sm[(L - 1) % L] = 1;
        run_plan skip = {.skip_attn = sa, .skip_mlp = sm};
        forward_pair(t, m, &b, &skip, "skip attn 1, mlp L-1", tol);
        /* resume from the CPU's resid_pre of block L/2 */
        float *res = malloc((size_t)T * D * sizeof(float));
        grab gr = {L / 2, HOOK_RESID_PRE, res, (size_t)T * D};
        run_plan pc = {.hook = grab_hook, .hook_user = &gr, .hook_mask = 1u << HOOK_RESID_PRE};
        backend *be = m->be;
        m->be = &m->cpu;
        T_CHECK(t, model_forward(m, &b, &pc, &e) == ABL_OK);
        m->be = be;
        run_plan pr = {.start_layer = L / 2, .resume = res};
        forward_pair(t, m, &b, &pr, "resume from block L/2", tol);
        /* a writing hook on the device equals a skip */
        zero_at zl = {L - 1, D};
        run_plan pz = {.hook = zero_attn, .hook_user = &zl, .hook_mask = 1u << HOOK_ATTN_OUT};
        forward_pair(t, m, &b, &pz, "hook zeroing attn_out", tol);
        /* top-k on the device against the CPU: the same ids (but near ties), log-probs close */
        enum { K = 5 };
        int32_t *ic = malloc((size_t)b.n_score * K * sizeof(int32_t));
        int32_t *ig = malloc((size_t)b.n_score * K * sizeof(int32_t));
        float *lc = malloc((size_t)b.n_score * K * sizeof(float));
        float *lg = malloc((size_t)b.n_score * K * sizeof(float));
        run_plan kc = {.topk = K, .topk_ids = ic, .topk_lp = lc};
        run_plan kg = {.topk = K, .topk_ids = ig, .topk_lp = lg};
        m->be = &m->cpu;
        T_CHECK(t, model_forward(m, &b, &kc, &e) == ABL_OK);
        m->be = be;
        if (ok(t, model_forward(m, &b, &kg, &e), &e, "top-k")) {
            int bad = 0;
            for (int i = 0; i < b.n_score * K; i++)
                bad += ic[i] != ig[i];
            t_close_f32(t, "top-k log-probs", lg, lc, (size_t)b.n_score * K, tol, 0);
            t_note(t, "top-%d: %d of %d ids differ (near ties)", K, bad, b.n_score * K);
            T_CHECK(t, bad <= b.n_score * K / 50);
        }
        free(ic), free(ig), free(lc), free(lg);
        /* statistics on the device against hooks on the host */
        double *st_cpu = calloc((size_t)L * T * 3, sizeof(double));
        double *st_gpu = calloc((size_t)L * T * 3, sizeof(double));
        float *pre = malloc((size_t)T * D * sizeof(float));
        stats_hook sh = {D, pre, st_cpu};
        run_plan ps = {.hook = on_stats, .hook_user = &sh,
                       .hook_mask = (1u << HOOK_RESID_PRE) | (1u << HOOK_RESID_POST)};
        m->be = &m->cpu;
        T_CHECK(t, model_forward(m, &b, &ps, &e) == ABL_OK);
        m->be = be;
        run_plan pg = {.block_stats = st_gpu};
        if (ok(t, model_forward(m, &b, &pg, &e), &e, "stats")) {
            double worst = 0;
            for (size_t i = 0; i < (size_t)L * T * 3; i++) {
                double r = fabs(st_gpu[i] - st_cpu[i]) / (fabs(st_cpu[i]) + 1e-12);
                worst = r > worst ? r : worst;
            }
            t_note(t, "block statistics: max_rel_err=%.3g", worst);
            T_CHECK(t, worst < 1e-3);
        }
        free(res), free(st_cpu), free(st_gpu), free(pre);
    }
    batch_free(&b);
    golden_free(g);
    model_free(m); /* detaches the device copy */
}

void test_cuda_forward_matches_cpu(tctx *t)
{
    if (!need_gpu(t))
        return;
    check_device_forward(t, TINY_DIR, "tests/golden/tiny_forward.txt", 1e-4);
    check_device_forward(t, TINY_QWEN_DIR, "tests/golden/tiny-qwen_forward.txt", 1e-4);
}

void mtest_cuda_forward_matches_cpu(tctx *t)
{
    if (!have_real_model(t) || !need_gpu(t))
        return;
    check_device_forward(t, REAL_DIR, "tests/golden/smollm2_forward.txt", 1e-3);
}
