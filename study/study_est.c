/* study/study_est.c - from raw per-item measurements to the study's numbers: accuracies, drops,
 * chance-corrected relevance, correlations, pooling over tasks, and the item bootstrap. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "study_int.h"

abl_status study_task_alloc(study_task_res *T, int n_units)
{
    double **f[] = {&T->cos_score, &T->cos_raw, &T->ang, &T->acc_abl, &T->drop,
                    &T->drop_lo, &T->drop_hi, &T->rel, &T->margin_drop, &T->margin_lo,
                    &T->margin_hi, &T->kl, &T->kl_lo, &T->kl_hi};
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
                   T->drop_lo, T->drop_hi, T->rel, T->margin_drop, T->margin_lo, T->margin_hi,
                   T->kl, T->kl_lo, T->kl_hi};
    for (size_t i = 0; i < ABL_ARRAY_LEN(f); i++)
        free(f[i]);
}

/* Correlations of x with y over units where both are defined (scratch: 2n doubles). */
static void corr(const double *x, const double *y, int n, double *scratch, study_corr *c)
{
    double *a = scratch, *b = scratch + n;
    int m = stats_finite_pairs(x, y, n, a, b), w[2 * STUDY_MAX_UNITS];
    double rk[2 * STUDY_MAX_UNITS];
    c->n = m;
    c->pearson = stats_pearson(a, b, m);
    c->spearman = stats_spearman_buf(a, b, m, rk, w);
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
    corr(T->cos_score, T->margin_drop, n_units, s, &T->c_margin);
    corr(T->kl, T->drop, n_units, s, &T->c_kl);
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
    if (!idx) { /* the intact call: are all hits 0/1 with weight 1 (paired Wilson CIs)? */
        T->binary = true;
        for (size_t k = 0; k < (size_t)raw->n_var * n && T->binary; k++)
            T->binary = (raw->hits[k] == 0 || raw->hits[k] == 1) && raw->weight[k % n] == 1;
    }
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
        double md = 0;
        for (int k = 0; raw->margin && k < n; k++) {
            int i = idx ? idx[k] : k;
            md += raw->margin[i] - raw->margin[(size_t)(1 + u) * n + i];
        }
        T->margin_drop[u] = raw->margin ? md / n : NAN;
        double kl = 0, rows = 0;
        for (int k = 0; raw->kl && k < n; k++) {
            int i = idx ? idx[k] : k;
            kl += raw->kl[(size_t)u * n + i];
            rows += raw->n_score[i];
        }
        T->kl[u] = raw->kl && rows > 0 ? kl / rows : NAN;
    }
    correlate_all(T, n_units);
}

void study_pool(const study_task_res *tasks, const study_task_res *ref, int n_tasks,
                int n_units, study_task_res *P)
{
    double acc = 0, ch = 0;
    int items = 0, np = 0;
    for (int t = 0; t < n_tasks; t++) {
        if (!ref[t].pooled_in)
            continue;
        acc += tasks[t].acc;
        ch += tasks[t].chance;
        items += tasks[t].n_items;
        np++;
    }
    P->acc = np ? acc / np : NAN;
    P->chance = np ? ch / np : NAN;
    P->n_items = items;
    for (int u = 0; u < n_units; u++) {
        double c = 0, a = 0, ab = 0, d = 0, rl = 0, mg = 0, kl = 0;
        int nr = 0, nm = 0, nk = 0;
        for (int t = 0; t < n_tasks; t++) {
            if (!ref[t].pooled_in)
                continue;
            c += tasks[t].cos_score[u];
            a += tasks[t].ang[u];
            ab += tasks[t].acc_abl[u];
            d += tasks[t].drop[u];
            /* the relevance set is fixed by the intact run: a task whose intact accuracy is
             * above chance counts in every replicate, and when its replicate relevance is
             * undefined the pooled one is too (never a silently smaller set) */
            if (ref[t].acc > ref[t].chance) {
                rl += tasks[t].rel[u];
                nr++;
            }
            if (!isnan(ref[t].margin_drop[u])) { /* tasks with a margin (multiple choice) */
                mg += tasks[t].margin_drop[u];
                nm++;
            }
            if (!isnan(ref[t].kl[u])) {
                kl += tasks[t].kl[u];
                nk++;
            }
        }
        P->margin_drop[u] = nm ? mg / nm : NAN;
        P->kl[u] = nk ? kl / nk : NAN;
        P->cos_score[u] = np ? c / np : NAN;
        P->cos_raw[u] = 1 - P->cos_score[u];
        P->ang[u] = np ? a / np : NAN;
        P->acc_abl[u] = np ? ab / np : NAN;
        P->drop[u] = np ? d / np : NAN;
        P->rel[u] = nr ? rl / nr : NAN;
    }
    correlate_all(P, n_units);
}

void study_choose_pool(study_result *r, bool all)
{
    int n_mc = 0, n_in = 0;
    for (int t = 0; t < r->n_tasks; t++)
        n_mc += !r->tasks[t].near_chance && strcmp(r->tasks[t].metric, "token_acc") != 0;
    bool want_tok = n_mc == 0; /* multiple choice first; next-token only when no MC task */
    for (int t = 0; t < r->n_tasks; t++) {
        study_task_res *T = &r->tasks[t];
        T->pooled_in = all || (!T->near_chance && !strcmp(T->metric, "token_acc") == want_tok);
        n_in += T->pooled_in;
    }
    if (all)
        snprintf(r->pool_rule, sizeof r->pool_rule, "all %d tasks (--pool all), equal weights",
                 r->n_tasks);
    else if (n_in == 0) {
        for (int t = 0; t < r->n_tasks; t++)
            r->tasks[t].pooled_in = true;
        snprintf(r->pool_rule, sizeof r->pool_rule, "no task clearly above chance: all %d "
                 "tasks, equal weights (noise)", r->n_tasks);
    } else
        snprintf(r->pool_rule, sizeof r->pool_rule, "%d %s task%s clearly above chance (of %d), "
                 "equal weights", n_in, want_tok ? "next-token" : "multiple-choice",
                 n_in == 1 ? "" : "s", r->n_tasks);
}

/* ---- robustness: leave-one-unit-out -------------------------------------------------------- */

static void coefs(const double *x, const double *y, int n, double *scratch, double o[3])
{
    double *a = scratch, *b = scratch + n;
    int m = stats_finite_pairs(x, y, n, a, b), w[2 * STUDY_MAX_UNITS];
    double rk[2 * STUDY_MAX_UNITS];
    o[0] = stats_pearson(a, b, m);
    o[1] = stats_spearman_buf(a, b, m, rk, w);
    o[2] = stats_kendall_b(a, b, m);
}

/* wo0 / woinf / inf_unit of c, the correlation of x with y over n units. */
static void robust_one(const double *x, const double *y, int n, int u0, study_corr *c)
{
    double xs[STUDY_MAX_UNITS], ys[STUDY_MAX_UNITS], s[2 * STUDY_MAX_UNITS], full[3], v[3];
    double best[3] = {-1, -1, -1};
    coefs(x, y, n, s, full);
    for (int k = 0; k < 3; k++) {
        c->wo0[k] = c->woinf[k] = NAN;
        c->inf_unit[k] = -1;
    }
    for (int drop = 0; drop < n; drop++) {
        int m = 0;
        for (int u = 0; u < n; u++)
            if (u != drop) {
                xs[m] = x[u];
                ys[m] = y[u];
                m++;
            }
        coefs(xs, ys, m, s, v);
        for (int k = 0; k < 3; k++) {
            if (drop == u0)
                c->wo0[k] = v[k];
            double moved = fabs(v[k] - full[k]);
            if (!isnan(moved) && moved > best[k]) {
                best[k] = moved;
                c->woinf[k] = v[k];
                c->inf_unit[k] = drop;
            }
        }
    }
}

void study_robustness(study_result *r)
{
    int u0 = -1;
    for (int u = 0; u < r->n_units; u++)
        if (r->unit_layer[u] == 0)
            u0 = u;
    for (int t = 0; t <= r->n_tasks; t++) {
        study_task_res *T = t < r->n_tasks ? &r->tasks[t] : &r->pooled;
        robust_one(T->cos_score, T->drop, r->n_units, u0, &T->c_drop);
        robust_one(T->cos_score, T->rel, r->n_units, u0, &T->c_rel);
        robust_one(T->cos_raw, T->drop, r->n_units, u0, &T->c_raw);
        robust_one(T->ang, T->drop, r->n_units, u0, &T->c_ang);
        robust_one(T->cos_score, T->margin_drop, r->n_units, u0, &T->c_margin);
        robust_one(T->kl, T->drop, r->n_units, u0, &T->c_kl);
    }
}

/* ---- bootstrap ------------------------------------------------------------------------------ */

enum { N_CORR = 6, CORR_STATS = 4 * N_CORR }; /* pearson, spearman, kendall, discordant for
                                                 drop, rel, raw, ang, margin, kl */

static void corr_put(const study_task_res *T, double *o)
{
    const study_corr *c[N_CORR] = {&T->c_drop, &T->c_rel, &T->c_raw, &T->c_ang, &T->c_margin,
                                   &T->c_kl};
    for (int i = 0; i < N_CORR; i++) {
        o[4 * i] = c[i]->pearson;
        o[4 * i + 1] = c[i]->spearman;
        o[4 * i + 2] = c[i]->kendall;
        o[4 * i + 3] = c[i]->discordant;
    }
}

/* An undefined point estimate keeps no interval. */
static void ci_set(double point, double l, double h, double *lo, double *hi)
{
    *lo = isnan(point) ? NAN : l;
    *hi = isnan(point) ? NAN : h;
}

static void corr_get(study_task_res *T, const double *lo, const double *hi, const int *undef)
{
    study_corr *c[N_CORR] = {&T->c_drop, &T->c_rel, &T->c_raw, &T->c_ang, &T->c_margin,
                             &T->c_kl};
    for (int i = 0; i < N_CORR; i++) {
        ci_set(c[i]->pearson, lo[4 * i], hi[4 * i], &c[i]->pearson_lo, &c[i]->pearson_hi);
        ci_set(c[i]->spearman, lo[4 * i + 1], hi[4 * i + 1], &c[i]->spearman_lo,
               &c[i]->spearman_hi);
        ci_set(c[i]->kendall, lo[4 * i + 2], hi[4 * i + 2], &c[i]->kendall_lo,
               &c[i]->kendall_hi);
        ci_set(c[i]->discordant, lo[4 * i + 3], hi[4 * i + 3], &c[i]->discordant_lo,
               &c[i]->discordant_hi);
        for (int k = 0; k < 4; k++)
            c[i]->undef[k] = undef[4 * i + k];
    }
}

/* Drop CIs of a task with 0/1 hits: Newcombe's paired Wilson interval from the 2x2 table of
 * intact vs removed hits, in points. */
static void newcombe_drops(const study_raw *raw, int n_units, study_task_res *T)
{
    int n = raw->n_items;
    for (int u = 0; u < n_units; u++) {
        const double *h0 = raw->hits, *h1 = raw->hits + (size_t)(1 + u) * n;
        int tab[4] = {0, 0, 0, 0}; /* both, intact only, removed only, neither */
        for (int i = 0; i < n; i++)
            tab[h0[i] == 1 ? (h1[i] == 1 ? 0 : 1) : (h1[i] == 1 ? 2 : 3)]++;
        double lo, hi;
        stats_newcombe_paired_ci(tab[0], tab[1], tab[2], tab[3], 0.95, &lo, &hi);
        T->drop_lo[u] = 100 * lo;
        T->drop_hi[u] = 100 * hi;
    }
    snprintf(T->drop_ci, sizeof T->drop_ci, "newcombe");
}

abl_status study_bootstrap(study_result *r, const study_raw *raw, uint64_t seed, abl_err *err)
{
    int nt = r->n_tasks, nu = r->n_units, B = r->n_boot;
    int per = 1 + 3 * nu + CORR_STATS;      /* acc, drops, margin drops, KLs, correlations */
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
        study_pool(tmp, r->tasks, nt, nu, &tmp[nt]);
        for (int t = 0; t <= nt; t++) {
            double *p = o + (size_t)t * per;
            p[0] = tmp[t].acc;
            memcpy(p + 1, tmp[t].drop, sizeof(double) * (size_t)nu);
            memcpy(p + 1 + nu, tmp[t].margin_drop, sizeof(double) * (size_t)nu);
            memcpy(p + 1 + 2 * nu, tmp[t].kl, sizeof(double) * (size_t)nu);
            corr_put(&tmp[t], p + 1 + 3 * nu);
        }
    }
    for (int t = 0; t <= nt; t++) {
        study_task_res *T = t < nt ? &r->tasks[t] : &r->pooled;
        double lo[CORR_STATS], hi[CORR_STATS];
        int undef[CORR_STATS];
        snprintf(T->drop_ci, sizeof T->drop_ci, "paired bootstrap");
        for (int j = 0; j < per; j++) {
            for (int b = 0; b < B; b++)
                col[b] = rep[(size_t)b * ns + (size_t)t * per + j];
            double l, h;
            int nu_undef = stats_percentile_ci(col, B, 0.95, &l, &h);
            if (j == 0) {
                ci_set(T->acc, l, h, &T->acc_lo, &T->acc_hi);
            } else if (j <= nu) {
                ci_set(T->drop[j - 1], l, h, &T->drop_lo[j - 1], &T->drop_hi[j - 1]);
            } else if (j <= 2 * nu) {
                int u = j - 1 - nu;
                ci_set(T->margin_drop[u], l, h, &T->margin_lo[u], &T->margin_hi[u]);
            } else if (j <= 3 * nu) {
                int u = j - 1 - 2 * nu;
                ci_set(T->kl[u], l, h, &T->kl_lo[u], &T->kl_hi[u]);
            } else {
                lo[j - 1 - 3 * nu] = l;
                hi[j - 1 - 3 * nu] = h;
                undef[j - 1 - 3 * nu] = nu_undef;
            }
        }
        corr_get(T, lo, hi, undef);
        if (t < nt && T->binary)
            newcombe_drops(&raw[t], nu, T);
    }
    for (int b = 0; b < B; b++) /* the pooled drops' replicates, for the confusion matrix */
        memmove(rep + (size_t)b * nu, rep + (size_t)b * ns + (size_t)nt * per + 1,
               sizeof(double) * (size_t)nu);
    s = study_confusion(r, rep, B, err);
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
