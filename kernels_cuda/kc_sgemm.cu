/* kernels_cuda/kc_sgemm.cu - Y = X . W^T on the GPU: an FP32 kernel (shared-memory tiles,
 * register blocking, next tile prefetched into registers) and a TF32 tensor-core kernel (WMMA). */
#include <stdint.h>

#include <mma.h>

#include "kc_int.h"

/* ---- FP32: block tile BM x BN, k-step 8, each thread TM x TN outputs --------------------- */

enum { KC_BK = 8 };

/* The thread's outputs come in float4 groups: TM/4 row groups spaced BM/(TM/4) apart, starting
 * at ty*4, and the same for columns. Consecutive threads (tx) then read consecutive float4s of
 * the shared tile, which is free of bank conflicts. */

/* r[i] = src element e = tid + i*NT of the (ROWS x 8) tile at (row0, k0), as (e/8, e%8);
 * zero outside the matrix (nrows x k). 8 consecutive threads read 32 contiguous bytes. */
template <int L, int NT>
__device__ __forceinline__ void kc_tile_load(float (&r)[L], const float *__restrict__ src,
                                             int row0, int nrows, int k0, int k, int tid)
{
#pragma unroll
    for (int i = 0; i < L; i++) {
        const int e = tid + i * NT, gr = row0 + e / KC_BK, gc = k0 + e % KC_BK;
        r[i] = (gr < nrows && gc < k) ? src[(size_t)gr * (size_t)k + gc] : 0.0f;
    }
}

/* Transposed store of the registers into the shared tile s[kk][row]. The +4 padding of each
 * row makes the 32 lanes of a warp hit 32 different banks. */
template <int ROWS, int L, int NT>
__device__ __forceinline__ void kc_tile_store(float (*s)[ROWS + 4], const float (&r)[L], int tid)
{
#pragma unroll
    for (int i = 0; i < L; i++) {
        const int e = tid + i * NT;
        s[e % KC_BK][e / KC_BK] = r[i];
    }
}

template <int BM, int BN, int TM, int TN>
__global__ void __launch_bounds__((BM / TM) * (BN / TN))
k_sgemm_f32_cuda(float *y, const float *__restrict__ x, const float *__restrict__ w, int m, int n,
                 int k, int accumulate)
{
    constexpr int TX = BN / TN;             /* threads along N */
    constexpr int NT = (BM / TM) * TX;      /* threads per block */
    constexpr int XL = BM * KC_BK / NT;     /* X elements each thread loads per k-step */
    constexpr int WL = BN * KC_BK / NT;
    constexpr int GM = TM / 4, GN = TN / 4; /* float4 groups per thread */
    static_assert(TM % 4 == 0 && TN % 4 == 0, "thread tile in float4 groups");
    static_assert((BM * KC_BK) % NT == 0 && (BN * KC_BK) % NT == 0, "tile load split");

    __shared__ __align__(16) float xs[KC_BK][BM + 4]; /* xs[kk][row] = X(m0+row, k0+kk) */
    __shared__ __align__(16) float ws[KC_BK][BN + 4]; /* ws[kk][col] = W(n0+col, k0+kk) */

    const int tid = threadIdx.x, tx = tid % TX, ty = tid / TX;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;

    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; i++)
#pragma unroll
        for (int j = 0; j < TN; j++)
            acc[i][j] = 0.0f;

    float xr[XL], wr[WL];
    kc_tile_load<XL, NT>(xr, x, m0, m, 0, k, tid);
    kc_tile_load<WL, NT>(wr, w, n0, n, 0, k, tid);

    for (int k0 = 0; k0 < k; k0 += KC_BK) {
        kc_tile_store<BM, XL, NT>(xs, xr, tid);
        kc_tile_store<BN, WL, NT>(ws, wr, tid);
        __syncthreads();
        if (k0 + KC_BK < k) { /* the next tile's loads fly while this one is multiplied */
            kc_tile_load<XL, NT>(xr, x, m0, m, k0 + KC_BK, k, tid);
            kc_tile_load<WL, NT>(wr, w, n0, n, k0 + KC_BK, k, tid);
        }
#pragma unroll
        for (int kk = 0; kk < KC_BK; kk++) {
            float a[TM], b[TN];
#pragma unroll
            for (int g = 0; g < GM; g++) {
                const float4 v = *reinterpret_cast<const float4 *>(&xs[kk][g * (BM / GM) + ty * 4]);
                a[g * 4 + 0] = v.x;
                a[g * 4 + 1] = v.y;
                a[g * 4 + 2] = v.z;
                a[g * 4 + 3] = v.w;
            }
#pragma unroll
            for (int g = 0; g < GN; g++) {
                const float4 v = *reinterpret_cast<const float4 *>(&ws[kk][g * (BN / GN) + tx * 4]);
                b[g * 4 + 0] = v.x;
                b[g * 4 + 1] = v.y;
                b[g * 4 + 2] = v.z;
                b[g * 4 + 3] = v.w;
            }
#pragma unroll
            for (int i = 0; i < TM; i++)
#pragma unroll
                for (int j = 0; j < TN; j++)
                    acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        __syncthreads(); /* everyone is done with xs/ws before the next store */
    }

#pragma unroll
    for (int i = 0; i < TM; i++) {
        const int row = m0 + (i / 4) * (BM / GM) + ty * 4 + i % 4;
        if (row >= m)
            continue;
#pragma unroll
        for (int j = 0; j < TN; j++) {
            const int col = n0 + (j / 4) * (BN / GN) + tx * 4 + j % 4;
            if (col < n) {
                const size_t o = (size_t)row * (size_t)n + col;
                y[o] = accumulate ? y[o] + acc[i][j] : acc[i][j];
            }
        }
    }
}

/* ---- TF32 tensor cores: block tile 64 x 64, k-step 16, 4 warps of 32 x 32 ----------------- */

enum { KT_BM = 64, KT_BN = 64, KT_BK = 16, KT_LD = KT_BK + 8, KT_LDC = KT_BN + 4, KT_NT = 128 };

__global__ void __launch_bounds__(KT_NT)
k_sgemm_tf32_cuda(float *y, const float *__restrict__ x, const float *__restrict__ w, int m,
                  int n, int k, int accumulate)
{
    using namespace nvcuda;
    /* Row strides of 24 and 68 floats keep every fragment pointer 32-byte aligned. */
    __shared__ __align__(32) float xs[KT_BM][KT_LD];  /* xs[row][kk] = X(m0+row, k0+kk) */
    __shared__ __align__(32) float ws[KT_BN][KT_LD];  /* ws[col][kk] = W(n0+col, k0+kk) */
    __shared__ __align__(32) float cs[KT_BM][KT_LDC]; /* the block's result tile */

    const int tid = threadIdx.x, warp = tid / 32;
    const int wm = warp / 2, wn = warp % 2; /* this warp's 32 x 32 at (wm*32, wn*32) */
    const int m0 = blockIdx.y * KT_BM, n0 = blockIdx.x * KT_BN;

    wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc[2][2];
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 2; j++)
            wmma::fill_fragment(acc[i][j], 0.0f);

    for (int k0 = 0; k0 < k; k0 += KT_BK) {
        for (int e = tid; e < KT_BM * KT_BK; e += KT_NT) {
            const int r = e / KT_BK, c = e % KT_BK, gr = m0 + r, gc = k0 + c;
            xs[r][c] = (gr < m && gc < k) ? x[(size_t)gr * (size_t)k + gc] : 0.0f;
        }
        for (int e = tid; e < KT_BN * KT_BK; e += KT_NT) {
            const int r = e / KT_BK, c = e % KT_BK, gr = n0 + r, gc = k0 + c;
            ws[r][c] = (gr < n && gc < k) ? w[(size_t)gr * (size_t)k + gc] : 0.0f;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < KT_BK; kk += 8) {
            /* A (16 x 8) row-major from xs; B (8 x 16) = W^T, which is W's rows read
             * column-major from ws. */
            wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> a[2];
            wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major> b[2];
#pragma unroll
            for (int i = 0; i < 2; i++) {
                wmma::load_matrix_sync(a[i], &xs[wm * 32 + i * 16][kk], KT_LD);
                for (int t = 0; t < a[i].num_elements; t++)
                    a[i].x[t] = wmma::__float_to_tf32(a[i].x[t]);
            }
#pragma unroll
            for (int j = 0; j < 2; j++) {
                wmma::load_matrix_sync(b[j], &ws[wn * 32 + j * 16][kk], KT_LD);
                for (int t = 0; t < b[j].num_elements; t++)
                    b[j].x[t] = wmma::__float_to_tf32(b[j].x[t]);
            }
#pragma unroll
            for (int i = 0; i < 2; i++)
#pragma unroll
                for (int j = 0; j < 2; j++)
                    wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
        }
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 2; j++)
            wmma::store_matrix_sync(&cs[wm * 32 + i * 16][wn * 32 + j * 16], acc[i][j], KT_LDC,
                                    wmma::mem_row_major);
    __syncthreads();
    for (int e = tid; e < KT_BM * KT_BN; e += KT_NT) {
        const int r = e / KT_BN, c = e % KT_BN, gr = m0 + r, gc = n0 + c;
        if (gr < m && gc < n) {
            const size_t o = (size_t)gr * (size_t)n + gc;
            y[o] = accumulate ? y[o] + cs[r][c] : cs[r][c];
        }
    }
}

/* ---- host entry points ------------------------------------------------------------------- */

static int kc_overlap(const void *a, size_t na, const void *b, size_t nb)
{
    uintptr_t a0 = (uintptr_t)a, b0 = (uintptr_t)b;
    return a0 < b0 + nb && b0 < a0 + na;
}

/* Shared argument checks; *skip = 1 when there is nothing to do (M == 0). */
static abl_status kc_gemm_check(const char *op, const float *y, const float *x, const float *w,
                                int m, int n, int k, int *skip, abl_err *err)
{
    *skip = 0;
    abl_status s = kc_need_init(err, op);
    if (s != ABL_OK)
        return s;
    if (m < 0 || n < 1 || k < 1 || m > 65535 * 64)
        return abl_fail(err, ABL_E_ARG, "%s: expected 0 <= M <= %d, N >= 1, K >= 1, found "
                        "M=%d N=%d K=%d", op, 65535 * 64, m, n, k);
    if (m == 0) {
        *skip = 1;
        return ABL_OK;
    }
    if (!y || !x || !w)
        return abl_fail(err, ABL_E_ARG, "%s: expected device pointers, found NULL", op);
    size_t ny = (size_t)m * n * sizeof(float);
    if (kc_overlap(y, ny, x, (size_t)m * k * sizeof(float)) ||
        kc_overlap(y, ny, w, (size_t)n * k * sizeof(float)))
        return abl_fail(err, ABL_E_ARG, "%s: expected Y apart from X and W, found them "
                        "overlapping", op);
    return ABL_OK;
}

abl_status kc_sgemm_f32(float *y, const float *x, const float *w, int m, int n, int k,
                        int accumulate, abl_err *err)
{
    int skip = 0;
    abl_status s = kc_gemm_check("kc_sgemm_f32", y, x, w, m, n, k, &skip, err);
    if (s != ABL_OK || skip)
        return s;
    /* Big tiles when they fill the GPU at least once; else small tiles for more blocks. */
    long tiles_big = (long)((m + 127) / 128) * (long)((n + 127) / 128);
    if (tiles_big >= kc_sm_count()) {
        dim3 grid((unsigned)((n + 127) / 128), (unsigned)((m + 127) / 128));
        k_sgemm_f32_cuda<128, 128, 8, 8><<<grid, 256>>>(y, x, w, m, n, k, accumulate);
        KC_LAUNCHED(err, "k_sgemm_f32_cuda<128,128>");
    } else {
        dim3 grid((unsigned)((n + 63) / 64), (unsigned)((m + 63) / 64));
        k_sgemm_f32_cuda<64, 64, 4, 4><<<grid, 256>>>(y, x, w, m, n, k, accumulate);
        KC_LAUNCHED(err, "k_sgemm_f32_cuda<64,64>");
    }
    return ABL_OK;
}

abl_status kc_sgemm_tf32(float *y, const float *x, const float *w, int m, int n, int k,
                         int accumulate, abl_err *err)
{
    int skip = 0;
    abl_status s = kc_gemm_check("kc_sgemm_tf32", y, x, w, m, n, k, &skip, err);
    if (s != ABL_OK || skip)
        return s;
    dim3 grid((unsigned)((n + KT_BN - 1) / KT_BN), (unsigned)((m + KT_BM - 1) / KT_BM));
    k_sgemm_tf32_cuda<<<grid, KT_NT>>>(y, x, w, m, n, k, accumulate);
    KC_LAUNCHED(err, "k_sgemm_tf32_cuda");
    return ABL_OK;
}

abl_status kc_matmul(float *y, const float *x, const float *w, int m, int n, int k,
                     int accumulate, abl_err *err)
{
    return kc_tf32() ? kc_sgemm_tf32(y, x, w, m, n, k, accumulate, err)
                     : kc_sgemm_f32(y, x, w, m, n, k, accumulate, err);
}
