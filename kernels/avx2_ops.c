/* kernels/avx2_ops.c - AVX2+FMA versions of the row and elementwise ops: rmsnorm, rope, swiglu,
 * add, logsumexp, dot3 (double sums). Same contracts as the reference in kernels/ref.c. */
#include <math.h>

#include "avx2_math.h"
#include "kernels_int.h"

static void k_rmsnorm_f32_avx2(float *y, const float *x, const float *g, int m, int d, float eps)
{
    for (int i = 0; i < m; i++) {
        const float *xr = x + (size_t)i * d;
        float *yr = y + (size_t)i * d;
        __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
        int j = 0;
        for (; j + 8 <= d; j += 8) {
            __m256 v = _mm256_loadu_ps(xr + j);
            __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
            __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
            s0 = _mm256_fmadd_pd(lo, lo, s0);
            s1 = _mm256_fmadd_pd(hi, hi, s1);
        }
        double ss = v4d_hsum(_mm256_add_pd(s0, s1));
        for (; j < d; j++)
            ss += (double)xr[j] * xr[j];
        float inv = (float)(1.0 / sqrt(ss / d + eps));
        __m256 vi = _mm256_set1_ps(inv);
        for (j = 0; j + 8 <= d; j += 8)
            _mm256_storeu_ps(yr + j, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(xr + j), vi),
                                                   _mm256_loadu_ps(g + j)));
        for (; j < d; j++)
            yr[j] = xr[j] * inv * g[j];
    }
}

static void k_rope_f32_avx2(float *x, int t, int nh, int dh, const int32_t *pos, const float *cos_t,
                            const float *sin_t)
{
    int half = dh / 2;
    for (int i = 0; i < t; i++) {
        const float *c = cos_t + (size_t)pos[i] * half, *s = sin_t + (size_t)pos[i] * half;
        for (int hh = 0; hh < nh; hh++) {
            float *xr = x + ((size_t)i * nh + hh) * dh;
            int j = 0;
            for (; j + 8 <= half; j += 8) {
                __m256 x0 = _mm256_loadu_ps(xr + j), x1 = _mm256_loadu_ps(xr + j + half);
                __m256 vc = _mm256_loadu_ps(c + j), vs = _mm256_loadu_ps(s + j);
                _mm256_storeu_ps(xr + j, _mm256_fmsub_ps(x0, vc, _mm256_mul_ps(x1, vs)));
                _mm256_storeu_ps(xr + j + half, _mm256_fmadd_ps(x1, vc, _mm256_mul_ps(x0, vs)));
            }
            for (; j < half; j++) {
                float x0 = xr[j], x1 = xr[j + half];
                xr[j] = x0 * c[j] - x1 * s[j];
                xr[j + half] = x1 * c[j] + x0 * s[j];
            }
        }
    }
}

static void k_swiglu_f32_avx2(float *out, const float *gate, const float *up, size_t n)
{
    size_t i = 0;
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    for (; i + 8 <= n; i += 8) {
        __m256 g = _mm256_loadu_ps(gate + i), u = _mm256_loadu_ps(up + i);
        __m256 e = v8_exp(_mm256_sub_ps(zero, g));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), u));
    }
    for (; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

static void k_add_f32_avx2(float *y, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_loadu_ps(x + i)));
    for (; i < n; i++)
        y[i] += x[i];
}

static double k_logsumexp_f32_avx2(const float *x, int n)
{
    if (n <= 0)
        return -INFINITY;
    __m256 vm = _mm256_set1_ps(-INFINITY);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        vm = _mm256_max_ps(vm, _mm256_loadu_ps(x + i));
    float mx = v8_hmax(vm);
    for (; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    if (isinf(mx))
        return mx;
    __m256 m8 = _mm256_set1_ps(mx);
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 e = v8_exp(_mm256_sub_ps(_mm256_loadu_ps(x + i), m8));
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
    double s = v4d_hsum(_mm256_add_pd(s0, s1));
    for (; i < n; i++)
        s += exp((double)x[i] - mx);
    return mx + log(s);
}

static void k_dot3_f32_avx2(const float *a, const float *b, int n, double sums[3])
{
    __m256d ab = _mm256_setzero_pd(), aa = _mm256_setzero_pd(), bb = _mm256_setzero_pd();
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256d va = _mm256_cvtps_pd(_mm_loadu_ps(a + i));
        __m256d vb = _mm256_cvtps_pd(_mm_loadu_ps(b + i));
        ab = _mm256_fmadd_pd(va, vb, ab);
        aa = _mm256_fmadd_pd(va, va, aa);
        bb = _mm256_fmadd_pd(vb, vb, bb);
    }
    double s0 = v4d_hsum(ab), s1 = v4d_hsum(aa), s2 = v4d_hsum(bb);
    for (; i < n; i++) {
        s0 += (double)a[i] * b[i];
        s1 += (double)a[i] * a[i];
        s2 += (double)b[i] * b[i];
    }
    sums[0] = s0;
    sums[1] = s1;
    sums[2] = s2;
}

static void k_attention_f32_avx2(float *out, const float *q, const float *k, const float *v,
                                 const k_span *span, int h, int hkv, int dh, int q_lo, int q_hi,
                                 float *ws)
{
    k_attention_heads_avx2(out, q, k, v, span, h, hkv, dh, q_lo, q_hi, 0, h, ws);
}

/* Twelve independent FMA chains of 8 floats: what the 6x16 micro-kernel could reach. */
static double avx2_fma_probe(long iters)
{
    __m256 a[12];
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int j = 0; j < 12; j++)
        a[j] = _mm256_set1_ps((float)j);
    for (long i = 0; i < iters; i++) {
#pragma GCC unroll 12
        for (int j = 0; j < 12; j++)
            a[j] = _mm256_fmadd_ps(a[j], m, c);
    }
    __m256 s = a[0];
    for (int j = 1; j < 12; j++)
        s = _mm256_add_ps(s, a[j]);
    volatile float sink = v8_hsum(s);
    (void)sink;
    return (double)iters * 12 * 8 * 2;
}

static float avx2_read_probe(const float *x, size_t n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
        s1 = _mm256_add_ps(s1, _mm256_loadu_ps(x + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_loadu_ps(x + i + 16));
        s3 = _mm256_add_ps(s3, _mm256_loadu_ps(x + i + 24));
    }
    float s = v8_hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++)
        s += x[i];
    return s;
}

/* Called by kern_fill_avx2 (kernels/avx2_gemm.c): every op except sgemm. */
void kern_avx2_ops(kern_table *t)
{
    t->rmsnorm = k_rmsnorm_f32_avx2;
    t->rope = k_rope_f32_avx2;
    t->swiglu = k_swiglu_f32_avx2;
    t->add = k_add_f32_avx2;
    t->logsumexp = k_logsumexp_f32_avx2;
    t->dot3 = k_dot3_f32_avx2;
    t->attention = k_attention_f32_avx2;
    t->attention_heads = k_attention_heads_avx2;
    t->fma_probe = avx2_fma_probe;
    t->read_probe = avx2_read_probe;
}
