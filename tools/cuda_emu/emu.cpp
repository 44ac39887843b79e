// tools/cuda_emu/emu.cpp - the emulated CUDA runtime behind cuda_runtime.h: each CUDA thread of a
// block is a ucontext fiber, blocks run one after another, "device memory" is malloc'ed.
// Developer aid only (tools/cuda_emu/run.sh); never part of ablate.
#include "cuda_runtime.h"

#include <stdio.h>
#include <ucontext.h>
#include <vector>

thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;
unsigned char emu_slots[32][32][8];

namespace {
enum { STACK = 256 * 1024 };
struct fiber {
    ucontext_t ctx;
    bool done;
    unsigned tid;
    std::vector<char> stack;
};
std::vector<fiber> fibers;
ucontext_t sched_ctx;
int cur = -1;
std::function<void()> *body_ptr;
unsigned bcount, bgen, nalive;
unsigned wcount[32], wgen[32];
long spins;

void yield()
{
    spins++;
    if (spins > 4000000000L) {
        fprintf(stderr, "emu: deadlock?\n");
        abort();
    }
    swapcontext(&fibers[cur].ctx, &sched_ctx);
    threadIdx = dim3(fibers[cur].tid, 0, 0);
}

void entry()
{
    threadIdx = dim3(fibers[cur].tid, 0, 0);
    (*body_ptr)();
    fibers[cur].done = true;
    nalive--;
    swapcontext(&fibers[cur].ctx, &sched_ctx);
}
} // namespace

void emu_syncthreads()
{
    unsigned g = bgen;
    if (++bcount == nalive) {
        bcount = 0;
        bgen++;
        return;
    }
    while (bgen == g)
        yield();
}

void emu_warp_sync()
{
    unsigned w = threadIdx.x >> 5, g = wgen[w];
    if (++wcount[w] == 32) {
        wcount[w] = 0;
        wgen[w]++;
        return;
    }
    while (wgen[w] == g)
        yield();
}

void emu_launch(dim3 grid, dim3 block, std::function<void()> body)
{
    unsigned nt = block.x * block.y * block.z;
    if (fibers.size() < nt)
        fibers.resize(nt);
    body_ptr = &body;
    gridDim = grid;
    blockDim = block;
    for (unsigned bz = 0; bz < grid.z; bz++)
        for (unsigned by = 0; by < grid.y; by++)
            for (unsigned bx = 0; bx < grid.x; bx++) {
                blockIdx = dim3(bx, by, bz);
                bcount = 0;
                memset(wcount, 0, sizeof wcount);
                nalive = nt;
                for (unsigned t = 0; t < nt; t++) {
                    fiber &f = fibers[t];
                    if (f.stack.empty())
                        f.stack.resize(STACK);
                    f.done = false;
                    f.tid = t;
                    getcontext(&f.ctx);
                    f.ctx.uc_stack.ss_sp = f.stack.data();
                    f.ctx.uc_stack.ss_size = STACK;
                    f.ctx.uc_link = &sched_ctx;
                    makecontext(&f.ctx, entry, 0);
                }
                bool any = true;
                while (any) {
                    any = false;
                    for (unsigned t = 0; t < nt; t++) {
                        if (fibers[t].done)
                            continue;
                        any = true;
                        cur = (int)t;
                        swapcontext(&sched_ctx, &fibers[t].ctx);
                    }
                }
            }
}

static size_t emu_allocated;
cudaError_t cudaGetDeviceCount(int *n) { *n = 1; return cudaSuccess; }
cudaError_t cudaDeviceGetAttribute(int *v, cudaDeviceAttr, int) { *v = 9; return cudaSuccess; }
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int)
{
    memset(p, 0, sizeof *p);
    strcpy(p->name, "emulated sm_90");
    p->major = 9;
    p->minor = 0;
    p->multiProcessorCount = getenv("EMU_SMS") ? atoi(getenv("EMU_SMS")) : 4;
    p->totalGlobalMem = (size_t)8 << 30;
    return cudaSuccess;
}
cudaError_t cudaSetDevice(int) { return cudaSuccess; }
cudaError_t cudaFree(void *p) { free(p); return cudaSuccess; }
cudaError_t cudaMalloc(void **p, size_t n)
{
    // poison: NaN-ish bytes so uninitialised reads show up
    *p = malloc(n);
    if (!*p)
        return cudaErrorMemoryAllocation;
    memset(*p, 0xff, n);
    emu_allocated += n;
    return cudaSuccess;
}
cudaError_t cudaMemcpy(void *d, const void *s, size_t n, cudaMemcpyKind) { memmove(d, s, n); return cudaSuccess; }
cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, cudaMemcpyKind, int) { memmove(d, s, n); return cudaSuccess; }
cudaError_t cudaMemsetAsync(void *d, int v, size_t n, int) { memset(d, v, n); return cudaSuccess; }
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
cudaError_t cudaGetLastError() { return cudaSuccess; }
cudaError_t cudaMemGetInfo(size_t *f, size_t *t) { *t = (size_t)8 << 30; *f = *t - emu_allocated; return cudaSuccess; }
const char *cudaGetErrorString(cudaError_t) { return "emulated error"; }
const char *cudaGetErrorName(cudaError_t) { return "cudaErrorEmulated"; }
