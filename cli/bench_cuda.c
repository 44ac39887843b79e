/* cli/bench_cuda.c - `ablate bench --device cuda`: SGEMM TFLOPS (F32 and TF32) at the model's
 * shapes, attention at T = 2048, and prefill tokens/s of a model on the GPU (kernels_cuda's C API
 * and the engine's public API; in a CPU-only build kc_init's "no CUDA backend" error answers). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../engine/model.h"
#include "../kernels_cuda/kernels_cuda.h"
#include "cli.h"

static const char *const usage_text =
    "usage: ablate bench [kernels|forward] --device cuda [options]\n"
    "  --iters N       timed repetitions per case, mean kept (default 20)\n"
    "  --model DIR     also time prefill of this model on the GPU (default: "
    DEFAULT_MODEL_DIR " when present)\n"
    "  --tokens T      prefill tokens (default 4096: 8 sequences of 512)\n"
    "Prints SGEMM TFLOPS at M = 1, 64, 512, 4096 for the model's N x K shapes in F32 and TF32,\n"
    "attention GFLOP/s at T = 2048 (causal, 9 heads / 3 kv heads, Dh 64), and prefill tokens/s.\n";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A device buffer of n floats filled with a fixed pattern in [-0.5, 0.5). */
static abl_status dev_pattern(float **d, size_t n, abl_err *err)
{
    float *h = malloc(n * sizeof(float));
    if (!h)
        return abl_fail(err, ABL_E_NOMEM, "bench: out of memory for %zu floats", n);
    for (size_t i = 0; i < n; i++)
        h[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
    abl_status s = kc_malloc((void **)d, n * sizeof(float), err);
    if (!s)
        s = kc_upload(*d, h, n * sizeof(float), err);
    free(h);
    return s;
}

/* Mean seconds of one sgemm (f32 or tf32) over iters runs after one warm-up. */
static abl_status time_sgemm(float *y, const float *x, const float *w, int m, int n, int k,
                             int tf32, int iters, double *sec, abl_err *err)
{
    abl_status s = ABL_OK;
    for (int i = 0; i <= iters && !s; i++) {
        if (i == 1) {
            if ((s = kc_sync(err)))
                return s;
            *sec = now_s();
        }
        s = tf32 ? kc_sgemm_tf32(y, x, w, m, n, k, 0, err) : kc_sgemm_f32(y, x, w, m, n, k, 0, err);
    }
    if (!s)
        s = kc_sync(err);
    *sec = (now_s() - *sec) / (iters > 0 ? iters : 1);
    return s;
}

static abl_status bench_sgemm(int iters, abl_err *err)
{
    static const int shapes[][2] = {{576, 576}, {192, 576}, {1536, 576}, {576, 1536},
                                    {49152, 576}};
    static const int ms[] = {1, 64, 512, 4096};
    float *x = NULL, *w = NULL, *y = NULL;
    abl_status s;
    if ((s = dev_pattern(&x, (size_t)4096 * 1536, err)) ||
        (s = dev_pattern(&w, (size_t)49152 * 576, err)) ||
        (s = kc_malloc((void **)&y, (size_t)4096 * 49152 * sizeof(float), err)))
        goto done;
    printf("%-8s %-13s %12s %12s\n", "M", "N x K", "F32 TFLOPS", "TF32 TFLOPS");
    for (size_t a = 0; a < ABL_ARRAY_LEN(ms); a++)
        for (size_t b = 0; b < ABL_ARRAY_LEN(shapes); b++) {
            int m = ms[a], n = shapes[b][0], k = shapes[b][1];
            double t32 = 0, ttf = 0, fl = 2.0 * m * n * k;
            if ((s = time_sgemm(y, x, w, m, n, k, 0, iters, &t32, err)) ||
                (s = time_sgemm(y, x, w, m, n, k, 1, iters, &ttf, err)))
                goto done;
            char nk[32];
            snprintf(nk, sizeof nk, "%d x %d", n, k);
            printf("%-8d %-13s %12.2f %12.2f\n", m, nk, fl / t32 * 1e-12, fl / ttf * 1e-12);
        }
done:
    kc_free(x);
    kc_free(w);
    kc_free(y);
    return s;
}

static abl_status bench_attention(int iters, abl_err *err)
{
    const int T = 2048, H = 9, Hkv = 3, Dh = 64;
    float *q = NULL, *k = NULL, *v = NULL, *o = NULL;
    k_span *sp = NULL, *dsp = NULL;
    abl_status s;
    if ((s = dev_pattern(&q, (size_t)T * H * Dh, err)) ||
        (s = dev_pattern(&k, (size_t)T * Hkv * Dh, err)) ||
        (s = dev_pattern(&v, (size_t)T * Hkv * Dh, err)) ||
        (s = kc_malloc((void **)&o, (size_t)T * H * Dh * sizeof(float), err)) ||
        (s = kc_malloc((void **)&dsp, (size_t)T * sizeof(k_span), err)))
        goto done;
    sp = malloc((size_t)T * sizeof(k_span));
    if (!sp) {
        s = abl_fail(err, ABL_E_NOMEM, "bench: out of memory");
        goto done;
    }
    for (int i = 0; i < T; i++)
        sp[i] = (k_span){0, 0, 0, i + 1};
    if ((s = kc_upload(dsp, sp, (size_t)T * sizeof(k_span), err)))
        goto done;
    double t0 = 0;
    for (int i = 0; i <= iters && !s; i++) {
        if (i == 1 && !(s = kc_sync(err)))
            t0 = now_s();
        if (!s)
            s = kc_attention(o, q, k, v, dsp, T, H, Hkv, Dh, err);
    }
    if (!s && !(s = kc_sync(err))) {
        double sec = (now_s() - t0) / (iters > 0 ? iters : 1);
        double fl = 4.0 * H * Dh * ((double)T * (T + 1) / 2); /* QK^T and PV over visible keys */
        printf("attention T=%d H=%d Hkv=%d Dh=%d causal: %.3f ms, %.1f GFLOP/s\n", T, H, Hkv, Dh,
               sec * 1e3, fl / sec * 1e-9);
    }
done:
    free(sp);
    kc_free(q);
    kc_free(k);
    kc_free(v);
    kc_free(o);
    kc_free(dsp);
    return s;
}

/* Prefill of n_tok tokens as sequences of 512 through the device forward, one scored row each. */
static abl_status bench_prefill(const char *dir, int n_tok, int iters, abl_err *err)
{
    model_opts mo = model_opts_default();
    mo.device = 1;
    mo.threads = 1;
    model *m = NULL;
    abl_status s = model_load(&m, dir, &mo, err);
    if (s)
        return s;
    fwd_batch b;
    batch_init(&b);
    int V = model_config(m)->vocab, per = 512;
    int32_t *ids = malloc((size_t)per * sizeof(int32_t));
    if (!ids) {
        s = abl_fail(err, ABL_E_NOMEM, "bench: out of memory");
        goto done;
    }
    for (int done_tok = 0, q = 0; done_tok < n_tok; q++) {
        int n = n_tok - done_tok < per ? n_tok - done_tok : per;
        for (int i = 0; i < n; i++)
            ids[i] = (int32_t)((unsigned)(i * 7919 + q * 104729) % (unsigned)V);
        int row = batch_add_seq(&b, q, ids, n);
        if (row < 0 || batch_add_score(&b, row + n - 1, ids[0]) < 0) {
            s = abl_fail(err, ABL_E_NOMEM, "bench: out of memory for the batch");
            goto done;
        }
        done_tok += n;
    }
    double t0 = 0;
    for (int i = 0; i <= iters && !s; i++) {
        if (i == 1)
            t0 = now_s();
        s = model_forward(m, &b, NULL, err);
    }
    if (!s) {
        double sec = (now_s() - t0) / (iters > 0 ? iters : 1);
        printf("prefill %s: %d tokens (sequences of %d) in %.2f ms: %.0f tokens/s\n", dir,
               b.n_tok, per, sec * 1e3, b.n_tok / sec);
    }
done:
    free(ids);
    batch_free(&b);
    model_free(m);
    return s;
}

int cli_bench_cuda(int argc, char **argv)
{
    long iters = 20, tokens = 4096;
    const char *dir = NULL, *v;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (!strcmp(argv[i], "kernels") || !strcmp(argv[i], "forward"))
            continue; /* `ablate bench kernels --device cuda`: the GPU bench covers both */
        if (cli_flag("bench", argc, argv, &i, "--device", &v)) {
            if (!v)
                return 2;
            if (strcmp(v, "cuda") != 0) {
                cli_error("bench", "--device: expected cuda here, found '%s'", v);
                return 2;
            }
        } else if (cli_flag("bench", argc, argv, &i, "--iters", &v)) {
            if (!v || !cli_int("bench", "--iters", v, 1, 100000, &iters))
                return 2;
        } else if (cli_flag("bench", argc, argv, &i, "--tokens", &v)) {
            if (!v || !cli_int("bench", "--tokens", v, 1, 1 << 20, &tokens))
                return 2;
        } else if (cli_flag("bench", argc, argv, &i, "--model", &v)) {
            if (!v)
                return 2;
            dir = v;
        } else {
            cli_error("bench", "unknown option '%s' (hint: ablate bench --device cuda --help)",
                      argv[i]);
            return 2;
        }
    }
    abl_err err = {0};
    if (kc_init(0, &err) != ABL_OK)
        return cli_report("bench", &err);
    char desc[256];
    kc_device_desc(desc, sizeof desc);
    printf("device: %s\n", desc);
    if (bench_sgemm((int)iters, &err) || bench_attention((int)iters, &err))
        return cli_report("bench", &err);
    FILE *probe = dir ? NULL : fopen(DEFAULT_MODEL_DIR "/model.safetensors", "rb");
    if (probe) {
        fclose(probe);
        dir = DEFAULT_MODEL_DIR;
    }
    if (dir && bench_prefill(dir, (int)tokens, (int)(iters < 5 ? iters : 5), &err))
        return cli_report("bench", &err);
    if (!dir)
        printf("prefill: skipped (no model at %s; pass --model DIR)\n", DEFAULT_MODEL_DIR);
    return 0;
}
