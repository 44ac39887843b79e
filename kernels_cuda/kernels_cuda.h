/* kernels_cuda/kernels_cuda.h - the CUDA twin of kernels/kernels.h: the same ops on device
 * memory, behind one plain C API (no CUDA types). In a CPU-only build cuda_stub.c answers.
 * Legend: M rows of activations, N output features, K input features, D model width,
 * H query heads, Hkv key/value heads, Dh head dim, T tokens, V vocabulary.
 *
 * Conventions for every function below:
 * - Pointers named d_* or documented "device" point to memory from kc_malloc; host pointers
 *   are said to be host. Shapes are row-major, as in kernels/kernels.h.
 * - Kernels run in order on one stream (the default stream) and return as soon as they are
 *   queued; a kc_download or kc_sync waits for them. A launch error is reported by the call
 *   that launched it; an error that happens while the kernel runs is reported by the next
 *   kc_sync / kc_download.
 * - Errors: ABL_E_DEVICE (no CUDA build, no device, a failed launch or API call; the message
 *   names the file:line and the CUDA error), ABL_E_NOMEM (device memory), ABL_E_ARG (bad
 *   sizes). Nothing exits. err may be NULL.
 * - Not thread-safe: one host thread drives the device. */
#ifndef KERNELS_CUDA_H
#define KERNELS_CUDA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "../base/abl.h"
#include "../kernels/kernels.h"

/* ---- device and memory ------------------------------------------------------------------- */

/* 1 when this build has the CUDA backend and at least one usable device (compute capability
 * 8.0 or newer) is present, else 0. Cheap after the first call; never fails. */
int cuda_available(void);

/* Select device `ordinal` (0 = first) and remember its properties. Must succeed before any
 * other kc_ call. Errors (ABL_E_DEVICE): "this build has no CUDA backend (hint: make cuda)",
 * "no CUDA device found ...", ordinal out of range, compute capability below 8.0. Idempotent. */
abl_status kc_init(int ordinal, abl_err *err);

/* One-line description of the selected device into buf (host), e.g.
 * "NVIDIA H100 80GB HBM3, sm_90, 132 SMs, 79.1 GiB". Writes "" before kc_init succeeds. */
void kc_device_desc(char *buf, size_t n);

/* *p = n_bytes of device memory (n_bytes == 0 gives NULL). ABL_E_NOMEM when it does not fit.
 * The caller owns it and frees it with kc_free. */
abl_status kc_malloc(void **p, size_t n_bytes, abl_err *err);
void kc_free(void *p); /* NULL-safe */

/* Copies of n_bytes: host -> device, device -> host (waits for queued kernels first),
 * device -> device (queued), and a queued fill with zero bytes. n_bytes == 0 does nothing. */
abl_status kc_upload(void *d_dst, const void *h_src, size_t n_bytes, abl_err *err);
abl_status kc_download(void *h_dst, const void *d_src, size_t n_bytes, abl_err *err);
abl_status kc_copy(void *d_dst, const void *d_src, size_t n_bytes, abl_err *err);
abl_status kc_zero(void *d_dst, size_t n_bytes, abl_err *err);

/* Wait for every queued kernel and report any error that happened while they ran. */
abl_status kc_sync(abl_err *err);

/* Free and total device memory in bytes of the selected device. */
abl_status kc_mem_info(size_t *free_bytes, size_t *total_bytes, abl_err *err);

/* ---- matrix multiply --------------------------------------------------------------------- */

/* Y (M,N) = X (M,K) . W(N,K)^T, plus Y when accumulate != 0. W is the Hugging Face layout
 * (row n = output feature n), unpacked. All device; y must not overlap x or w.
 * kc_sgemm_f32: plain FP32 FMA (shared-memory tiles, register blocking); numbers match the
 * CPU to FP32 rounding. kc_sgemm_tf32: tensor cores with TF32 inputs and FP32 accumulation
 * (about 1e-3 relative error). kc_matmul picks one by kc_set_tf32 (F32 unless switched on).
 * M, N, K >= 1 (M == 0 does nothing). */
abl_status kc_sgemm_f32(float *y, const float *x, const float *w, int m, int n, int k,
                        int accumulate, abl_err *err);
abl_status kc_sgemm_tf32(float *y, const float *x, const float *w, int m, int n, int k,
                         int accumulate, abl_err *err);
abl_status kc_matmul(float *y, const float *x, const float *w, int m, int n, int k,
                     int accumulate, abl_err *err);

/* For tests and benchmarks: make the following kc_sgemm_f32/kc_sgemm_tf32 calls use tile shape
 * `tile` (an index into the family's table, 0 = largest; -1: chosen per shape) and `splits` K
 * slices (0: chosen per shape). Not thread-safe. */
void kc_sgemm_force(int tile, int splits);

/* Use the TF32 path in kc_matmul (on != 0) or plain FP32 (0, the default). Not thread-safe.
 * kc_init sets it from the environment: ABLATE_CUDA_TF32=1 on, =0 off, unset leaves it. */
void kc_set_tf32(int on);
int kc_tf32(void);

/* ---- the other ops of the forward pass (all pointers device) ----------------------------- */

/* y (M,D) = x * rsqrt(mean(x^2) + eps) * g (D); y may alias x. */
abl_status kc_rmsnorm(float *y, const float *x, const float *g, int m, int d, float eps,
                      abl_err *err);

/* In place rotate-half RoPE (Hugging Face convention: pairs (i, i + Dh/2)) on x (T, nh*Dh) for
 * token positions pos (T); cos_t, sin_t (max_pos, Dh/2) with angle(p, i) = p*theta^(-2i/Dh).
 * Every pos must be in [0, max_pos) (the caller's contract, not checked on the device).
 * Dh even. */
abl_status kc_rope(float *x, int t, int nh, int dh, const int32_t *pos, const float *cos_t,
                   const float *sin_t, abl_err *err);

/* out (n) = silu(gate) * up; out may alias gate or up. */
abl_status kc_swiglu(float *out, const float *gate, const float *up, size_t n, abl_err *err);

/* y (n) += x (n). */
abl_status kc_add(float *y, const float *x, size_t n, abl_err *err);

/* y (rows, n) += bias (n) on every row (q/k/v and MLP biases). */
abl_status kc_add_bias(float *y, const float *bias, int rows, int n, abl_err *err);

/* Causal grouped-query attention with per-token visibility, flash style (key tiles in shared
 * memory, online softmax, no T x T buffer): out (T, H*Dh) from q (T, H*Dh), k and v
 * (Tk, Hkv*Dh), span (T) as in kernels/kernels.h (visible keys [a0,a1) and [b0,b1), in
 * bounds). Query head h uses kv head h / (H/Hkv); scale 1/sqrt(Dh). A row with no visible key
 * gets zeros. H % Hkv == 0, 1 <= Dh <= 128. out must not overlap q, k or v. */
abl_status kc_attention(float *out, const float *q, const float *k, const float *v,
                        const k_span *span, int t, int h, int hkv, int dh, abl_err *err);

/* x (T, D) = emb rows ids (T) of emb (V, D). Every id must be in [0, V) (caller's contract). */
abl_status kc_embed(float *x, const float *emb, const int32_t *ids, int t, int d, abl_err *err);

/* dst (n, D) = src rows rows (n) of src (*, D). */
abl_status kc_gather_rows(float *dst, const float *src, const int32_t *rows, int n, int d,
                          abl_err *err);

/* For each of `rows` rows of logits (rows, V): lp[r] = logits[r][tgt[r]] - logsumexp(row)
 * (the sum of exponentials in double), top1[r] = 1 when logits[r][tgt[r]] equals the row's
 * maximum (ties count, as in engine/forward.c), else 0. lp (rows) float, top1 (rows) uint8, tgt (rows), all device.
 * top1 may be NULL. Every tgt in [0, V) (caller's contract). */
abl_status kc_logsoftmax_gather(float *lp, uint8_t *top1, const float *logits,
                                const int32_t *tgt, int rows, int v, abl_err *err);

/* Cosine statistics: sums (rows, 3) double, per row r: dot(a_r, b_r), |a_r|^2, |b_r|^2 over
 * D elements, accumulated in double. a, b (rows, D). Reading back 3 doubles per token instead
 * of 2*D floats is what lets a statistics hook stay cheap. */
abl_status kc_dot3(double *sums, const float *a, const float *b, int rows, int d,
                   abl_err *err);

#ifdef __cplusplus
}
#endif

#endif
