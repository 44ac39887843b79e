/* kernels/kernels_int.h - what the kernel files share inside the module: each variant's
 * table filler, the CPU checks, and the panel-packing helpers. Not for callers outside kernels/. */
#ifndef KERNELS_INT_H
#define KERNELS_INT_H

#include "kernels.h"

/* Fill t with the scalar reference entries (every field). */
void kern_fill_ref(kern_table *t);

/* Provided by the ISA files (weak references in dispatch.c: absent in builds without them).
 * kern_fill_X overwrites the entries X implements; kern_cpu_X says whether this CPU and OS
 * can run X (CPUID plus XCR0 for the register state), and is compiled without ISA flags. */
void kern_fill_avx2(kern_table *t);
void kern_fill_avx512(kern_table *t);
void kern_fill_neon(kern_table *t);
int kern_cpu_avx2(void);
int kern_cpu_avx512(void);
int kern_cpu_neon(void);

/* Panel layout shared by the SIMD variants: W (N, K) cut into panels of nr output features;
 * panel p holds W[p*nr + j][kk] at [p*nr*K + kk*nr + j], zero-padded past N. */
size_t kpack_panels_count(int n, int k, int nr);
void kpack_panels(float *dst, const float *w, int n, int k, int nr);

/* Fully unroll the next loop (constant trip count): register-blocked micro-kernels keep their
 * accumulator arrays in registers only when every index is a constant. */
#if defined(__clang__)
#define KERN_UNROLL _Pragma("clang loop unroll(full)")
#else
#define KERN_UNROLL _Pragma("GCC unroll 16")
#endif

/* Per-thread sgemm workspace bound over every variant (floats): kern_ws_floats returns at
 * least this, so buffers sized before kern_init still fit whichever variant is chosen. */
#define KERN_SGEMM_WS_MAX ((size_t)192 * 384 + 1024)

/* Attention tiling shared by the variants: query rows per work item, keys per tile. */
#define KERN_ATTN_QB 16
#define KERN_ATTN_KB 64

/* Split [0, n) into nth nearly equal chunks of whole units of `unit`; this thread's share. */
void kern_split(int n, int unit, int ith, int nth, int *lo, int *hi);

/* Reference attention over query heads [h_lo, h_hi) (same arguments as kern.attention). */
void k_attention_heads_ref(float *out, const float *q, const float *k, const float *v,
                           const k_span *span, int h, int hkv, int dh, int q_lo, int q_hi,
                           int h_lo, int h_hi, float *ws);

/* AVX2 pieces split over files (kernels/avx2_ops.c, kernels/avx2_attn.c). */
void kern_avx2_ops(kern_table *t);
void k_attention_heads_avx2(float *out, const float *q, const float *k, const float *v,
                            const k_span *span, int h, int hkv, int dh, int q_lo, int q_hi,
                            int h_lo, int h_hi, float *ws);
/* NEON pieces (kernels/neon_ops.c, kernels/neon_attn.c). */
void kern_neon_ops(kern_table *t);
void k_attention_heads_neon(float *out, const float *q, const float *k, const float *v,
                            const k_span *span, int h, int hkv, int dh, int q_lo, int q_hi,
                            int h_lo, int h_hi, float *ws);

#endif
