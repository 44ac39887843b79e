/* study/study_est.c - from raw per-item measurements to the study's numbers: accuracies, drops,
 * chance-corrected relevance, correlations, pooling over tasks, and the item bootstrap. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "study_int.h"

abl_status study_task_alloc(study_task_res *T, int n_units)
{
    double **f[] = {&T->cos_score, &T->cos_raw, &T->ang, &T->acc_abl, &T->drop,
                    &T->drop_lo, &T->drop_hi, &T->rel};
    for (size_t i = 0; i < ABL_ARRAY_LEN(f); i++) {
        *f[i] = calloc((size_t)(n_units > 0 ? n_units : 1), sizeof(double));
        if (!*f[i])
            return ABL_E_NOMEM;
    }
    return ABL_OK;
}

void study_task_free(study_task_res *T)
{
    double *f[] = {T->cos_score, T->cos_raw, T->ang, T->acc_abl, T->drop,
                   T->drop_lo, T->drop_hi, T->rel};
    for (size_t i = 0; i < ABL_ARRAY_LEN(f); i++)
        free(f[i]);
}

/* Correlations of x with y over units where both are defined (scratch: 2n doubles). */
static void corr(const double *x, const double *y, int n, double *scratch, study_corr *c)
{
    double *a = scratch, *b = scratch + n;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(x[i]) && !isnan(y[i])) {
            a[m] = x[i];
            b[m] = y[i];
            m++;
        }
    c->n = m;
    c->pearson = stats_pearson(a, b, m);
    c->spearman = stats_spearman(a, b, m);
    c->kendall = stats_kendall_b(a, b, m);
    c->discordant = stats_discordant_share(a, b, m, &c->n_pairs);
}

static double relevance(double acc, double acc_abl, double chance)
{
    if (!(acc > chance))
        return NAN;
    return 1 - fmax(acc_abl - chance, 0) / (acc - chance);
}

static void correlate_all(study_task_res *T, int n_units)
{
    double s[2 * STUDY_MAX_UNITS];
    ABL_ASSERT(n_units <= STUDY_MAX_UNITS); /* enforced when the unit list is parsed */
    corr(T->cos_score, T->drop, n_units, s, &T->c_drop);
    corr(T->cos_score, T->rel, n_units, s, &T->c_rel);
    corr(T->cos_raw, T->drop, n_units, s, &T->c_raw);
    corr(T->ang, T->drop, n_units, s, &T->c_ang);
}

void study_estimate(const study_raw *raw, const int *idx, const int *unit_layer, int n_units,
                    study_task_res *T)
{
    int n = raw->n_items, L = raw->L;
    double W = 0, ch = 0, nt = 0;
    for (int k = 0; k < n; k++) {
        int i = idx ? idx[k] : k;
        W += raw->weight[i];
        ch += raw->chance[i];
        nt += raw->n_tok[i];
    }
    T->n_items = n;
    T->chance = ch / n;
    double acc0 = 0;
    for (int k = 0; k < n; k++)
        acc0 += raw->hits[idx ? idx[k] : k];
    T->acc = W > 0 ? acc0 / W : NAN;
    for (int u = 0; u < n_units; u++) {
        const double *h = raw->hits + (size_t)(1 + u) * n;
        int l = unit_layer[u];
        double a = 0, cs = 0, an = 0;
        for (int k = 0; k < n; k++) {
            int i = idx ? idx[k] : k;
            a += h[i];
            cs += raw->cos_sum[(size_t)i * L + l];
            an += raw->ang[(size_t)i * L + l];
        }
        T->acc_abl[u] = W > 0 ? a / W : NAN;
        T->drop[u] = 100 * (T->acc - T->acc_abl[u]);
        T->rel[u] = relevance(T->acc, T->acc_abl[u], T->chance);
        T->cos_score[u] = nt > 0 ? cs / nt : NAN;
        T->cos_raw[u] = 1 - T->cos_score[u];
        T->ang[u] = an / n;
    }
    correlate_all(T, n_units);
}

void study_pool(const study_task_res *tasks, int n_tasks, int n_units, study_task_res *P)
{
    double acc = 0, ch = 0;
    int items = 0;
    for (int t = 0; t < n_tasks; t++) {
        acc += tasks[t].acc;
        ch += tasks[t].chance;
        items += tasks[t].n_items;
    }
    P->acc = acc / n_tasks;
    P->chance = ch / n_tasks;
    P->n_items = items;
    for (int u = 0; u < n_units; u++) {
        double c = 0, a = 0, ab = 0, d = 0, rl = 0;
        int nr = 0;
        for (int t = 0; t < n_tasks; t++) {
            c += tasks[t].cos_score[u];
            a += tasks[t].ang[u];
            ab += tasks[t].acc_abl[u];
            d += tasks[t].drop[u];
            if (!isnan(tasks[t].rel[u])) {
                rl += tasks[t].rel[u];
                nr++;
            }
        }
        P->cos_score[u] = c / n_tasks;
        P->cos_raw[u] = 1 - P->cos_score[u];
        P->ang[u] = a / n_tasks;
        P->acc_abl[u] = ab / n_tasks;
        P->drop[u] = d / n_tasks;
        P->rel[u] = nr ? rl / nr : NAN;
    }
    correlate_all(P, n_units);
}

/* ---- bootstrap ------------------------------------------------------------------------------ */

enum { CORR_STATS = 12 }; /* pearson, spearman, kendall for drop, rel, raw, ang */

static void corr_put(const study_task_res *T, double *o)
{
    const study_corr *c[4] = {&T->c_drop, &T->c_rel, &T->c_raw, &T->c_ang};
    for (int i = 0; i < 4; i++) {
        o[3 * i] = c[i]->pearson;
        o[3 * i + 1] = c[i]->spearman;
        o[3 * i + 2] = c[i]->kendall;
    }
}

static void corr_get(study_task_res *T, double *lo, double *hi)
{
    study_corr *c[4] = {&T->c_drop, &T->c_rel, &T->c_raw, &T->c_ang};
    for (int i = 0; i < 4; i++) {
        c[i]->pearson_lo = lo[3 * i];
        c[i]->pearson_hi = hi[3 * i];
        c[i]->spearman_lo = lo[3 * i + 1];
        c[i]->spearman_hi = hi[3 * i + 1];
        c[i]->kendall_lo = lo[3 * i + 2];
        c[i]->kendall_hi = hi[3 * i + 2];
    }
}

abl_status study_bootstrap(study_result *r, const study_raw *raw, uint64_t seed, abl_err *err)
{
    int nt = r->n_tasks, nu = r->n_units, B = r->n_boot;
    int per = 1 + nu + CORR_STATS;          /* acc, drops, correlations */
    int ns = per * (nt + 1);
    int max_items = 1;
    for (int t = 0; t < nt; t++)
        if (raw[t].n_items > max_items)
            max_items = raw[t].n_items;
    double *rep = malloc(sizeof(double) * (size_t)ns * (size_t)(B > 0 ? B : 1));
    double *col = malloc(sizeof(double) * (size_t)(B > 0 ? B : 1));
    int *idx = malloc(sizeof(int) * (size_t)max_items);
    study_task_res *tmp = calloc((size_t)nt + 1, sizeof *tmp);
    abl_status s = rep && col && idx && tmp ? ABL_OK : ABL_E_NOMEM;
    for (int t = 0; t <= nt && !s; t++)
        s = study_task_alloc(&tmp[t], nu);
    if (s) {
        abl_fail(err, ABL_E_NOMEM, "study: out of memory for the bootstrap");
        goto done;
    }
    stats_rng rng;
    stats_rng_seed(&rng, seed ^ 0x626f6f7473747261ull);
    for (int b = 0; b < B; b++) {
        double *o = rep + (size_t)b * ns;
        for (int t = 0; t < nt; t++) {
            for (int k = 0; k < raw[t].n_items; k++)
                idx[k] = (int)stats_rng_below(&rng, (uint32_t)raw[t].n_items);
            study_estimate(&raw[t], idx, r->unit_layer, nu, &tmp[t]);
        }
        study_pool(tmp, nt, nu, &tmp[nt]);
        for (int t = 0; t <= nt; t++) {
            double *p = o + (size_t)t * per;
            p[0] = tmp[t].acc;
            memcpy(p + 1, tmp[t].drop, sizeof(double) * (size_t)nu);
            corr_put(&tmp[t], p + 1 + nu);
        }
    }
    for (int t = 0; t <= nt; t++) {
        study_task_res *T = t < nt ? &r->tasks[t] : &r->pooled;
        double lo[1 + CORR_STATS], hi[1 + CORR_STATS];
        for (int j = 0; j < per; j++) {
            for (int b = 0; b < B; b++)
                col[b] = rep[(size_t)b * ns + (size_t)t * per + j];
            double l, h;
            stats_percentile_ci(col, B, 0.95, &l, &h);
            if (j == 0) {
                T->acc_lo = l;
                T->acc_hi = h;
            } else if (j <= nu) {
                T->drop_lo[j - 1] = l;
                T->drop_hi[j - 1] = h;
            } else {
                lo[j - 1 - nu] = l;
                hi[j - 1 - nu] = h;
            }
        }
        corr_get(T, lo, hi);
    }
done:
    if (tmp)
        for (int t = 0; t <= nt; t++)
            study_task_free(&tmp[t]);
    free(tmp);
    free(rep);
    free(col);
    free(idx);
    return s;
}
