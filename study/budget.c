/* study/budget.c - planning a study to a time budget (`ablate run --time`): a pilot measures each
 * task's intact accuracy and per-item cost, then item counts are split so every task ends above chance. */
#include "study.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The item count a task aims at: its need, or the pilot's size when no count will do. */
static int target(const study_budget_task *t)
{
    int n = t->n_need > 0 ? t->n_need : t->n_pilot;
    return n < 2 ? 2 : n;
}

static int floor_items(const study_budget_task *t)
{
    return t->n_avail < 2 ? t->n_avail : 2;
}

/* Items of t at a common factor f of its target: capped by what it has, at least 2. */
static int items_at(const study_budget_task *t, double f)
{
    double x = floor(f * target(t) + 1e-9);
    int n = x >= t->n_avail ? t->n_avail : (int)x;
    return n < floor_items(t) ? floor_items(t) : n;
}

/* Cost of the tasks with use[i] set at factor f. */
static double cost_at(const study_budget_task *t, int n, const uint8_t *use, double f)
{
    double c = 0;
    for (int i = 0; i < n; i++)
        if (use[i])
            c += items_at(&t[i], f) * t[i].item_flops;
    return c;
}

/* The largest f (by bisection; cost is non-decreasing in f) whose cost fits flops. */
static double fit_factor(const study_budget_task *t, int n, const uint8_t *use, double flops)
{
    double lo = 0, hi = 1;
    while (hi < 1e9 && cost_at(t, n, use, hi) <= flops)
        hi *= 2;
    for (int k = 0; k < 100; k++) {
        double mid = 0.5 * (lo + hi);
        if (cost_at(t, n, use, mid) <= flops)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

abl_status study_budget_alloc(study_budget_task *t, int n, double flops, abl_err *err)
{
    enum { MAXT = 64 };
    if (n < 1 || n > MAXT)
        return abl_fail(err, ABL_E_ARG, "budget: expected 1..%d tasks, found %d", MAXT, n);
    double least = 0;
    for (int i = 0; i < n; i++) {
        double gap = t[i].acc - t[i].chance;
        double s = t[i].se * sqrt(t[i].n_pilot > 0 ? t[i].n_pilot : 1);
        if (!(s > 0))
            s = 0.5; /* the largest standard deviation of a 0/1 outcome */
        if (gap > 0) {
            double need = ceil(pow(STUDY_TARGET_Z * s / gap, 2));
            t[i].n_need = need < 2 ? 2 : need > 1e8 ? 100000000 : (int)need;
        } else {
            t[i].n_need = 0;
        }
        least += floor_items(&t[i]) * t[i].item_flops;
    }
    if (least > flops)
        return abl_fail(err, ABL_E_ARG, "budget too small: 2 items of every task need %.2f "
                        "TFLOP, the budget holds %.2f after the pilot (hint: a longer --time "
                        "or fewer --tasks)", least / 1e12, flops / 1e12);
    uint8_t use[MAXT];
    memset(use, 1, sizeof use);
    double f = fit_factor(t, n, use, flops);
    if (f >= 1) {
        for (int i = 0; i < n; i++)
            t[i].n = items_at(&t[i], f);
        return ABL_OK;
    }
    /* not every target fits: satisfy the cheapest targets first (cost order, ties by index)
     * while the others can still have their 2 items, then share the rest */
    int order[MAXT];
    for (int i = 0; i < n; i++) {
        int k = i;
        double ci = items_at(&t[i], 1) * t[i].item_flops;
        while (k > 0 && items_at(&t[order[k - 1]], 1) * t[order[k - 1]].item_flops > ci) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = i;
    }
    double spent = 0, rest_least = least;
    for (int k = 0; k < n; k++) {
        const study_budget_task *ti = &t[order[k]];
        double c = items_at(ti, 1) * ti->item_flops, lo = floor_items(ti) * ti->item_flops;
        if (ti->n_need > 0 && spent + c + (rest_least - lo) <= flops) {
            use[order[k]] = 0; /* satisfied */
            spent += c;
            rest_least -= lo;
        }
    }
    double g = fit_factor(t, n, use, flops - spent);
    for (int i = 0; i < n; i++)
        t[i].n = items_at(&t[i], use[i] ? g : 1);
    return ABL_OK;
}

void study_budget_free(study_budget *b)
{
    if (!b)
        return;
    free(b->t);
    memset(b, 0, sizeof *b);
}

/* Cost-model FLOPs of o's study with the item counts of b (estimate mode, no probe). */
static abl_status plan_flops(const study_opts *o, study_budget *b, abl_err *err)
{
    study_opts p = *o;
    int lim[64];
    for (int i = 0; i < b->n_tasks; i++)
        lim[i] = b->t[i].n;
    p.estimate = true;
    p.pilot = false;
    p.rate = b->rate;
    p.estimate_shards = 0;
    p.limit = 0;
    p.task_limits = lim;
    p.n_task_limits = b->n_tasks;
    study_result *r = NULL;
    abl_status s = study_run(&p, &r, err);
    if (s)
        return s;
    b->flops = 0;
    for (int i = 0; i < b->n_tasks; i++) {
        b->t[i].flops = r->tasks[i].flops;
        b->t[i].n_tok = r->tasks[i].n_tok_pass;
        b->t[i].n = r->tasks[i].n_items; /* a count past the task's size loads every item */
        b->flops += r->tasks[i].flops;
    }
    study_result_free(r);
    return ABL_OK;
}

abl_status study_budget_plan(const study_opts *o, double budget_s, study_budget *b,
                             abl_err *err)
{
    memset(b, 0, sizeof *b);
    if (!(budget_s > 0))
        return abl_fail(err, ABL_E_ARG, "--time: expected a budget > 0");
    study_opts p = *o;
    p.estimate = true;
    p.pilot = true;
    p.estimate_shards = 0;
    p.limit = STUDY_PILOT_ITEMS;
    p.task_limits = NULL;
    p.n_task_limits = 0;
    study_result *r = NULL;
    abl_status s = study_run(&p, &r, err);
    if (s)
        return s;
    b->budget_s = budget_s;
    b->rate = o->rate > 0 ? o->rate : r->flops_per_s;
    b->overhead_s = 5 + 0.05 * budget_s;
    b->n_tasks = r->n_tasks;
    b->t = calloc((size_t)r->n_tasks, sizeof *b->t);
    if (!b->t || r->n_tasks > 64) {
        study_result_free(r);
        return abl_fail(err, b->t ? ABL_E_ARG : ABL_E_NOMEM, "--time: %s",
                        b->t ? "at most 64 tasks" : "out of memory");
    }
    b->pilot_flops = o->rate > 0 ? 0 : r->probe_flops; /* the timed probe unit ran too */
    for (int i = 0; i < r->n_tasks; i++) {
        const study_task_res *T = &r->tasks[i];
        study_budget_task *t = &b->t[i];
        snprintf(t->name, sizeof t->name, "%s", T->name);
        t->n_avail = T->n_avail;
        t->n_pilot = T->n_items;
        t->acc = T->acc;
        t->se = T->acc_se;
        t->chance = T->chance;
        t->item_flops = T->n_items > 0 ? T->flops / T->n_items : 0;
        b->pilot_flops += T->pass_flops;
    }
    study_result_free(r);
    if (!(b->rate > 0))
        return abl_fail(err, ABL_E_STATE, "--time: no rate measured (hint: --rate GFLOPS)");
    b->pilot_s = b->pilot_flops / b->rate;
    double flops = (budget_s - b->overhead_s - b->pilot_s) * b->rate;
    if (!(flops > 0))
        return abl_fail(err, ABL_E_ARG, "--time: a budget of %.0f s is too short: the pilot "
                        "and the fixed overhead alone take about %.0f s", budget_s,
                        b->overhead_s + b->pilot_s);
    if ((s = study_budget_alloc(b->t, b->n_tasks, flops, err)))
        return s;
    /* the per-item costs were means over the pilot's items: check the plan itself */
    for (int k = 0; k < 8 && !(s = plan_flops(o, b, err)); k++) {
        if (b->flops <= flops)
            return ABL_OK;
        double shrink = flops / b->flops * 0.99;
        for (int i = 0; i < b->n_tasks; i++) {
            int m = (int)floor(b->t[i].n * shrink);
            b->t[i].n = m < 2 ? 2 : m;
        }
    }
    return s ? s : abl_fail(err, ABL_E_ARG, "--time: no plan within the budget was found "
                            "(hint: a longer --time or fewer --tasks)");
}
