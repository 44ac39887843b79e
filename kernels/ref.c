/* kernels/ref.c - the scalar reference for every op: the oracle the SIMD variants are tested
 * against, and what ABLATE_KERNELS=ref runs. Plain loops, sums in double; never goes away. */
#include <math.h>
#include <string.h>

#include "kernels_int.h"

/* ---- shared helpers ------------------------------------------------------------------------ */

size_t kpack_panels_count(int n, int k, int nr)
{
    size_t panels = ((size_t)n + (size_t)nr - 1) / (size_t)nr;
    return panels * (size_t)nr * (size_t)k;
}

void kpack_panels(float *dst, const float *w, int n, int k, int nr)
{
    int panels = (n + nr - 1) / nr;
    for (int p = 0; p < panels; p++) {
        float *d = dst + (size_t)p * nr * k;
        for (int kk = 0; kk < k; kk++)
            for (int j = 0; j < nr; j++) {
                int row = p * nr + j;
                d[(size_t)kk * nr + j] = row < n ? w[(size_t)row * k + kk] : 0.0f;
            }
    }
}

void kern_split(int n, int unit, int ith, int nth, int *lo, int *hi)
{
    int units = (n + unit - 1) / unit;
    int a = (int)((long long)units * ith / nth), b = (int)((long long)units * (ith + 1) / nth);
    *lo = a * unit < n ? a * unit : n;
    *hi = b * unit < n ? b * unit : n;
}

/* ---- sgemm: W kept row-major (N, K) -------------------------------------------------------- */

static size_t k_pack_count_ref(int n, int k) { return (size_t)n * (size_t)k; }

static void k_pack_f32_ref(float *dst, const float *w, int n, int k)
{
    memcpy(dst, w, sizeof(float) * (size_t)n * (size_t)k);
}

static size_t k_sgemm_ws_ref(int m, int k)
{
    (void)m;
    (void)k;
    return 0;
}

/* y (M,N) = x (M,K) . W^T; output features [n_lo, n_hi) for this (ith, nth). */
static void k_sgemm_f32_ref(float *y, const float *x, const kweight *w, int m, int accumulate,
                            float *ws, int ith, int nth)
{
    (void)ws;
    ABL_ASSERT(w->variant == KV_REF);
    int n = w->n, k = w->k, lo, hi;
    kern_split(n, 1, ith, nth, &lo, &hi);
    for (int i = 0; i < m; i++) {
        const float *xr = x + (size_t)i * k;
        for (int j = lo; j < hi; j++) {
            const float *wr = w->data + (size_t)j * k;
            double s = 0;
            for (int kk = 0; kk < k; kk++)
                s += (double)xr[kk] * (double)wr[kk];
            float *yy = y + (size_t)i * n + j;
            *yy = accumulate ? (float)(*yy + s) : (float)s;
        }
    }
}

/* ---- elementwise and row ops --------------------------------------------------------------- */

static void k_rmsnorm_f32_ref(float *y, const float *x, const float *g, int m, int d, float eps)
{
    for (int i = 0; i < m; i++) {
        const float *xr = x + (size_t)i * d;
        float *yr = y + (size_t)i * d;
        double ss = 0;
        for (int j = 0; j < d; j++)
            ss += (double)xr[j] * xr[j];
        float inv = (float)(1.0 / sqrt(ss / d + eps));
        for (int j = 0; j < d; j++)
            yr[j] = xr[j] * inv * g[j];
    }
}


static void k_swiglu_f32_ref(float *out, const float *gate, const float *up, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

static void k_add_f32_ref(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += x[i];
}

static double k_logsumexp_f32_ref(const float *x, int n)
{
    if (n <= 0)
        return -INFINITY;
    float mx = x[0];
    for (int i = 1; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    if (isinf(mx))
        return mx;
    double s = 0;
    for (int i = 0; i < n; i++)
        s += exp((double)x[i] - mx);
    return mx + log(s);
}

static void k_dot3_f32_ref(const float *a, const float *b, int n, double sums[3])
{
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    sums[0] = ab;
    sums[1] = aa;
    sums[2] = bb;
}

static void k_layernorm_f32_ref(float *y, const float *x, const float *g, const float *b, int m,
                                int d, float eps)
{
    for (int i = 0; i < m; i++) {
        const float *xr = x + (size_t)i * d;
        float *yr = y + (size_t)i * d;
        double mean = 0, var = 0;
        for (int j = 0; j < d; j++)
            mean += xr[j];
        mean /= d;
        for (int j = 0; j < d; j++)
            var += ((double)xr[j] - mean) * ((double)xr[j] - mean);
        double inv = 1.0 / sqrt(var / d + eps);
        for (int j = 0; j < d; j++) {
            double v = ((double)xr[j] - mean) * inv;
            yr[j] = (float)((g ? v * g[j] : v) + (b ? b[j] : 0.0));
        }
    }
}

static void k_gelu_f32_ref(float *out, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (float)(0.5 * x[i] * (1.0 + erf(x[i] * M_SQRT1_2)));
}

static void k_rope_part_f32_ref(float *x, int t, int nh, int dh, int rot, const int32_t *pos,
                                const float *cos_t, const float *sin_t)
{
    int half = rot / 2;
    for (int i = 0; i < t; i++) {
        const float *c = cos_t + (size_t)pos[i] * half, *s = sin_t + (size_t)pos[i] * half;
        for (int hh = 0; hh < nh; hh++) {
            float *xr = x + ((size_t)i * nh + hh) * dh;
            for (int j = 0; j < half; j++) {
                float x0 = xr[j], x1 = xr[j + half];
                xr[j] = x0 * c[j] - x1 * s[j];
                xr[j + half] = x1 * c[j] + x0 * s[j];
            }
        }
    }
}

/* Full rotary: every dimension of each head rotated (the partial kernel with rot = dh). */
static void k_rope_f32_ref(float *x, int t, int nh, int dh, const int32_t *pos, const float *cos_t,
                           const float *sin_t)
{
    k_rope_part_f32_ref(x, t, nh, dh, dh, pos, cos_t, sin_t);
}

static void k_clamp_f32_ref(float *x, size_t n, float c)
{
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] > c ? c : x[i] < -c ? -c : x[i];
}

/* ---- peak probes (bench only) ---------------------------------------------------------------- */

static double ref_fma_probe(long iters)
{
    float a[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    volatile float mul = 0.999999f, add = 1e-7f;
    float m = mul, c = add;
    for (long i = 0; i < iters; i++)
        for (int j = 0; j < 8; j++)
            a[j] = a[j] * m + c;
    volatile float sink = a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
    (void)sink;
    return (double)iters * 8 * 2;
}

static float ref_read_probe(const float *x, size_t n)
{
    float s[4] = {0, 0, 0, 0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++)
            s[j] += x[i + j];
    for (; i < n; i++)
        s[0] += x[i];
    return s[0] + s[1] + s[2] + s[3];
}

/* ---- attention ----------------------------------------------------------------------------- */

static double ref_score(const float *q, const float *k, int dh)
{
    double s = 0;
    for (int j = 0; j < dh; j++)
        s += (double)q[j] * k[j];
    return s;
}

/* Two passes over the visible keys (max, then exp-weighted sum), so no score buffer at all.
 * ws: dh floats (unused beyond that). A query with no visible key gets zeros. */
void k_attention_heads_ref(float *out, const float *q, const float *k, const float *v,
                           const k_span *span, int h, int hkv, int dh, int q_lo, int q_hi,
                           int h_lo, int h_hi, float *ws)
{
    (void)ws;
    ABL_ASSERT(dh <= 512 && hkv > 0 && h % hkv == 0);
    int group = h / hkv;
    double scale = 1.0 / sqrt((double)dh), acc[512];
    size_t qs = (size_t)h * dh, ks = (size_t)hkv * dh;
    for (int i = q_lo; i < q_hi; i++) {
        int r[2][2] = {{span[i].a0, span[i].a1}, {span[i].b0, span[i].b1}};
        for (int hh = h_lo; hh < h_hi; hh++) {
            const float *qr = q + i * qs + (size_t)hh * dh;
            size_t ko = (size_t)(hh / group) * dh;
            double mx = -INFINITY, sum = 0;
            for (int p = 0; p < 2; p++)
                for (int j = r[p][0]; j < r[p][1]; j++) {
                    double s = ref_score(qr, k + j * ks + ko, dh) * scale;
                    mx = s > mx ? s : mx;
                }
            for (int d = 0; d < dh; d++)
                acc[d] = 0;
            for (int p = 0; p < 2; p++)
                for (int j = r[p][0]; j < r[p][1]; j++) {
                    double e = exp(ref_score(qr, k + j * ks + ko, dh) * scale - mx);
                    const float *vr = v + j * ks + ko;
                    sum += e;
                    for (int d = 0; d < dh; d++)
                        acc[d] += e * vr[d];
                }
            float *o = out + i * qs + (size_t)hh * dh;
            for (int d = 0; d < dh; d++)
                o[d] = sum > 0 ? (float)(acc[d] / sum) : 0.0f;
        }
    }
}

static void k_attention_f32_ref(float *out, const float *q, const float *k, const float *v,
                                const k_span *span, int h, int hkv, int dh, int q_lo, int q_hi,
                                float *ws)
{
    k_attention_heads_ref(out, q, k, v, span, h, hkv, dh, q_lo, q_hi, 0, h, ws);
}

void kern_fill_ref(kern_table *t)
{
    t->name = "ref";
    t->variant = KV_REF;
    t->pack_count = k_pack_count_ref;
    t->pack = k_pack_f32_ref;
    t->sgemm = k_sgemm_f32_ref;
    t->sgemm_ws_floats = k_sgemm_ws_ref;
    t->rmsnorm = k_rmsnorm_f32_ref;
    t->rope = k_rope_f32_ref;
    t->swiglu = k_swiglu_f32_ref;
    t->add = k_add_f32_ref;
    t->attention = k_attention_f32_ref;
    t->logsumexp = k_logsumexp_f32_ref;
    t->dot3 = k_dot3_f32_ref;
    t->attention_heads = k_attention_heads_ref;
    t->fma_probe = ref_fma_probe;
    t->read_probe = ref_read_probe;
    t->layernorm = k_layernorm_f32_ref;
    t->gelu = k_gelu_f32_ref;
    t->rope_part = k_rope_part_f32_ref;
    t->clamp = k_clamp_f32_ref;
}

/* The table starts out as the reference, usable before kern_init. */
kern_table kern = {
    .name = "ref",
    .variant = KV_REF,
    .pack_count = k_pack_count_ref,
    .pack = k_pack_f32_ref,
    .sgemm = k_sgemm_f32_ref,
    .sgemm_ws_floats = k_sgemm_ws_ref,
    .rmsnorm = k_rmsnorm_f32_ref,
    .rope = k_rope_f32_ref,
    .swiglu = k_swiglu_f32_ref,
    .add = k_add_f32_ref,
    .attention = k_attention_f32_ref,
    .logsumexp = k_logsumexp_f32_ref,
    .dot3 = k_dot3_f32_ref,
    .attention_heads = k_attention_heads_ref,
    .fma_probe = ref_fma_probe,
    .read_probe = ref_read_probe,
    .layernorm = k_layernorm_f32_ref,
    .gelu = k_gelu_f32_ref,
    .rope_part = k_rope_part_f32_ref,
    .clamp = k_clamp_f32_ref,
};
