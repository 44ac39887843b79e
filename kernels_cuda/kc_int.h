/* kernels_cuda/kc_int.h - internals shared by the kernels_cuda .cu files (CUDA C++ only):
 * the checked-call macros, the launch-size helper and block reductions. */
#ifndef KC_INT_H
#define KC_INT_H

#include <cuda_runtime.h>

#include "kernels_cuda.h"

/* Turn a CUDA error into an abl_status with "file:line: what failed: CUDA's message (name)".
 * ABL_E_NOMEM for out-of-memory, ABL_E_DEVICE otherwise. Defined in kc_device.cu. */
abl_status kc_fail_cuda(abl_err *err, cudaError_t e, const char *what, const char *file,
                        int line);

/* Fails with ABL_E_DEVICE unless kc_init succeeded (every op checks this first). */
abl_status kc_need_init(abl_err *err, const char *op);

/* Streaming multiprocessors of the selected device (>= 1). */
int kc_sm_count(void);

/* Check a CUDA API call; on failure return its status from the enclosing function. */
#define KC_TRY(err, call)                                                                   \
    do {                                                                                    \
        cudaError_t kc_e_ = (call);                                                         \
        if (kc_e_ != cudaSuccess)                                                           \
            return kc_fail_cuda((err), kc_e_, #call, __FILE__, __LINE__);                   \
    } while (0)

/* Check the kernel launch just made (bad configuration, missing image for this GPU). */
#define KC_LAUNCHED(err, name)                                                              \
    do {                                                                                    \
        cudaError_t kc_e_ = cudaGetLastError();                                             \
        if (kc_e_ != cudaSuccess)                                                           \
            return kc_fail_cuda((err), kc_e_, "launch of " name, __FILE__, __LINE__);       \
    } while (0)

/* Blocks for a grid-stride loop over n elements with `threads` per block (capped). */
static inline unsigned kc_blocks(size_t n, int threads)
{
    size_t b = (n + (size_t)threads - 1) / (size_t)threads;
    size_t cap = (size_t)kc_sm_count() * 32;
    if (b > cap)
        b = cap;
    return b ? (unsigned)b : 1u;
}

/* Sum of v over the warp (every lane gets the total). */
template <typename T> __device__ __forceinline__ T kc_warp_sum(T v)
{
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float kc_warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1)
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* Sum of v over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the
 * total. scratch: 32 elements of shared memory. Contains __syncthreads: call from all threads. */
template <typename T> __device__ T kc_block_sum(T v, T *scratch)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int nwarp = blockDim.x >> 5;
    v = kc_warp_sum(v);
    __syncthreads(); /* scratch may still be read from a previous call */
    if (lane == 0)
        scratch[warp] = v;
    __syncthreads();
    T s = lane < nwarp ? scratch[lane] : T(0);
    return kc_warp_sum(s);
}

#endif
