/* cli/bench_kernels.c - `ablate bench kernels`: times every kernel variant this CPU runs at the
 * model's shapes and prints time, GFLOPS or GB/s, and % of the FMA peak / read bandwidth that
 * probes measure in the same run with the same threads. Best of several repetitions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../kernels/kernels.h"
#include "../base/list.h"
#include "cli.h"

static const char usage_text[] =
    "usage: ablate bench kernels [options]\n"
    "  --threads N      threads (default: all online CPUs)\n"
    "  --variant LIST   comma-separated variants (default: every one this CPU runs; ref only\n"
    "                   where it takes under 1e8 multiply-adds)\n"
    "  --ops LIST       any of sgemm,attention,rows (default: all)\n"
    "  --m LIST         sgemm rows (default 1,64,512)\n"
    "  --shape NxK      only this weight shape (default: the model's five)\n"
    "  --reps N         repetitions, the best is kept (default 5)\n"
    "  --quick          fewer shapes and repetitions (smoke run)\n"
    "  --cpu-clock      time with the process CPU clock (use with --threads 1 on a busy machine)\n";

/* --cpu-clock: time with the process CPU clock instead of the wall clock. With --threads 1 on a
 * busy shared machine this counts only the time the benchmark actually ran. */
static clockid_t bench_clock = CLOCK_MONOTONIC;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(bench_clock, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef void (*bench_fn)(void *ctx);

/* Best seconds per call over reps measurements, each long enough (>= 3 ms) to time well. The
 * minimum is what a shared machine lets through: other processes only ever add time. */
static double time_best(bench_fn fn, void *ctx, int reps)
{
    double t0 = now_s();
    fn(ctx); /* warm-up, also sizes the inner loop */
    double one = now_s() - t0;
    int inner = one > 3e-3 ? 1 : (int)(3e-3 / (one > 1e-7 ? one : 1e-7)) + 1;
    double best = INFINITY;
    for (int r = 0; r < reps && !cli_interrupted; r++) {
        t0 = now_s();
        for (int i = 0; i < inner; i++)
            fn(ctx);
        double t = (now_s() - t0) / inner;
        best = t < best ? t : best;
    }
    return best;
}

/* ---- probes -------------------------------------------------------------------------------- */

typedef struct {
    long iters;
    const float *buf;
    size_t n;
    volatile float sink;
} probe_ctx;

static void fma_task(void *arg, int ith, int nth)
{
    (void)ith;
    (void)nth;
    probe_ctx *p = arg;
    kern.fma_probe(p->iters);
}

static void read_task(void *arg, int ith, int nth)
{
    probe_ctx *p = arg;
    size_t lo = p->n * ith / nth, hi = p->n * (ith + 1) / nth;
    float s = kern.read_probe(p->buf + lo, hi - lo);
    if (s == 12345.678f)
        p->sink = s;
}

typedef struct {
    kpool *pool;
    probe_ctx *p;
    kpool_fn fn;
} pool_ctx;

static void run_pool(void *ctx)
{
    pool_ctx *c = ctx;
    kpool_run(c->pool, c->fn, c->p);
}

/* FMA peak of the active variant on one core, GFLOPS (times threads = the peak we compare to:
 * on a shared machine a one-core probe is far steadier than a probe on every core). */
static double probe_fma(int reps)
{
    probe_ctx p = {.iters = 1000000};
    pool_ctx c = {NULL, &p, fma_task};
    double t = time_best(run_pool, &c, reps);
    double per = kern.fma_probe(1); /* flops of one iteration */
    return per * p.iters / t * 1e-9;
}

double cli_fma_peak_gflops(void)
{
    return probe_fma(5);
}

/* Read bandwidth over a buffer far larger than the caches, GB/s. */
static double probe_read(kpool *pool, const float *buf, size_t n, int reps)
{
    probe_ctx p = {.buf = buf, .n = n};
    pool_ctx c = {pool, &p, read_task};
    return n * sizeof(float) / time_best(run_pool, &c, reps) * 1e-9;
}

/* ---- cases --------------------------------------------------------------------------------- */

typedef struct {
    kpool *pool;
    float *y, *x, *ws;
    const kweight *w;
    int m;
    /* attention */
    float *q, *k, *v;
    k_span *span;
    int t, h, hkv, dh;
    /* rows */
    int op, rows, d;
    float *g;
    int32_t *pos;
    float *ct, *st;
} case_ctx;

static void run_sgemm(void *ctx)
{
    case_ctx *c = ctx;
    k_matmul(c->pool, c->y, c->x, c->w, c->m, 0, c->ws);
}

static void run_attention(void *ctx)
{
    case_ctx *c = ctx;
    k_attention(c->pool, c->y, c->q, c->k, c->v, c->span, c->t, c->h, c->hkv, c->dh, c->ws);
}

enum { OP_RMSNORM, OP_ROPE, OP_SWIGLU, OP_ADD, OP_LSE, OP_DOT3, OP_COUNT };
static const char *const row_op_names[OP_COUNT] = {"rmsnorm", "rope", "swiglu", "add",
                                                   "logsumexp", "dot3"};

static void run_rows(void *ctx)
{
    case_ctx *c = ctx;
    size_t n = (size_t)c->rows * c->d;
    volatile double sink = 0;
    switch (c->op) {
    case OP_RMSNORM: kern.rmsnorm(c->y, c->x, c->g, c->rows, c->d, 1e-5f); break;
    case OP_ROPE: kern.rope(c->y, c->rows, c->d / 64, 64, c->pos, c->ct, c->st); break;
    case OP_SWIGLU: kern.swiglu(c->y, c->x, c->q, n); break;
    case OP_ADD: kern.add(c->y, c->x, n); break;
    case OP_LSE:
        for (int i = 0; i < c->rows; i++)
            sink += kern.logsumexp(c->x + (size_t)i * c->d, c->d);
        break;
    case OP_DOT3:
        for (int i = 0; i < c->rows; i++) {
            double s[3];
            kern.dot3(c->x + (size_t)i * c->d, c->q + (size_t)i * c->d, c->d, s);
            sink += s[0];
        }
        break;
    }
    (void)sink;
}

/* Bytes each row op reads plus writes per element. */
static const int row_op_bytes[OP_COUNT] = {8, 8, 12, 12, 4, 8};

static int in_list(const char *list, const char *name)
{
    if (!list)
        return 1;
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)); p += n)
        if ((p == list || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
            return 1;
    return 0;
}

static float *rand_floats(size_t n, unsigned seed)
{
    float *p = aligned_alloc(64, ((n * sizeof(float)) + 63) & ~(size_t)63);
    if (!p)
        return NULL;
    unsigned s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (float)((s >> 8) * (1.0 / 16777216.0) - 0.5);
    }
    return p;
}

int cli_bench_kernels(int argc, char **argv)
{
    const char *cmd = "bench kernels", *variants = NULL, *ops = NULL, *mlist = "1,64,512";
    const char *shape = NULL;
    long threads = 0, reps = 5;
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--quick")) {
            quick = 1;
        } else if (!strcmp(argv[i], "--cpu-clock")) {
            bench_clock = CLOCK_PROCESS_CPUTIME_ID;
        } else if (cli_flag(cmd, argc, argv, &i, "--threads", &v)) {
            if (!v || !cli_int(cmd, "--threads", v, 1, 1024, &threads))
                return 2;
        } else if (cli_flag(cmd, argc, argv, &i, "--reps", &v)) {
            if (!v || !cli_int(cmd, "--reps", v, 1, 1000, &reps))
                return 2;
        } else if (cli_flag(cmd, argc, argv, &i, "--variant", &v)) {
            if (!(variants = v))
                return 2;
        } else if (cli_flag(cmd, argc, argv, &i, "--ops", &v)) {
            if (!(ops = v))
                return 2;
        } else if (cli_flag(cmd, argc, argv, &i, "--m", &v)) {
            if (!(mlist = v))
                return 2;
        } else if (cli_flag(cmd, argc, argv, &i, "--shape", &v)) {
            if (!(shape = v))
                return 2;
        } else {
            cli_error(cmd, "unknown option '%s' (hint: ablate bench kernels --help)", argv[i]);
            return 2;
        }
    }
    if (quick)
        reps = reps < 2 ? reps : 2;
    static const char *const known[] = {"ref", "avx2", "avx512", "neon", "sgemm", "attention",
                                        "rows"};
    for (int li = 0; li < 2; li++) { /* through the one list parser, then known names only */
        const char *list = li ? ops : variants, *flag = li ? "--ops" : "--variant";
        abl_list l = {0, NULL};
        abl_err err = {0};
        if (list && abl_list_split(list, flag, &l, &err))
            return cli_report(cmd, &err);
        int bad = -1;
        for (int k = 0; k < l.n && bad < 0; k++) {
            int ok = 0;
            for (int i = li ? 4 : 0; i < (li ? 7 : 4); i++)
                ok |= !strcmp(l.v[k], known[i]);
            bad = ok ? -1 : k;
        }
        if (bad >= 0)
            cli_error(cmd, "%s: unknown name '%s' (expected %s)", flag, l.v[bad],
                      li ? "sgemm, attention, rows" : "ref, avx2, avx512, neon");
        abl_list_free(&l);
        if (bad >= 0)
            return 2;
    }
    int ms[8], nm = 0;
    for (const char *p = mlist; *p && nm < 8;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 4096) {
            cli_error(cmd, "--m: expected a comma-separated list of rows in [1, 4096], found '%s'",
                      mlist);
            return 2;
        }
        ms[nm++] = (int)v;
        p = *end == ',' ? end + 1 : end;
    }
    static const int model_shapes[][2] = {{576, 576}, {192, 576}, {1536, 576}, {576, 1536},
                                          {49152, 576}};
    int shapes[5][2], ns = 0;
    if (shape) {
        if (sscanf(shape, "%dx%d", &shapes[0][0], &shapes[0][1]) != 2 || shapes[0][0] < 1 ||
            shapes[0][1] < 1 || shapes[0][0] > 1 << 20 || shapes[0][1] > 1 << 16) {
            cli_error(cmd, "--shape: expected NxK such as 576x1536, found '%s'", shape);
            return 2;
        }
        ns = 1;
    } else {
        for (int i = 0; i < 5; i++)
            if (!quick || i != 4)
                shapes[ns][0] = model_shapes[i][0], shapes[ns++][1] = model_shapes[i][1];
    }
    int max_m = 0, max_n = 0, max_k = 1536;
    for (int i = 0; i < nm; i++)
        max_m = ms[i] > max_m ? ms[i] : max_m;
    for (int i = 0; i < ns; i++) {
        max_n = shapes[i][0] > max_n ? shapes[i][0] : max_n;
        max_k = shapes[i][1] > max_k ? shapes[i][1] : max_k;
    }
    int t_max = quick ? 512 : 2048, rows = 512;
    size_t big = (size_t)32 << 20; /* 128 MiB for the bandwidth probe */
    size_t xy = (size_t)(max_m > rows ? max_m : rows) * (max_n > max_k ? max_n : max_k);
    size_t qn = (size_t)t_max * 9 * 64;
    if (xy < qn)
        xy = qn;
    if (xy < (size_t)rows * 1536)
        xy = (size_t)rows * 1536;
    kpool *pool = kpool_create((int)threads);
    float *w = rand_floats((size_t)max_n * max_k, 1), *x = rand_floats(xy, 2);
    float *y = rand_floats(xy, 3), *q = rand_floats(xy, 4), *buf = rand_floats(big, 5);
    float *kk = rand_floats((size_t)t_max * 3 * 64, 6);
    float *vv = rand_floats((size_t)t_max * 3 * 64, 7);
    float *g = rand_floats(1536, 8), *ct = rand_floats((size_t)t_max * 32, 9);
    float *st = rand_floats((size_t)t_max * 32, 10);
    int32_t *pos = malloc(sizeof(int32_t) * rows);
    k_span *span = malloc(sizeof(k_span) * t_max);
    int nt = kpool_nthreads(pool);
    float *ws = NULL;
    size_t wsf = kern_ws_floats(max_m, max_k, 64) * (size_t)nt;
    ws = aligned_alloc(64, (wsf * sizeof(float) + 63) & ~(size_t)63);
    if (!pool || !w || !x || !y || !q || !buf || !kk || !vv || !g || !ct || !st || !pos || !span ||
        !ws) {
        cli_error(cmd, "out of memory for the benchmark buffers");
        kpool_free(pool);
        free(w), free(x), free(y), free(q), free(buf), free(kk), free(vv), free(g), free(ct);
        free(st), free(pos), free(span), free(ws);
        return 1;
    }
    for (int i = 0; i < rows; i++)
        pos[i] = i;
    for (int i = 0; i < t_max; i++)
        span[i] = (k_span){0, 0, 0, i + 1};

    static const char *const names[KV_COUNT] = {"ref", "avx2", "avx512", "neon"};
    int rc = 0;
    double peak_all = 1;
    printf("# ablate bench kernels: %d thread(s), best of %ld, %s clock; best variant here: %s\n",
           nt, reps, bench_clock == CLOCK_MONOTONIC ? "wall" : "CPU", kern_best_name());
    printf("# %%peak = GFLOPS / (threads x one-core FMA peak); %%read = GB/s / read bandwidth of\n"
           "# the same threads over 128 MiB; best (shortest) of the repetitions\n");
    printf("%-7s %-10s %-16s %10s %9s %7s %8s %7s\n", "variant", "op", "shape", "time_ms",
           "GFLOPS", "%peak", "GB/s", "%read");
    for (int vi = 0; vi < KV_COUNT && !cli_interrupted; vi++) {
        if (variants ? !in_list(variants, names[vi]) : !kern_supported(vi))
            continue;
        abl_err err = {0};
        if (kern_init(names[vi], &err) != ABL_OK) {
            rc = cli_report(cmd, &err);
            continue;
        }
        double peak = probe_fma((int)reps), bw = probe_read(pool, buf, big, (int)reps);
        printf("%-7s %-10s %-16s %10s %9.1f %7s %8s %7s\n", names[vi], "fma-peak", "1 core", "-",
               peak, "100", "-", "-");
        printf("%-7s %-10s %-16s %10s %9s %7s %8.1f %7s\n", names[vi], "read-bw", "128MiB", "-",
               "-", "-", bw, "100");
        peak_all = peak * nt;
        case_ctx c = {.pool = pool, .y = y, .x = x, .ws = ws, .q = q, .k = kk, .v = vv,
                      .span = span, .g = g, .pos = pos, .ct = ct, .st = st};
        for (int si = 0; si < ns && in_list(ops, "sgemm") && !cli_interrupted; si++) {
            int n = shapes[si][0], k = shapes[si][1];
            kweight kw;
            if (kweight_pack(&kw, w, n, k, &err) != ABL_OK) {
                rc = cli_report(cmd, &err);
                break;
            }
            c.w = &kw;
            for (int mi = 0; mi < nm; mi++) {
                c.m = ms[mi];
                /* ref is scalar: keep it to the small cases */
                if (vi == KV_REF && (double)c.m * n * k > 1e8)
                    continue;
                double t = time_best(run_sgemm, &c, (int)reps);
                double gf = 2.0 * c.m * n * k / t * 1e-9;
                double gb = ((double)n * k + (double)c.m * (n + k)) * 4 / t * 1e-9;
                char sh[40];
                snprintf(sh, sizeof sh, "%dx%dx%d", c.m, n, k);
                printf("%-7s %-10s %-16s %10.3f %9.1f %7.1f %8.1f %7.1f\n", names[vi], "sgemm",
                       sh, t * 1e3, gf, 100 * gf / peak_all, gb, 100 * gb / bw);
                fflush(stdout);
            }
            kweight_free(&kw);
        }
        for (int tt = 512; tt <= t_max && in_list(ops, "attention") && !cli_interrupted; tt *= 4) {
            if (vi == KV_REF) /* over 1e8 multiply-adds even at T = 512 */
                continue;
            c.t = tt, c.h = 9, c.hkv = 3, c.dh = 64;
            double t = time_best(run_attention, &c, (int)reps);
            double fl = 4.0 * 64 * 9 * ((double)tt * (tt + 1) / 2), gf = fl / t * 1e-9;
            char sh[40];
            snprintf(sh, sizeof sh, "T%d H9/3 Dh64", tt);
            printf("%-7s %-10s %-16s %10.3f %9.1f %7.1f %8s %7s\n", names[vi], "attention", sh,
                   t * 1e3, gf, 100 * gf / peak_all, "-", "-");
            fflush(stdout);
        }
        for (int op = 0; op < OP_COUNT && in_list(ops, "rows") && !cli_interrupted; op++) {
            c.op = op, c.rows = rows;
            c.d = op == OP_SWIGLU ? 1536 : op == OP_LSE ? 49152 : 576;
            if (op == OP_LSE)
                c.rows = 8;
            double t = time_best(run_rows, &c, (int)reps);
            double gb = (double)c.rows * c.d * row_op_bytes[op] / t * 1e-9;
            char sh[40];
            snprintf(sh, sizeof sh, "%dx%d", c.rows, c.d);
            /* rope rewrites y in place every call: keep the values bounded */
            if (op == OP_ROPE)
                memcpy(y, x, sizeof(float) * (size_t)rows * 576);
            printf("%-7s %-10s %-16s %10.4f %9s %7s %8.1f %7.1f\n", names[vi], row_op_names[op],
                   sh, t * 1e3, "-", "-", gb, 100 * gb / bw);
            fflush(stdout);
        }
    }
    kpool_free(pool);
    free(w), free(x), free(y), free(q), free(buf), free(kk), free(vv), free(g), free(ct), free(st);
    free(pos), free(span), free(ws);
    return cli_interrupted ? 130 : rc;
}
