/* kernels_cuda/kc_attention.cu - causal grouped-query attention with per-token visibility
 * (prefix + branch spans), flash style: key/value tiles in shared memory, online softmax. */
#include <limits.h>
#include <math.h>
#include <stdint.h>

#include "kc_int.h"

/* A block takes KA_BQ consecutive query tokens of one query head; each of its 4 warps owns
 * KA_QPW of them. Key tiles of KA_BK rows cover the union of the block's visible ranges; in a
 * tile, lane j scores key j for one query at a time, and lane l accumulates output dims
 * l, l+32, ... (DC of them). */
enum { KA_BQ = 16, KA_QPW = 4, KA_BK = 32, KA_NT = 128, KA_MAXDH = 128 };

template <int DC>
__global__ void __launch_bounds__(KA_NT)
k_attention_f32_cuda(float *__restrict__ out, const float *__restrict__ q,
                     const float *__restrict__ k, const float *__restrict__ v,
                     const k_span *__restrict__ span, int t, int h, int hkv, int dh, float scale)
{
    extern __shared__ float ka_smem[];
    float *qs = ka_smem;                 /* (KA_BQ, dh) this block's queries */
    float *ks = qs + KA_BQ * dh;         /* (KA_BK, dh + 1) key tile, padded against conflicts */
    float *vs = ks + KA_BK * (dh + 1);   /* (KA_BK, dh) value tile */
    __shared__ int range[2];             /* union of visible key rows [lo, hi) */

    const int head = blockIdx.y, kvh = head / (h / hkv);
    const int q0 = blockIdx.x * KA_BQ;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const size_t qstride = (size_t)h * dh, kstride = (size_t)hkv * dh;

    if (warp == 0) {
        int lo = INT_MAX, hi = INT_MIN;
        if (lane < KA_BQ && q0 + lane < t) {
            const k_span s = span[q0 + lane];
            if (s.a1 > s.a0) {
                lo = min(lo, s.a0);
                hi = max(hi, s.a1);
            }
            if (s.b1 > s.b0) {
                lo = min(lo, s.b0);
                hi = max(hi, s.b1);
            }
        }
        for (int o = 16; o > 0; o >>= 1) {
            lo = min(lo, __shfl_xor_sync(0xffffffffu, lo, o));
            hi = max(hi, __shfl_xor_sync(0xffffffffu, hi, o));
        }
        if (lane == 0) {
            range[0] = lo;
            range[1] = hi;
        }
    }
    for (int e = tid; e < KA_BQ * dh; e += KA_NT) {
        const int r = e / dh, d = e % dh, qi = q0 + r;
        qs[e] = qi < t ? q[(size_t)qi * qstride + (size_t)head * dh + d] : 0.0f;
    }
    __syncthreads();
    const int lo = range[0], hi = range[1];

    /* Per-query state of this warp: visible ranges, running max, running sum, output dims. */
    int a0[KA_QPW], a1[KA_QPW], b0[KA_QPW], b1[KA_QPW];
    float mrun[KA_QPW], lrun[KA_QPW], o[KA_QPW][DC];
#pragma unroll
    for (int qq = 0; qq < KA_QPW; qq++) {
        const int qi = q0 + warp * KA_QPW + qq;
        a0[qq] = a1[qq] = b0[qq] = b1[qq] = 0;
        if (qi < t) {
            const k_span s = span[qi];
            a0[qq] = s.a0;
            a1[qq] = s.a1;
            b0[qq] = s.b0;
            b1[qq] = s.b1;
        }
        mrun[qq] = -INFINITY;
        lrun[qq] = 0.0f;
#pragma unroll
        for (int c = 0; c < DC; c++)
            o[qq][c] = 0.0f;
    }

    for (int kt = lo; kt < hi; kt += KA_BK) {
        __syncthreads(); /* the previous tile is no longer read */
        for (int e = tid; e < KA_BK * dh; e += KA_NT) {
            const int j = e / dh, d = e % dh, kj = kt + j;
            const size_t g = (size_t)kj * kstride + (size_t)kvh * dh + d;
            ks[j * (dh + 1) + d] = kj < hi ? k[g] : 0.0f;
            vs[j * dh + d] = kj < hi ? v[g] : 0.0f;
        }
        __syncthreads();
        const int kj = kt + lane, te = kt + KA_BK;
        const float *krow = ks + lane * (dh + 1);
#pragma unroll
        for (int qq = 0; qq < KA_QPW; qq++) {
            /* Every lane holds the same ranges, so these branches are warp-uniform. */
            const bool in_a = a0[qq] < a1[qq] && a0[qq] < te && kt < a1[qq];
            const bool in_b = b0[qq] < b1[qq] && b0[qq] < te && kt < b1[qq];
            if (!in_a && !in_b)
                continue;
            const float *qrow = qs + (warp * KA_QPW + qq) * dh;
            float s = 0.0f;
            for (int d = 0; d < dh; d++)
                s = fmaf(qrow[d], krow[d], s);
            const bool vis = (kj >= a0[qq] && kj < a1[qq]) || (kj >= b0[qq] && kj < b1[qq]);
            s = vis ? s * scale : -INFINITY;
            const float tmax = kc_warp_max(s);
            if (tmax == -INFINITY)
                continue;
            const float mnew = fmaxf(mrun[qq], tmax);
            const float alpha = expf(mrun[qq] - mnew); /* 0 on the first visible tile */
            const float p = vis ? expf(s - mnew) : 0.0f;
            lrun[qq] = lrun[qq] * alpha + kc_warp_sum(p);
            mrun[qq] = mnew;
#pragma unroll
            for (int c = 0; c < DC; c++)
                o[qq][c] *= alpha;
#pragma unroll 4
            for (int j = 0; j < KA_BK; j++) {
                const float pj = __shfl_sync(0xffffffffu, p, j);
#pragma unroll
                for (int c = 0; c < DC; c++) {
                    const int d = lane + 32 * c;
                    if (d < dh)
                        o[qq][c] = fmaf(pj, vs[j * dh + d], o[qq][c]);
                }
            }
        }
    }

#pragma unroll
    for (int qq = 0; qq < KA_QPW; qq++) {
        const int qi = q0 + warp * KA_QPW + qq;
        if (qi >= t)
            continue;
        const float inv = lrun[qq] > 0.0f ? 1.0f / lrun[qq] : 0.0f;
#pragma unroll
        for (int c = 0; c < DC; c++) {
            const int d = lane + 32 * c;
            if (d < dh)
                out[(size_t)qi * qstride + (size_t)head * dh + d] = o[qq][c] * inv;
        }
    }
}

static int ka_overlap(const void *a, size_t na, const void *b, size_t nb)
{
    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    return x < y + nb && y < x + na;
}

abl_status kc_attention(float *out, const float *q, const float *k, const float *v,
                        const k_span *span, int t, int h, int hkv, int dh, abl_err *err)
{
    abl_status s = kc_need_init(err, "kc_attention");
    if (s != ABL_OK)
        return s;
    if (t < 0 || h < 1 || hkv < 1 || h % hkv != 0 || h > 65535 || dh < 1 || dh > KA_MAXDH)
        return abl_fail(err, ABL_E_ARG, "kc_attention: expected T >= 0, H a multiple of Hkv, "
                        "1 <= Dh <= %d, found T=%d H=%d Hkv=%d Dh=%d", KA_MAXDH, t, h, hkv, dh);
    if (t == 0)
        return ABL_OK;
    if (!out || !q || !k || !v || !span)
        return abl_fail(err, ABL_E_ARG, "kc_attention: expected device pointers, found NULL");
    size_t nout = (size_t)t * h * dh * sizeof(float);
    if (ka_overlap(out, nout, q, nout))
        return abl_fail(err, ABL_E_ARG, "kc_attention: expected out apart from q, found them "
                        "overlapping");
    const dim3 grid((unsigned)((t + KA_BQ - 1) / KA_BQ), (unsigned)h);
    const size_t shm = (size_t)(KA_BQ * dh + KA_BK * (dh + 1) + KA_BK * dh) * sizeof(float);
    const float scale = 1.0f / sqrtf((float)dh);
    switch ((dh + 31) / 32) {
    case 1:
        k_attention_f32_cuda<1><<<grid, KA_NT, shm>>>(out, q, k, v, span, t, h, hkv, dh, scale);
        break;
    case 2:
        k_attention_f32_cuda<2><<<grid, KA_NT, shm>>>(out, q, k, v, span, t, h, hkv, dh, scale);
        break;
    case 3:
        k_attention_f32_cuda<3><<<grid, KA_NT, shm>>>(out, q, k, v, span, t, h, hkv, dh, scale);
        break;
    default:
        k_attention_f32_cuda<4><<<grid, KA_NT, shm>>>(out, q, k, v, span, t, h, hkv, dh, scale);
        break;
    }
    KC_LAUNCHED(err, "k_attention_f32_cuda");
    return ABL_OK;
}
