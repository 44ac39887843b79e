/* tools/gpu_sgemm_bench.c - our CUDA SGEMM (kernels_cuda) against cuBLAS at the model's shapes,
 * F32 and TF32, as TFLOPS and a ratio. A measuring aid for tools/gpu_check.sh: cuBLAS is linked
 * here only, never into ablate. Legend: M rows, N output features, K input features. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "../kernels_cuda/kernels_cuda.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Y (M,N) = X (M,K) . W(N,K)^T in row-major is, column-major, Y^T (N,M) = W (N,K) . X^T. */
static int cublas_gemm(cublasHandle_t h, float *y, const float *x, const float *w, int m, int n,
                       int k)
{
    const float one = 1.0f, zero = 0.0f;
    return cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &one, w, k, x, k, &zero, y, n) !=
           CUBLAS_STATUS_SUCCESS;
}

/* Mean seconds of one call over iters after one warm-up; which: 0 ours F32, 1 ours TF32,
 * 2 cuBLAS (its math mode set by the caller). Negative on failure (message printed). */
static double time_one(int which, cublasHandle_t h, float *y, const float *x, const float *w,
                       int m, int n, int k, int iters)
{
    abl_err err = {0};
    double t0 = 0;
    for (int i = 0; i <= iters; i++) {
        if (i == 1) {
            if (cudaDeviceSynchronize() != cudaSuccess)
                return -1;
            t0 = now_s();
        }
        int bad = which == 2 ? cublas_gemm(h, y, x, w, m, n, k)
                : which == 1 ? kc_sgemm_tf32(y, x, w, m, n, k, 0, &err) != ABL_OK
                             : kc_sgemm_f32(y, x, w, m, n, k, 0, &err) != ABL_OK;
        if (bad) {
            fprintf(stderr, "gpu_sgemm_bench: %s failed at M=%d N=%d K=%d: %s\n",
                    which == 2 ? "cublasSgemm" : "kc_sgemm", m, n, k, err.msg);
            return -1;
        }
    }
    if (cudaDeviceSynchronize() != cudaSuccess) {
        fprintf(stderr, "gpu_sgemm_bench: a kernel failed at M=%d N=%d K=%d\n", m, n, k);
        return -1;
    }
    return (now_s() - t0) / iters;
}

static int dev_fill(float **d, size_t n)
{
    float *h = malloc(n * sizeof(float));
    abl_err err = {0};
    if (!h)
        return 1;
    for (size_t i = 0; i < n; i++)
        h[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
    int bad = kc_malloc((void **)d, n * sizeof(float), &err) ||
              kc_upload(*d, h, n * sizeof(float), &err);
    free(h);
    if (bad)
        fprintf(stderr, "gpu_sgemm_bench: %s\n", err.msg);
    return bad;
}

int main(int argc, char **argv)
{
    int iters = 10;
    if (argc == 3 && !strcmp(argv[1], "--iters") && atoi(argv[2]) > 0)
        iters = atoi(argv[2]);
    else if (argc != 1) {
        fprintf(stderr, "usage: gpu_sgemm_bench [--iters N]\n"
                        "prints M N K and TFLOPS of ours and cuBLAS in F32 and TF32, one line per "
                        "shape, then a line 'geomean f32_ratio tf32_ratio'\n");
        return 2;
    }
    abl_err err = {0};
    if (kc_init(0, &err) != ABL_OK) {
        fprintf(stderr, "gpu_sgemm_bench: %s\n", err.msg);
        return 1;
    }
    cublasHandle_t h;
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) {
        fprintf(stderr, "gpu_sgemm_bench: cublasCreate failed\n");
        return 1;
    }
    /* the model's projections: q/o (576x576), k/v (192x576), gate/up (1536x576), down
     * (576x1536), head (49152x576); M = rows of a packed batch */
    static const int shapes[][2] = {{576, 576}, {192, 576}, {1536, 576}, {576, 1536},
                                    {49152, 576}};
    static const int ms[] = {512, 2048, 4096};
    float *x = NULL, *w = NULL, *y = NULL;
    if (dev_fill(&x, (size_t)4096 * 1536) || dev_fill(&w, (size_t)49152 * 576) ||
        kc_malloc((void **)&y, (size_t)4096 * 49152 * sizeof(float), &err)) {
        fprintf(stderr, "gpu_sgemm_bench: out of device memory\n");
        return 1;
    }
    printf("%6s %6s %6s %10s %10s %10s %10s\n", "M", "N", "K", "ours_f32", "cublas_f32",
           "ours_tf32", "cublas_tf32");
    double lf = 0, lt = 0;
    int cnt = 0, rc = 0;
    for (size_t a = 0; a < sizeof ms / sizeof ms[0] && !rc; a++)
        for (size_t b = 0; b < sizeof shapes / sizeof shapes[0] && !rc; b++) {
            int m = ms[a], n = shapes[b][0], k = shapes[b][1];
            double t[4];
            cublasSetMathMode(h, CUBLAS_PEDANTIC_MATH); /* true FP32, no TF32 */
            t[0] = time_one(0, h, y, x, w, m, n, k, iters);
            t[1] = time_one(2, h, y, x, w, m, n, k, iters);
            cublasSetMathMode(h, CUBLAS_TF32_TENSOR_OP_MATH);
            t[2] = time_one(1, h, y, x, w, m, n, k, iters);
            t[3] = time_one(2, h, y, x, w, m, n, k, iters);
            if (t[0] <= 0 || t[1] <= 0 || t[2] <= 0 || t[3] <= 0) {
                rc = 1;
                break;
            }
            double fl = 2.0 * m * n * k * 1e-12;
            printf("%6d %6d %6d %10.2f %10.2f %10.2f %10.2f\n", m, n, k, fl / t[0], fl / t[1],
                   fl / t[2], fl / t[3]);
            lf += log(t[1] / t[0]);
            lt += log(t[3] / t[2]);
            cnt++;
        }
    if (!rc && cnt)
        printf("geomean %.3f %.3f\n", exp(lf / cnt), exp(lt / cnt));
    cublasDestroy(h);
    kc_free(x);
    kc_free(w);
    kc_free(y);
    return rc;
}
