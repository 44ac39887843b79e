/* kernels_cuda/cuda_stub.c - the CUDA API of kernels_cuda.h in a CPU-only build: nothing is
 * available, and every call says so in one line (hint: make cuda). Replaced by the .cu files. */
#include <stdio.h>

#include "kernels_cuda.h"

static abl_status stub_fail(abl_err *err)
{
    return abl_fail(err, ABL_E_DEVICE, "this build has no CUDA backend (hint: make cuda)");
}

int cuda_available(void) { return 0; }

abl_status kc_init(int ordinal, abl_err *err)
{
    (void)ordinal;
    return stub_fail(err);
}

void kc_device_desc(char *buf, size_t n)
{
    if (buf && n)
        buf[0] = 0;
}

abl_status kc_malloc(void **p, size_t n_bytes, abl_err *err)
{
    (void)n_bytes;
    *p = NULL;
    return stub_fail(err);
}

void kc_free(void *p) { (void)p; }

abl_status kc_upload(void *d_dst, const void *h_src, size_t n_bytes, abl_err *err)
{
    (void)d_dst, (void)h_src, (void)n_bytes;
    return stub_fail(err);
}

abl_status kc_download(void *h_dst, const void *d_src, size_t n_bytes, abl_err *err)
{
    (void)h_dst, (void)d_src, (void)n_bytes;
    return stub_fail(err);
}

abl_status kc_copy(void *d_dst, const void *d_src, size_t n_bytes, abl_err *err)
{
    (void)d_dst, (void)d_src, (void)n_bytes;
    return stub_fail(err);
}

abl_status kc_zero(void *d_dst, size_t n_bytes, abl_err *err)
{
    (void)d_dst, (void)n_bytes;
    return stub_fail(err);
}

abl_status kc_sync(abl_err *err) { return stub_fail(err); }

abl_status kc_mem_info(size_t *free_bytes, size_t *total_bytes, abl_err *err)
{
    *free_bytes = *total_bytes = 0;
    return stub_fail(err);
}

abl_status kc_sgemm_f32(float *y, const float *x, const float *w, int m, int n, int k,
                        int accumulate, abl_err *err)
{
    (void)y, (void)x, (void)w, (void)m, (void)n, (void)k, (void)accumulate;
    return stub_fail(err);
}

abl_status kc_sgemm_tf32(float *y, const float *x, const float *w, int m, int n, int k,
                         int accumulate, abl_err *err)
{
    (void)y, (void)x, (void)w, (void)m, (void)n, (void)k, (void)accumulate;
    return stub_fail(err);
}

abl_status kc_matmul(float *y, const float *x, const float *w, int m, int n, int k,
                     int accumulate, abl_err *err)
{
    (void)y, (void)x, (void)w, (void)m, (void)n, (void)k, (void)accumulate;
    return stub_fail(err);
}

void kc_sgemm_force(int tile, int splits) { (void)tile, (void)splits; }

void kc_set_tf32(int on) { (void)on; }

int kc_tf32(void) { return 0; }

abl_status kc_rmsnorm(float *y, const float *x, const float *g, int m, int d, float eps,
                      abl_err *err)
{
    (void)y, (void)x, (void)g, (void)m, (void)d, (void)eps;
    return stub_fail(err);
}

abl_status kc_rope(float *x, int t, int nh, int dh, const int32_t *pos, const float *cos_t,
                   const float *sin_t, abl_err *err)
{
    (void)x, (void)t, (void)nh, (void)dh, (void)pos, (void)cos_t, (void)sin_t;
    return stub_fail(err);
}

abl_status kc_swiglu(float *out, const float *gate, const float *up, size_t n, abl_err *err)
{
    (void)out, (void)gate, (void)up, (void)n;
    return stub_fail(err);
}

abl_status kc_add(float *y, const float *x, size_t n, abl_err *err)
{
    (void)y, (void)x, (void)n;
    return stub_fail(err);
}

abl_status kc_add_bias(float *y, const float *bias, int rows, int n, abl_err *err)
{
    (void)y, (void)bias, (void)rows, (void)n;
    return stub_fail(err);
}

abl_status kc_attention(float *out, const float *q, const float *k, const float *v,
                        const k_span *span, int t, int h, int hkv, int dh, abl_err *err)
{
    (void)out, (void)q, (void)k, (void)v, (void)span, (void)t, (void)h, (void)hkv, (void)dh;
    return stub_fail(err);
}

abl_status kc_embed(float *x, const float *emb, const int32_t *ids, int t, int d, abl_err *err)
{
    (void)x, (void)emb, (void)ids, (void)t, (void)d;
    return stub_fail(err);
}

abl_status kc_gather_rows(float *dst, const float *src, const int32_t *rows, int n, int d,
                          abl_err *err)
{
    (void)dst, (void)src, (void)rows, (void)n, (void)d;
    return stub_fail(err);
}

abl_status kc_logsoftmax_gather(float *lp, uint8_t *top1, const float *logits,
                                const int32_t *tgt, int rows, int v, abl_err *err)
{
    (void)lp, (void)top1, (void)logits, (void)tgt, (void)rows, (void)v;
    return stub_fail(err);
}

abl_status kc_dot3(double *sums, const float *a, const float *b, int rows, int d, abl_err *err)
{
    (void)sums, (void)a, (void)b, (void)rows, (void)d;
    return stub_fail(err);
}
