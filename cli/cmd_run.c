/* cli/cmd_run.c - `ablate run` (and bare `ablate`): the study of which blocks matter, with the
 * cosine score set against accuracy when each block is removed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../eval/eval.h"
#include "../study/report.h"
#include "../study/study.h"
#include "../kernels/kernels.h"
#include "../kernels_cuda/kernels_cuda.h"
#include "cli.h"
#include "../base/list.h"

/* The default run: tasks and items chosen so that `./ablate` fits 5 minutes on a 2-core Zen 3
 * machine and every task's intact accuracy sits well above 3 standard errors over chance.
 * Intact accuracies of SmolLM2-135M-Instruct (`ablate eval`, one pass, seed 1234): arc_easy
 * acc_norm 46.55% +- 1.02 on all 2,376 items (41.5% +- 3.5 on a 200-item sample), chance 25%:
 * 3 se need 48-81 items; lambada_openai acc 20.0% +- 7.4 (30 items), chance 0: ~36 items;
 * wikitext-2 next-token accuracy, chance 0, far above it in any chunk; piqa 64.31% on all
 * 1,838 items, chance 50%: ~101 items, 22.7 TFLOP (2m33s at 149 GFLOP/s) on its own; hellaswag
 * 47.33% +- 4.09 (150 items): ~45 items of 4x the length, ~31 TFLOP. Cost model (`--estimate
 * --rate 149`): 31.3 TFLOP for these counts without pruning, predicted 3m29s at 149 GFLOP/s;
 * measured on a quiet 2-core Zen 3 machine: 10m05s, 1,098 CPU-s (52 GFLOP/s end to end), so
 * the 5-minute goal of issue 17 is not met yet. */
#define RUN_DEFAULT_TASKS "arc_easy,lambada_openai,wikitext2"
#define RUN_DEFAULT_LIMITS "100,40,3"
#define RUN_DEFAULT_LIMIT 40   /* items per task for any other --tasks */
#define RUN_DEFAULT_PRUNE 0
/* Work-unit token budget on --device cuda: 512-token batches leave an H200 mostly idle (M = 512
 * GEMMs and a launch-bound pass). 16384 tokens need about 0.5 GB of device scratch (27.6 KB a
 * token for SmolLM2-135M) and 1.1 GB of host memory for the saved residuals (L x D floats a
 * token), and make each projection a GEMM of 16384 rows. */
#define RUN_CUDA_BATCH_TOKENS 16384

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ablate run [options]      (bare `ablate` runs the default study)\n\n"
        "For each task: one intact pass (accuracy, and through hooks the cosine score of every\n"
        "block), then every block removed in turn, resuming from the intact residual entering\n"
        "it. Prints a per-block table and the correlations; writes the run directory.\n\n"
        "options:\n"
        "  --tasks LIST       comma list of tasks, or 'all' (default: " RUN_DEFAULT_TASKS ")\n"
        "  --limit N|LIST     items per task, a seeded sample; 0 = every item; or one count\n"
        "                     per task in --tasks order (default: " RUN_DEFAULT_LIMITS " for the\n"
        "                     default tasks, %d for others)\n"
        "  --time BUDGET      choose the items per task to fit BUDGET (90s, 5m, 2h, 1h30m):\n"
        "                     see 'Planning to a budget' below; not with --limit\n"
        "  --rate GFLOPS      with --time or --estimate: assume this rate instead of timing a\n"
        "                     work unit (plans then repeat exactly on any machine)\n"
        "  --layers LIST      blocks to remove, e.g. 0-9,20 (default: all)\n"
        "  --unit U           block | attn | mlp: remove whole blocks or one sub-block\n"
        "  --metric M         acc | acc_norm: override each task's headline metric\n"
        "  --out DIR          run directory (default: runs/<model>-<configuration fingerprint>)\n"
        "  --model DIR        Hugging Face model folder (default: " DEFAULT_MODEL_DIR ")\n"
        "  --data-dir DIR     benchmark data (default: data/tasks, made by `make data`)\n"
        "  --seed N           item sample and bootstrap seed (default: 1234)\n"
        "  --boot N           bootstrap resamples, >= 1000 (default: 1000)\n"
        "  --batch-tokens N   packed batch token budget of a work unit (default: 512 on the\n"
        "                     CPU, %d on cuda; a different value is another configuration)\n"
        "  --threads N        worker threads (default: all cores)\n"
        "  --device D         cpu | cuda (default: cpu)\n"
        "  --quiet            no progress lines on stderr\n"
        "  --no-resume        remove each block with a full pass from the embeddings instead of\n"
        "                     resuming from the cached residual (the slow reference; same numbers)\n"
        "  --prune K          after the sweep, remove the K blocks with the lowest cosine score\n"
        "                     together, and the K with the smallest accuracy drop, one more at a\n"
        "                     time: accuracy curves in pruning.svg (default: %d; 0 = none;\n"
        "                     each step is one pass per curve; --unit block only)\n"
        "  --pool P           above-chance | all: which tasks the pooled figures average, with\n"
        "                     equal weights (default above-chance: tasks whose intact accuracy\n"
        "                     is at least 2 se above chance, of one metric type: multiple\n"
        "                     choice, or next-token accuracy when no MC task qualifies)\n"
        "  --estimate         run nothing but one timed work unit: print each task's items,\n"
        "                     tokens and estimated time for these options on this machine\n"
        "  --shards N         with --estimate: also the predicted wall time of each of N shards\n"
        "  --shard I/N        compute only shard I of N (0 <= I < N, e.g. I = $SLURM_ARRAY_TASK_ID)\n"
        "                     of the work units, into DIR/journal.shard-I-of-N.tsv; no reports.\n"
        "                     Shards may run at once on machines sharing DIR (NFS is fine): each\n"
        "                     writes only its own file. Pruning units (--prune) need every\n"
        "                     shard's sweep: a shard does its share of them once the sweep is\n"
        "                     complete, else leaves them to a second round or the report run\n"
        "  --no-compute       compute nothing: write the reports from the journals of DIR, or\n"
        "                     name the shards whose units are missing and fail\n\n"
        "The default run (" RUN_DEFAULT_TASKS ", items " RUN_DEFAULT_LIMITS ", no pruning) is\n"
        "chosen from measurement to keep every task clearly above chance at the least cost.\n"
        "Each item costs one intact pass plus 30 resumed passes (about 16 full passes of the\n"
        "135M model): 8,051 tokens per pass, 31.3 TFLOP by the cost model. Measured on a quiet\n"
        "2-core Zen 3 machine: 10m05s (1,098 CPU-seconds, 52 GFLOP/s end to end).\n"
        "One-pass intact evaluations (`ablate eval --tasks T [--limit N]`): arc_easy acc_norm\n"
        "46.6%% on all 2,376 items (41.5%% +- 3.5 on 200; chance 25%%: 3 standard errors above\n"
        "chance need 48-81 items), lambada_openai acc 20.0%% +- 7.4 (30 items; chance 0: ~36\n"
        "items), wikitext-2 next-token accuracy far above its chance of 0 in any 256-token\n"
        "chunk. piqa (64.3%% on all items, chance 50%%) needs ~101 items, 22.7 TFLOP, and\n"
        "hellaswag (47.3%%, chance 25%%) ~45 items 4x as long, ~31 TFLOP: either would push the\n"
        "run past 5 minutes, so neither is in the default. --prune 3 adds 6 passes per item\n"        "(+34%% here). The report flags a task whose accuracy is within 2 se of chance.\n"
        "`ablate run --tasks all --limit 0` is the full study: 5.6M tokens per pass, 30.5\n"
        "PFLOP, about 57 hours on that machine (`--estimate` prints the cost of any options\n"
        "on yours before you start).\n\n"
        "Interrupt with Ctrl-C at any time: finished work units are journaled in the run\n"
        "directory and the same command resumes with identical numbers. A run directory made\n"
        "by another configuration is refused. Its name (without --out) is the first 8 hex\n"
        "digits of the configuration fingerprint: the sha256 of the line in DIR/config.txt.\n\n"
        "Sharded runs: run the same command with --shard 0/N ... --shard N-1/N (in any order,\n"
        "at once or not, on any machines sharing the run directory), then once without\n"
        "--shard: it reads every shard's journal, computes whatever is still missing, and\n"
        "writes reports byte-identical to a one-process run. A killed shard resumes when rerun.\n"
        "Pruning units (--prune K > 0) need every shard's sweep first, so run the shards twice\n"
        "(the second round resumes the sweep and does the pruning share), or let the report run\n"
        "compute them (omit --no-compute):\n"
        "  for round in 1 2; do\n"
        "    seq 0 3 | xargs -P 4 -I{} ablate run --out runs/x --threads 1 --quiet --shard {}/4\n"
        "  done\n"
        "  ablate run --out runs/x --threads 1 --no-compute\n\n"
        "Planning to a budget (--time): a pilot evaluates %d items of each task once, intact\n"
        "(their headline accuracy acc, its standard error se, chance c), and the cost model\n"
        "gives each task's FLOPs per item; the rate is one timed work unit's (or --rate). A task\n"
        "needs n = (3 sd / (acc - c))^2 items, sd = se sqrt(pilot items), for its intact\n"
        "accuracy to end 3 standard errors above chance (the report flags 2). What the budget\n"
        "holds after the pilot and a reserve (5 s + 5%%) for loading and reports goes to every\n"
        "task's need first and the spare grows all tasks by one factor; when not every need\n"
        "fits, the cheapest needs are met first and the rest share what is left. The plan\n"
        "(items, tokens, predicted time per task) is printed before the run and checked\n"
        "against the cost model; the end prints predicted and actual time. With --estimate\n"
        "it prints the plan only. A task not above chance in the pilot is marked so.\n\n"
        "Definitions:\n%s",
        RUN_DEFAULT_LIMIT, RUN_CUDA_BATCH_TOKENS, RUN_DEFAULT_PRUNE, STUDY_PILOT_ITEMS,
        study_definitions());
}

/* --limit N (every task) or N1,N2,... (one per task, in --tasks order). */
static bool parse_limits(const char *v, int *limit, int *limits, int *n_limits)
{
    abl_list l;
    abl_err err = {0};
    if (abl_list_split(v, "--limit", &l, &err)) {
        cli_report("run", &err);
        return false;
    }
    bool ok = l.n >= 1 && l.n <= 32;
    if (!ok)
        cli_error("run", "--limit: expected N or one count per task (at most 32), found '%s'",
                  v);
    for (int i = 0; i < l.n && ok; i++) {
        long n;
        ok = cli_int("run", "--limit", l.v[i], 0, 100000000, &n);
        limits[i] = (int)n;
    }
    int n = l.n;
    abl_list_free(&l);
    if (!ok)
        return false;
    *limit = limits[0];
    *n_limits = n > 1 ? n : 0;
    return true;
}

/* The cost table of --estimate: per task the work, and its time at the probe's rate. */
static void print_estimate(const study_result *r, int device, int threads)
{
    char d[32], where[320];
    if (device == 1) { /* the model ran on the GPU: name it, not the CPU kernels */
        char desc[256];
        kc_device_desc(desc, sizeof desc);
        snprintf(where, sizeof where, "cuda %s, %s", kc_tf32() ? "tf32" : "f32",
                 desc[0] ? desc : "GPU");
    } else {
        snprintf(where, sizeof where, "%s kernels, %d threads", r->kernels,
                 threads > 0 ? threads : (int)sysconf(_SC_NPROCESSORS_ONLN));
    }
    printf("estimate for %s\n", r->command);
    if (r->probe_seconds > 0)
        printf("rate: one work unit of %lld tokens x %d passes took %.1f s = %.1f GFLOP/s (%s)"
               "\n\n", r->probe_tokens, 1 + r->n_units, r->probe_seconds, r->flops_per_s / 1e9,
               where);
    else
        printf("rate: %.1f GFLOP/s as given by --rate (nothing timed; %s)\n\n",
               r->flops_per_s / 1e9, where);
    printf("%-18s %8s %12s %12s %10s %12s\n", "task", "items", "tokens/pass", "scored/pass",
           "TFLOP", "time");
    double tot_f = 0;
    long long tot_tok = 0;
    for (int t = 0; t < r->n_tasks; t++) {
        const study_task_res *T = &r->tasks[t];
        ev_fmt_duration(d, sizeof d, r->flops_per_s > 0 ? T->flops / r->flops_per_s : -1);
        printf("%-18.18s %8d %12lld %12lld %10.1f %12s\n", T->name, T->n_items, T->n_tok_pass,
               T->n_score_pass, T->flops / 1e12, d);
        tot_f += T->flops;
        tot_tok += T->n_tok_pass;
    }
    ev_fmt_duration(d, sizeof d, r->flops_per_s > 0 ? tot_f / r->flops_per_s : -1);
    printf("%-18s %8s %12lld %12s %10.1f %12s\n", "total", "", tot_tok, "", tot_f / 1e12, d);
    for (int k = 0; k < r->n_shard_est; k++) {
        ev_fmt_duration(d, sizeof d, r->flops_per_s > 0 ? r->shard_flops[k] / r->flops_per_s
                                                        : -1);
        printf("%sshard %d/%d: %.1f TFLOP, %s\n", k ? "" : "\n", k, r->n_shard_est,
               r->shard_flops[k] / 1e12, d);
    }
    printf("\nTimes assume the probe's rate holds: a busy machine or other batch shapes change "
           "it.\nFLOPs count the projections, attention and the LM head of every pass (2 per "
           "multiply-add).\n");
}

/* The --time plan: per task the pilot's figures, the items it needs and gets, and the cost. */
static void print_plan(const study_budget *b, const char *budget, bool rate_given)
{
    char d[32], tot[32];
    printf("plan for --time %s: %s rate %.4g GFLOP/s%s\n", budget, rate_given ? "assumed" :
           "measured", b->rate / 1e9, rate_given ? " (--rate)" : " (one timed work unit)");
    printf("%-14s %6s %6s %7s %8s %7s %7s %12s %8s %9s\n", "task", "pilot", "acc", "chance",
           "sd/item", "needs", "items", "tokens/pass", "TFLOP", "time");
    for (int i = 0; i < b->n_tasks; i++) {
        const study_budget_task *t = &b->t[i];
        char need[16];
        if (t->n_need > 0)
            snprintf(need, sizeof need, "%d", t->n_need);
        else
            snprintf(need, sizeof need, "never");
        ev_fmt_duration(d, sizeof d, t->flops / b->rate);
        printf("%-14.14s %6d %6.3f %7.3f %8.3f %7s %7d %12lld %8.1f %9s%s\n", t->name,
               t->n_pilot, t->acc, t->chance, t->se * sqrt(t->n_pilot), need, t->n, t->n_tok,
               t->flops / 1e12, d, t->n_need > 0 && t->n < t->n_need && t->n < t->n_avail ?
               "  (short of its need)" : t->n_need == 0 ? "  (not above chance)" : "");
    }
    ev_fmt_duration(d, sizeof d, b->flops / b->rate);
    ev_fmt_duration(tot, sizeof tot, b->pilot_s + b->overhead_s + b->flops / b->rate);
    printf("predicted: pilot %.0f s + study %s + %.0f s kept for loading and reports = %s\n\n",
           b->pilot_s, d, b->overhead_s, tot);
    fflush(stdout);
}

/* The study's own figures (`ablate bench study`): what the sweep costs in full passes of the
 * model, the rate of its timed work unit as a share of this machine's FMA peak, and how busy the
 * threads were during that unit. */
static void print_bench(const study_result *r, int device, int threads)
{
    double all = 0, pass = 0;
    for (int t = 0; t < r->n_tasks; t++) {
        all += r->tasks[t].flops;
        pass += r->tasks[t].pass_flops;
    }
    int nt = threads > 0 ? threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    printf("\nstudy figures (bench study)\n");
    printf("sweep cost          %.2f full-pass equivalents (intact + %d removals%s; without "
           "resuming from the cached residual: %d)\n", pass > 0 ? all / pass : 0.0, r->n_units,
           r->prune_k > 0 ? " + pruning" : "", 1 + r->n_units + 2 * r->prune_k);
    if (r->probe_seconds <= 0) {
        printf("rate                nothing timed (--rate given)\n");
        return;
    }
    printf("rate                %.1f GFLOP/s in one work unit of %lld tokens x %d passes "
           "(%.2f s)\n", r->flops_per_s / 1e9, r->probe_tokens, 1 + r->n_units,
           r->probe_seconds);
    if (device == 1) {
        printf("peak                (GPU: see `ablate bench --device cuda`)\n");
        return;
    }
    double peak = cli_fma_peak_gflops() * nt;
    printf("share of FMA peak   %.0f%% of %.1f GFLOP/s (%d threads x the one-core FMA peak "
           "measured now)\n", peak > 0 ? 100 * r->flops_per_s / 1e9 / peak : 0.0, peak, nt);
    printf("CPU utilisation     %.0f%% of %d threads (%.2f CPU-s in %.2f s wall)\n",
           100 * r->probe_cpu_seconds / r->probe_seconds / nt, nt, r->probe_cpu_seconds,
           r->probe_seconds);
}

static int run_cmd(int argc, char **argv, bool bench);

int cli_run(int argc, char **argv)
{
    return run_cmd(argc, argv, false);
}

int cli_bench_study(int argc, char **argv)
{
    return run_cmd(argc, argv, true);
}

/* `ablate run` and `ablate bench study` (= run --estimate plus the study's figures). */
static int run_cmd(int argc, char **argv, bool bench)
{
    double t_cli = ev_now();
    study_opts o = study_opts_default();
    o.model_dir = DEFAULT_MODEL_DIR;
    o.tasks = RUN_DEFAULT_TASKS;
    o.limit = RUN_DEFAULT_LIMIT;
    o.prune_k = RUN_DEFAULT_PRUNE;
    bool tasks_given = false;
    const char *out = NULL, *unit = "block", *metric = NULL, *time_arg = NULL;
    double time_s = 0;
    int limits[32], n_limits = 0;
    bool limit_given = false;
    cli_common c = {o.model_dir, o.data_dir, "cpu", o.seed, o.threads};
    int i0 = argc >= 1 && argv[0][0] != '-' ? 1 : 0; /* argv[0] is "run" or the program */
    for (int i = i0; i < argc; i++) {
        const char *v = NULL;
        long n;
        bool bad;
        if (cli_common_flag("run", argc, argv, &i, &c, &bad)) {
            if (bad)
                return 2;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            if (bench)
                printf("usage: ablate bench study [run options]\n"
                       "Plans the study of `ablate run` with the same options, times one work\n"
                       "unit, prints the --estimate table, then the study's own figures: the\n"
                       "sweep's cost in full-pass equivalents, the rate as a share of the FMA peak\n"
                       "of this machine (threads x one core's, measured now), and the CPU\n"
                       "utilisation of the timed unit. Runs nothing else, writes nothing.\n"
                       "Run options: see `ablate run --help`.\n");
            else
                usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--quiet")) {
            o.progress = false;
        } else if (!strcmp(argv[i], "--no-resume")) {
            o.no_resume = true;
        } else if (cli_flag("run", argc, argv, &i, "--prune", &v)) {
            if (!v || !cli_int("run", "--prune", v, 0, 511, &n))
                return 2;
            o.prune_k = (int)n;
        } else if (cli_flag("run", argc, argv, &i, "--pool", &v)) {
            if (!v)
                return 2;
            if (strcmp(v, "all") && strcmp(v, "above-chance")) {
                cli_error("run", "--pool: expected above-chance or all, found '%s'", v);
                return 2;
            }
            o.pool_all = !strcmp(v, "all");
        } else if (!strcmp(argv[i], "--estimate")) {
            o.estimate = true;
        } else if (!strcmp(argv[i], "--no-compute")) {
            o.no_compute = true;
        } else if (cli_flag("run", argc, argv, &i, "--shards", &v)) {
            if (!v || !cli_int("run", "--shards", v, 1, 100000, &n))
                return 2;
            o.estimate_shards = (int)n;
        } else if (cli_flag("run", argc, argv, &i, "--shard", &v)) {
            int si = -1, sn = 0, len = 0;
            if (!v)
                return 2;
            if (sscanf(v, "%d/%d%n", &si, &sn, &len) != 2 || v[len] || sn < 1 || sn > 100000 ||
                si < 0 || si >= sn) {
                cli_error("run", "--shard: expected I/N with 0 <= I < N <= 100000, found '%s'",
                          v);
                return 2;
            }
            o.shard = si;
            o.n_shards = sn;
        } else if (cli_flag("run", argc, argv, &i, "--tasks", &v)) {
            if (!v)
                return 2;
            o.tasks = v;
            tasks_given = true;
        } else if (cli_flag("run", argc, argv, &i, "--limit", &v)) {
            if (!v || !parse_limits(v, &o.limit, limits, &n_limits))
                return 2;
            limit_given = true;
        } else if (cli_flag("run", argc, argv, &i, "--time", &v)) {
            if (!v || !cli_duration("run", "--time", v, &time_s))
                return 2;
            time_arg = v;
        } else if (cli_flag("run", argc, argv, &i, "--rate", &v)) {
            double g;
            if (!v || !cli_double("run", "--rate", v, 0.001, 1e9, &g))
                return 2;
            o.rate = g * 1e9;
        } else if (cli_flag("run", argc, argv, &i, "--layers", &v)) {
            if (!v)
                return 2;
            o.layers = v;
        } else if (cli_flag("run", argc, argv, &i, "--unit", &v)) {
            if (!v)
                return 2;
            unit = v;
        } else if (cli_flag("run", argc, argv, &i, "--metric", &v)) {
            if (!v)
                return 2;
            metric = v;
        } else if (cli_flag("run", argc, argv, &i, "--out", &v)) {
            if (!v)
                return 2;
            out = v;
        } else if (cli_flag("run", argc, argv, &i, "--boot", &v)) {
            if (!v || !cli_int("run", "--boot", v, 1000, 1000000, &n))
                return 2;
            o.n_boot = (int)n;
        } else if (cli_flag("run", argc, argv, &i, "--batch-tokens", &v)) {
            if (!v || !cli_int("run", "--batch-tokens", v, 16, 1 << 20, &n))
                return 2;
            o.batch_tokens = (int)n;
        } else {
            cli_error("run", "unknown option '%s' (see `ablate run --help`)", argv[i]);
            return 2;
        }
    }
    if (!strcmp(unit, "block"))
        o.unit = STUDY_UNIT_BLOCK;
    else if (!strcmp(unit, "attn"))
        o.unit = STUDY_UNIT_ATTN;
    else if (!strcmp(unit, "mlp"))
        o.unit = STUDY_UNIT_MLP;
    else {
        cli_error("run", "--unit: expected block, attn or mlp, found '%s'", unit);
        return 2;
    }
    if (metric && !strcmp(metric, "acc"))
        o.metric = STUDY_METRIC_ACC;
    else if (metric && !strcmp(metric, "acc_norm"))
        o.metric = STUDY_METRIC_ACC_NORM;
    else if (metric) {
        cli_error("run", "--metric: expected acc or acc_norm, found '%s'", metric);
        return 2;
    }
    if ((o.device = cli_device("run", c.device)) < 0)
        return 2;
    if (o.batch_tokens <= 0 && o.device == 1)
        o.batch_tokens = RUN_CUDA_BATCH_TOKENS;
    o.model_dir = c.model_dir;
    o.data_dir = c.data_dir;
    o.seed = c.seed;
    o.threads = c.threads;
    if (bench)
        o.estimate = true;
    if (o.n_shards > 0 && (o.no_compute || o.estimate)) {
        cli_error("run", "--shard: not with %s", o.no_compute ? "--no-compute" : "--estimate "
                  "(use --estimate --shards N)");
        return 2;
    }
    if (time_arg && (limit_given || o.n_shards > 0 || o.no_compute)) {
        cli_error("run", "--time: not with %s (it chooses the item counts and computes here)",
                  limit_given ? "--limit" : o.n_shards > 0 ? "--shard" : "--no-compute");
        return 2;
    }
    if (o.rate > 0 && !time_arg && !o.estimate) {
        cli_error("run", "--rate: only with --time or --estimate");
        return 2;
    }
    if (!tasks_given && !limit_given && !time_arg && !parse_limits(RUN_DEFAULT_LIMITS,
                                                                     &o.limit, limits, &n_limits))
        return 2;
    if (n_limits > 0) {
        o.task_limits = limits;
        o.n_task_limits = n_limits;
    }
    if (o.estimate_shards > 0 && !o.estimate) {
        cli_error("run", "--shards N: only with --estimate (to run a shard: --shard I/N)");
        return 2;
    }
    /* the command line, echoed into summary.json without --shard and --no-compute (they say
     * who computes, not what: the report run's files equal a one-process run's); without --out
     * the study names the run directory runs/<model>-<hash> from the configuration fingerprint */
    char cmd[1024] = "ablate run";
    size_t cl = strlen(cmd);
    for (int i = i0; i < argc && cl < sizeof cmd - 2; i++) {
        if (!strcmp(argv[i], "--no-compute") || !strncmp(argv[i], "--shard=", 8))
            continue;
        if (!strcmp(argv[i], "--shard")) {
            i++;
            continue;
        }
        cl += (size_t)snprintf(cmd + cl, sizeof cmd - cl, " %s", argv[i]);
    }
    o.command = cmd;
    o.out_root = "runs";
    o.out_dir = out;
    o.stop = &cli_interrupted;
    const char *stop_env = getenv("ABLATE_STOP_AFTER_UNITS"); /* for interruption tests */
    if (stop_env)
        o.stop_after_units = atoi(stop_env);
    abl_err err = {0};
    if (kern_init(NULL, &err))
        return cli_report("run", &err);
    study_budget bud;
    memset(&bud, 0, sizeof bud);
    if (time_arg) {
        if (o.progress)
            fprintf(stderr, "ablate run: planning --time %s: a pilot of %d items per task "
                    "(one intact pass)%s\n", time_arg, STUDY_PILOT_ITEMS, o.rate > 0 ? "" :
                    " and one timed work unit");
        if (study_budget_plan(&o, time_s, &bud, &err))
            return cli_report("run", &err);
        print_plan(&bud, time_arg, o.rate > 0);
        for (int t = 0; t < bud.n_tasks; t++)
            limits[t] = bud.t[t].n;
        o.task_limits = limits;
        o.n_task_limits = bud.n_tasks;
        if (o.estimate) {
            study_budget_free(&bud);
            return 0;
        }
    }
    if (o.progress) {
        char lim[200] = "";
        size_t ll = 0;
        for (int t = 0; t < o.n_task_limits && ll < sizeof lim - 16; t++)
            ll += (size_t)snprintf(lim + ll, sizeof lim - ll, "%s%d", t ? "," : "",
                                   o.task_limits[t]);
        if (!o.task_limits)
            snprintf(lim, sizeof lim, "%d", o.limit);
        fprintf(stderr, "ablate run: model %s, tasks %s, limit %s, unit %s%s\n", o.model_dir,
                o.tasks, lim, unit, o.estimate ? ", estimate only" : "");
    }
    study_result *r = NULL;
    if (study_run(&o, &r, &err)) {
        study_budget_free(&bud);
        return cli_report("run", &err);
    }
    if (r->estimated) {
        print_estimate(r, o.device, o.threads);
        if (bench)
            print_bench(r, o.device, o.threads);
        study_result_free(r);
        return 0;
    }
    if (r->shard_only) {
        printf("shard %d/%d of %s: %d work units computed, %d resumed; wall time %.1f s\n",
               o.shard, o.n_shards, r->run_dir, r->units_new, r->units_resumed, r->wall_seconds);
        if (r->units_pending)
            printf("%d pruning units of this shard wait for the other shards' sweeps: rerun this "
                   "command once they are done (or the report run computes them)\n",
                   r->units_pending);
        study_result_free(r);
        return 0;
    }
    report_table(r, stdout, report_utf8_locale());
    printf("\nwall time %.1f s (%d of %d work units resumed from the journal)\n",
           r->wall_seconds, r->units_resumed, r->units_total);
    if (time_arg) {
        char pd[32], ad[32];
        ev_fmt_duration(pd, sizeof pd, bud.pilot_s + bud.overhead_s + bud.flops / bud.rate);
        ev_fmt_duration(ad, sizeof ad, ev_now() - t_cli);
        printf("--time %s: predicted %s, took %s (pilot and planning included)\n", time_arg,
               pd, ad);
        study_budget_free(&bud);
    }
    printf("open %s/report.html in a browser (also: report.md, summary.json, layers.csv, "
           "heatmap.svg, scatter.svg, confusion.svg, %stiming.json)\n", r->run_dir,
           r->prune_k > 0 ? "pruning.svg, " : "");
    study_result_free(r);
    return 0;
}
