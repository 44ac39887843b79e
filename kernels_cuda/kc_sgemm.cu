/* kernels_cuda/kc_sgemm.cu - Y = X . W^T on the GPU: an FP32 kernel (shared-memory tiles, double
 * buffered, register blocking) and a TF32 tensor-core kernel (mma.sync m16n8k8, cp.async), both
 * with split-K for grids too small to fill the GPU, and a tile size chosen per shape. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kc_int.h"
#if defined(CUDA_EMU)
#include "mma.h" /* tools/cuda_emu: emu_mma_m16n8k8_tf32 */
#endif

/* ---- device helpers: async copies, TF32 rounding, the tensor-core MMA ---------------------
 * On sm_80+ these are PTX. Under tools/cuda_emu (CUDA_EMU defined, no __CUDA_ARCH__) the copies
 * are plain stores and the MMA is tools/cuda_emu/mma.h's model of the documented fragment
 * layout; nvcc's host pass sees empty bodies. */

/* Copy 16 bytes (VEC) or 4 bytes global -> shared; zero-fill when !valid (src then unread). */
template <bool VEC>
__device__ __forceinline__ void kc_cp_async(float *dst, const float *src, bool valid)
{
#if defined(__CUDA_ARCH__)
    const unsigned s = (unsigned)__cvta_generic_to_shared(dst);
    if (VEC)
        asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(src),
                     "r"(valid ? 16 : 0));
    else
        asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(s), "l"(src),
                     "r"(valid ? 4 : 0));
#else
    for (int i = 0; i < (VEC ? 4 : 1); i++)
        dst[i] = valid ? src[i] : 0.0f;
#endif
}

__device__ __forceinline__ void kc_cp_commit()
{
#if defined(__CUDA_ARCH__)
    asm volatile("cp.async.commit_group;\n" ::);
#endif
}

/* Wait until at most N committed groups of this thread are still in flight. */
template <int N> __device__ __forceinline__ void kc_cp_wait()
{
#if defined(__CUDA_ARCH__)
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
#endif
}

/* f rounded to TF32 (10 mantissa bits, to nearest, ties away), as its bits. */
__device__ __forceinline__ uint32_t kc_tf32_bits(float f)
{
    uint32_t u;
#if defined(__CUDA_ARCH__)
    asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(u) : "f"(f));
#elif defined(CUDA_EMU)
    u = (__float_as_uint(f) + 0x1000u) & 0xffffe000u;
#else
    u = 0;
    (void)f;
#endif
    return u;
}

/* d (16x8) += a (16x8, row) . b (8x8, col), TF32 in, FP32 accumulate; one warp, PTX layout:
 * g = lane/4, t = lane%4; a = {(g,t), (g+8,t), (g,t+4), (g+8,t+4)}, b = {(t,g), (t+4,g)},
 * d = {(g,2t), (g,2t+1), (g+8,2t), (g+8,2t+1)}. */
__device__ __forceinline__ void kc_mma_tf32(float (&d)[4], const uint32_t (&a)[4],
                                            const uint32_t (&b)[2])
{
#if defined(__CUDA_ARCH__)
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, "
                 "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#elif defined(CUDA_EMU)
    emu_mma_m16n8k8_tf32(d, a, b);
#else
    (void)d, (void)a, (void)b;
#endif
}

/* ---- FP32: block tile BM x BN, k-step 8, each thread TM x TN outputs ----------------------- */

enum { KC_BK = 8 };

/* The thread's outputs come in float4 groups: TM/4 row groups spaced BM/(TM/4) apart, starting
 * at ty*4, and the same for columns. Consecutive threads (tx) then read consecutive float4s of
 * the shared tile, which is free of bank conflicts. Tiles are staged through registers so that
 * they can be stored transposed (s[kk][row]); two shared buffers, one barrier per k-step. */

/* Registers of one (ROWS x 8) tile at (row0, k0) of src (nrows x ld, valid columns < kend),
 * zero outside. VEC: float4 loads (ld % 4 == 0, 16-byte aligned src), else scalar. */
template <int ROWS, int NT, bool VEC> struct kc_stage {
    static constexpr int N = VEC ? (ROWS * 2 + NT - 1) / NT : ROWS * KC_BK / NT;
    float r[VEC ? 4 * N : N];

    __device__ __forceinline__ void load(const float *__restrict__ src, int row0, int nrows,
                                         int k0, int kend, int ld, int tid)
    {
#pragma unroll
        for (int i = 0; i < N; i++) {
            if (VEC) {
                const int e = tid + i * NT, gr = row0 + e / 2, gc = k0 + (e % 2) * 4;
                float4 v;
                v.x = v.y = v.z = v.w = 0.0f;
                if (e < ROWS * 2 && gr < nrows && gc < kend)
                    v = *reinterpret_cast<const float4 *>(src + (size_t)gr * (size_t)ld + gc);
                r[4 * i + 0] = v.x;
                r[4 * i + 1] = v.y;
                r[4 * i + 2] = v.z;
                r[4 * i + 3] = v.w;
            } else {
                const int e = tid + i * NT, gr = row0 + e / KC_BK, gc = k0 + e % KC_BK;
                r[i] = (gr < nrows && gc < kend) ? src[(size_t)gr * (size_t)ld + gc] : 0.0f;
            }
        }
    }

    /* s[kk][row] = the tile transposed. Row strides of ROWS + 4 floats put the 32 lanes of a
     * warp on 32 different banks. */
    __device__ __forceinline__ void store(float (*s)[ROWS + 4], int tid) const
    {
#pragma unroll
        for (int i = 0; i < N; i++) {
            if (VEC) {
                const int e = tid + i * NT;
                if (e < ROWS * 2)
#pragma unroll
                    for (int c = 0; c < 4; c++)
                        s[(e % 2) * 4 + c][e / 2] = r[4 * i + c];
            } else {
                const int e = tid + i * NT;
                s[e % KC_BK][e / KC_BK] = r[i];
            }
        }
    }
};

/* Blocks (x: N tiles, y: M tiles, z: K slices of kslice columns). Slice z writes its partial
 * product to y + z*m*n (accumulate 0) when gridDim.z > 1, else the result (Y += when
 * accumulate). */
template <int BM, int BN, int TM, int TN, bool VEC>
__global__ void __launch_bounds__((BM / TM) * (BN / TN))
k_sgemm_f32_cuda(float *y, const float *__restrict__ x, const float *__restrict__ w, int m, int n,
                 int k, int kslice, int accumulate)
{
    constexpr int TX = BN / TN;             /* threads along N */
    constexpr int NT = (BM / TM) * TX;      /* threads per block */
    constexpr int GM = TM / 4, GN = TN / 4; /* float4 groups per thread */
    static_assert(TM % 4 == 0 && TN % 4 == 0, "thread tile in float4 groups");
    static_assert((BM * KC_BK) % NT == 0 && (BN * KC_BK) % NT == 0, "tile load split");

    __shared__ __align__(16) float xs[2][KC_BK][BM + 4]; /* xs[b][kk][row] = X(m0+row, k0+kk) */
    __shared__ __align__(16) float ws[2][KC_BK][BN + 4]; /* ws[b][kk][col] = W(n0+col, k0+kk) */

    const int tid = threadIdx.x, tx = tid % TX, ty = tid / TX;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const int kbeg = blockIdx.z * kslice, kend = min(k, kbeg + kslice);
    if (gridDim.z > 1)
        y += (size_t)blockIdx.z * (size_t)m * (size_t)n;

    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; i++)
#pragma unroll
        for (int j = 0; j < TN; j++)
            acc[i][j] = 0.0f;

    kc_stage<BM, NT, VEC> xr;
    kc_stage<BN, NT, VEC> wr;
    xr.load(x, m0, m, kbeg, kend, k, tid);
    wr.load(w, n0, n, kbeg, kend, k, tid);
    xr.store(xs[0], tid);
    wr.store(ws[0], tid);
    __syncthreads();

    int buf = 0;
    for (int k0 = kbeg; k0 < kend; k0 += KC_BK) {
        const bool more = k0 + KC_BK < kend;
        if (more) { /* the next tile's loads fly while this one is multiplied */
            xr.load(x, m0, m, k0 + KC_BK, kend, k, tid);
            wr.load(w, n0, n, k0 + KC_BK, kend, k, tid);
        }
#pragma unroll
        for (int kk = 0; kk < KC_BK; kk++) {
            float a[TM], b[TN];
#pragma unroll
            for (int g = 0; g < GM; g++) {
                const float4 v =
                    *reinterpret_cast<const float4 *>(&xs[buf][kk][g * (BM / GM) + ty * 4]);
                a[g * 4 + 0] = v.x;
                a[g * 4 + 1] = v.y;
                a[g * 4 + 2] = v.z;
                a[g * 4 + 3] = v.w;
            }
#pragma unroll
            for (int g = 0; g < GN; g++) {
                const float4 v =
                    *reinterpret_cast<const float4 *>(&ws[buf][kk][g * (BN / GN) + tx * 4]);
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
        if (more) { /* the other buffer was last read before the previous barrier */
            xr.store(xs[buf ^ 1], tid);
            wr.store(ws[buf ^ 1], tid);
        }
        __syncthreads();
        buf ^= 1;
    }

    const bool vec_out = (n % 4) == 0 && (reinterpret_cast<uintptr_t>(y) % 16) == 0;
#pragma unroll
    for (int i = 0; i < TM; i++) {
        const int row = m0 + (i / 4) * (BM / GM) + ty * 4 + i % 4;
        if (row >= m)
            continue;
#pragma unroll
        for (int g = 0; g < GN; g++) {
            const int col = n0 + g * (BN / GN) + tx * 4;
            float *o = y + (size_t)row * (size_t)n + col;
            if (vec_out && col + 3 < n) {
                float4 v;
                if (accumulate)
                    v = *reinterpret_cast<const float4 *>(o);
                else
                    v.x = v.y = v.z = v.w = 0.0f;
                v.x += acc[i][g * 4 + 0];
                v.y += acc[i][g * 4 + 1];
                v.z += acc[i][g * 4 + 2];
                v.w += acc[i][g * 4 + 3];
                *reinterpret_cast<float4 *>(o) = v;
            } else {
#pragma unroll
                for (int j = 0; j < 4; j++)
                    if (col + j < n)
                        o[j] = accumulate ? o[j] + acc[i][g * 4 + j] : acc[i][g * 4 + j];
            }
        }
    }
}

/* ---- TF32 tensor cores: block tile BM x BN, k-step 16, WM x WN warps ----------------------- */

enum { KT_BK = 16, KT_LD = KT_BK + 4 };

/* Shared tiles are row-major with k contiguous (as in memory): xs[row][kk], ws[col][kk], filled
 * by cp.async one k-step ahead of use (double buffer). The row stride of 20 floats keeps the
 * 16-byte copies aligned and the fragment reads (8 rows x 4 columns per warp) on 32 different
 * banks. Each warp owns a (BM/WM) x (BN/WN) piece of the block tile. */
template <int BM, int BN, int WM, int WN, bool VEC>
__global__ void __launch_bounds__(WM * WN * 32)
k_sgemm_tf32_cuda(float *y, const float *__restrict__ x, const float *__restrict__ w, int m,
                  int n, int k, int kslice, int accumulate)
{
    constexpr int NT = WM * WN * 32;
    constexpr int WTM = BM / WM, WTN = BN / WN; /* a warp's tile */
    constexpr int MI = WTM / 16, NI = WTN / 8;  /* its MMAs per k8 */
    constexpr int CH = KT_BK / 4;               /* 16-byte chunks per tile row */
    static_assert(WTM % 16 == 0 && WTN % 8 == 0, "warp tile in MMA shapes");

    __shared__ __align__(16) float xs[2][BM][KT_LD];
    __shared__ __align__(16) float ws[2][BN][KT_LD];

    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    const int g = lane / 4, t = lane % 4;
    const int wm = warp / WN, wn = warp % WN;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const int kbeg = blockIdx.z * kslice, kend = min(k, kbeg + kslice);
    if (gridDim.z > 1)
        y += (size_t)blockIdx.z * (size_t)m * (size_t)n;

    /* one stage: the (BM x 16) X tile and (BN x 16) W tile at k0 into buffer b */
    auto stage = [&](int b, int k0) {
        for (int e = tid; e < (BM + BN) * CH; e += NT) {
            const bool isx = e < BM * CH;
            const int r = (isx ? e : e - BM * CH) / CH, c = (e % CH) * 4;
            const int gr = (isx ? m0 : n0) + r, nr = isx ? m : n;
            const float *src = isx ? x : w;
            float *dst = isx ? &xs[b][r][c] : &ws[b][r][c];
            if (VEC) {
                const bool ok = gr < nr && k0 + c < kend;
                kc_cp_async<true>(dst, ok ? src + (size_t)gr * (size_t)k + k0 + c : src, ok);
            } else {
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    const bool ok = gr < nr && k0 + c + j < kend;
                    kc_cp_async<false>(dst + j, ok ? src + (size_t)gr * (size_t)k + k0 + c + j
                                                   : src, ok);
                }
            }
        }
        kc_cp_commit();
    };

    float acc[MI][NI][4];
#pragma unroll
    for (int i = 0; i < MI; i++)
#pragma unroll
        for (int j = 0; j < NI; j++)
#pragma unroll
            for (int c = 0; c < 4; c++)
                acc[i][j][c] = 0.0f;

    stage(0, kbeg);
    int buf = 0;
    for (int k0 = kbeg; k0 < kend; k0 += KT_BK) {
        if (k0 + KT_BK < kend) {
            stage(buf ^ 1, k0 + KT_BK);
            kc_cp_wait<1>();
        } else {
            kc_cp_wait<0>();
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < KT_BK; kk += 8) {
            uint32_t a[MI][4], b[NI][2];
#pragma unroll
            for (int i = 0; i < MI; i++) {
                const int r = wm * WTM + i * 16 + g;
                a[i][0] = kc_tf32_bits(xs[buf][r][kk + t]);
                a[i][1] = kc_tf32_bits(xs[buf][r + 8][kk + t]);
                a[i][2] = kc_tf32_bits(xs[buf][r][kk + t + 4]);
                a[i][3] = kc_tf32_bits(xs[buf][r + 8][kk + t + 4]);
            }
#pragma unroll
            for (int j = 0; j < NI; j++) {
                const int c = wn * WTN + j * 8 + g;
                b[j][0] = kc_tf32_bits(ws[buf][c][kk + t]);
                b[j][1] = kc_tf32_bits(ws[buf][c][kk + t + 4]);
            }
#pragma unroll
            for (int i = 0; i < MI; i++)
#pragma unroll
                for (int j = 0; j < NI; j++)
                    kc_mma_tf32(acc[i][j], a[i], b[j]);
        }
        __syncthreads(); /* this buffer is refilled by the next iteration's stage */
        buf ^= 1;
    }

#pragma unroll
    for (int i = 0; i < MI; i++)
#pragma unroll
        for (int j = 0; j < NI; j++)
#pragma unroll
            for (int h = 0; h < 2; h++) {
                const int row = m0 + wm * WTM + i * 16 + g + h * 8;
                const int col = n0 + wn * WTN + j * 8 + 2 * t;
                if (row >= m)
                    continue;
#pragma unroll
                for (int c = 0; c < 2; c++)
                    if (col + c < n) {
                        float *o = y + (size_t)row * (size_t)n + col + c;
                        *o = accumulate ? *o + acc[i][j][2 * h + c] : acc[i][j][2 * h + c];
                    }
            }
}

/* y (m*n) = sum over s of the splits partials p (s, m*n), plus y when accumulate; a fixed order
 * of additions, so results are the same from run to run. */
__global__ void k_splitk_sum_cuda(float *y, const float *__restrict__ p, size_t mn, int splits,
                                  int accumulate)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < mn;
         i += (size_t)gridDim.x * blockDim.x) {
        float s = p[i];
        for (int z = 1; z < splits; z++)
            s += p[(size_t)z * mn + i];
        y[i] = accumulate ? y[i] + s : s;
    }
}

/* ---- host: shape checks, tile and split choice, launch ----------------------------------- */

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
    if (m < 0 || n < 1 || k < 1 || m > 65535 * 32)
        return abl_fail(err, ABL_E_ARG, "%s: expected 0 <= M <= %d, N >= 1, K >= 1, found "
                        "M=%d N=%d K=%d", op, 65535 * 32, m, n, k);
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

/* A kernel shape of either family: block tile, threads, resident blocks per SM we plan for,
 * and a relative speed of one SM running it (bigger tiles reuse more of each load). */
typedef struct {
    int bm, bn, threads, per_sm;
    double speed;
} kc_tile;

static const kc_tile kc_f32_tiles[] = {
    {128, 128, 256, 2, 1.00}, {128, 64, 128, 4, 0.92}, {64, 64, 64, 8, 0.80}, {32, 64, 64, 8, 0.60}};
static const kc_tile kc_tf32_tiles[] = {{128, 128, 256, 2, 1.00}, {64, 64, 128, 4, 0.70}};

enum { KC_MAX_SPLITS = 16 };
static int kc_force_tile = -1, kc_force_splits = 0;

void kc_sgemm_force(int tile, int splits)
{
    kc_force_tile = tile;
    kc_force_splits = splits;
}

/* The split-K partials' workspace, grown on demand and kept (one stream: one user at a time). */
static float *kc_ws;
static size_t kc_ws_bytes;

static abl_status kc_workspace(size_t bytes, abl_err *err)
{
    if (bytes <= kc_ws_bytes)
        return ABL_OK;
    if (kc_ws)
        KC_TRY(err, cudaFree(kc_ws));
    kc_ws = NULL;
    kc_ws_bytes = 0;
    KC_TRY(err, cudaMalloc((void **)&kc_ws, bytes));
    kc_ws_bytes = bytes;
    return ABL_OK;
}

/* Pick the tile and the number of K slices with the least modelled time: each SM runs its
 * share of blocks at the tile's speed, slowed while too few warps are resident; split-K pays
 * a second launch and the partials' memory traffic. bk: the kernel's k-step. */
static void kc_plan(const kc_tile *tiles, int ntiles, int m, int n, int k, int bk, int *tile,
                    int *splits, int *kslice)
{
    const double sms = kc_sm_count();
    const int ksteps = (k + bk - 1) / bk;
    double best = 0;
    *tile = 0;
    *splits = 1;
    for (int ti = 0; ti < ntiles; ti++) {
        if (kc_force_tile >= 0 && ti != kc_force_tile)
            continue;
        const kc_tile *c = &tiles[ti];
        const double nt = (double)((m + c->bm - 1) / c->bm) * (double)((n + c->bn - 1) / c->bn);
        for (int s = 1; s <= KC_MAX_SPLITS; s++) {
            const int steps = (ksteps + s - 1) / s;
            if (kc_force_splits > 0 ? s != kc_force_splits
                                    : (s > 1 && (steps < 4 || (double)s * m * n > 64e6)))
                continue;
            if ((s - 1) * steps >= ksteps) /* an empty slice */
                continue;
            const double per_sm = ceil(nt * s / sms);
            const double resident = per_sm < c->per_sm ? per_sm : c->per_sm;
            double busy = resident * c->threads / 256.0;
            busy = busy > 1 ? 1 : busy;
            double cost = per_sm * (double)c->bm * c->bn * ((double)steps * bk + 2 * bk) /
                          (c->speed * busy);
            if (s > 1) /* the sum kernel: s+2 floats of traffic per output, ~10 FMA each */
                cost += (double)m * n * (s + 2) * 40.0 / sms + 5e5;
            if (best == 0 || cost < best) {
                best = cost;
                *tile = ti;
                *splits = s;
            }
        }
    }
    *kslice = ((ksteps + *splits - 1) / *splits) * bk;
}

typedef void (*kc_gemm_kernel)(float *, const float *, const float *, int, int, int, int, int);

/* Launch kern over the plan; with splits > 1 through the workspace and the sum kernel. A
 * workspace that cannot be had falls back to one slice. */
static abl_status kc_gemm_launch(kc_gemm_kernel kern, const kc_tile *c, int splits, int kslice,
                                 float *y, const float *x, const float *w, int m, int n, int k,
                                 int accumulate, const char *name, abl_err *err)
{
    size_t mn = (size_t)m * (size_t)n;
    if (splits > 1) {
        abl_err e2;
        memset(&e2, 0, sizeof e2);
        if (kc_workspace(mn * splits * sizeof(float), &e2) != ABL_OK) {
            (void)cudaGetLastError(); /* clear the failed allocation; run unsplit */
            splits = 1;
            kslice = k;
        }
    }
    dim3 grid((unsigned)((n + c->bn - 1) / c->bn), (unsigned)((m + c->bm - 1) / c->bm),
              (unsigned)splits);
    float *out = splits > 1 ? kc_ws : y;
    const int acc = splits > 1 ? 0 : accumulate;
    kern<<<grid, c->threads>>>(out, x, w, m, n, k, kslice, acc);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        return kc_fail_cuda(err, e, name, __FILE__, __LINE__);
    if (splits > 1) {
        k_splitk_sum_cuda<<<kc_blocks(mn, 256), 256>>>(y, kc_ws, mn, splits, accumulate);
        KC_LAUNCHED(err, "k_splitk_sum_cuda");
    }
    return ABL_OK;
}

/* Whether X and W allow 16-byte loads: K a multiple of 4, both 16-byte aligned. */
static bool kc_vec_ok(const float *x, const float *w, int k)
{
    return k % 4 == 0 && (uintptr_t)x % 16 == 0 && (uintptr_t)w % 16 == 0;
}

abl_status kc_sgemm_f32(float *y, const float *x, const float *w, int m, int n, int k,
                        int accumulate, abl_err *err)
{
    int skip = 0;
    abl_status s = kc_gemm_check("kc_sgemm_f32", y, x, w, m, n, k, &skip, err);
    if (s != ABL_OK || skip)
        return s;
    int ti, splits, kslice;
    kc_plan(kc_f32_tiles, (int)ABL_ARRAY_LEN(kc_f32_tiles), m, n, k, KC_BK, &ti, &splits,
            &kslice);
    const bool v = kc_vec_ok(x, w, k);
    static const kc_gemm_kernel kv[] = {
        k_sgemm_f32_cuda<128, 128, 8, 8, true>, k_sgemm_f32_cuda<128, 64, 8, 8, true>,
        k_sgemm_f32_cuda<64, 64, 8, 8, true>, k_sgemm_f32_cuda<32, 64, 4, 8, true>};
    static const kc_gemm_kernel ks[] = {
        k_sgemm_f32_cuda<128, 128, 8, 8, false>, k_sgemm_f32_cuda<128, 64, 8, 8, false>,
        k_sgemm_f32_cuda<64, 64, 8, 8, false>, k_sgemm_f32_cuda<32, 64, 4, 8, false>};
    return kc_gemm_launch(v ? kv[ti] : ks[ti], &kc_f32_tiles[ti], splits, kslice, y, x, w, m, n,
                          k, accumulate, "launch of k_sgemm_f32_cuda", err);
}

abl_status kc_sgemm_tf32(float *y, const float *x, const float *w, int m, int n, int k,
                         int accumulate, abl_err *err)
{
    int skip = 0;
    abl_status s = kc_gemm_check("kc_sgemm_tf32", y, x, w, m, n, k, &skip, err);
    if (s != ABL_OK || skip)
        return s;
    int ti, splits, kslice;
    kc_plan(kc_tf32_tiles, (int)ABL_ARRAY_LEN(kc_tf32_tiles), m, n, k, KT_BK, &ti, &splits,
            &kslice);
    const bool v = kc_vec_ok(x, w, k);
    static const kc_gemm_kernel kv[] = {k_sgemm_tf32_cuda<128, 128, 2, 4, true>,
                                        k_sgemm_tf32_cuda<64, 64, 2, 2, true>};
    static const kc_gemm_kernel ks[] = {k_sgemm_tf32_cuda<128, 128, 2, 4, false>,
                                        k_sgemm_tf32_cuda<64, 64, 2, 2, false>};
    return kc_gemm_launch(v ? kv[ti] : ks[ti], &kc_tf32_tiles[ti], splits, kslice, y, x, w, m, n,
                          k, accumulate, "launch of k_sgemm_tf32_cuda", err);
}

abl_status kc_matmul(float *y, const float *x, const float *w, int m, int n, int k,
                     int accumulate, abl_err *err)
{
    return kc_tf32() ? kc_sgemm_tf32(y, x, w, m, n, k, accumulate, err)
                     : kc_sgemm_f32(y, x, w, m, n, k, accumulate, err);
}
