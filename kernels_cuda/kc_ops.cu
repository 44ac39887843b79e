/* kernels_cuda/kc_ops.cu - the small ops of the forward pass on the GPU: RMSNorm, RoPE, SwiGLU,
 * residual add, embedding and row gathers, log-softmax + gather, cosine statistics. */
#include <math.h>
#include <stdint.h>

#include "kc_int.h"

enum { KO_NT = 256 }; /* threads per block for every kernel here */

/* ---- kernels ----------------------------------------------------------------------------- */

/* One block per row of x (M, D). y may alias x: each element is read before it is written. */
__global__ void __launch_bounds__(KO_NT)
k_rmsnorm_f32_cuda(float *y, const float *x, const float *__restrict__ g, int d, float eps)
{
    __shared__ float scratch[32];
    const float *xr = x + (size_t)blockIdx.x * d;
    float *yr = y + (size_t)blockIdx.x * d;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < d; i += blockDim.x)
        ss = fmaf(xr[i], xr[i], ss);
    ss = kc_block_sum(ss, scratch);
    const float r = 1.0f / sqrtf(ss / (float)d + eps);
    for (int i = threadIdx.x; i < d; i += blockDim.x)
        yr[i] = xr[i] * r * g[i];
}

/* One thread per rotated pair (token, head, i) of x (T, nh*Dh): (i, i + Dh/2). */
__global__ void __launch_bounds__(KO_NT)
k_rope_f32_cuda(float *x, int t, int nh, int dh, const int32_t *__restrict__ pos,
                const float *__restrict__ cos_t, const float *__restrict__ sin_t)
{
    const int half = dh / 2;
    const size_t total = (size_t)t * nh * half;
    for (size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x; e < total;
         e += (size_t)gridDim.x * blockDim.x) {
        const int i = (int)(e % half);
        const size_t th = e / half; /* token * nh + head */
        const int tok = (int)(th / nh);
        float *xp = x + th * dh;
        const size_t c = (size_t)pos[tok] * half + i;
        const float co = cos_t[c], si = sin_t[c];
        const float x0 = xp[i], x1 = xp[i + half];
        xp[i] = x0 * co - x1 * si;
        xp[i + half] = x1 * co + x0 * si;
    }
}

/* out may alias gate or up: each element is read before it is written by the same thread. */
__global__ void __launch_bounds__(KO_NT)
k_swiglu_f32_cuda(float *out, const float *gate, const float *up, size_t n)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        const float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

__global__ void __launch_bounds__(KO_NT) k_add_f32_cuda(float *y, const float *x, size_t n)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] += x[i];
}

/* y (rows, n) += bias (n). */
__global__ void __launch_bounds__(KO_NT)
k_add_bias_f32_cuda(float *__restrict__ y, const float *__restrict__ bias, size_t total, int n)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] += bias[i % n];
}

/* dst (n, D) = rows idx (n) of src (*, D). Embedding lookup and scored-row gather. */
__global__ void __launch_bounds__(KO_NT)
k_gather_rows_f32_cuda(float *__restrict__ dst, const float *__restrict__ src,
                       const int32_t *__restrict__ idx, int n, int d)
{
    const size_t total = (size_t)n * d;
    for (size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x; e < total;
         e += (size_t)gridDim.x * blockDim.x) {
        const size_t r = e / d, j = e % d;
        dst[e] = src[(size_t)idx[r] * d + j];
    }
}

/* One block per row of logits (rows, V): lp = x[tgt] - logsumexp(x) (sum in double),
 * top1 = x[tgt] >= max(x) (ties count, as on the CPU). */
__global__ void __launch_bounds__(KO_NT)
k_logsoftmax_gather_f32_cuda(float *__restrict__ lp, uint8_t *__restrict__ top1,
                             const float *__restrict__ logits, const int32_t *__restrict__ tgt,
                             int v)
{
    __shared__ float smax[32];
    __shared__ double ssum[32];
    const float *row = logits + (size_t)blockIdx.x * v;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarp = blockDim.x >> 5;

    float best = -INFINITY;
    for (int i = threadIdx.x; i < v; i += blockDim.x)
        best = fmaxf(best, row[i]);
    best = kc_warp_max(best);
    if (lane == 0)
        smax[warp] = best;
    __syncthreads();
    best = -INFINITY;
    for (int w = 0; w < nwarp; w++)
        best = fmaxf(best, smax[w]);

    double s = 0.0;
    for (int i = threadIdx.x; i < v; i += blockDim.x)
        s += exp((double)row[i] - (double)best);
    s = kc_block_sum(s, ssum);
    if (threadIdx.x == 0) {
        const int tg = tgt[blockIdx.x];
        const double lse = (double)best + log(s);
        lp[blockIdx.x] = (float)((double)row[tg] - lse);
        if (top1)
            top1[blockIdx.x] = row[tg] >= best ? 1 : 0;
    }
}

/* One block per row: sums[r] = {dot(a_r, b_r), |a_r|^2, |b_r|^2} in double. */
__global__ void __launch_bounds__(KO_NT)
k_dot3_f32_cuda(double *__restrict__ sums, const float *__restrict__ a,
                const float *__restrict__ b, int d)
{
    __shared__ double scratch[32];
    const float *ar = a + (size_t)blockIdx.x * d, *br = b + (size_t)blockIdx.x * d;
    double ab = 0.0, aa = 0.0, bb = 0.0;
    for (int i = threadIdx.x; i < d; i += blockDim.x) {
        const double x = ar[i], y = br[i];
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    ab = kc_block_sum(ab, scratch);
    aa = kc_block_sum(aa, scratch);
    bb = kc_block_sum(bb, scratch);
    if (threadIdx.x == 0) {
        sums[(size_t)blockIdx.x * 3 + 0] = ab;
        sums[(size_t)blockIdx.x * 3 + 1] = aa;
        sums[(size_t)blockIdx.x * 3 + 2] = bb;
    }
}

/* ---- host entry points ------------------------------------------------------------------- */

/* Common checks: initialised device, non-negative sizes, non-NULL pointers when there is work. */
static abl_status ko_check(const char *op, long long count, int ptrs_ok, abl_err *err)
{
    abl_status s = kc_need_init(err, op);
    if (s != ABL_OK)
        return s;
    if (count < 0)
        return abl_fail(err, ABL_E_ARG, "%s: expected sizes >= 0, found %lld", op, count);
    if (count > 0 && !ptrs_ok)
        return abl_fail(err, ABL_E_ARG, "%s: expected device pointers, found NULL", op);
    return ABL_OK;
}

/* Rows go on grid.x (up to 2^31 - 1). */
static abl_status ko_rows_ok(const char *op, int rows, int d, abl_err *err)
{
    if (rows < 0 || d < 1)
        return abl_fail(err, ABL_E_ARG, "%s: expected rows >= 0 and width >= 1, found %d x %d",
                        op, rows, d);
    return ABL_OK;
}

abl_status kc_rmsnorm(float *y, const float *x, const float *g, int m, int d, float eps,
                      abl_err *err)
{
    abl_status s = ko_check("kc_rmsnorm", m, y && x && g, err);
    if (s == ABL_OK)
        s = ko_rows_ok("kc_rmsnorm", m, d, err);
    if (s != ABL_OK || m == 0)
        return s;
    k_rmsnorm_f32_cuda<<<(unsigned)m, KO_NT>>>(y, x, g, d, eps);
    KC_LAUNCHED(err, "k_rmsnorm_f32_cuda");
    return ABL_OK;
}

abl_status kc_rope(float *x, int t, int nh, int dh, const int32_t *pos, const float *cos_t,
                   const float *sin_t, abl_err *err)
{
    abl_status s = ko_check("kc_rope", t, x && pos && cos_t && sin_t, err);
    if (s != ABL_OK)
        return s;
    if (nh < 1 || dh < 2 || dh % 2)
        return abl_fail(err, ABL_E_ARG, "kc_rope: expected heads >= 1 and an even Dh >= 2, "
                        "found %d heads, Dh=%d", nh, dh);
    if (t == 0)
        return ABL_OK;
    const size_t total = (size_t)t * nh * (dh / 2);
    k_rope_f32_cuda<<<kc_blocks(total, KO_NT), KO_NT>>>(x, t, nh, dh, pos, cos_t, sin_t);
    KC_LAUNCHED(err, "k_rope_f32_cuda");
    return ABL_OK;
}

abl_status kc_swiglu(float *out, const float *gate, const float *up, size_t n, abl_err *err)
{
    abl_status s = ko_check("kc_swiglu", 0, 1, err);
    if (s != ABL_OK || n == 0)
        return s;
    if (!out || !gate || !up)
        return abl_fail(err, ABL_E_ARG, "kc_swiglu: expected device pointers, found NULL");
    k_swiglu_f32_cuda<<<kc_blocks(n, KO_NT), KO_NT>>>(out, gate, up, n);
    KC_LAUNCHED(err, "k_swiglu_f32_cuda");
    return ABL_OK;
}

abl_status kc_add(float *y, const float *x, size_t n, abl_err *err)
{
    abl_status s = ko_check("kc_add", 0, 1, err);
    if (s != ABL_OK || n == 0)
        return s;
    if (!y || !x)
        return abl_fail(err, ABL_E_ARG, "kc_add: expected device pointers, found NULL");
    k_add_f32_cuda<<<kc_blocks(n, KO_NT), KO_NT>>>(y, x, n);
    KC_LAUNCHED(err, "k_add_f32_cuda");
    return ABL_OK;
}

abl_status kc_add_bias(float *y, const float *bias, int rows, int n, abl_err *err)
{
    abl_status s = ko_check("kc_add_bias", rows, y && bias, err);
    if (s == ABL_OK)
        s = ko_rows_ok("kc_add_bias", rows, n, err);
    if (s != ABL_OK || rows == 0)
        return s;
    const size_t total = (size_t)rows * n;
    k_add_bias_f32_cuda<<<kc_blocks(total, KO_NT), KO_NT>>>(y, bias, total, n);
    KC_LAUNCHED(err, "k_add_bias_f32_cuda");
    return ABL_OK;
}

abl_status kc_embed(float *x, const float *emb, const int32_t *ids, int t, int d, abl_err *err)
{
    return kc_gather_rows(x, emb, ids, t, d, err);
}

abl_status kc_gather_rows(float *dst, const float *src, const int32_t *rows, int n, int d,
                          abl_err *err)
{
    abl_status s = ko_check("kc_gather_rows", n, dst && src && rows, err);
    if (s == ABL_OK)
        s = ko_rows_ok("kc_gather_rows", n, d, err);
    if (s != ABL_OK || n == 0)
        return s;
    const size_t total = (size_t)n * d;
    k_gather_rows_f32_cuda<<<kc_blocks(total, KO_NT), KO_NT>>>(dst, src, rows, n, d);
    KC_LAUNCHED(err, "k_gather_rows_f32_cuda");
    return ABL_OK;
}

abl_status kc_logsoftmax_gather(float *lp, uint8_t *top1, const float *logits,
                                const int32_t *tgt, int rows, int v, abl_err *err)
{
    abl_status s = ko_check("kc_logsoftmax_gather", rows, lp && logits && tgt, err);
    if (s == ABL_OK)
        s = ko_rows_ok("kc_logsoftmax_gather", rows, v, err);
    if (s != ABL_OK || rows == 0)
        return s;
    k_logsoftmax_gather_f32_cuda<<<(unsigned)rows, KO_NT>>>(lp, top1, logits, tgt, v);
    KC_LAUNCHED(err, "k_logsoftmax_gather_f32_cuda");
    return ABL_OK;
}

abl_status kc_dot3(double *sums, const float *a, const float *b, int rows, int d, abl_err *err)
{
    abl_status s = ko_check("kc_dot3", rows, sums && a && b, err);
    if (s == ABL_OK)
        s = ko_rows_ok("kc_dot3", rows, d, err);
    if (s != ABL_OK || rows == 0)
        return s;
    k_dot3_f32_cuda<<<(unsigned)rows, KO_NT>>>(sums, a, b, d);
    KC_LAUNCHED(err, "k_dot3_f32_cuda");
    return ABL_OK;
}
