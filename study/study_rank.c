/* study/study_rank.c - the paper's ranking analyses: the confusion of block ranks by cosine
 * score and by accuracy drop (misjudged and major-misjudged pairs) and the task-dependence test. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "study_int.h"

static int sgn(double v) { return (v > 0) - (v < 0); }

/* rank[u] = 1 + position of u when sorted by key (ties: unit order); NaN keys last. */
static void ordinal_ranks(const double *key, int n, int *rank)
{
    for (int u = 0; u < n; u++) {
        int r = 1;
        for (int v = 0; v < n; v++) {
            bool before = isnan(key[u]) ? (!isnan(key[v]) || v < u)
                                        : (!isnan(key[v]) && (key[v] < key[u] ||
                                                              (key[v] == key[u] && v < u)));
            r += before;
        }
        rank[u] = r;
    }
}

abl_status study_confusion(study_result *r, const double *drop_rep, int B, abl_err *err)
{
    study_confusion_res *c = &r->conf;
    int n = r->n_units;
    const study_task_res *P = &r->pooled;
    free(c->rank_cos);
    free(c->rank_drop);
    memset(c, 0, sizeof *c);
    c->rank_cos = malloc(sizeof(int) * (size_t)n);
    c->rank_drop = malloc(sizeof(int) * (size_t)n);
    double *d = malloc(sizeof(double) * (size_t)(B > 0 ? B : 1));
    if (!c->rank_cos || !c->rank_drop || !d) {
        free(d);
        return abl_fail(err, ABL_E_NOMEM, "study: out of memory for the ranking confusion");
    }
    ordinal_ranks(P->cos_score, n, c->rank_cos);
    ordinal_ranks(P->drop, n, c->rank_drop);
    for (int u = 0; u < n; u++)
        for (int v = u + 1; v < n; v++) {
            int o = sgn(P->cos_score[u] - P->cos_score[v]) * sgn(P->drop[u] - P->drop[v]);
            if (o == 0 || isnan(P->cos_score[u] + P->cos_score[v] + P->drop[u] + P->drop[v]))
                continue;
            c->n_pairs++;
            c->n_misjudged += o < 0;
            for (int b = 0; b < B; b++)
                d[b] = drop_rep[(size_t)b * n + u] - drop_rep[(size_t)b * n + v];
            double lo, hi;
            stats_percentile_ci(d, B, 0.95, &lo, &hi);
            bool sig = lo > 0 || hi < 0;
            c->n_significant += sig;
            c->n_major += sig && o < 0;
        }
    c->n = n;
    free(d);
    return ABL_OK;
}

/* Sample sd of the n values v (NaN when n < 2). */
static double sd(const double *v, int n)
{
    return n < 2 ? NAN : stats_se(v, n) * sqrt((double)n);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    if (n <= 0)
        return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

abl_status study_task_dependence(study_result *r, abl_err *err)
{
    abl_status s = ABL_OK;
    study_taskdep_res *q = &r->taskdep;
    int n = r->n_units, nt = r->n_tasks;
    free(q->spread_rel);
    free(q->spread_cos);
    memset(q, 0, sizeof *q);
    q->stat = q->p = q->median_spread_rel = q->median_spread_cos = NAN;
    q->method = "n/a";
    q->spread_rel = malloc(sizeof(double) * (size_t)n);
    q->spread_cos = malloc(sizeof(double) * (size_t)n);
    double *zr = malloc(sizeof(double) * (size_t)n * nt), *zc = malloc(sizeof(double) * (size_t)n * nt);
    double *col = malloc(sizeof(double) * (size_t)(nt > n ? nt : n) * 2);
    if (!q->spread_rel || !q->spread_cos || !zr || !zc || !col) {
        s = abl_fail(err, ABL_E_NOMEM, "study: out of memory for the task-dependence test");
        goto done;
    }
    int m = 0;
    for (int t = 0; t < nt; t++) {
        const study_task_res *T = &r->tasks[t];
        if (T->near_chance || !(T->acc > T->chance))
            continue;
        double mr = stats_mean(T->rel, n), sr = sd(T->rel, n);
        double mc = stats_mean(T->cos_score, n), sc = sd(T->cos_score, n);
        if (!(sr > 0) || !(sc > 0))
            continue; /* constant across units: no z-score */
        for (int u = 0; u < n; u++) {
            zr[(size_t)m * n + u] = (T->rel[u] - mr) / sr;
            zc[(size_t)m * n + u] = (T->cos_score[u] - mc) / sc;
        }
        m++;
    }
    for (int u = 0; u < n; u++) {
        for (int k = 0; k < m; k++) {
            col[k] = zr[(size_t)k * n + u];
            col[nt + k] = zc[(size_t)k * n + u];
        }
        q->spread_rel[u] = sd(col, m);
        q->spread_cos[u] = sd(col + nt, m);
    }
    q->n_tasks = m;
    if (m < 2)
        goto done;
    double *dd = col; /* differences over units, reusing the scratch */
    int k = 0;
    for (int u = 0; u < n; u++)
        if (!isnan(q->spread_rel[u]) && !isnan(q->spread_cos[u]))
            dd[k++] = q->spread_rel[u] - q->spread_cos[u];
    q->n_units = k;
    int wr = stats_wilcoxon(dd, k, &q->stat, &q->p, &q->method);
    if (wr == -2) {
        s = abl_fail(err, ABL_E_NOMEM, "study: out of memory for the Wilcoxon test");
        goto done;
    }
    if (wr != 0)
        q->method = "n/a";
    for (int u = 0; u < n; u++)
        dd[u] = q->spread_rel[u];
    q->median_spread_rel = median(dd, n);
    for (int u = 0; u < n; u++)
        dd[u] = q->spread_cos[u];
    q->median_spread_cos = median(dd, n);
done:
    free(zr);
    free(zc);
    free(col);
    return s;
}
