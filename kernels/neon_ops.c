/* kernels/neon_ops.c - NEON versions of the row and elementwise ops (rmsnorm, rope, swiglu, add,
 * logsumexp, dot3 in double) and the peak probes. Same contracts as kernels/ref.c. */
#include <math.h>

#include "kernels_int.h"
#include "neon_math.h"

static void k_rmsnorm_f32_neon(float *y, const float *x, const float *g, int m, int d, float eps)
{
    for (int i = 0; i < m; i++) {
        const float *xr = x + (size_t)i * d;
        float *yr = y + (size_t)i * d;
        float64x2_t s0 = vdupq_n_f64(0), s1 = vdupq_n_f64(0);
        int j = 0;
        for (; j + 4 <= d; j += 4) {
            float32x4_t v = vld1q_f32(xr + j);
            float64x2_t lo = vcvt_f64_f32(vget_low_f32(v)), hi = vcvt_high_f64_f32(v);
            s0 = vfmaq_f64(s0, lo, lo);
            s1 = vfmaq_f64(s1, hi, hi);
        }
        double ss = vaddvq_f64(vaddq_f64(s0, s1));
        for (; j < d; j++)
            ss += (double)xr[j] * xr[j];
        float inv = (float)(1.0 / sqrt(ss / d + eps));
        for (j = 0; j + 4 <= d; j += 4)
            vst1q_f32(yr + j, vmulq_f32(vmulq_n_f32(vld1q_f32(xr + j), inv), vld1q_f32(g + j)));
        for (; j < d; j++)
            yr[j] = xr[j] * inv * g[j];
    }
}

static void k_rope_f32_neon(float *x, int t, int nh, int dh, const int32_t *pos, const float *cos_t,
                            const float *sin_t)
{
    int half = dh / 2;
    for (int i = 0; i < t; i++) {
        const float *c = cos_t + (size_t)pos[i] * half, *s = sin_t + (size_t)pos[i] * half;
        for (int hh = 0; hh < nh; hh++) {
            float *xr = x + ((size_t)i * nh + hh) * dh;
            int j = 0;
            for (; j + 4 <= half; j += 4) {
                float32x4_t x0 = vld1q_f32(xr + j), x1 = vld1q_f32(xr + j + half);
                float32x4_t vc = vld1q_f32(c + j), vs = vld1q_f32(s + j);
                vst1q_f32(xr + j, vfmsq_f32(vmulq_f32(x0, vc), x1, vs));
                vst1q_f32(xr + j + half, vfmaq_f32(vmulq_f32(x1, vc), x0, vs));
            }
            for (; j < half; j++) {
                float x0 = xr[j], x1 = xr[j + half];
                xr[j] = x0 * c[j] - x1 * s[j];
                xr[j + half] = x1 * c[j] + x0 * s[j];
            }
        }
    }
}

static void k_swiglu_f32_neon(float *out, const float *gate, const float *up, size_t n)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4_t g = vld1q_f32(gate + i), u = vld1q_f32(up + i);
        float32x4_t e = v4_exp(vnegq_f32(g));
        vst1q_f32(out + i, vmulq_f32(vdivq_f32(g, vaddq_f32(vdupq_n_f32(1.0f), e)), u));
    }
    for (; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

static void k_add_f32_neon(float *y, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vaddq_f32(vld1q_f32(y + i), vld1q_f32(x + i)));
    for (; i < n; i++)
        y[i] += x[i];
}

static double k_logsumexp_f32_neon(const float *x, int n)
{
    if (n <= 0)
        return -INFINITY;
    float32x4_t vm = vdupq_n_f32(-INFINITY);
    int i = 0;
    for (; i + 4 <= n; i += 4)
        vm = vmaxq_f32(vm, vld1q_f32(x + i));
    float mx = vmaxvq_f32(vm);
    for (; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    if (isinf(mx))
        return mx;
    float64x2_t s0 = vdupq_n_f64(0), s1 = vdupq_n_f64(0);
    for (i = 0; i + 4 <= n; i += 4) {
        float32x4_t e = v4_exp(vsubq_f32(vld1q_f32(x + i), vdupq_n_f32(mx)));
        s0 = vaddq_f64(s0, vcvt_f64_f32(vget_low_f32(e)));
        s1 = vaddq_f64(s1, vcvt_high_f64_f32(e));
    }
    double s = vaddvq_f64(vaddq_f64(s0, s1));
    for (; i < n; i++)
        s += exp((double)x[i] - mx);
    return mx + log(s);
}

static void k_dot3_f32_neon(const float *a, const float *b, int n, double sums[3])
{
    float64x2_t ab = vdupq_n_f64(0), aa = ab, bb = ab;
    int i = 0;
    for (; i + 2 <= n; i += 2) {
        float64x2_t va = vcvt_f64_f32(vld1_f32(a + i)), vb = vcvt_f64_f32(vld1_f32(b + i));
        ab = vfmaq_f64(ab, va, vb);
        aa = vfmaq_f64(aa, va, va);
        bb = vfmaq_f64(bb, vb, vb);
    }
    double s0 = vaddvq_f64(ab), s1 = vaddvq_f64(aa), s2 = vaddvq_f64(bb);
    for (; i < n; i++) {
        s0 += (double)a[i] * b[i];
        s1 += (double)a[i] * a[i];
        s2 += (double)b[i] * b[i];
    }
    sums[0] = s0;
    sums[1] = s1;
    sums[2] = s2;
}

static void k_attention_f32_neon(float *out, const float *q, const float *k, const float *v,
                                 const k_span *span, int h, int hkv, int dh, int q_lo, int q_hi,
                                 float *ws)
{
    k_attention_heads_neon(out, q, k, v, span, h, hkv, dh, q_lo, q_hi, 0, h, ws);
}

/* Sixteen independent q-register FMA chains. */
static double neon_fma_probe(long iters)
{
    float32x4_t a[16];
    const float32x4_t m = vdupq_n_f32(0.999999f), c = vdupq_n_f32(1e-7f);
    for (int j = 0; j < 16; j++)
        a[j] = vdupq_n_f32((float)j);
    for (long i = 0; i < iters; i++) {
#pragma GCC unroll 16
        for (int j = 0; j < 16; j++)
            a[j] = vfmaq_f32(c, a[j], m);
    }
    float32x4_t s = a[0];
    for (int j = 1; j < 16; j++)
        s = vaddq_f32(s, a[j]);
    volatile float sink = vaddvq_f32(s);
    (void)sink;
    return (double)iters * 16 * 4 * 2;
}

static float neon_read_probe(const float *x, size_t n)
{
    float32x4_t s0 = vdupq_n_f32(0), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = vaddq_f32(s0, vld1q_f32(x + i));
        s1 = vaddq_f32(s1, vld1q_f32(x + i + 4));
        s2 = vaddq_f32(s2, vld1q_f32(x + i + 8));
        s3 = vaddq_f32(s3, vld1q_f32(x + i + 12));
    }
    float s = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
    for (; i < n; i++)
        s += x[i];
    return s;
}

/* Called by kern_fill_neon (kernels/neon_gemm.c): every op except sgemm. */
void kern_neon_ops(kern_table *t)
{
    t->rmsnorm = k_rmsnorm_f32_neon;
    t->rope = k_rope_f32_neon;
    t->swiglu = k_swiglu_f32_neon;
    t->add = k_add_f32_neon;
    t->logsumexp = k_logsumexp_f32_neon;
    t->dot3 = k_dot3_f32_neon;
    t->attention = k_attention_f32_neon;
    t->attention_heads = k_attention_heads_neon;
    t->fma_probe = neon_fma_probe;
    t->read_probe = neon_read_probe;
}
