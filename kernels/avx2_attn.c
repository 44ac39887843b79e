/* kernels/avx2_attn.c - AVX2 attention: one query row and head at a time against tiles of
 * KERN_ATTN_KB visible keys, online softmax (running max and sum), no T x T buffer. */
#include <math.h>

#include "avx2_math.h"
#include "kernels_int.h"

/* One query row of one head. qr (DH) query, kh / vh the head's key and value rows (row stride
 * ks floats), sp the visible ranges, o (DH) output, sc KERN_ATTN_KB floats of scratch.
 * DH is a compile-time constant at every call site (q and acc stay in registers). */
static inline __attribute__((always_inline)) void
attn_row(const int DH, const float *qr, const float *kh, const float *vh, size_t ks, k_span sp,
         float *o, float *sc, float scale)
{
    __m256 qv[DH / 8], acc[DH / 8];
    const __m256 vs = _mm256_set1_ps(scale);
    for (int c = 0; c < DH / 8; c++) {
        qv[c] = _mm256_mul_ps(_mm256_loadu_ps(qr + 8 * c), vs);
        acc[c] = _mm256_setzero_ps();
    }
    float m = -INFINITY, l = 0.0f;
    int rng[2][2] = {{sp.a0, sp.a1}, {sp.b0, sp.b1}};
    for (int p = 0; p < 2; p++) {
        for (int j0 = rng[p][0]; j0 < rng[p][1]; j0 += KERN_ATTN_KB) {
            int kb = rng[p][1] - j0 < KERN_ATTN_KB ? rng[p][1] - j0 : KERN_ATTN_KB;
            const float *kt = kh + (size_t)j0 * ks, *vt = vh + (size_t)j0 * ks;
            /* scores of the tile, four keys at a time */
            int j = 0;
            for (; j + 4 <= kb; j += 4) {
                __m256 d0 = _mm256_setzero_ps(), d1 = d0, d2 = d0, d3 = d0;
                const float *k0 = kt + (size_t)j * ks;
                for (int c = 0; c < DH / 8; c++) {
                    d0 = _mm256_fmadd_ps(qv[c], _mm256_loadu_ps(k0 + 8 * c), d0);
                    d1 = _mm256_fmadd_ps(qv[c], _mm256_loadu_ps(k0 + ks + 8 * c), d1);
                    d2 = _mm256_fmadd_ps(qv[c], _mm256_loadu_ps(k0 + 2 * ks + 8 * c), d2);
                    d3 = _mm256_fmadd_ps(qv[c], _mm256_loadu_ps(k0 + 3 * ks + 8 * c), d3);
                }
                __m256 a = _mm256_hadd_ps(_mm256_hadd_ps(d0, d1), _mm256_hadd_ps(d2, d3));
                _mm_storeu_ps(sc + j, _mm_add_ps(_mm256_castps256_ps128(a),
                                                 _mm256_extractf128_ps(a, 1)));
            }
            for (; j < kb; j++) {
                __m256 d0 = _mm256_setzero_ps();
                const float *k0 = kt + (size_t)j * ks;
                for (int c = 0; c < DH / 8; c++)
                    d0 = _mm256_fmadd_ps(qv[c], _mm256_loadu_ps(k0 + 8 * c), d0);
                sc[j] = v8_hsum(d0);
            }
            /* online softmax update */
            float tm = sc[0];
            for (j = 1; j < kb; j++)
                tm = sc[j] > tm ? sc[j] : tm;
            if (tm > m) {
                float corr = expf(m - tm);
                __m256 vc = _mm256_set1_ps(corr);
                for (int c = 0; c < DH / 8; c++)
                    acc[c] = _mm256_mul_ps(acc[c], vc);
                l *= corr;
                m = tm;
            }
            __m256 vm = _mm256_set1_ps(m), vl = _mm256_setzero_ps();
            for (j = 0; j + 8 <= kb; j += 8) {
                __m256 e = v8_exp(_mm256_sub_ps(_mm256_loadu_ps(sc + j), vm));
                _mm256_storeu_ps(sc + j, e);
                vl = _mm256_add_ps(vl, e);
            }
            l += v8_hsum(vl);
            for (; j < kb; j++) {
                sc[j] = expf(sc[j] - m);
                l += sc[j];
            }
            /* acc += p . V over the tile */
            for (j = 0; j < kb; j++) {
                __m256 pj = _mm256_set1_ps(sc[j]);
                const float *v0 = vt + (size_t)j * ks;
                for (int c = 0; c < DH / 8; c++)
                    acc[c] = _mm256_fmadd_ps(pj, _mm256_loadu_ps(v0 + 8 * c), acc[c]);
            }
        }
    }
    __m256 inv = _mm256_set1_ps(l > 0.0f ? 1.0f / l : 0.0f);
    for (int c = 0; c < DH / 8; c++)
        _mm256_storeu_ps(o + 8 * c, _mm256_mul_ps(acc[c], inv));
}

static inline __attribute__((always_inline)) void
attn_rows(const int DH, float *out, const float *q, const float *k, const float *v,
          const k_span *span, int h, int hkv, int q_lo, int q_hi, int h_lo, int h_hi, float *ws)
{
    int group = h / hkv;
    size_t qs = (size_t)h * DH, ks = (size_t)hkv * DH;
    float scale = 1.0f / sqrtf((float)DH);
    for (int hh = h_lo; hh < h_hi; hh++) {
        size_t ko = (size_t)(hh / group) * DH;
        for (int i = q_lo; i < q_hi; i++)
            attn_row(DH, q + i * qs + (size_t)hh * DH, k + ko, v + ko, ks, span[i],
                     out + i * qs + (size_t)hh * DH, ws, scale);
    }
}

void k_attention_heads_avx2(float *out, const float *q, const float *k, const float *v,
                            const k_span *span, int h, int hkv, int dh, int q_lo, int q_hi,
                            int h_lo, int h_hi, float *ws)
{
    ABL_ASSERT(hkv > 0 && h % hkv == 0);
    switch (dh) {
    case 64: attn_rows(64, out, q, k, v, span, h, hkv, q_lo, q_hi, h_lo, h_hi, ws); break;
    case 128: attn_rows(128, out, q, k, v, span, h, hkv, q_lo, q_hi, h_lo, h_hi, ws); break;
    case 32: attn_rows(32, out, q, k, v, span, h, hkv, q_lo, q_hi, h_lo, h_hi, ws); break;
    default:
        k_attention_heads_ref(out, q, k, v, span, h, hkv, dh, q_lo, q_hi, h_lo, h_hi, ws);
        break;
    }
}
