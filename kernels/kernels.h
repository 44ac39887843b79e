/* kernels/kernels.h - every CPU op the forward pass and the study need, behind one dispatch
 * table (ref entries first, overwritten by avx2/avx512/neon after a run-time CPU check).
 * Legend: M rows of activations, N output features, K input features, D model width,
 * H query heads, Hkv key/value heads, Dh head dim, T tokens, V vocabulary. */
#ifndef KERNELS_H
#define KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "../base/abl.h"
#include "pool.h"

/* A weight W (N, K) as stored by Hugging Face (row n = output feature n), packed once at load
 * into the active variant's panel layout. Opaque to callers except n and k. */
typedef struct {
    int n, k;           /* logical shape (N, K) */
    int variant;        /* which kern_variant packed it */
    float *data;        /* packed panels, 64-byte aligned, owned */
    size_t count;       /* floats in data */
} kweight;

/* Visible keys of one query token: the half-open ranges [a0, a1) and [b0, b1) of key rows.
 * Plain causal token i of a sequence starting at s: a0 = a1 = 0, b0 = s, b1 = i + 1.
 * Branch token i of a "prefix + branches" sequence: [a0, a1) = the prefix, [b0, b1) = the
 * branch start up to and including i. Ranges must be in bounds; either may be empty. */
typedef struct {
    int32_t a0, a1, b0, b1;
} k_span;

typedef enum { KV_REF = 0, KV_AVX2, KV_AVX512, KV_NEON, KV_COUNT } kern_variant;

/* The dispatch table. Every entry is a pure function of its arguments plus (ith, nth): the
 * caller's share of the work when run inside kpool_run (ith in [0, nth)). */
typedef struct {
    const char *name;
    kern_variant variant;
    /* Pack W (N,K) row-major into dst (size from pack_count). */
    size_t (*pack_count)(int n, int k);
    void (*pack)(float *dst, const float *w, int n, int k);
    /* Y (M,N) = X (M,K) . W^T (+ Y when accumulate). Rows of N split across (ith, nth).
     * ws: per-thread workspace of ws_floats(m,k) floats (activation packing), 64-byte aligned. */
    void (*sgemm)(float *y, const float *x, const kweight *w, int m, int accumulate,
                  float *ws, int ith, int nth);
    size_t (*sgemm_ws_floats)(int m, int k);
    /* y (M,D) = x * rsqrt(mean(x^2) + eps) * g; y may alias x. */
    void (*rmsnorm)(float *y, const float *x, const float *g, int m, int d, float eps);
    /* In-place rotate-half RoPE on x (T, nh*Dh) for token positions pos (T);
     * cos_t/sin_t (max_pos, Dh/2) tables: angle(p, i) = p * theta^(-2i/Dh). */
    void (*rope)(float *x, int t, int nh, int dh, const int32_t *pos, const float *cos_t,
                 const float *sin_t);
    /* out (n) = silu(gate) * up; out may alias gate or up. */
    void (*swiglu)(float *out, const float *gate, const float *up, size_t n);
    /* y (n) += x (n). */
    void (*add)(float *y, const float *x, size_t n);
    /* Attention for query rows [q_lo, q_hi): out (T, H*Dh) from q (T, H*Dh), k and v
     * (Tk, Hkv*Dh), span (T). Query head h uses kv head h / (H/Hkv). Online softmax, scale
     * 1/sqrt(Dh); no T x T buffer. ws: ws_attn floats per thread. */
    void (*attention)(float *out, const float *q, const float *k, const float *v,
                      const k_span *span, int h, int hkv, int dh, int q_lo, int q_hi, float *ws);
    /* log(sum(exp(x))) of one row of n, computed stably. */
    double (*logsumexp)(const float *x, int n);
    /* sums[0] = dot(a,b), sums[1] = |a|^2, sums[2] = |b|^2 over n elements, in double. */
    void (*dot3)(const float *a, const float *b, int n, double sums[3]);
    /* (added) attention restricted to query heads [h_lo, h_hi): lets k_attention split the
     * work over (head, query block) even for one query row. Same contract as attention. */
    void (*attention_heads)(float *out, const float *q, const float *k, const float *v,
                            const k_span *span, int h, int hkv, int dh, int q_lo, int q_hi,
                            int h_lo, int h_hi, float *ws);
    /* (added, for `ablate bench kernels`) Peak probes of this variant: fma_probe runs `iters`
     * rounds of independent FMAs and returns the flops done; read_probe streams x (n) and
     * returns its sum (memory bandwidth). */
    double (*fma_probe)(long iters);
    float (*read_probe)(const float *x, size_t n);
    /* (added for GPT-NeoX and OLMo) y (M,D) = (x - mean) / sqrt(var + eps) * g + b per row,
     * var the population variance; g and/or b NULL = 1 / 0 (OLMo's non-parametric norm); y may
     * alias x. */
    void (*layernorm)(float *y, const float *x, const float *g, const float *b, int m, int d,
                      float eps);
    /* out (n) = gelu(x) = x/2 * (1 + erf(x/sqrt 2)) (the exact GELU); out may alias x. */
    void (*gelu)(float *out, const float *x, size_t n);
    /* Partial RoPE: rotate-half on the first rot dims of each head of x (T, nh*Dh) only
     * (pairs j, j + rot/2), the rest unchanged; cos_t/sin_t (max_pos, rot/2). rot even, <= Dh. */
    void (*rope_part)(float *x, int t, int nh, int dh, int rot, const int32_t *pos,
                      const float *cos_t, const float *sin_t);
    /* x (n) clamped to [-c, c] in place (OLMo's clip_qkv). */
    void (*clamp)(float *x, size_t n, float c);
} kern_table;

/* The active table. Valid after kern_init (ref entries before it). */
extern kern_table kern;

/* Choose the best variant for this CPU (CPUID + OS AVX-512 state), or the one named by
 * `force` ("ref", "avx2", "avx512", "neon"; NULL -> $ABLATE_KERNELS, then auto). Asking for a
 * variant the CPU or build lacks returns ABL_E_DEVICE with a clear message. Not thread-safe:
 * call once at start-up. */
abl_status kern_init(const char *force, abl_err *err);

/* Name of the variant the CPU would get automatically, and whether one is supported here. */
const char *kern_best_name(void);
int kern_supported(kern_variant v);

/* Pack W (N,K) for the active variant. Returns ABL_E_NOMEM on allocation failure. */
abl_status kweight_pack(kweight *w, const float *src, int n, int k, abl_err *err);
void kweight_free(kweight *w); /* NULL-safe; leaves w zeroed */

/* Floats of per-thread workspace the attention entry needs for head dim dh. */
size_t kern_attn_ws_floats(int dh);

/* Threaded entry points used by the engine: split the work over pool (NULL = run inline).
 * ws must hold kpool_nthreads(pool) * per-thread floats (see kern_ws_floats). */
size_t kern_ws_floats(int max_m, int max_k, int dh);
void k_matmul(kpool *pool, float *y, const float *x, const kweight *w, int m, int accumulate,
              float *ws);
void k_attention(kpool *pool, float *out, const float *q, const float *k, const float *v,
                 const k_span *span, int t, int h, int hkv, int dh, float *ws);

#endif
