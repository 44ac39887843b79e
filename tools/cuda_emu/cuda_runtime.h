// tools/cuda_emu/cuda_runtime.h - a host stand-in for the part of CUDA that kernels_cuda uses, so
// that g++ can compile the kernels for the CPU (after transform.py rewrites launches and
// __shared__). Each CUDA thread is a fiber; __syncthreads and warp shuffles are barriers between
// fibers. Developer aid only (tools/cuda_emu/run.sh): it checks the kernels' indexing, tiling,
// masking and reductions, not timing, memory-model races or real tensor-core layouts.
#pragma once
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <algorithm>
#include <functional>

#define CUDA_EMU 1 // kernels that need an emulated primitive (tools/cuda_emu/mma.h) test this
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
struct __attribute__((aligned(16))) float4 { float x, y, z, w; };

// Fibers share one OS thread: the scheduler sets threadIdx on every switch.
extern thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

void emu_syncthreads();
void emu_warp_sync();
extern unsigned char emu_slots[32][32][8]; // [warp][lane][bytes]

#define __syncthreads() emu_syncthreads()

template <typename T> T emu_shfl(T v, int src)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    memcpy(emu_slots[warp][lane], &v, sizeof v);
    emu_warp_sync();
    T r;
    memcpy(&r, emu_slots[warp][src & 31], sizeof r);
    emu_warp_sync();
    return r;
}
template <typename T> T __shfl_xor_sync(unsigned, T v, int o) { return emu_shfl(v, (int)(threadIdx.x & 31) ^ o); }
template <typename T> T __shfl_sync(unsigned, T v, int src) { return emu_shfl(v, src); }

inline float __uint_as_float(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
inline uint32_t __float_as_uint(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

using std::min;
using std::max;

void emu_launch(dim3 grid, dim3 block, std::function<void()> body);

typedef enum {
    cudaSuccess = 0, cudaErrorMemoryAllocation = 2, cudaErrorInitializationError = 3,
    cudaErrorInsufficientDriver = 35, cudaErrorNoDevice = 100, cudaErrorSystemDriverMismatch = 803,
    cudaErrorCompatNotSupportedOnDevice = 804, cudaErrorDevicesUnavailable = 46,
    cudaErrorInvalidValue = 1
} cudaError_t;
typedef enum { cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice } cudaMemcpyKind;
typedef enum { cudaDevAttrComputeCapabilityMajor } cudaDeviceAttr;
struct cudaDeviceProp { char name[256]; int major, minor, multiProcessorCount; size_t totalGlobalMem; };

cudaError_t cudaGetDeviceCount(int *n);
cudaError_t cudaDeviceGetAttribute(int *v, cudaDeviceAttr a, int dev);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int dev);
cudaError_t cudaSetDevice(int);
cudaError_t cudaFree(void *p);
cudaError_t cudaMalloc(void **p, size_t n);
cudaError_t cudaMemcpy(void *d, const void *s, size_t n, cudaMemcpyKind);
cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, cudaMemcpyKind, int);
cudaError_t cudaMemsetAsync(void *d, int v, size_t n, int);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaGetLastError();
cudaError_t cudaMemGetInfo(size_t *f, size_t *t);
const char *cudaGetErrorString(cudaError_t);
const char *cudaGetErrorName(cudaError_t);
