/* study/prune.c - greedy pruning. Calibration passes reuse the study's resume trick: one pass of
 * the current (pruned) model caches the residual entering every block, then each candidate
 * removal resumes from it, so ranking all remaining blocks costs about half of N passes. */
#include "prune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/model.h"
#include "../kernels/kernels.h"
#include "../eval/eval.h"
#include "study_int.h"

enum { PRUNE_MAX_TASKS = 32 };

prune_opts prune_opts_default(void)
{
    prune_opts o;
    memset(&o, 0, sizeof o);
    o.model_dir = "models/smollm2-135m-instruct";
    o.calib = "piqa,arc_easy";
    o.eval = "piqa,arc_easy";
    o.blocks = 8;
    o.use[PRUNE_ACCURACY] = o.use[PRUNE_COSINE] = o.use[PRUNE_COSINE_ITER] = true;
    o.seed = 1234;
    o.progress = true;
    return o;
}

const char *prune_metric_name(prune_metric m)
{
    static const char *n[] = {"accuracy", "cosine", "cosine-iter"};
    return (unsigned)m < PRUNE_METRIC_COUNT ? n[m] : "?";
}

/* One side (calibration or evaluation) of one task: its item half, plan and results. */
typedef struct {
    const ev_task *t;
    int n_items;
    int32_t *items;
    ev_plan plan;
    ev_results cur;          /* the current pruned model */
    ev_results *cand;        /* (L) the current model minus candidate block b */
    ev_item_score *sc;
} pside;

typedef struct {
    const prune_opts *o;
    model *m;
    int L, D;
    study_sweep sw;     /* the study's resume sweep, block units */
} pctx;

static void side_free(pside *s, int L)
{
    free(s->items);
    ev_plan_free(&s->plan);
    ev_results_free(&s->cur);
    if (s->cand)
        for (int l = 0; l < L; l++)
            ev_results_free(&s->cand[l]);
    free(s->cand);
    free(s->sc);
}

static abl_status side_make(pside *s, const ev_task *t, int parity, int L, int batch_tokens,
                            abl_err *err)
{
    memset(s, 0, sizeof *s);
    s->t = t;
    s->items = malloc(sizeof(int32_t) * (size_t)(t->n_items / 2 + 1));
    s->cand = calloc((size_t)L, sizeof *s->cand);
    s->sc = malloc(sizeof *s->sc * (size_t)(t->n_items / 2 + 1));
    if (!s->items || !s->cand || !s->sc)
        return abl_fail(err, ABL_E_NOMEM, "prune: out of memory");
    for (int i = parity; i < t->n_items; i += 2)
        s->items[s->n_items++] = i;
    if (s->n_items == 0)
        return abl_fail(err, ABL_E_ARG, "%s: too few items to split into calibration and "
                        "evaluation halves (hint: raise --limit)", t->name);
    ev_plan_opts po = {batch_tokens, false};
    abl_status st = ev_plan_make(&s->plan, t, s->items, s->n_items, &po, err);
    if (!st)
        st = ev_results_alloc(&s->cur, t, err);
    for (int l = 0; l < L && !st; l++)
        st = ev_results_alloc(&s->cand[l], t, err);
    return st;
}

/* Headline accuracy of side s from results r. */
static abl_status side_acc(const pside *s, const ev_results *r, study_metric metric, double *acc,
                           abl_err *err)
{
    abl_status st = ev_item_scores(s->t, r, s->items, s->n_items, s->sc, err);
    if (st)
        return st;
    double h = 0, w = 0;
    for (int i = 0; i < s->n_items; i++) {
        double hi, wi;
        const char *name;
        study_item_hits(s->t, metric, &s->sc[i], &hi, &wi, &name);
        h += hi;
        w += wi;
    }
    *acc = w > 0 ? h / w : NAN;
    return ABL_OK;
}

/* After each pass of the sweep: the base pass into the current results, the pass with
 * candidate block units[v - 1] also removed into that block's. */
typedef struct {
    pside *s;
    const ev_batch *eb;
    const int *cand;
} measure_user;

static abl_status measure_after(void *user, int v, abl_err *err)
{
    (void)err;
    measure_user *mu = user;
    ev_accumulate(mu->s->t, mu->eb, v == 0 ? &mu->s->cur : &mu->s->cand[mu->cand[v - 1]]);
    return ABL_OK;
}

/* Run the current model (removed[] skipped) over every batch of the sides; with cand, also
 * every candidate removal (resumed); with cos (L), the mean cosine score of each block. */
static abl_status measure(pctx *c, pside *sides, int n, const uint8_t *removed, bool cand,
                          double *cos, abl_err *err)
{
    double tot[STUDY_MAX_UNITS] = {0}, cnt[STUDY_MAX_UNITS] = {0};
    int cands[STUDY_MAX_UNITS], nc = 0;
    for (int b = 0; cand && b < c->L; b++)
        if (!removed[b])
            cands[nc++] = b;
    for (int k = 0; k < n; k++) {
        pside *s = &sides[k];
        for (int bi = 0; bi < s->plan.n_batches; bi++) {
            ev_batch *eb = &s->plan.batches[bi];
            measure_user mu = {s, eb, cands};
            study_sweep_job job = {removed, cands, nc, NULL, NULL, cos ? tot : NULL,
                                   cos ? cnt : NULL, NULL, 0, measure_after, &mu};
            abl_status st = study_sweep_batch(&c->sw, eb, &job, err);
            if (st)
                return st;
        }
    }
    for (int l = 0; cos && l < c->L; l++)
        cos[l] = removed[l] || cnt[l] == 0 ? NAN : tot[l] / cnt[l];
    return ABL_OK;
}

static abl_status mean_acc(pside *sides, int n, bool cand, int b, study_metric metric,
                           double *out, abl_err *err)
{
    double sum = 0;
    for (int k = 0; k < n; k++) {
        double a;
        abl_status st = side_acc(&sides[k], cand ? &sides[k].cand[b] : &sides[k].cur, metric,
                                 &a, err);
        if (st)
            return st;
        sum += a;
    }
    *out = sum / n;
    return ABL_OK;
}

/* A --calib / --eval list into names (at most PRUNE_MAX_TASKS of < 96 bytes). */
static abl_status split(const char *s, const char *what, char names[][96], int *n, abl_err *err)
{
    abl_list l;
    abl_status st = ev_tasks_parse(s, what, &l, err);
    *n = l.n;
    for (int i = 0; i < l.n && !st; i++)
        if (i >= PRUNE_MAX_TASKS || strlen(l.v[i]) >= 96)
            st = abl_fail(err, ABL_E_ARG, "%s: at most %d tasks of at most 95 bytes each", what,
                          PRUNE_MAX_TASKS);
        else
            snprintf(names[i], 96, "%s", l.v[i]);
    abl_list_free(&l);
    return st;
}

static abl_status one_metric(pctx *c, prune_metric pm, pside *cal, int nc, pside *ev, int ne,
                             report_curve *cv, abl_err *err)
{
    const prune_opts *o = c->o;
    uint8_t removed[STUDY_MAX_UNITS] = {0};
    double cos[STUDY_MAX_UNITS];
    for (int l = 0; l < STUDY_MAX_UNITS; l++)
        cos[l] = NAN;
    memset(cv, 0, sizeof *cv);
    snprintf(cv->metric, sizeof cv->metric, "%s", prune_metric_name(pm));
    abl_status st;
    if (pm == PRUNE_COSINE && (st = measure(c, cal, nc, removed, false, cos, err)))
        return st;
    double one_shot[STUDY_MAX_UNITS];
    memcpy(one_shot, cos, sizeof cos);
    for (int k = 0; k <= o->blocks; k++) {
        /* held-out accuracy of the current model */
        if ((st = measure(c, ev, ne, removed, false, NULL, err)) ||
            (st = mean_acc(ev, ne, false, 0, o->metric, &cv->acc[k], err)))
            return st;
        cv->calib[k] = NAN;
        if (k == o->blocks)
            break;
        int pick = -1;
        if (pm == PRUNE_ACCURACY) {
            if ((st = measure(c, cal, nc, removed, true, NULL, err)) ||
                (st = mean_acc(cal, nc, false, 0, o->metric, &cv->calib[k], err)))
                return st;
            double best = -INFINITY;
            for (int b = 0; b < c->L; b++) {
                double a;
                if (removed[b])
                    continue;
                if ((st = mean_acc(cal, nc, true, b, o->metric, &a, err)))
                    return st;
                if (a > best) {
                    best = a;
                    pick = b;
                }
            }
        } else {
            const double *sc = one_shot;
            if (pm == PRUNE_COSINE_ITER) {
                if ((st = measure(c, cal, nc, removed, false, cos, err)) ||
                    (st = mean_acc(cal, nc, false, 0, o->metric, &cv->calib[k], err)))
                    return st;
                sc = cos;
            }
            double best = INFINITY;
            for (int b = 0; b < c->L; b++)
                if (!removed[b] && sc[b] < best) {
                    best = sc[b];
                    pick = b;
                }
        }
        if (pick < 0)
            return abl_fail(err, ABL_E_NUMERIC, "prune: no block could be ranked at step %d "
                            "(NaN scores?)", k + 1);
        removed[pick] = 1;
        cv->order[k] = pick;
        cv->n_steps = k + 1;
        if (o->progress)
            fprintf(stderr, "prune %-11s step %d/%d: removed block %d, held-out accuracy before "
                    "this step %.2f%%\n", cv->metric, k + 1, o->blocks, pick, 100 * cv->acc[k]);
    }
    return ABL_OK;
}

abl_status prune_run(const prune_opts *o, report_curve *curves, int *n_curves, abl_err *err)
{
    *n_curves = 0;
    char cn[PRUNE_MAX_TASKS][96], en[PRUNE_MAX_TASKS][96];
    int nc = 0, ne = 0;
    abl_status s0 = split(o->calib, "--calib", cn, &nc, err);
    if (s0 || (s0 = split(o->eval, "--eval", en, &ne, err)))
        return s0;
    model_opts mo = model_opts_default();
    mo.threads = o->threads;
    mo.device = o->device;
    model *m = NULL;
    abl_status st = model_load(&m, o->model_dir, &mo, err);
    if (st)
        return abl_wrap(err, "loading the model");
    pctx c = {o, m, model_config(m)->n_layers, model_config(m)->d_model,
              {m, model_config(m)->n_layers, model_config(m)->d_model, STUDY_UNIT_BLOCK, false,
               o->stop, NULL, 0, NULL, NULL, 0, 0, NULL, NULL, NULL, 0, 0, 0, NULL, 0}};
    if (o->blocks < 1 || o->blocks >= c.L || c.L > STUDY_MAX_UNITS) {
        model_free(m);
        return abl_fail(err, ABL_E_ARG, "--blocks: expected 1..%d for this %d-block model, "
                        "found %d", c.L - 1, c.L, o->blocks);
    }
    ev_task *tasks[2 * PRUNE_MAX_TASKS] = {0};
    pside cal[PRUNE_MAX_TASKS], ev[PRUNE_MAX_TASKS];
    memset(cal, 0, sizeof cal);
    memset(ev, 0, sizeof ev);
    ev_load_opts lo = ev_load_opts_default();
    lo.data_dir = o->data_dir;
    lo.limit = o->limit;
    lo.seed = o->seed;
    for (int k = 0; k < nc + ne && !st; k++) {
        const char *name = k < nc ? cn[k] : en[k - nc];
        st = ev_task_load(&tasks[k], name, model_tok(m), &lo, err);
        if (!st)
            st = k < nc ? side_make(&cal[k], tasks[k], 0, c.L, o->batch_tokens, err)
                        : side_make(&ev[k - nc], tasks[k], 1, c.L, o->batch_tokens, err);
    }
    for (int pm = 0; pm < PRUNE_METRIC_COUNT && !st; pm++) {
        if (!o->use[pm])
            continue;
        st = one_metric(&c, (prune_metric)pm, cal, nc, ev, ne, &curves[*n_curves], err);
        if (!st)
            (*n_curves)++;
    }
    for (int k = 0; k < nc; k++)
        side_free(&cal[k], c.L);
    for (int k = 0; k < ne; k++)
        side_free(&ev[k], c.L);
    for (int k = 0; k < nc + ne; k++)
        ev_task_free(tasks[k]);
    study_sweep_free(&c.sw);
    model_free(m);
    return st;
}
