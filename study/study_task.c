/* study/study_task.c - one task's work units (the intact pass plus one resumed pass per removed
 * unit, per packed batch) and the one-shot pruning curves' units, each decoded, computed or
 * missing through study_unit_do. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "study_int.h"

void study_item_hits(const ev_task *t, study_metric metric, const ev_item_score *sc, double *hit,
                      double *w, const char **name)
{
    *w = 1;
    if (t->kind == EV_CORPUS) {
        *hit = sc->n_top1;
        *w = sc->n_tok;
        *name = "token_acc";
    } else if (metric == STUDY_METRIC_ACC || (metric == STUDY_METRIC_DEFAULT &&
                                              t->head == EV_HEAD_ACC)) {
        *hit = sc->correct;
        *name = "acc";
    } else if ((metric == STUDY_METRIC_ACC_NORM || t->head == EV_HEAD_ACC_NORM) && t->has_norm) {
        *hit = sc->correct_norm;
        *name = "acc_norm";
    } else if (t->head == EV_HEAD_MC2 && metric == STUDY_METRIC_DEFAULT) {
        *hit = sc->mc2;
        *name = "mc2";
    } else {
        *hit = sc->correct;
        *name = "acc";
    }
}

void study_raw_free(study_raw *r)
{
    free(r->hits);
    free(r->weight);
    free(r->chance);
    free(r->cos_sum);
    free(r->ang);
    free(r->n_tok);
    free(r->n_score);
    free(r->kl);
    free(r->margin);
}

static ev_plan_opts plan_opts(const study_ctx *c)
{
    /* 512-token batches: finer journal units and progress, bounded saved residuals */
    ev_plan_opts po = {c->o->batch_tokens > 0 ? c->o->batch_tokens : STUDY_BATCH_TOKENS, false};
    return po;
}

/* ---- the sweep unit: one batch, every variant ------------------------------------------- */

typedef struct {
    const ev_task *t;
    ev_batch *eb;
    ev_results *R;          /* (1 + n_units) */
    study_raw *raw;
} sweep_unit;

static abl_status sweep_after(void *user, int v, abl_err *err)
{
    (void)err;
    sweep_unit *su = user;
    ev_accumulate(su->t, su->eb, &su->R[v]);
    return ABL_OK;
}

static abl_status sweep_compute(study_ctx *c, void *user, abl_err *err)
{
    sweep_unit *su = user;
    study_sweep_job job = {NULL, c->unit_layer, c->n_units, su->raw->cos_sum, su->raw->ang, NULL,
                           NULL, su->raw->kl, su->raw->n_items, sweep_after, su};
    return study_sweep_batch(&c->sw, su->eb, &job, err);
}

typedef struct {
    char *p;
    size_t n, cap;
    int bad;
} pbuf;

static void pput(pbuf *b, const char *fmt, double v, int i)
{
    if (b->bad)
        return;
    if (b->cap - b->n < 64) {
        size_t nc = b->cap ? 2 * b->cap : 1 << 16;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->bad = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    int w = fmt[1] == 'a' ? snprintf(b->p + b->n, b->cap - b->n, "%a ", v)
                          : snprintf(b->p + b->n, b->cap - b->n, "%d ", i);
    b->n += (size_t)w;
}

/* For every variant and choice of the batch: ll and top-1 count; then for every item and block
 * the cosine sum and the angular distance. */
static const char *sweep_encode(study_ctx *c, void *user)
{
    sweep_unit *su = user;
    const ev_batch *eb = su->eb;
    pbuf b = {c->payload, 0, c->payload_cap, 0};
    for (int v = 0; v <= c->n_units; v++)
        for (int k = 0; k < eb->n_choice; k++) {
            int ch = eb->choice_list[k];
            pput(&b, "%a", su->R[v].ll[ch], 0);
            pput(&b, "%d", 0, su->R[v].n_top1[ch]);
        }
    for (int k = 0; k < eb->n_items; k++)
        for (int l = 0; l < c->L; l++) {
            size_t at = (size_t)eb->items[k] * c->L + l;
            pput(&b, "%a", su->raw->cos_sum[at], 0);
            pput(&b, "%a", su->raw->ang[at], 0);
        }
    for (int k = 0; k < eb->n_items; k++) /* KL sums of every unit (nan when not measured) */
        for (int u = 0; u < c->n_units; u++)
            pput(&b, "%a", su->raw->kl ? su->raw->kl[(size_t)u * su->raw->n_items +
                                                     eb->items[k]] : NAN, 0);
    c->payload = b.p;
    c->payload_cap = b.cap;
    if (b.bad || !b.p)
        return NULL;
    if (b.n)
        b.p[b.n - 1] = 0; /* drop the trailing space */
    else
        b.p[0] = 0;
    return b.p;
}

static int sweep_decode(study_ctx *c, void *user, const char *p)
{
    sweep_unit *su = user;
    const ev_batch *eb = su->eb;
    char *e;
    for (int v = 0; v <= c->n_units; v++)
        for (int k = 0; k < eb->n_choice; k++) {
            int ch = eb->choice_list[k];
            su->R[v].ll[ch] = strtod(p, &e);
            if (e == p)
                return -1;
            p = e;
            long t = strtol(p, &e, 10);
            if (e == p)
                return -1;
            p = e;
            su->R[v].n_top1[ch] = (int32_t)t;
            su->R[v].done[ch] = 1;
        }
    for (int k = 0; k < eb->n_items; k++)
        for (int l = 0; l < c->L; l++) {
            size_t at = (size_t)eb->items[k] * c->L + l;
            su->raw->cos_sum[at] = strtod(p, &e);
            if (e == p)
                return -1;
            p = e;
            su->raw->ang[at] = strtod(p, &e);
            if (e == p)
                return -1;
            p = e;
        }
    for (int k = 0; k < eb->n_items; k++)
        for (int u = 0; u < c->n_units; u++) {
            double v = strtod(p, &e);
            if (e == p)
                return -1;
            p = e;
            if (su->raw->kl)
                su->raw->kl[(size_t)u * su->raw->n_items + eb->items[k]] = v;
        }
    while (*p == ' ')
        p++;
    return *p ? -1 : 0;
}

static const study_unit_ops sweep_ops = {sweep_compute, sweep_encode, sweep_decode};

abl_status study_task_costs(study_ctx *c, const ev_task *t, double *cost1, double *cost2,
                            int *nb, long long *n_tok, abl_err *err)
{
    ev_plan plan;
    memset(&plan, 0, sizeof plan);
    ev_plan_opts po = plan_opts(c);
    abl_status s = ev_plan_make(&plan, t, NULL, t->n_items, &po, err);
    *nb = s ? 0 : plan.n_batches;
    if (n_tok)
        *n_tok = s ? 0 : plan.n_tok;
    for (int bi = 0; !s && bi < plan.n_batches && cost1; bi++) {
        const fwd_batch *fb = &plan.batches[bi].fb;
        cost1[bi] = study_sweep_flops(&c->sw, fb, c->unit_layer, c->n_units);
        for (int cv = 0; cv < 2; cv++)
            for (int k = 1; k <= c->prune_K; k++)
                cost2[((size_t)cv * c->prune_K + k - 1) * plan.n_batches + bi] =
                    study_pass_flops(model_config(c->m), fb, k);
    }
    ev_plan_free(&plan);
    return s;
}

/* The pilot of --time: one plain intact pass over t's items; T gets the headline accuracy, its
 * standard error and chance, computed as finish_task does for the study. */
static abl_status pilot_task(study_ctx *c, const ev_task *t, study_task_res *T, abl_err *err)
{
    int n = t->n_items;
    ev_results R;
    memset(&R, 0, sizeof R);
    ev_item_score *sc = malloc(sizeof *sc * (size_t)(n > 0 ? n : 1));
    double *ratio = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    abl_status s = sc && ratio ? ev_results_alloc(&R, t, err)
                               : abl_fail(err, ABL_E_NOMEM, "%s: out of memory", t->name);
    ev_run_opts ro = {plan_opts(c), NULL, false, c->o->stop};
    if (!s)
        s = ev_run_task(c->m, t, &ro, &R, NULL, NULL, err);
    if (!s)
        s = ev_item_scores(t, &R, NULL, n, sc, err);
    double h = 0, w = 0, ch = 0;
    for (int i = 0; i < n && !s; i++) {
        double hi, wi;
        const char *name;
        study_item_hits(t, c->o->metric, &sc[i], &hi, &wi, &name);
        h += hi;
        w += wi;
        ch += t->kind == EV_MC ? 1.0 / t->items[i].n_choices : sc[i].chance;
        ratio[i] = wi > 0 ? hi / wi : 0;
        snprintf(T->metric, sizeof T->metric, "%s", name);
    }
    if (!s && n > 0) {
        T->acc = w > 0 ? h / w : NAN;
        T->acc_se = stats_se(ratio, n);
        T->chance = ch / n;
    }
    ev_results_free(&R);
    free(sc);
    free(ratio);
    return s;
}

/* Estimate mode: the cost of every batch; the first unit of the first task is timed unless
 * the rate is given; with pilot, every task's intact accuracy is measured. */
static abl_status estimate_task(study_ctx *c, const ev_task *t, ev_plan *plan, sweep_unit *su,
                                study_task_res *T, abl_err *err)
{
    T->n_items = t->n_items;
    T->n_avail = t->n_src;
    T->n_tok_pass = plan->n_tok;
    snprintf(T->name, sizeof T->name, "%s", t->name);
    for (int bi = 0; bi < plan->n_batches; bi++) {
        T->flops += study_sweep_flops(&c->sw, &plan->batches[bi].fb, c->unit_layer, c->n_units);
        for (int k = 1; k <= c->prune_K; k++) /* two pruning curves, k blocks skipped */
            T->flops += 2 * study_pass_flops(model_config(c->m), &plan->batches[bi].fb, k);
        T->pass_flops += study_pass_flops(model_config(c->m), &plan->batches[bi].fb, 0);
        T->n_score_pass += plan->batches[bi].fb.n_score;
    }
    abl_status s = c->o->pilot ? pilot_task(c, t, T, err) : ABL_OK;
    if (s || c->o->rate > 0 || c->probe_s > 0 || plan->n_batches == 0)
        return s;
    double t0 = ev_now(), cpu0 = ev_cpu_seconds();
    su->eb = &plan->batches[0];
    s = sweep_compute(c, su, err);
    if (s)
        return s;
    c->probe_s = ev_now() - t0;
    c->probe_cpu = ev_cpu_seconds() - cpu0;
    c->probe_flops = study_sweep_flops(&c->sw, &plan->batches[0].fb, c->unit_layer, c->n_units);
    c->probe_tok = plan->batches[0].fb.n_tok;
    return ABL_OK;
}

/* Headline hits of every variant and item, then the task's estimates. */
static abl_status finish_task(study_ctx *c, const ev_task *t, ev_results *R, ev_item_score *sc,
                              study_raw *raw, study_task_res *T, abl_err *err)
{
    int n = t->n_items, nv = 1 + c->n_units;
    const char *mname = "acc";
    abl_status s = ABL_OK;
    for (int v = 0; v < nv && !s; v++) {
        s = ev_item_scores(t, &R[v], NULL, n, sc, err);
        for (int i = 0; i < n && !s; i++) {
            study_item_hits(t, c->o->metric, &sc[i], &raw->hits[(size_t)v * n + i],
                            &raw->weight[i], &mname);
            raw->chance[i] = t->kind == EV_MC ? 1.0 / t->items[i].n_choices : sc[i].chance;
        }
    }
    if (!s && t->kind == EV_MC) { /* the continuous companion: normalized ll margins */
        raw->margin = malloc(sizeof(double) * (size_t)nv * (size_t)(n > 0 ? n : 1));
        if (!raw->margin)
            return abl_fail(err, ABL_E_NOMEM, "study: out of memory");
    }
    for (int v = 0; raw->margin && v < nv; v++)
        for (int i = 0; i < n; i++) {
            const ev_item *it = &t->items[i];
            double gold = NAN, best = -INFINITY;
            for (int k = 0; k < it->n_choices; k++) {
                int ci = it->choice0 + k;
                double z = R[v].ll[ci] / t->choices[ci].norm_len;
                if (k == it->gold)
                    gold = z;
                else if (z > best)
                    best = z;
            }
            raw->margin[(size_t)v * n + i] = it->n_choices > 1 ? gold - best : NAN;
        }
    if (!s) {
        snprintf(T->name, sizeof T->name, "%s", t->name);
        snprintf(T->metric, sizeof T->metric, "%s", mname);
        study_estimate(raw, NULL, c->unit_layer, c->n_units, T);
        /* the se of the same (token-weighted) ratio the accuracy is: delta method */
        T->acc_se = stats_ratio_se(raw->hits, raw->weight, n);
        T->near_chance = study_near_chance(T);
    }
    return s;
}

abl_status study_task_run(study_ctx *c, const ev_task *t, int ti, int n_tasks, study_raw *raw,
                          study_task_res *T, abl_err *err)
{
    int n = t->n_items, nv = 1 + c->n_units, L = c->L;
    ev_plan plan;
    memset(&plan, 0, sizeof plan);
    ev_results *R = calloc((size_t)nv, sizeof *R);
    ev_item_score *sc = malloc(sizeof *sc * (size_t)(n > 0 ? n : 1));
    raw->n_items = n;
    raw->n_var = nv;
    raw->L = L;
    raw->hits = malloc(sizeof(double) * (size_t)nv * (n > 0 ? n : 1));
    raw->weight = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    raw->chance = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    raw->cos_sum = calloc((size_t)(n > 0 ? n : 1) * L, sizeof(double));
    raw->ang = calloc((size_t)(n > 0 ? n : 1) * L, sizeof(double));
    raw->n_tok = calloc((size_t)(n > 0 ? n : 1), sizeof(double));
    raw->n_score = calloc((size_t)(n > 0 ? n : 1), sizeof(double));
    bool kl_on = c->o->device == 0; /* the KL baseline needs the CPU scorer's distributions */
    raw->kl = kl_on ? calloc((size_t)c->n_units * (n > 0 ? n : 1), sizeof(double)) : NULL;
    abl_status s = ABL_OK;
    if (!R || !sc || !raw->hits || !raw->weight || !raw->chance || !raw->cos_sum || !raw->ang ||
        !raw->n_tok || !raw->n_score || (kl_on && !raw->kl)) {
        s = abl_fail(err, ABL_E_NOMEM, "%s: out of memory for results", t->name);
        goto done;
    }
    for (int v = 0; v < nv && !s; v++)
        s = ev_results_alloc(&R[v], t, err);
    ev_plan_opts po = plan_opts(c);
    if (s || (s = ev_plan_make(&plan, t, NULL, n, &po, err)))
        goto done;
    sweep_unit su = {t, NULL, R, raw};
    if (c->o->estimate) {
        s = estimate_task(c, t, &plan, &su, T, err);
        goto done;
    }
    char label[64];
    snprintf(label, sizeof label, "sweep %d/%d %.30s", ti + 1, n_tasks, t->name);
    if (c->show)
        ev_progress_label(&c->pr, label);
    double t0 = ev_now();
    int missing0 = c->units_missing;
    for (int bi = 0; bi < plan.n_batches && !s; bi++) {
        ev_batch *eb = &plan.batches[bi];
        for (int q = 0; q < eb->fb.n_tok; q++)
            raw->n_tok[eb->fb.seq_tag[eb->fb.seq[q]]] += 1;
        for (int q = 0; q < eb->fb.n_score; q++)
            raw->n_score[eb->fb.seq_tag[eb->fb.seq[eb->fb.score_row[q]]]] += 1;
        char key[160];
        snprintf(key, sizeof key, "%s/%d", t->name, bi);
        su.eb = eb;
        study_unit_state st;
        s = study_unit_do(c, key, c->off1[ti] + bi, &sweep_ops, &su, &st, err);
        /* tokens x passes: the intact pass and one (resumed) pass per removed unit */
        if (!s && c->show)
            (st == UNIT_COMPUTED ? ev_progress_update : ev_progress_skip)(
                &c->pr, 0, (int64_t)eb->fb.n_tok * nv);
    }
    if (s || c->units_missing > missing0) /* incomplete: no estimates */
        goto done;
    T->seconds = ev_now() - t0;
    T->n_tok_pass = plan.n_tok;
    s = finish_task(c, t, R, sc, raw, T, err);
done:
    ev_plan_free(&plan);
    if (R)
        for (int v = 0; v < nv; v++)
            ev_results_free(&R[v]);
    free(R);
    free(sc);
    return s;
}

/* ---- one-shot pruning curves -------------------------------------------------------------- */

static bool ranks_before(double a, double b)
{
    return !isnan(a) && (isnan(b) || a < b);
}

/* order[0..n) = units sorted by key, lowest first; NaN last; ties keep unit order. */
static void rank_units(const double *key, int n, int *order)
{
    for (int i = 0; i < n; i++) {
        int k = i;
        while (k > 0 && ranks_before(key[i], key[order[k - 1]])) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = i;
    }
}

/* One pruning unit: a batch with the blocks in skip[] removed; its hits and weight. */
typedef struct {
    const ev_task *t;
    ev_batch *eb;
    ev_results *R;
    ev_item_score *sc;
    const uint8_t *skip;
    double h, w;
    char pay[80];
} prune_unit;

static abl_status prune_compute(study_ctx *c, void *user, abl_err *err)
{
    prune_unit *pu = user;
    run_plan p;
    memset(&p, 0, sizeof p);
    p.skip_attn = pu->skip;
    p.skip_mlp = pu->skip;
    abl_status s = model_forward(c->m, &pu->eb->fb, &p, err);
    if (!s) {
        ev_accumulate(pu->t, pu->eb, pu->R);
        s = ev_item_scores(pu->t, pu->R, pu->eb->items, pu->eb->n_items, pu->sc, err);
    }
    pu->h = pu->w = 0;
    for (int i = 0; i < pu->eb->n_items && !s; i++) {
        double hi, wi;
        const char *name;
        study_item_hits(pu->t, c->o->metric, &pu->sc[i], &hi, &wi, &name);
        pu->h += hi;
        pu->w += wi;
    }
    return s;
}

static const char *prune_encode(study_ctx *c, void *user)
{
    (void)c;
    prune_unit *pu = user;
    snprintf(pu->pay, sizeof pu->pay, "%a %a", pu->h, pu->w);
    return pu->pay;
}

static int prune_decode(study_ctx *c, void *user, const char *p)
{
    (void)c;
    prune_unit *pu = user;
    return sscanf(p, "%la %la", &pu->h, &pu->w) == 2 ? 0 : -1;
}

static const study_unit_ops prune_ops = {prune_compute, prune_encode, prune_decode};

/* Headline accuracy of t with the blocks in skip[] removed over every batch of plan, each batch
 * a work unit "prune/CURVE/K/TASK/BATCH/SET" (SET: a hash of the removed blocks; NaN when
 * one is missing). */
static abl_status pruned_acc(study_ctx *c, int ti, prune_unit *pu, ev_plan *plan, int curve,
                             int k, double *acc, bool *resumed, abl_err *err)
{
    double h = 0, w = 0;
    bool missing = false;
    *resumed = true;
    /* the removed set is part of the key: a journal never answers for another set (the order
     * follows the pooled estimates, whose rules may change between versions) */
    uint64_t hset = 1469598103934665603ull;
    for (int l = 0; l < c->L; l++)
        hset = (hset ^ (uint64_t)(pu->skip[l] ? l + 1 : 0)) * 1099511628211ull;
    for (int bi = 0; bi < plan->n_batches; bi++) {
        char key[200];
        snprintf(key, sizeof key, "prune/%d/%d/%s/%d/%016llx", curve, k, pu->t->name, bi,
                 (unsigned long long)hset);
        pu->eb = &plan->batches[bi];
        int u = c->off2[ti] + (curve * c->prune_K + k - 1) * plan->n_batches + bi;
        study_unit_state st;
        abl_status s = study_unit_do(c, key, u, &prune_ops, pu, &st, err);
        if (s)
            return s;
        *resumed = *resumed && st == UNIT_RESUMED;
        missing = missing || st == UNIT_MISSING;
        h += pu->h;
        w += pu->w;
    }
    *acc = w > 0 && !missing ? h / w : NAN;
    return ABL_OK;
}

abl_status study_prune_curves(study_ctx *c, ev_task **tasks, int n_tasks, study_result *r,
                              abl_err *err)
{
    int n_pool = 0;
    for (int t = 0; t < n_tasks; t++)
        n_pool += r->tasks[t].pooled_in;
    n_pool = n_pool > 0 ? n_pool : 1;
    int K = c->prune_K;
    if (K < 1)
        return ABL_OK;
    rank_units(r->pooled.cos_score, r->n_units, r->prune_order[0]);
    rank_units(r->pooled.drop, r->n_units, r->prune_order[1]);
    for (int cv = 0; cv < 2; cv++) {
        r->prune_acc[cv][0] = r->pooled.acc;
        for (int k = 1; k <= K; k++)
            r->prune_acc[cv][k] = 0;
    }
    abl_status s = ABL_OK;
    int missing0 = c->units_missing;
    for (int t = 0; t < n_tasks && !s; t++) {
        const ev_task *tk = tasks[t];
        ev_plan plan;
        memset(&plan, 0, sizeof plan);
        ev_results R;
        memset(&R, 0, sizeof R);
        ev_item_score *sc = malloc(sizeof *sc * (size_t)(tk->n_items > 0 ? tk->n_items : 1));
        ev_plan_opts po = plan_opts(c);
        if (!sc)
            s = abl_fail(err, ABL_E_NOMEM, "%s: out of memory for pruning", tk->name);
        if (!s)
            s = ev_results_alloc(&R, tk, err);
        if (!s)
            s = ev_plan_make(&plan, tk, NULL, tk->n_items, &po, err);
        if (!s && c->show) {
            char label[64];
            snprintf(label, sizeof label, "pruning %d/%d %.30s", t + 1, n_tasks, tk->name);
            ev_progress_label(&c->pr, label);
        }
        prune_unit pu = {tk, NULL, &R, sc, NULL, 0, 0, ""};
        for (int cv = 0; cv < 2 && !s; cv++) {
            uint8_t skip[STUDY_MAX_UNITS];
            memset(skip, 0, sizeof skip);
            pu.skip = skip;
            for (int k = 1; k <= K && !s; k++) {
                skip[r->unit_layer[r->prune_order[cv][k - 1]]] = 1;
                double a = NAN;
                bool resumed = false;
                s = pruned_acc(c, t, &pu, &plan, cv, k, &a, &resumed, err);
                if (r->tasks[t].pooled_in) /* the pooled tasks, as the k = 0 point */
                    r->prune_acc[cv][k] += a / n_pool;
                if (!s && c->show)
                    (resumed ? ev_progress_skip : ev_progress_update)(&c->pr, 0, plan.n_tok);
            }
        }
        ev_plan_free(&plan);
        ev_results_free(&R);
        free(sc);
    }
    r->prune_k = s || c->units_missing > missing0 ? 0 : K;
    return s;
}
