/* cli/cmd_prune.c - `ablate prune`: greedy block removal ranked by accuracy, one-shot cosine
 * score or iterated cosine score, with held-out accuracy after each step and pruning.svg. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../base/list.h"
#include "../study/prune.h"
#include "../study/report.h"
#include "../kernels/kernels.h"
#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ablate prune [options]\n\n"
        "Greedy pruning: rank the remaining blocks on a calibration split, remove the least\n"
        "important one, re-rank, repeat K times; after each step report the accuracy on a\n"
        "held-out split. Each task's items (after --limit) are split deterministically:\n"
        "even positions calibrate, odd positions evaluate.\n\n"
        "  --metric LIST      any of accuracy, cosine, cosine-iter (default: all three)\n"
        "                     accuracy: calibration accuracy re-measured after each removal,\n"
        "                     remove the block whose removal keeps it highest;\n"
        "                     cosine: cosine scores measured once, removed lowest first;\n"
        "                     cosine-iter: cosine scores re-measured after each removal\n"
        "  --blocks K         blocks to remove (default 8)\n"
        "  --calib TASKS      tasks to rank on (default piqa,arc_easy)\n"
        "  --eval TASKS       tasks to report (default piqa,arc_easy)\n"
        "  --limit N          items per task before the split (default 100; 0 = all)\n"
        "  --acc-metric M     acc | acc_norm: override the headline accuracy\n"
        "  --out DIR          where pruning.svg and pruning.csv go (default runs/prune)\n"
        "  --model DIR, --data-dir DIR, --seed N, --threads N, --device cpu|cuda, --quiet\n");
}

static int parse_metrics(const char *s, prune_opts *o)
{
    abl_list l;
    if (abl_list_split(s, "--metric", &l, NULL))
        return 0;
    for (int m = 0; m < PRUNE_METRIC_COUNT; m++)
        o->use[m] = false;
    int ok = 1;
    for (int i = 0; i < l.n && ok; i++) {
        int hit = 0;
        for (int m = 0; m < PRUNE_METRIC_COUNT; m++)
            if (!strcmp(l.v[i], prune_metric_name((prune_metric)m)))
                hit = o->use[m] = true;
        ok = hit;
    }
    abl_list_free(&l);
    return ok;
}

static abl_status write_csv(const report_curve *c, int n, const char *dir, abl_err *err)
{
    abl_afile rf;
    abl_status s = abl_afile_open(&rf, dir, "pruning.csv", err);
    if (s)
        return s;
    fprintf(rf.f, "metric,step,removed_block,calib_acc_before_step,heldout_acc_after_step\n");
    for (int i = 0; i < n; i++)
        for (int k = 0; k <= c[i].n_steps; k++) {
            fprintf(rf.f, "%s,%d,", c[i].metric, k);
            if (k > 0)
                fprintf(rf.f, "%d", c[i].order[k - 1]);
            fputc(',', rf.f);
            if (k > 0 && !isnan(c[i].calib[k - 1]))
                fprintf(rf.f, "%.9g", c[i].calib[k - 1]);
            fprintf(rf.f, ",%.9g\n", c[i].acc[k]);
        }
    return abl_afile_commit(&rf, err);
}

int cli_prune(int argc, char **argv)
{
    prune_opts o = prune_opts_default();
    o.model_dir = DEFAULT_MODEL_DIR;
    o.limit = 100;
    const char *out = "runs/prune";
    cli_common c = {o.model_dir, o.data_dir, "cpu", o.seed, o.threads};
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        long n;
        bool bad;
        if (cli_common_flag("prune", argc, argv, &i, &c, &bad)) {
            if (bad)
                return 2;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--quiet")) {
            o.progress = false;
        } else if (cli_flag("prune", argc, argv, &i, "--metric", &v)) {
            if (!v)
                return 2;
            if (!parse_metrics(v, &o)) {
                cli_error("prune", "--metric: expected a list of accuracy, cosine, "
                          "cosine-iter, found '%s'", v);
                return 2;
            }
        } else if (cli_flag("prune", argc, argv, &i, "--blocks", &v)) {
            if (!v || !cli_int("prune", "--blocks", v, 1, 255, &n))
                return 2;
            o.blocks = (int)n;
        } else if (cli_flag("prune", argc, argv, &i, "--calib", &v)) {
            if (!v)
                return 2;
            o.calib = v;
        } else if (cli_flag("prune", argc, argv, &i, "--eval", &v)) {
            if (!v)
                return 2;
            o.eval = v;
        } else if (cli_flag("prune", argc, argv, &i, "--limit", &v)) {
            if (!v || !cli_int("prune", "--limit", v, 0, 100000000, &n))
                return 2;
            o.limit = (int)n;
        } else if (cli_flag("prune", argc, argv, &i, "--acc-metric", &v)) {
            if (!v)
                return 2;
            if (!strcmp(v, "acc"))
                o.metric = STUDY_METRIC_ACC;
            else if (!strcmp(v, "acc_norm"))
                o.metric = STUDY_METRIC_ACC_NORM;
            else {
                cli_error("prune", "--acc-metric: expected acc or acc_norm, found '%s'", v);
                return 2;
            }
        } else if (cli_flag("prune", argc, argv, &i, "--out", &v)) {
            if (!v)
                return 2;
            out = v;
        } else {
            cli_error("prune", "unknown option '%s' (see `ablate prune --help`)", argv[i]);
            return 2;
        }
    }
    if ((o.device = cli_device("prune", c.device)) < 0)
        return 2;
    o.model_dir = c.model_dir;
    o.data_dir = c.data_dir;
    o.seed = c.seed;
    o.threads = c.threads;
    o.stop = &cli_interrupted;
    abl_err err = {0};
    if (kern_init(NULL, &err))
        return cli_report("prune", &err);
    report_curve curves[PRUNE_METRIC_COUNT];
    int nc = 0;
    if (prune_run(&o, curves, &nc, &err))
        return cli_report("prune", &err);
    printf("greedy pruning of %s: rank on %s (even items), report %s (odd items)\n\n",
           o.model_dir, o.calib, o.eval);
    printf("%-12s %-6s", "metric", "step");
    for (int k = 0; k <= o.blocks; k++)
        printf(" %6d", k);
    printf("\n");
    for (int i = 0; i < nc; i++) {
        printf("%-12s %-6s %6s", curves[i].metric, "block", "-");
        for (int k = 0; k < curves[i].n_steps; k++)
            printf(" %6d", curves[i].order[k]);
        printf("\n%-12s %-6s", "", "acc %");
        for (int k = 0; k <= curves[i].n_steps; k++)
            printf(" %6.2f", 100 * curves[i].acc[k]);
        printf("\n");
    }
    char title[256];
    snprintf(title, sizeof title, "Greedy pruning: held-out accuracy on %.100s", o.eval);
    if (abl_mkdirs(out, &err) ||
        report_pruning_svg(curves, nc, title, "blocks removed (greedy)", "held-out accuracy (%)",
                           out, &err) ||
        write_csv(curves, nc, out, &err))
        return cli_report("prune", &err);
    printf("\nfiles: %s/pruning.svg, %s/pruning.csv\n", out, out);
    return 0;
}
