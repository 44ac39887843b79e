/* kernels/avx2_attn.c - AVX2 attention, flash style: up to KERN_ATTN_QB query rows of one head
 * share each tile of KT keys (from the union of their spans) while it sits in L1; rows go
 * through it two at a time; online softmax per row (running max, sum); no T x T buffer. */
#include <math.h>

#include "avx2_math.h"
#include "kernels_int.h"

#define KT 32  /* keys per tile: K and V tiles (2 x 32 x Dh floats) stay in L1 */

/* Merge the visible ranges of rows into sorted disjoint segments; returns how many. */
static int merge_spans(const k_span *sp, int rows, int seg[][2])
{
    int n = 0;
    for (int r = 0; r < rows; r++) {
        int iv[2][2] = {{sp[r].a0, sp[r].a1}, {sp[r].b0, sp[r].b1}};
        for (int p = 0; p < 2; p++) {
            if (iv[p][1] <= iv[p][0])
                continue;
            int j = n++; /* insertion by start */
            for (; j > 0 && seg[j - 1][0] > iv[p][0]; j--)
                seg[j][0] = seg[j - 1][0], seg[j][1] = seg[j - 1][1];
            seg[j][0] = iv[p][0], seg[j][1] = iv[p][1];
        }
    }
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m && seg[i][0] <= seg[m - 1][1]) {
            if (seg[i][1] > seg[m - 1][1])
                seg[m - 1][1] = seg[i][1];
        } else {
            seg[m][0] = seg[i][0], seg[m++][1] = seg[i][1];
        }
    }
    return m;
}

static inline int span_has(k_span s, int j)
{
    return (j >= s.a0 && j < s.a1) || (j >= s.b0 && j < s.b1);
}

static inline int span_covers(k_span s, int j0, int j1)
{
    return (j0 >= s.a0 && j1 <= s.a1) || (j0 >= s.b0 && j1 <= s.b1);
}

static inline int span_meets(k_span s, int j0, int j1)
{
    return (s.a0 < j1 && j0 < s.a1) || (s.b0 < j1 && j0 < s.b1);
}

/* Scores of R rows (R = 1 or 2) against the kb keys of a tile: sc[r*KT + j] = q_r . k_j. */
static inline __attribute__((always_inline)) void
tile_scores(const int R, const int DH, const float *q, size_t qs, const float *kt, size_t ks,
            int kb, float *sc)
{
    int j = 0;
    for (; j + 4 <= kb; j += 4) {
        __m256 d[2][4];
KERN_UNROLL
        for (int r = 0; r < R; r++) {
            d[r][0] = _mm256_setzero_ps();
            d[r][1] = _mm256_setzero_ps();
            d[r][2] = _mm256_setzero_ps();
            d[r][3] = _mm256_setzero_ps();
        }
        const float *k0 = kt + (size_t)j * ks;
#pragma GCC unroll 2
        for (int c = 0; c < DH; c += 8) {
            __m256 k_0 = _mm256_loadu_ps(k0 + c), k_1 = _mm256_loadu_ps(k0 + ks + c);
            __m256 k_2 = _mm256_loadu_ps(k0 + 2 * ks + c), k_3 = _mm256_loadu_ps(k0 + 3 * ks + c);
KERN_UNROLL
            for (int r = 0; r < R; r++) {
                __m256 qv = _mm256_loadu_ps(q + r * qs + c);
                d[r][0] = _mm256_fmadd_ps(qv, k_0, d[r][0]);
                d[r][1] = _mm256_fmadd_ps(qv, k_1, d[r][1]);
                d[r][2] = _mm256_fmadd_ps(qv, k_2, d[r][2]);
                d[r][3] = _mm256_fmadd_ps(qv, k_3, d[r][3]);
            }
        }
KERN_UNROLL
        for (int r = 0; r < R; r++) {
            __m256 a = _mm256_hadd_ps(_mm256_hadd_ps(d[r][0], d[r][1]),
                                      _mm256_hadd_ps(d[r][2], d[r][3]));
            _mm_storeu_ps(sc + r * KT + j,
                          _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1)));
        }
    }
    for (; j < kb; j++) {
        const float *k0 = kt + (size_t)j * ks;
        for (int r = 0; r < R; r++) {
            __m256 d0 = _mm256_setzero_ps();
            for (int c = 0; c < DH; c += 8)
                d0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + r * qs + c), _mm256_loadu_ps(k0 + c), d0);
            sc[r * KT + j] = v8_hsum(d0);
        }
    }
}

/* Turn one row's raw scores s (kb) into probabilities exp(s*scale - m) under the running max
 * *m (of scaled scores) and sum *l, rescaling that row's accumulator acc (DH) when the max
 * grows. Keys outside the row's span get probability 0. */
static inline __attribute__((always_inline)) void
tile_softmax(const int DH, float *s, int kb, k_span sp, int j0, float scale, float *m, float *l,
             float *acc)
{
    int full = span_covers(sp, j0, j0 + kb), j;
    if (!full)
        for (j = 0; j < kb; j++)
            if (!span_has(sp, j0 + j))
                s[j] = -INFINITY;
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    for (j = 0; j + 8 <= kb; j += 8)
        vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(s + j));
    float tm = v8_hmax(vmax);
    for (; j < kb; j++)
        tm = s[j] > tm ? s[j] : tm;
    if (tm == -INFINITY) { /* nothing visible for this row in the tile */
        for (j = 0; j < kb; j++)
            s[j] = 0.0f;
        return;
    }
    tm *= scale;
    if (tm > *m) {
        float corr = expf(*m - tm);
        __m256 vc = _mm256_set1_ps(corr);
        for (int d = 0; d < DH; d += 8)
            _mm256_storeu_ps(acc + d, _mm256_mul_ps(_mm256_loadu_ps(acc + d), vc));
        *l *= corr;
        *m = tm;
    }
    const __m256 vm = _mm256_set1_ps(*m), vscale = _mm256_set1_ps(scale);
    __m256 vl = _mm256_setzero_ps();
    for (j = 0; j + 8 <= kb; j += 8) {
        __m256 e = v8_exp(_mm256_fmsub_ps(_mm256_loadu_ps(s + j), vscale, vm));
        _mm256_storeu_ps(s + j, e);
        vl = _mm256_add_ps(vl, e);
    }
    float ls = v8_hsum(vl);
    for (; j < kb; j++) {
        s[j] = expf(s[j] * scale - *m);
        ls += s[j];
    }
    if (!full) /* the clamped vector exp makes exp(-inf) tiny, not 0 */
        for (j = 0; j < kb; j++)
            if (!span_has(sp, j0 + j)) {
                ls -= s[j];
                s[j] = 0.0f;
            }
    *l += ls;
}

/* acc (R, DH) += P (R, kb) . V (kb, DH), 32 output dims (4 ymm) by R rows at a time. */
static inline __attribute__((always_inline)) void
tile_pv(const int R, const int DH, const float *sc, const float *vt, size_t ks, int kb, float *acc)
{
    for (int c = 0; c < DH; c += 32) {
        __m256 a[2][4];
KERN_UNROLL
        for (int r = 0; r < R; r++) {
            a[r][0] = _mm256_loadu_ps(acc + r * DH + c);
            a[r][1] = _mm256_loadu_ps(acc + r * DH + c + 8);
            a[r][2] = _mm256_loadu_ps(acc + r * DH + c + 16);
            a[r][3] = _mm256_loadu_ps(acc + r * DH + c + 24);
        }
        for (int j = 0; j < kb; j++) {
            const float *v0 = vt + (size_t)j * ks + c;
            __m256 v_0 = _mm256_loadu_ps(v0), v_1 = _mm256_loadu_ps(v0 + 8);
            __m256 v_2 = _mm256_loadu_ps(v0 + 16), v_3 = _mm256_loadu_ps(v0 + 24);
KERN_UNROLL
            for (int r = 0; r < R; r++) {
                __m256 p = _mm256_broadcast_ss(sc + r * KT + j);
                a[r][0] = _mm256_fmadd_ps(p, v_0, a[r][0]);
                a[r][1] = _mm256_fmadd_ps(p, v_1, a[r][1]);
                a[r][2] = _mm256_fmadd_ps(p, v_2, a[r][2]);
                a[r][3] = _mm256_fmadd_ps(p, v_3, a[r][3]);
            }
        }
KERN_UNROLL
        for (int r = 0; r < R; r++) {
            _mm256_storeu_ps(acc + r * DH + c, a[r][0]);
            _mm256_storeu_ps(acc + r * DH + c + 8, a[r][1]);
            _mm256_storeu_ps(acc + r * DH + c + 16, a[r][2]);
            _mm256_storeu_ps(acc + r * DH + c + 24, a[r][3]);
        }
    }
}

/* rows (<= KERN_ATTN_QB) query rows of one head: q / o the first row (stride qs), kh / vh the
 * head's key and value rows (stride ks), sp the rows' spans. ws: kern_attn_ws_floats(DH). */
static inline __attribute__((always_inline)) void
attn_item(const int DH, const float *q, float *o, size_t qs, const float *kh, const float *vh,
          size_t ks, const k_span *sp, int rows, float *ws, float scale)
{
    float *acc = ws, *m = ws + KERN_ATTN_QB * DH, *l = m + KERN_ATTN_QB, *sc = l + KERN_ATTN_QB;
    for (int r = 0; r < rows; r++) {
        m[r] = -INFINITY, l[r] = 0.0f;
        for (int d = 0; d < DH; d += 8)
            _mm256_storeu_ps(acc + r * DH + d, _mm256_setzero_ps());
    }
    int seg[2 * KERN_ATTN_QB][2], nseg = merge_spans(sp, rows, seg);
    for (int g = 0; g < nseg; g++)
        for (int j0 = seg[g][0]; j0 < seg[g][1]; j0 += KT) {
            int kb = seg[g][1] - j0 < KT ? seg[g][1] - j0 : KT;
            const float *kt = kh + (size_t)j0 * ks, *vt = vh + (size_t)j0 * ks;
            for (int r = 0; r < rows; r += 2) {
                int two = r + 1 < rows && span_meets(sp[r + 1], j0, j0 + kb);
                if (!span_meets(sp[r], j0, j0 + kb)) {
                    if (!two)
                        continue;
                    /* only the second row sees this tile: run it alone */
                    tile_scores(1, DH, q + (r + 1) * qs, qs, kt, ks, kb, sc);
                    tile_softmax(DH, sc, kb, sp[r + 1], j0, scale, &m[r + 1], &l[r + 1],
                                 acc + (r + 1) * DH);
                    tile_pv(1, DH, sc, vt, ks, kb, acc + (r + 1) * DH);
                    continue;
                }
                if (two) {
                    tile_scores(2, DH, q + r * qs, qs, kt, ks, kb, sc);
                    tile_softmax(DH, sc, kb, sp[r], j0, scale, &m[r], &l[r], acc + r * DH);
                    tile_softmax(DH, sc + KT, kb, sp[r + 1], j0, scale, &m[r + 1], &l[r + 1],
                                 acc + (r + 1) * DH);
                    tile_pv(2, DH, sc, vt, ks, kb, acc + r * DH);
                } else {
                    tile_scores(1, DH, q + r * qs, qs, kt, ks, kb, sc);
                    tile_softmax(DH, sc, kb, sp[r], j0, scale, &m[r], &l[r], acc + r * DH);
                    tile_pv(1, DH, sc, vt, ks, kb, acc + r * DH);
                }
            }
        }
    for (int r = 0; r < rows; r++) {
        __m256 inv = _mm256_set1_ps(l[r] > 0.0f ? 1.0f / l[r] : 0.0f);
        for (int d = 0; d < DH; d += 8)
            _mm256_storeu_ps(o + r * qs + d, _mm256_mul_ps(_mm256_loadu_ps(acc + r * DH + d), inv));
    }
}

static inline __attribute__((always_inline)) void
attn_rows(const int DH, float *out, const float *q, const float *k, const float *v,
          const k_span *span, int h, int hkv, int q_lo, int q_hi, int h_lo, int h_hi, float *ws)
{
    int group = h / hkv;
    size_t qs = (size_t)h * DH, ks = (size_t)hkv * DH;
    float scale = 1.0f / sqrtf((float)DH);
    for (int hh = h_lo; hh < h_hi; hh++) {
        size_t ko = (size_t)(hh / group) * DH, qo = (size_t)hh * DH;
        for (int i = q_lo; i < q_hi; i += KERN_ATTN_QB) {
            int rows = q_hi - i < KERN_ATTN_QB ? q_hi - i : KERN_ATTN_QB;
            attn_item(DH, q + i * qs + qo, out + i * qs + qo, qs, k + ko, v + ko, ks, span + i,
                      rows, ws, scale);
        }
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
