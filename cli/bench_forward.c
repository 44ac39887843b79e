/* cli/bench_forward.c - `ablate bench forward`: prefill tokens/s on one long sequence, decode
 * tokens/s with the KV cache, the SGEMM speed at the model's shapes for comparison, peak RSS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../engine/generate.h"
#include "../engine/model_int.h"
#include "cli.h"

static const char *const usage_text =
    "usage: ablate bench forward [options]\n"
    "  --model DIR     model folder (default " DEFAULT_MODEL_DIR ")\n"
    "  --threads N     worker threads (default 2)\n"
    "  --tokens T      prefill length (default 512)\n"
    "  --decode N      decode steps timed (default 64)\n"
    "  --reps R        timed prefill repetitions, best kept (default 3)\n"
    "Prints prefill and decode tokens/s, the effective GFLOP/s of the prefill beside the SGEMM\n"
    "GFLOP/s measured on the model's own FFN weight, and the peak resident set size.\n";

/* Process CPU time (user + system, all threads) in seconds. */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* FLOPs of one token's pass through the blocks at context length ctx (matmuls + attention). */
static double block_flops(const hf_config *c, double ctx)
{
    double D = c->d_model, F = c->d_ff, Q = (double)c->n_heads * c->head_dim;
    double KV = (double)c->n_kv_heads * c->head_dim;
    double mm = 2.0 * (D * Q + 2.0 * D * KV + Q * D + 3.0 * D * F);
    double att = 4.0 * Q * ctx;
    return c->n_layers * (mm + att);
}

/* A rate measured two ways: best wall-clock repetition, and work per CPU-second over all timed
 * repetitions (user + system time of every thread: robust to other processes time-slicing the
 * cores, pessimistic by whatever the pool spends waiting). */
typedef struct {
    double wall, cpu;
} rate;

/* SGEMM GFLOP/s for X (T, D) . Wgate^T of block 0, the model's commonest shape. */
static rate sgemm_gflops(model *m, int T, int reps)
{
    const kweight *w = &m->blocks[0].wg;
    float *y = m->s.gate, *x = m->s.xn;
    for (size_t i = 0; i < (size_t)T * w->k; i++)
        x[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
    double best = 1e30, c0 = 0, flop = 2.0 * T * (double)w->n * w->k;
    for (int r = 0; r <= reps; r++) { /* r = 0 warms up */
        if (r == 1)
            c0 = cpu_s();
        double t0 = now_s();
        k_matmul(m->pool, y, x, w, T, 0, m->s.ws);
        double dt = now_s() - t0;
        if (r > 0 && dt < best)
            best = dt;
    }
    return (rate){flop / best * 1e-9, flop * reps / (cpu_s() - c0) * 1e-9};
}

/* Prefill tokens/s of one sequence of T tokens (one scored row). */
static abl_status bench_prefill(model *m, int T, int reps, rate *out, abl_err *err)
{
    const hf_config *c = model_config(m);
    fwd_batch b;
    batch_init(&b);
    int32_t *ids = malloc((size_t)T * sizeof *ids);
    abl_status s = ABL_OK;
    if (ids)
        for (int i = 0; i < T; i++)
            ids[i] = (int32_t)(((long)i * 7919 + 13) % c->vocab);
    if (!ids || batch_add_seq(&b, 0, ids, T) < 0 || batch_add_score(&b, T - 1, 0) < 0) {
        s = abl_fail(err, ABL_E_NOMEM, "bench: out of memory for %d tokens", T);
        goto done;
    }
    double best = 1e30, c0 = 0;
    for (int r = 0; r <= reps && !s; r++) { /* r = 0 warms up */
        if (r == 1)
            c0 = cpu_s();
        double t0 = now_s();
        s = model_forward(m, &b, NULL, err);
        double dt = now_s() - t0;
        if (r > 0 && dt < best)
            best = dt;
    }
    *out = (rate){T / best, (double)T * reps / (cpu_s() - c0)};
done:
    free(ids);
    batch_free(&b);
    return s;
}

/* Decode tokens/s: n single-token steps with the KV cache after a 16-token prompt. */
static abl_status bench_decode(model *m, int n, rate *out, abl_err *err)
{
    const hf_config *c = model_config(m);
    int prompt = 16;
    gen_session g;
    abl_status s = gen_open(&g, m, prompt + n + 1, NULL, err);
    if (s)
        return s;
    int32_t ids[16];
    for (int i = 0; i < prompt; i++)
        ids[i] = (int32_t)((i * 7919 + 13) % c->vocab);
    s = gen_feed(&g, ids, prompt, err);
    double t0 = now_s(), c0 = cpu_s();
    for (int i = 0; i < n && !s; i++) {
        int32_t id = (int32_t)((i * 104729 + 7) % c->vocab);
        s = gen_feed(&g, &id, 1, err);
    }
    *out = (rate){n / (now_s() - t0), n / (cpu_s() - c0)};
    gen_close(&g);
    return s;
}

int cli_bench_forward(int argc, char **argv)
{
    const char *dir = DEFAULT_MODEL_DIR;
    long threads = 2, T = 512, n_dec = 64, reps = 3;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (cli_flag("bench forward", argc, argv, &i, "--model", &v)) {
            if (!v)
                return 2;
            dir = v;
        } else if (cli_flag("bench forward", argc, argv, &i, "--threads", &v)) {
            if (!v || !cli_int("bench forward", "--threads", v, 1, 1024, &threads))
                return 2;
        } else if (cli_flag("bench forward", argc, argv, &i, "--tokens", &v)) {
            if (!v || !cli_int("bench forward", "--tokens", v, 1, 8192, &T))
                return 2;
        } else if (cli_flag("bench forward", argc, argv, &i, "--decode", &v)) {
            if (!v || !cli_int("bench forward", "--decode", v, 1, 4096, &n_dec))
                return 2;
        } else if (cli_flag("bench forward", argc, argv, &i, "--reps", &v)) {
            if (!v || !cli_int("bench forward", "--reps", v, 1, 100, &reps))
                return 2;
        } else {
            cli_error("bench forward", "unknown option '%s' (see --help)", argv[i]);
            return 2;
        }
    }
    abl_err err = {0};
    model *m = NULL;
    model_opts mo = model_opts_default();
    mo.threads = (int)threads;
    double t0 = now_s();
    if (kern_init(NULL, &err) || model_load(&m, dir, &mo, &err))
        return cli_report("bench forward", &err);
    double load_s = now_s() - t0;
    const hf_config *c = model_config(m);
    rate pre = {0, 0}, dec = {0, 0};
    double la[1] = {0};
    if (getloadavg(la, 1) < 1)
        la[0] = -1;
    if (bench_prefill(m, (int)T, (int)reps, &pre, &err) ||
        bench_decode(m, (int)n_dec, &dec, &err)) {
        model_free(m);
        return cli_report("bench forward", &err);
    }
    rate gf = sgemm_gflops(m, (int)T, 4 * (int)reps);
    double fl = block_flops(c, (T + 1) / 2.0) * 1e-9; /* GFLOP per token, mean context */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("model      %s (L=%d D=%d F=%d V=%d), kernels %s, %d threads, load %.2f s\n", dir,
           c->n_layers, c->d_model, c->d_ff, c->vocab, kern.name, kpool_nthreads(model_pool(m)),
           load_s);
    printf("                       wall clock (best)     per CPU-second (all threads)\n");
    printf("prefill %4ld tokens  %8.1f tokens/s       %8.1f tokens\n", T, pre.wall, pre.cpu);
    printf("  effective GFLOP/s  %8.2f               %8.2f      (%.3f GFLOP/token)\n",
           pre.wall * fl, pre.cpu * fl, fl);
    printf("sgemm %4ldx%dx%d  %8.2f GFLOP/s        %8.2f      (M x K x N, the FFN up shape)\n",
           T, c->d_model, c->d_ff, gf.wall, gf.cpu);
    printf("  prefill / sgemm    %7.0f%%               %7.0f%%\n", 100.0 * pre.wall * fl / gf.wall,
           100.0 * pre.cpu * fl / gf.cpu);
    printf("decode %ld steps     %8.1f tokens/s       %8.1f tokens\n", n_dec, dec.wall, dec.cpu);
    printf("peak RSS %.1f MB; load average at start %.2f on %ld online CPUs\n",
           ru.ru_maxrss / 1024.0, la[0], sysconf(_SC_NPROCESSORS_ONLN));
    model_free(m);
    return 0;
}
