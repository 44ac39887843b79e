/* kernels/neon_attn.c - NEON attention: one query row and head at a time against tiles of
 * KERN_ATTN_KB visible keys, online softmax, no T x T buffer (mirrors kernels/avx2_attn.c). */
#include <math.h>

#include "kernels_int.h"
#include "neon_math.h"

/* One query row of one head; DH is a compile-time constant at every call site. */
static inline __attribute__((always_inline)) void
attn_row(const int DH, const float *qr, const float *kh, const float *vh, size_t ks, k_span sp,
         float *o, float *sc, float scale)
{
    float32x4_t qv[DH / 4], acc[DH / 4];
    for (int c = 0; c < DH / 4; c++) {
        qv[c] = vmulq_n_f32(vld1q_f32(qr + 4 * c), scale);
        acc[c] = vdupq_n_f32(0.0f);
    }
    float m = -INFINITY, l = 0.0f;
    int rng[2][2] = {{sp.a0, sp.a1}, {sp.b0, sp.b1}};
    for (int p = 0; p < 2; p++) {
        for (int j0 = rng[p][0]; j0 < rng[p][1]; j0 += KERN_ATTN_KB) {
            int kb = rng[p][1] - j0 < KERN_ATTN_KB ? rng[p][1] - j0 : KERN_ATTN_KB;
            const float *kt = kh + (size_t)j0 * ks, *vt = vh + (size_t)j0 * ks;
            int j = 0;
            for (; j + 2 <= kb; j += 2) {
                float32x4_t d0 = vdupq_n_f32(0.0f), d1 = d0;
                const float *k0 = kt + (size_t)j * ks;
                for (int c = 0; c < DH / 4; c++) {
                    d0 = vfmaq_f32(d0, qv[c], vld1q_f32(k0 + 4 * c));
                    d1 = vfmaq_f32(d1, qv[c], vld1q_f32(k0 + ks + 4 * c));
                }
                sc[j] = vaddvq_f32(d0);
                sc[j + 1] = vaddvq_f32(d1);
            }
            for (; j < kb; j++) {
                float32x4_t d0 = vdupq_n_f32(0.0f);
                const float *k0 = kt + (size_t)j * ks;
                for (int c = 0; c < DH / 4; c++)
                    d0 = vfmaq_f32(d0, qv[c], vld1q_f32(k0 + 4 * c));
                sc[j] = vaddvq_f32(d0);
            }
            float tm = sc[0];
            for (j = 1; j < kb; j++)
                tm = sc[j] > tm ? sc[j] : tm;
            if (tm > m) {
                float corr = expf(m - tm);
                for (int c = 0; c < DH / 4; c++)
                    acc[c] = vmulq_n_f32(acc[c], corr);
                l *= corr;
                m = tm;
            }
            float32x4_t vl = vdupq_n_f32(0.0f);
            for (j = 0; j + 4 <= kb; j += 4) {
                float32x4_t e = v4_exp(vsubq_f32(vld1q_f32(sc + j), vdupq_n_f32(m)));
                vst1q_f32(sc + j, e);
                vl = vaddq_f32(vl, e);
            }
            l += vaddvq_f32(vl);
            for (; j < kb; j++) {
                sc[j] = expf(sc[j] - m);
                l += sc[j];
            }
            for (j = 0; j < kb; j++) {
                const float *v0 = vt + (size_t)j * ks;
                for (int c = 0; c < DH / 4; c++)
                    acc[c] = vfmaq_n_f32(acc[c], vld1q_f32(v0 + 4 * c), sc[j]);
            }
        }
    }
    float inv = l > 0.0f ? 1.0f / l : 0.0f;
    for (int c = 0; c < DH / 4; c++)
        vst1q_f32(o + 4 * c, vmulq_n_f32(acc[c], inv));
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

void k_attention_heads_neon(float *out, const float *q, const float *k, const float *v,
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
