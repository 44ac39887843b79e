/* kernels_cuda/kc_device.cu - device selection, memory helpers and CUDA error reporting for
 * the CUDA backend. Every API call is checked and reported with file:line; nothing exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_int.h"

static int kc_ready = 0;      /* kc_init succeeded */
static int kc_ordinal = -1;   /* selected device */
static int kc_sms = 1;        /* its streaming multiprocessors */
static int kc_use_tf32 = 0;   /* kc_matmul path */
static char kc_desc[256] = "";

abl_status kc_fail_cuda(abl_err *err, cudaError_t e, const char *what, const char *file,
                        int line)
{
    abl_status code = e == cudaErrorMemoryAllocation ? ABL_E_NOMEM : ABL_E_DEVICE;
    cudaGetLastError(); /* clear a sticky launch error so the next check is about the next call */
    return abl_fail(err, code, "%s:%d: %s failed: %s (%s)%s", file, line, what,
                    cudaGetErrorString(e), cudaGetErrorName(e),
                    code == ABL_E_NOMEM ? " (hint: use smaller batches)" : "");
}

abl_status kc_need_init(abl_err *err, const char *op)
{
    if (kc_ready)
        return ABL_OK;
    return abl_fail(err, ABL_E_DEVICE, "%s: expected an initialised CUDA device, found none "
                    "(hint: call kc_init first)", op);
}

int kc_sm_count(void) { return kc_sms; }

/* True when the error means "there is no GPU here" rather than "the GPU failed". */
static int kc_no_device_error(cudaError_t e)
{
    return e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver ||
           e == cudaErrorInitializationError || e == cudaErrorSystemDriverMismatch ||
           e == cudaErrorCompatNotSupportedOnDevice || e == cudaErrorDevicesUnavailable;
}

int cuda_available(void)
{
    static int cached = -1;
    if (cached >= 0)
        return cached;
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    cached = 0;
    if (e != cudaSuccess) {
        cudaGetLastError();
        return cached;
    }
    for (int i = 0; i < n && !cached; i++) {
        int major = 0;
        if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, i) == cudaSuccess &&
            major >= 8)
            cached = 1;
    }
    return cached;
}

abl_status kc_init(int ordinal, abl_err *err)
{
    if (kc_ready && ordinal == kc_ordinal)
        return ABL_OK;
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess && kc_no_device_error(e)) {
        cudaGetLastError();
        return abl_fail(err, ABL_E_DEVICE, "no CUDA device found (%s: %s) (hint: run on a "
                        "machine with an NVIDIA GPU and driver, or use --device cpu)",
                        cudaGetErrorName(e), cudaGetErrorString(e));
    }
    if (e != cudaSuccess)
        return kc_fail_cuda(err, e, "cudaGetDeviceCount", __FILE__, __LINE__);
    if (n == 0)
        return abl_fail(err, ABL_E_DEVICE, "no CUDA device found (the driver reports 0 devices) "
                        "(hint: use --device cpu)");
    if (ordinal < 0 || ordinal >= n)
        return abl_fail(err, ABL_E_DEVICE, "CUDA device %d: expected an index in [0, %d), "
                        "found %d", ordinal, n, ordinal);
    cudaDeviceProp p;
    KC_TRY(err, cudaGetDeviceProperties(&p, ordinal));
    if (p.major < 8)
        return abl_fail(err, ABL_E_DEVICE, "CUDA device %d (%s): expected compute capability "
                        ">= 8.0, found %d.%d (hint: this build targets sm_80 and sm_90; use "
                        "--device cpu)", ordinal, p.name, p.major, p.minor);
    KC_TRY(err, cudaSetDevice(ordinal));
    KC_TRY(err, cudaFree(0)); /* create the context now, so its failure is reported here */
    kc_ordinal = ordinal;
    kc_sms = p.multiProcessorCount > 0 ? p.multiProcessorCount : 1;
    snprintf(kc_desc, sizeof kc_desc, "%.160s, sm_%d%d, %d SMs, %.1f GiB", p.name, p.major, p.minor,
             p.multiProcessorCount, (double)p.totalGlobalMem / (1024.0 * 1024.0 * 1024.0));
    const char *tf = getenv("ABLATE_CUDA_TF32");
    if (tf && *tf)
        kc_use_tf32 = strcmp(tf, "0") != 0;
    kc_ready = 1;
    return ABL_OK;
}

void kc_device_desc(char *buf, size_t n)
{
    if (buf && n)
        snprintf(buf, n, "%s", kc_ready ? kc_desc : "");
}

abl_status kc_malloc(void **p, size_t n_bytes, abl_err *err)
{
    *p = NULL;
    abl_status s = kc_need_init(err, "kc_malloc");
    if (s != ABL_OK || n_bytes == 0)
        return s;
    cudaError_t e = cudaMalloc(p, n_bytes);
    if (e != cudaSuccess) {
        *p = NULL;
        cudaGetLastError();
        if (e == cudaErrorMemoryAllocation) {
            size_t fr = 0, tot = 0;
            cudaMemGetInfo(&fr, &tot);
            cudaGetLastError();
            return abl_fail(err, ABL_E_NOMEM, "%s:%d: cudaMalloc: expected %zu free bytes of "
                            "device memory, found %zu of %zu (hint: smaller batches)",
                            __FILE__, __LINE__, n_bytes, fr, tot);
        }
        return kc_fail_cuda(err, e, "cudaMalloc", __FILE__, __LINE__);
    }
    return ABL_OK;
}

void kc_free(void *p)
{
    if (p)
        cudaFree(p);
}

abl_status kc_upload(void *d_dst, const void *h_src, size_t n_bytes, abl_err *err)
{
    abl_status s = kc_need_init(err, "kc_upload");
    if (s != ABL_OK || n_bytes == 0)
        return s;
    KC_TRY(err, cudaMemcpy(d_dst, h_src, n_bytes, cudaMemcpyHostToDevice));
    return ABL_OK;
}

abl_status kc_download(void *h_dst, const void *d_src, size_t n_bytes, abl_err *err)
{
    abl_status s = kc_need_init(err, "kc_download");
    if (s != ABL_OK || n_bytes == 0)
        return s;
    KC_TRY(err, cudaMemcpy(h_dst, d_src, n_bytes, cudaMemcpyDeviceToHost));
    return ABL_OK;
}

abl_status kc_copy(void *d_dst, const void *d_src, size_t n_bytes, abl_err *err)
{
    abl_status s = kc_need_init(err, "kc_copy");
    if (s != ABL_OK || n_bytes == 0)
        return s;
    KC_TRY(err, cudaMemcpyAsync(d_dst, d_src, n_bytes, cudaMemcpyDeviceToDevice, 0));
    return ABL_OK;
}

abl_status kc_zero(void *d_dst, size_t n_bytes, abl_err *err)
{
    abl_status s = kc_need_init(err, "kc_zero");
    if (s != ABL_OK || n_bytes == 0)
        return s;
    KC_TRY(err, cudaMemsetAsync(d_dst, 0, n_bytes, 0));
    return ABL_OK;
}

abl_status kc_sync(abl_err *err)
{
    abl_status s = kc_need_init(err, "kc_sync");
    if (s != ABL_OK)
        return s;
    KC_TRY(err, cudaDeviceSynchronize());
    KC_TRY(err, cudaGetLastError());
    return ABL_OK;
}

abl_status kc_mem_info(size_t *free_bytes, size_t *total_bytes, abl_err *err)
{
    *free_bytes = *total_bytes = 0;
    abl_status s = kc_need_init(err, "kc_mem_info");
    if (s != ABL_OK)
        return s;
    KC_TRY(err, cudaMemGetInfo(free_bytes, total_bytes));
    return ABL_OK;
}

void kc_set_tf32(int on) { kc_use_tf32 = on != 0; }

int kc_tf32(void) { return kc_use_tf32; }
