/* tests/test_study_prune.c - greedy pruning on the tiny model: deterministic, K distinct
 * blocks per metric, one-shot and iterated cosine agree on the first pick. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../eval/eval.h"
#include "../study/prune.h"
#include "../kernels/kernels.h"
#include "t.h"

static void toy(tctx *t, char *spec, size_t cap)
{
    char path[512];
    snprintf(path, sizeof path, "%s/toy.jsonl", t_tmpdir(t));
    FILE *f = fopen(path, "w");
    for (int i = 0; f && i < 20; i++)
        fprintf(f, "{\"context\": \"Item %d: the sky is\", \"choices\": [\"blue\", \"green\", "
                   "\"loud\"], \"label\": %d}\n", i, i % 3);
    if (f)
        fclose(f);
    snprintf(spec, cap, "jsonl:%s", path);
}

void test_study_prune_tiny(tctx *t)
{
    abl_err e = {0};
    if (kern_init(NULL, &e)) {
        t_fail(t, "kern_init: %s", e.msg);
        return;
    }
    char spec[600];
    toy(t, spec, sizeof spec);
    prune_opts o = prune_opts_default();
    o.model_dir = "tests/fixtures/tiny";
    o.calib = spec;
    o.eval = spec;
    o.blocks = 3;
    o.threads = 1;
    o.progress = false;
    o.batch_tokens = 128;
    report_curve a[PRUNE_METRIC_COUNT], b[PRUNE_METRIC_COUNT];
    int na = 0, nb = 0;
    if (prune_run(&o, a, &na, &e) || prune_run(&o, b, &nb, &e)) {
        t_fail(t, "prune_run: %s", e.msg);
        return;
    }
    T_CHECK(t, na == 3 && nb == 3);
    for (int i = 0; i < na; i++) {
        T_CHECK(t, a[i].n_steps == 3);
        T_CHECK(t, !memcmp(a[i].order, b[i].order, sizeof a[i].order));
        for (int k = 0; k <= 3; k++)
            T_CHECK(t, a[i].acc[k] == b[i].acc[k] && a[i].acc[k] >= 0 && a[i].acc[k] <= 1);
        for (int k = 0; k < 3; k++)
            for (int j = k + 1; j < 3; j++)
                T_CHECK(t, a[i].order[k] != a[i].order[j]);
        t_note(t, "%s: order %d %d %d, held-out %.3f %.3f %.3f %.3f", a[i].metric,
               a[i].order[0], a[i].order[1], a[i].order[2], a[i].acc[0], a[i].acc[1],
               a[i].acc[2], a[i].acc[3]);
    }
    T_CHECK(t, a[1].order[0] == a[2].order[0]); /* same intact scores at step 1 */
    T_CHECK(t, a[0].acc[0] == a[1].acc[0]);     /* same unpruned model */
    o.blocks = 4; /* the tiny model has 4 blocks: at most 3 can go */
    T_CHECK(t, prune_run(&o, a, &na, &e) == ABL_E_ARG);
}

/* --calib all / --eval all mean every built-in task, as --tasks all does: with no data folder
 * the error names the first task's missing file, never an unknown task "all". */
void test_study_prune_calib_all(tctx *t)
{
    abl_err e = {0};
    if (kern_init(NULL, &e)) {
        t_fail(t, "kern_init: %s", e.msg);
        return;
    }
    char spec[600], nodata[700];
    toy(t, spec, sizeof spec);
    snprintf(nodata, sizeof nodata, "%s/no-data", t_tmpdir(t));
    prune_opts o = prune_opts_default();
    o.model_dir = "tests/fixtures/tiny";
    o.data_dir = nodata;
    o.eval = spec;
    o.blocks = 1;
    o.threads = 1;
    o.progress = false;
    report_curve c[PRUNE_METRIC_COUNT];
    int n = 0;
    for (int k = 0; k < 2; k++) {
        o.calib = k ? spec : "all";
        o.eval = k ? "all" : spec;
        abl_status s = prune_run(&o, c, &n, &e);
        T_CHECK(t, s != ABL_OK && !strstr(e.msg, "unknown task") && strstr(e.msg, ev_task_names()[0]));
        t_note(t, "%s all, no data: %s", k ? "--eval" : "--calib", e.msg);
    }
    o.calib = "piqa,,arc_easy";
    T_CHECK(t, prune_run(&o, c, &n, &e) == ABL_E_ARG && strstr(e.msg, "--calib"));
}
