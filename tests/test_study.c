/* tests/test_study.c - the study driver on the tiny model: resumed sweep == full-pass sweep,
 * an interrupted and resumed run leaves identical files, another configuration is refused;
 * the estimators on hand-made data. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/file.h"
#include "../study/study.h"
#include "../study/study_int.h"
#include "../kernels/kernels.h"
#include "t.h"

#define TINY "tests/fixtures/tiny"

/* A small multiple-choice file the tiny model can score (3 or 4 choices, 16 items). */
static const char *write_task(tctx *t, char *buf, size_t cap)
{
    char path[512];
    snprintf(path, sizeof path, "%s/toy.jsonl", t_tmpdir(t));
    FILE *f = fopen(path, "w");
    static const char *ctx[] = {"The cat sat on the", "A river runs to the", "She played the",
                                "He wrote with a"};
    static const char *ch[] = {"mat", "sea", "violin", "pen", "hat", "dog", "cloud"};
    for (int i = 0; f && i < 16; i++) {
        int n = 3 + i % 2;
        fprintf(f, "{\"context\": \"%s %d\", \"choices\": [", ctx[i % 4], i);
        for (int k = 0; k < n; k++)
            fprintf(f, "%s\"%s\"", k ? ", " : "", ch[(i + 2 * k) % 7]);
        fprintf(f, "], \"label\": %d}\n", i % n);
    }
    if (f)
        fclose(f);
    snprintf(buf, cap, "jsonl:%s", path);
    return buf;
}

static study_opts tiny_opts(const char *task)
{
    study_opts o = study_opts_default();
    o.model_dir = TINY;
    o.tasks = task;
    o.limit = 0;
    o.threads = 1;
    o.progress = false;
    o.batch_tokens = 96; /* several batches = several work units */
    o.command = "test";
    return o;
}

static int setup(tctx *t)
{
    abl_err e = {0};
    if (kern_init(NULL, &e)) {
        t_fail(t, "kern_init: %s", e.msg);
        return 0;
    }
    return 1;
}

static int same_arrays(tctx *t, const char *what, const double *a, const double *b, int n)
{
    for (int i = 0; i < n; i++)
        if (!(a[i] == b[i] || (isnan(a[i]) && isnan(b[i])))) {
            t_fail(t, "%s[%d]: %.17g != %.17g", what, i, a[i], b[i]);
            return 0;
        }
    return 1;
}

static void sweep_equal(tctx *t, study_unit unit)
{
    if (!setup(t))
        return;
    char task[600];
    study_opts o = tiny_opts(write_task(t, task, sizeof task));
    o.unit = unit;
    study_result *a = NULL, *b = NULL;
    abl_err e = {0};
    if (study_run(&o, &a, &e)) {
        t_fail(t, "resumed sweep: %s", e.msg);
        return;
    }
    o.no_resume = true;
    if (study_run(&o, &b, &e)) {
        t_fail(t, "full-pass sweep: %s", e.msg);
        study_result_free(a);
        return;
    }
    const study_task_res *A = &a->tasks[0], *B = &b->tasks[0];
    T_CHECK(t, a->n_units == 4 && b->n_units == 4);
    T_CHECK(t, A->acc == B->acc);
    same_arrays(t, "acc_removed", A->acc_abl, B->acc_abl, a->n_units);
    same_arrays(t, "cos_score", A->cos_score, B->cos_score, a->n_units);
    same_arrays(t, "angular", A->ang, B->ang, a->n_units);
    same_arrays(t, "kl", A->kl, B->kl, a->n_units);
    same_arrays(t, "margin_drop", A->margin_drop, B->margin_drop, a->n_units);
    for (int u = 0; u < a->n_units; u++) /* removing a unit of a random model moves the output */
        T_CHECK(t, A->kl[u] > 0 && isfinite(A->kl[u]) && isfinite(A->margin_drop[u]));
    t_note(t, "KL(intact || removed) %.4f %.4f %.4f %.4f nats", A->kl[0], A->kl[1], A->kl[2],
           A->kl[3]);
    t_note(t, "unit %s: intact %.4f, removed %.4f %.4f %.4f %.4f, cos %.4f %.4f %.4f %.4f",
           a->unit_name, A->acc, A->acc_abl[0], A->acc_abl[1], A->acc_abl[2], A->acc_abl[3],
           A->cos_score[0], A->cos_score[1], A->cos_score[2], A->cos_score[3]);
    for (int u = 0; u < a->n_units; u++) /* a tiny random model: scores in (0, 2) */
        T_CHECK(t, A->cos_score[u] > 0 && A->cos_score[u] < 2);
    study_result_free(a);
    study_result_free(b);
}

void test_study_resume_sweep_equals_full_passes(tctx *t)
{
    sweep_equal(t, STUDY_UNIT_BLOCK);
}
void test_study_resume_sweep_attn(tctx *t)
{
    sweep_equal(t, STUDY_UNIT_ATTN);
}
void test_study_resume_sweep_mlp(tctx *t)
{
    sweep_equal(t, STUDY_UNIT_MLP);
}

static char *slurp(const char *path, size_t *n)
{
    char *b = NULL;
    return abl_read_file(path, 0, NULL, &b, n, NULL) == ABL_OK ? b : NULL;
}

static const char *const report_files[] = {"layers.csv",  "summary.json", "report.md",
                                           "report.html", "heatmap.svg",  "scatter.svg",
                                           "pruning.svg", "confusion.svg"};

void test_study_interrupted_resume_identical_files(tctx *t)
{
    if (!setup(t))
        return;
    char task[600], d1[600], d2[600];
    study_opts o = tiny_opts(write_task(t, task, sizeof task));
    snprintf(d1, sizeof d1, "%s/uninterrupted", t_tmpdir(t));
    snprintf(d2, sizeof d2, "%s/interrupted", t_tmpdir(t));
    o.prune_k = 2; /* the pruning passes are journaled units too */
    study_result *r = NULL;
    abl_err e = {0};
    o.out_dir = d1;
    if (study_run(&o, &r, &e)) {
        t_fail(t, "uninterrupted: %s", e.msg);
        return;
    }
    int units = r->units_total;
    study_result_free(r);
    T_CHECK(t, units >= 3);
    o.out_dir = d2;
    int kills = 0;
    for (int k = 1; k < units; k++) { /* stop after 1 new unit each time: a kill per unit */
        o.stop_after_units = 1;
        abl_status s = study_run(&o, &r, &e);
        T_CHECK(t, s == ABL_E_INTERRUPTED && r == NULL);
        kills++;
    }
    T_CHECK(t, strstr(e.msg, "resume") != NULL);
    o.stop_after_units = 0;
    if (study_run(&o, &r, &e)) {
        t_fail(t, "resumed: %s", e.msg);
        return;
    }
    T_CHECK(t, r->units_resumed == units - 1);
    study_result_free(r);
    t_note(t, "%d units, interrupted %d times", units, kills);
    for (size_t i = 0; i < sizeof report_files / sizeof *report_files; i++) {
        char p1[700], p2[700];
        snprintf(p1, sizeof p1, "%s/%s", d1, report_files[i]);
        snprintf(p2, sizeof p2, "%s/%s", d2, report_files[i]);
        size_t n1 = 0, n2 = 0;
        char *a = slurp(p1, &n1), *b = slurp(p2, &n2);
        if (!a || !b || n1 != n2 || memcmp(a, b, n1) != 0)
            t_fail(t, "%s differs between the uninterrupted and the resumed run",
                   report_files[i]);
        free(a);
        free(b);
    }
}

void test_study_refuses_other_configuration(tctx *t)
{
    if (!setup(t))
        return;
    char task[600], dir[600], csv[700];
    study_opts o = tiny_opts(write_task(t, task, sizeof task));
    snprintf(dir, sizeof dir, "%s/run", t_tmpdir(t));
    snprintf(csv, sizeof csv, "%s/layers.csv", dir);
    o.out_dir = dir;
    study_result *r = NULL;
    abl_err e = {0};
    if (study_run(&o, &r, &e)) {
        t_fail(t, "first run: %s", e.msg);
        return;
    }
    study_result_free(r);
    size_t n0 = 0, n1 = 0;
    char *before = slurp(csv, &n0);
    o.limit = 5;
    T_CHECK(t, study_run(&o, &r, &e) == ABL_E_STATE);
    T_CHECK(t, r == NULL);
    T_CHECK(t, strstr(e.msg, "another configuration") != NULL);
    o.limit = 0;
    o.layers = "1-2";
    T_CHECK(t, study_run(&o, &r, &e) == ABL_E_STATE);
    char *after = slurp(csv, &n1);
    T_CHECK(t, before && after && n0 == n1 && !memcmp(before, after, n0));
    free(before);
    free(after);
}

void test_study_bad_layers_and_tasks(tctx *t)
{
    if (!setup(t))
        return;
    char task[600];
    study_opts o = tiny_opts(write_task(t, task, sizeof task));
    study_result *r = NULL;
    abl_err e = {0};
    o.layers = "0-4"; /* the tiny model has 4 blocks: 0..3 */
    T_CHECK(t, study_run(&o, &r, &e) == ABL_E_ARG);
    T_CHECK(t, strstr(e.msg, "--layers") != NULL);
    o.layers = "2,x";
    T_CHECK(t, study_run(&o, &r, &e) == ABL_E_ARG);
    o.layers = NULL;
    o.tasks = "no_such_task";
    T_CHECK(t, study_run(&o, &r, &e) != ABL_OK);
    o.tasks = "";
    T_CHECK(t, study_run(&o, &r, &e) == ABL_E_ARG);
}

void test_study_estimators(tctx *t)
{
    /* 4 items, 2 units, L = 2: intact 3/4 right; unit 0 removed 1/4; unit 1 removed 4/4. */
    double hits[] = {1, 1, 1, 0, /* intact */ 1, 0, 0, 0, /* -u0 */ 1, 1, 1, 1 /* -u1 */};
    double w[] = {1, 1, 1, 1}, ch[] = {0.5, 0.5, 0.25, 0.25}, nt[] = {2, 2, 2, 2};
    double cs[] = {0.2, 0.1, 0.2, 0.1, 0.2, 0.1, 0.2, 0.1}, ang[8] = {0};
    study_raw raw = {4, 3, 2, hits, w, ch, cs, nt, ang, NULL, NULL, NULL};
    int ul[] = {0, 1};
    study_task_res T;
    memset(&T, 0, sizeof T);
    T_CHECK(t, study_task_alloc(&T, 2) == ABL_OK);
    study_estimate(&raw, NULL, ul, 2, &T);
    T_CHECK(t, T.acc == 0.75 && T.chance == 0.375);
    T_CHECK(t, fabs(T.drop[0] - 50) < 1e-12 && fabs(T.drop[1] + 25) < 1e-12);
    /* relevance: 1 - max(0.25 - 0.375, 0) / (0.75 - 0.375) = 1; 1 - (1 - .375)/.375 = -2/3 */
    T_CHECK(t, fabs(T.rel[0] - 1) < 1e-12 && fabs(T.rel[1] + 2.0 / 3) < 1e-12);
    /* cosine score = 0.8 / 8 tokens = 0.1 and 0.4 / 8 = 0.05 */
    T_CHECK(t, fabs(T.cos_score[0] - 0.1) < 1e-12 && fabs(T.cos_score[1] - 0.05) < 1e-12);
    T_CHECK(t, fabs(T.c_drop.pearson - 1) < 1e-12 && T.c_drop.discordant == 0);
    /* below chance: relevance n/a */
    double low[] = {0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1};
    raw.hits = low;
    study_estimate(&raw, NULL, ul, 2, &T);
    T_CHECK(t, isnan(T.rel[0]) && isnan(T.rel[1]));
    T_CHECK(t, isnan(T.c_rel.pearson) && T.c_rel.n == 0);
    study_task_free(&T);
}

/* --estimate: nothing written, one unit timed, and the cost model follows the passes: with the
 * tiny model's shapes (D 64, 4 heads of 16, 2 KV heads, F 128, V 384, L 4) a full pass costs
 * F = L A + H, where A >= per-row projections x rows and H = 2 D V x scored rows exactly. */
void test_study_estimate_mode(tctx *t)
{
    if (!setup(t))
        return;
    char task[600], out[600];
    study_opts o = tiny_opts(write_task(t, task, sizeof task));
    snprintf(out, sizeof out, "%s/est", t_tmpdir(t));
    o.out_dir = out;
    o.estimate = true;
    study_result *r[3] = {NULL, NULL, NULL};
    const char *layers[3] = {"0", "3", "0"};
    abl_err e = {0};
    for (int k = 0; k < 3; k++) {
        o.layers = layers[k];
        o.no_resume = k == 2;
        if (study_run(&o, &r[k], &e)) {
            t_fail(t, "estimate %d: %s", k, e.msg);
            goto out;
        }
    }
    FILE *f = fopen(out, "r");
    T_CHECK(t, f == NULL); /* no run directory, no journal */
    if (f)
        fclose(f);
    const study_task_res *T = &r[0]->tasks[0];
    T_CHECK(t, r[0]->estimated && r[0]->probe_seconds > 0 && r[0]->flops_per_s > 0);
    T_CHECK(t, T->n_items == 16 && T->n_tok_pass > 0 && T->n_score_pass > 0);
    T_CHECK(t, r[0]->probe_tokens > 0 && r[0]->probe_tokens <= 96 + 32);
    double fr0 = T->flops, frl = r[1]->tasks[0].flops, fnr = r[2]->tasks[0].flops;
    double full = fnr / 2, A = fnr - fr0, H = frl - full;
    double rows = (double)T->n_tok_pass, per_row = 2.0 * (64 * 64 + 2 * 64 * 32 + 64 * 64 +
                                                           3 * 64 * 128);
    t_note(t, "pass %.0f, block %.0f, head %.0f flops", full, A, H);
    T_CHECK(t, fabs(H - 2.0 * 64 * 384 * (double)T->n_score_pass) < 1e-6 * H);
    T_CHECK(t, A >= per_row * rows && A < 2 * per_row * rows);
    T_CHECK(t, fabs(full - (4 * A + H)) < 1e-9 * full);
out:
    for (int k = 0; k < 3; k++)
        study_result_free(r[k]);
}

/* One-shot pruning: the orders follow the pooled cosine score and drop, and removing the first
 * block of an order by a full pass gives the accuracy the resumed sweep measured for it. */
void test_study_prune_curves(tctx *t)
{
    if (!setup(t))
        return;
    char task[600];
    study_opts o = tiny_opts(write_task(t, task, sizeof task));
    o.prune_k = 3;
    study_result *r = NULL;
    abl_err e = {0};
    if (study_run(&o, &r, &e)) {
        t_fail(t, "study with pruning: %s", e.msg);
        return;
    }
    const study_task_res *P = &r->pooled;
    T_CHECK(t, r->prune_k == 3);
    for (int cv = 0; cv < 2; cv++) {
        const double *key = cv == 0 ? P->cos_score : P->drop;
        const int *ord = r->prune_order[cv];
        T_CHECK(t, r->prune_acc[cv][0] == P->acc);
        T_CHECK(t, r->prune_acc[cv][1] == P->acc_abl[ord[0]]);
        for (int k = 1; k < r->n_units; k++)
            T_CHECK(t, key[ord[k - 1]] <= key[ord[k]]);
        int seen = 0;
        for (int k = 0; k < r->n_units; k++)
            seen |= 1 << ord[k];
        T_CHECK(t, seen == (1 << r->n_units) - 1);
        t_note(t, "curve %d: %d %d %d: %.3f %.3f %.3f %.3f", cv, ord[0], ord[1], ord[2],
               r->prune_acc[cv][0], r->prune_acc[cv][1], r->prune_acc[cv][2],
               r->prune_acc[cv][3]);
    }
    study_result_free(r);
    o.unit = STUDY_UNIT_MLP; /* curves remove whole blocks: not for sub-block studies */
    if (study_run(&o, &r, &e) == ABL_OK)
        T_CHECK(t, r->prune_k == 0);
    else
        t_fail(t, "mlp study: %s", e.msg);
    study_result_free(r);
}

/* The reports name the units whose drop CI excludes 0: report.md's list and summary.json's
 * significant_cost_units / significant_help_units hold exactly the units with drop_lo > 0 /
 * drop_hi < 0. 40 items of a file where block removal matters are not needed: the check is
 * that what is listed matches the intervals, whatever they are. */
void test_study_reports_significant_units(tctx *t)
{
    if (!setup(t))
        return;
    char task[600], out[600];
    study_opts o = tiny_opts(write_task(t, task, sizeof task));
    snprintf(out, sizeof out, "%s/sig", t_tmpdir(t));
    o.out_dir = out;
    study_result *r = NULL;
    abl_err e = {0};
    if (study_run(&o, &r, &e)) {
        t_fail(t, "run: %s", e.msg);
        return;
    }
    char want[2][400] = {"\"significant_cost_units\": [", "\"significant_help_units\": ["};
    int n[2] = {0, 0};
    const study_task_res *T = &r->tasks[0];
    for (int u = 0; u < r->n_units; u++) {
        int k = T->drop_lo[u] > 0 ? 0 : T->drop_hi[u] < 0 ? 1 : -1;
        if (k < 0)
            continue;
        size_t l = strlen(want[k]);
        snprintf(want[k] + l, sizeof want[k] - l, "%s%d", n[k] ? ", " : "", r->unit_layer[u]);
        n[k]++;
    }
    char path[700], line[200];
    snprintf(path, sizeof path, "%s/summary.json", out);
    size_t ln;
    char *js = slurp(path, &ln);
    snprintf(path, sizeof path, "%s/report.md", out);
    char *md = slurp(path, &ln);
    snprintf(line, sizeof line, "- %-16s %2d of %d significant", T->name, n[0] + n[1],
             r->n_units);
    t_note(t, "want %s], %s]; %s", want[0], want[1], line);
    T_CHECK(t, js && md);
    if (js && md) {
        /* summary.json is indented: compare with whitespace squeezed */
        char *sq = js;
        size_t w = 0;
        for (size_t i = 0; js[i]; i++)
            if (!(js[i] == '\n' || (js[i] == ' ' && (i == 0 || js[i - 1] == ' ' ||
                                                     js[i - 1] == '\n' || js[i - 1] == '['))))
                sq[w++] = js[i];
        sq[w] = 0;
        T_CHECK(t, strstr(sq, want[0]) != NULL && strstr(sq, want[1]) != NULL);
        T_CHECK(t, strstr(md, "## Significant drops") != NULL && strstr(md, line) != NULL);
    }
    free(js);
    free(md);
    study_result_free(r);
}
