/* eval/score.c - per-choice log-likelihood sums from forward batches, then per-item outcomes
 * (acc, acc_norm, mc2, greedy match, token accuracy) and task metrics with standard errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"

abl_status ev_results_alloc(ev_results *r, const ev_task *t, abl_err *err)
{
    memset(r, 0, sizeof *r);
    size_t n = (size_t)(t->n_choices > 0 ? t->n_choices : 1);
    r->ll = calloc(n, sizeof *r->ll);
    r->n_top1 = calloc(n, sizeof *r->n_top1);
    r->done = calloc(n, sizeof *r->done);
    if (!r->ll || !r->n_top1 || !r->done) {
        ev_results_free(r);
        return abl_fail(err, ABL_E_NOMEM, "%s: out of memory for %d results", t->name, t->n_choices);
    }
    r->n_choices = t->n_choices;
    return ABL_OK;
}

void ev_results_free(ev_results *r)
{
    if (!r)
        return;
    free(r->ll);
    free(r->n_top1);
    free(r->done);
    memset(r, 0, sizeof *r);
}

void ev_results_clear(ev_results *r)
{
    size_t n = (size_t)r->n_choices;
    if (!n)
        return;
    memset(r->ll, 0, n * sizeof *r->ll);
    memset(r->n_top1, 0, n * sizeof *r->n_top1);
    memset(r->done, 0, n * sizeof *r->done);
}

void ev_accumulate(const ev_task *t, const ev_batch *b, ev_results *r)
{
    ABL_ASSERT(r->n_choices == t->n_choices);
    for (int i = 0; i < b->n_choice; i++) {
        int c = b->choice_list[i];
        r->ll[c] = 0.0;
        r->n_top1[c] = 0;
        r->done[c] = 1;
    }
    for (int i = 0; i < b->fb.n_score; i++) {
        int c = b->score_choice[i];
        r->ll[c] += (double)b->fb.score_lp[i];
        r->n_top1[c] += b->fb.score_top1[i] != 0;
    }
}

/* Index of the largest v[k] (the first on ties, as numpy.argmax). */
static int argmax_d(const double *v, int n)
{
    int best = 0;
    for (int k = 1; k < n; k++)
        if (v[k] > v[best])
            best = k;
    return best;
}

static abl_status score_one(const ev_task *t, const ev_results *r, int32_t it, ev_item_score *o,
                            double *scratch, abl_err *err)
{
    if (it < 0 || it >= t->n_items)
        return abl_fail(err, ABL_E_ARG, "%s: item %d is out of range [0, %d)", t->name, (int)it, t->n_items);
    const ev_item *item = &t->items[it];
    const ev_choice *ch = &t->choices[item->choice0];
    const double *ll = r->ll + item->choice0;
    int n = item->n_choices;
    for (int k = 0; k < n; k++)
        if (!r->done[item->choice0 + k])
            return abl_fail(err, ABL_E_STATE,
                            "%s: item %d (document %d) has no results yet (hint: run every batch of the plan "
                            "and ev_accumulate it)",
                            t->name, (int)it, (int)item->src);
    memset(o, 0, sizeof *o);
    int g = item->gold;
    o->ll = ll[g];
    o->n_tok = ch[g].n_cont;
    o->n_top1 = r->n_top1[item->choice0 + g];
    switch (t->kind) {
    case EV_MC:
    case EV_MC2: {
        o->pred = argmax_d(ll, n);
        for (int k = 0; k < n; k++)
            scratch[k] = ll[k] / (double)ch[k].norm_len;
        o->pred_norm = argmax_d(scratch, n);
        if (t->kind == EV_MC) {
            o->correct = o->pred == g;
            o->correct_norm = o->pred_norm == g;
            o->chance = 1.0f / (float)n;
            o->value = t->head == EV_HEAD_ACC_NORM ? o->correct_norm : o->correct;
        } else {
            double mx = ll[o->pred], st = 0, sa = 0;
            int n_true = 0;
            for (int k = 0; k < n; k++) {
                double e = exp(ll[k] - mx);
                sa += e;
                if (ch[k].is_true) {
                    st += e;
                    n_true++;
                }
            }
            o->mc2 = (float)(st / sa);
            o->correct = ch[o->pred].is_true;
            o->correct_norm = ch[o->pred_norm].is_true;
            o->chance = (float)n_true / (float)n;
            o->value = o->mc2;
        }
        break;
    }
    case EV_GREEDY:
        o->correct = o->correct_norm = o->n_top1 == o->n_tok;
        o->value = o->correct;
        break;
    case EV_CORPUS:
        o->correct = o->correct_norm = o->n_tok > 0 ? (float)o->n_top1 / (float)o->n_tok : 0.0f;
        o->value = o->correct;
        break;
    }
    return ABL_OK;
}

/* Largest choice count of the task (scratch size). */
static int max_choices(const ev_task *t)
{
    int m = 1;
    for (int i = 0; i < t->n_items; i++)
        if (t->items[i].n_choices > m)
            m = t->items[i].n_choices;
    return m;
}

abl_status ev_item_scores(const ev_task *t, const ev_results *r, const int32_t *items, int n,
                          ev_item_score *out, abl_err *err)
{
    if (!items)
        n = t->n_items;
    double *scratch = malloc((size_t)max_choices(t) * sizeof *scratch);
    if (!scratch)
        return abl_fail(err, ABL_E_NOMEM, "%s: out of memory", t->name);
    abl_status s = ABL_OK;
    for (int i = 0; i < n && !s; i++)
        s = score_one(t, r, items ? items[i] : i, &out[i], scratch, err);
    free(scratch);
    return s;
}

/* Running mean and sample variance (Welford), in double. */
typedef struct {
    long n;
    double mean, m2;
} ev_moments;

static void mom_add(ev_moments *m, double x)
{
    m->n++;
    double d = x - m->mean;
    m->mean += d / (double)m->n;
    m->m2 += d * (x - m->mean);
}

/* Sample std (n - 1) / sqrt(n), as lm-eval's mean_stderr. NaN when n < 2. */
static double mom_se(const ev_moments *m)
{
    if (m->n < 2)
        return NAN;
    return sqrt(m->m2 / (double)(m->n - 1)) / sqrt((double)m->n);
}

abl_status ev_metrics_compute(const ev_task *t, const ev_results *r, const int32_t *items, int n,
                              ev_metrics *m, abl_err *err)
{
    memset(m, 0, sizeof *m);
    if (!items)
        n = t->n_items;
    if (n <= 0)
        return abl_fail(err, ABL_E_ARG, "%s: no items to compute metrics over", t->name);
    ev_item_score *sc = malloc((size_t)n * sizeof *sc);
    if (!sc)
        return abl_fail(err, ABL_E_NOMEM, "%s: out of memory", t->name);
    abl_status s = ev_item_scores(t, r, items, n, sc, err);
    if (s) {
        free(sc);
        return s;
    }
    ev_moments acc = {0}, norm = {0}, mc2 = {0}, cat[8] = {{0}};
    double chance = 0, ll = 0;
    int64_t tok = 0, top1 = 0;
    for (int i = 0; i < n; i++) {
        mom_add(&acc, sc[i].correct);
        mom_add(&norm, sc[i].correct_norm);
        mom_add(&mc2, sc[i].mc2);
        chance += sc[i].chance;
        ll += sc[i].ll;
        tok += sc[i].n_tok;
        top1 += sc[i].n_top1;
        int g = t->items[items ? items[i] : i].group;
        if (g >= 0 && g < t->n_groups && t->group_cat) {
            int c = t->group_cat[g];
            if (c >= 0 && c < 8)
                mom_add(&cat[c], sc[i].correct);
        }
    }
    m->n_items = n;
    m->acc = acc.mean;
    m->acc_se = mom_se(&acc);
    m->acc_norm = t->has_norm ? norm.mean : NAN;
    m->acc_norm_se = t->has_norm ? mom_se(&norm) : NAN;
    m->mc2 = t->kind == EV_MC2 ? mc2.mean : NAN;
    m->mc2_se = t->kind == EV_MC2 ? mom_se(&mc2) : NAN;
    m->chance = chance / n;
    m->ppl = NAN;
    m->n_tok = tok;
    if (t->kind == EV_CORPUS) {
        m->acc = tok > 0 ? (double)top1 / (double)tok : 0.0; /* pooled over tokens */
        m->acc_norm = NAN;
        m->ppl = tok > 0 ? exp(-ll / (double)tok) : NAN;
    } else if (t->kind == EV_GREEDY) {
        m->ppl = exp(-ll / n);
    }
    switch (t->head) {
    case EV_HEAD_ACC_NORM:
        m->head_name = "acc_norm";
        m->head = m->acc_norm;
        m->head_se = m->acc_norm_se;
        break;
    case EV_HEAD_MC2:
        m->head_name = "mc2";
        m->head = m->mc2;
        m->head_se = m->mc2_se;
        break;
    case EV_HEAD_TOKEN_ACC:
        m->head_name = "token_acc";
        m->head = m->acc;
        m->head_se = m->acc_se;
        break;
    default:
        m->head_name = "acc";
        m->head = m->acc;
        m->head_se = m->acc_se;
        break;
    }
    m->n_cats = t->n_cats < 8 ? t->n_cats : 8;
    for (int c = 0; c < m->n_cats; c++) {
        snprintf(m->cats[c].name, sizeof m->cats[c].name, "%s", t->cat_names[c]);
        m->cats[c].n_items = (int)cat[c].n;
        m->cats[c].acc = cat[c].n ? cat[c].mean : NAN;
        m->cats[c].acc_se = mom_se(&cat[c]);
    }
    free(sc);
    return ABL_OK;
}
