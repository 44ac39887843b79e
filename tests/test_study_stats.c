/* tests/test_study_stats.c - the study's estimators on hand-made items: no interval next to an
 * undefined estimate, undefined replicates counted, the pooled task set fixed by the intact run,
 * honest drop intervals with few flipped items, the token-weighted standard error, robustness
 * lines, and reports that print n/a (never nan) and null intervals next to null. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/file.h"
#include "../study/report.h"
#include "../study/study_int.h"
#include "t.h"

enum { NI = 40, NU = 4, NL = 4 };

/* A synthetic task: n items, chance ch, intact hit i when i % 10 < acc10, unit u removed hits
 * i when (i + 3 u) % 10 < acc10 - u (u = 0 leaves every item as it was). */
typedef struct {
    double hits[(1 + NU) * NI], margin[(1 + NU) * NI], kl[NU * NI], nsc[NI], w[NI], ch[NI], cs[NI * NL], nt[NI], ang[NI * NL];
    study_raw raw;
} toy;

static void toy_make(toy *y, int n, double chance, int acc10)
{
    for (int i = 0; i < n; i++) {
        y->w[i] = 1;
        y->ch[i] = chance;
        y->nt[i] = 2;
        y->hits[i] = i % 10 < acc10;
        for (int u = 0; u < NU; u++)
            y->hits[(size_t)(1 + u) * n + i] = u == 0 ? y->hits[i] : (i + 3 * u) % 10 < acc10 - u;
        for (int l = 0; l < NL; l++) {
            y->cs[i * NL + l] = l == 0 ? 1.9 : 0.1 * (l + 1) + 0.01 * (i % 3);
            y->ang[i * NL + l] = 0.1 * l;
        }
    }
    for (int k = 0; k < (1 + NU) * n; k++) /* a margin that follows the hits */
        y->margin[k] = y->hits[k] - 0.5 + 0.01 * (k % n);
    for (int i = 0; i < n; i++) { /* KL sums over 3 scored rows, growing with the unit */
        y->nsc[i] = 3;
        for (int u = 0; u < NU; u++)
            y->kl[u * n + i] = 3 * (0.01 * u + 0.001 * (i % 4));
    }
    study_raw r = {n, 1 + NU, NL, y->hits, y->w, y->ch, y->cs, y->nt, y->ang, y->kl, y->nsc,
                   y->margin};
    y->raw = r;
}

/* r with the given raw tasks estimated, pooled (default rule) and bootstrapped. */
static study_result *toy_study(tctx *t, toy **y, int n_tasks, int n_boot)
{
    study_result *r = calloc(1, sizeof *r);
    static int ul[NU] = {0, 1, 2, 3};
    r->n_units = NU;
    r->unit_layer = ul;
    r->n_tasks = n_tasks;
    r->n_boot = n_boot;
    r->tasks = calloc((size_t)n_tasks, sizeof *r->tasks);
    snprintf(r->unit_name, sizeof r->unit_name, "block");
    static study_raw raws[4];
    for (int k = 0; k < n_tasks; k++) {
        T_CHECK(t, study_task_alloc(&r->tasks[k], NU) == ABL_OK);
        study_estimate(&y[k]->raw, NULL, ul, NU, &r->tasks[k]);
        snprintf(r->tasks[k].name, sizeof r->tasks[k].name, "toy%d", k);
        snprintf(r->tasks[k].metric, sizeof r->tasks[k].metric, "acc");
        r->tasks[k].acc_se = stats_ratio_se(y[k]->raw.hits, y[k]->raw.weight, y[k]->raw.n_items);
        r->tasks[k].near_chance = !(r->tasks[k].acc - r->tasks[k].chance >=
                                    2 * r->tasks[k].acc_se);
        raws[k] = y[k]->raw;
    }
    T_CHECK(t, study_task_alloc(&r->pooled, NU) == ABL_OK);
    snprintf(r->pooled.name, sizeof r->pooled.name, "pooled");
    study_choose_pool(r, false);
    study_pool(r->tasks, r->tasks, n_tasks, NU, &r->pooled);
    abl_err e = {0};
    T_CHECK(t, study_bootstrap(r, raws, 99, &e) == ABL_OK);
    study_robustness(r);
    T_CHECK(t, study_task_dependence(r, &e) == ABL_OK);
    return r;
}

static void toy_free(study_result *r)
{
    for (int k = 0; k < r->n_tasks; k++)
        study_task_free(&r->tasks[k]);
    study_task_free(&r->pooled);
    free(r->tasks);
    free(r->conf.rank_cos);
    free(r->conf.rank_drop);
    free(r->taskdep.spread_rel);
    free(r->taskdep.spread_cos);
    free(r);
}

/* PIQA at chance showed Pearson "nan [0.113, 0.494]": an undefined estimate has no interval,
 * and the replicates where it was defined or not are counted. */
void test_study_no_ci_next_to_undefined(tctx *t)
{
    static toy a;
    toy_make(&a, NI, 0.5, 5); /* intact 50% = chance: relevance undefined */
    toy *ys[1] = {&a};
    study_result *r = toy_study(t, ys, 1, 400);
    const study_corr *c = &r->tasks[0].c_rel;
    t_note(t, "relevance pearson %g [%g, %g], undefined replicates %d of 400", c->pearson,
           c->pearson_lo, c->pearson_hi, c->undef[0]);
    T_CHECK(t, isnan(c->pearson) && isnan(c->pearson_lo) && isnan(c->pearson_hi));
    T_CHECK(t, isnan(c->spearman_lo) && isnan(c->kendall_hi) && isnan(c->discordant_lo));
    T_CHECK(t, c->undef[0] > 0 && c->undef[0] < 400); /* defined in some replicates */
    /* a defined estimate keeps its interval */
    const study_corr *d = &r->tasks[0].c_drop;
    T_CHECK(t, !isnan(d->spearman) && !isnan(d->spearman_lo) && d->spearman_lo <= d->spearman_hi);
    T_CHECK(t, !isnan(d->discordant_lo) && d->discordant_lo <= d->discordant);
    toy_free(r);
}

/* The pooled relevance keeps the intact run's task set: a task in that set whose replicate
 * relevance is undefined makes the pooled replicate undefined (no silent smaller set). */
void test_study_pool_task_set_fixed(tctx *t)
{
    static toy a, b;
    toy_make(&a, NI, 0.25, 8);
    toy_make(&b, NI, 0.25, 8);
    toy *ys[2] = {&a, &b};
    study_result *r = toy_study(t, ys, 2, 200);
    T_CHECK(t, r->tasks[0].pooled_in && r->tasks[1].pooled_in);
    study_task_res rep[2];
    memcpy(rep, r->tasks, sizeof rep);
    double rel_b[NU];
    for (int u = 0; u < NU; u++)
        rel_b[u] = NAN; /* task b's relevance undefined in this "replicate" */
    rep[1].rel = rel_b;
    study_task_res P;
    memset(&P, 0, sizeof P);
    T_CHECK(t, study_task_alloc(&P, NU) == ABL_OK);
    study_pool(rep, r->tasks, 2, NU, &P);
    T_CHECK(t, isnan(P.rel[1]) && !isnan(P.drop[1]));
    /* a task out of the pool does not enter it in a replicate either */
    r->tasks[1].pooled_in = false;
    study_pool(rep, r->tasks, 2, NU, &P);
    T_CHECK(t, P.rel[1] == r->tasks[0].rel[1] && P.drop[1] == r->tasks[0].drop[1]);
    study_task_free(&P);
    toy_free(r);
}

/* Default pooling: only tasks clearly above chance, one metric type; --pool all: every task. */
void test_study_pool_rule(tctx *t)
{
    static toy a, b, c;
    toy_make(&a, NI, 0.25, 9);
    toy_make(&b, NI, 0.5, 5);  /* at chance: left out */
    toy_make(&c, NI, 0.0, 6);  /* next-token type: left out while an MC task qualifies */
    toy *ys[3] = {&a, &b, &c};
    study_result *r = toy_study(t, ys, 3, 50);
    snprintf(r->tasks[2].metric, sizeof r->tasks[2].metric, "token_acc");
    study_choose_pool(r, false);
    t_note(t, "rule: %s", r->pool_rule);
    T_CHECK(t, r->tasks[0].pooled_in && !r->tasks[1].pooled_in && !r->tasks[2].pooled_in);
    T_CHECK(t, strstr(r->pool_rule, "1 multiple-choice task clearly above chance") != NULL);
    study_pool(r->tasks, r->tasks, 3, NU, &r->pooled);
    T_CHECK(t, r->pooled.drop[2] == r->tasks[0].drop[2]);
    study_choose_pool(r, true);
    T_CHECK(t, r->tasks[1].pooled_in && r->tasks[2].pooled_in);
    T_CHECK(t, strstr(r->pool_rule, "--pool all") != NULL);
    toy_free(r);
}

/* "[0.00, 0.00]" for 12 items without a flip is not certainty: Newcombe's paired interval. */
void test_study_drop_ci_few_flips(tctx *t)
{
    static toy a;
    toy_make(&a, 12, 0.25, 7); /* unit 0 flips nothing */
    toy *ys[1] = {&a};
    study_result *r = toy_study(t, ys, 1, 200);
    const study_task_res *T = &r->tasks[0];
    t_note(t, "no flips: drop %.2f [%.2f, %.2f] (%s)", T->drop[0], T->drop_lo[0], T->drop_hi[0],
           T->drop_ci);
    T_CHECK(t, T->binary && !strcmp(T->drop_ci, "newcombe"));
    T_CHECK(t, T->drop[0] == 0 && T->drop_lo[0] < -5 && T->drop_hi[0] > 5);
    int tab[4] = {0, 0, 0, 0};
    for (int i = 0; i < 12; i++) {
        int h0 = (int)a.hits[i], h1 = (int)a.hits[(size_t)(1 + 2) * 12 + i];
        tab[h0 ? (h1 ? 0 : 1) : (h1 ? 2 : 3)]++;
    }
    double lo, hi;
    stats_newcombe_paired_ci(tab[0], tab[1], tab[2], tab[3], 0.95, &lo, &hi);
    T_CHECK(t, fabs(T->drop_lo[2] - 100 * lo) < 1e-9 && fabs(T->drop_hi[2] - 100 * hi) < 1e-9);
    T_CHECK(t, T->drop_lo[2] <= T->drop[2] && T->drop[2] <= T->drop_hi[2]);
    /* weighted hits (next-token accuracy) keep the paired (cluster) bootstrap */
    a.w[0] = 3;
    a.hits[0] = 2;
    study_result *r2 = toy_study(t, ys, 1, 200);
    T_CHECK(t, !r2->tasks[0].binary && !strcmp(r2->tasks[0].drop_ci, "paired bootstrap"));
    toy_free(r);
    toy_free(r2);
}

/* token_acc is a token-weighted ratio; its se must be of that ratio (delta method), not of the
 * unweighted mean of per-document ratios. Checked against a cluster bootstrap. */
void test_study_token_acc_se(tctx *t)
{
    enum { N = 200 };
    double h[N], w[N], ratio[N];
    for (int i = 0; i < N; i++) { /* long documents vary, short ones sit at 50% */
        w[i] = i % 5 == 0 ? 300 : 10 + i % 7;
        double p = i % 5 == 0 ? (i % 10 == 0 ? 0.1 : 0.9) : 0.5;
        h[i] = round(p * w[i]);
        ratio[i] = h[i] / w[i];
    }
    double se = stats_ratio_se(h, w, N), se_unw = stats_se(ratio, N);
    stats_rng g;
    stats_rng_seed(&g, 5);
    enum { B = 4000 };
    double s1 = 0, s2 = 0;
    for (int b = 0; b < B; b++) {
        double H = 0, W = 0;
        for (int i = 0; i < N; i++) {
            int k = (int)stats_rng_below(&g, N);
            H += h[k];
            W += w[k];
        }
        s1 += H / W;
        s2 += (H / W) * (H / W);
    }
    double sd = sqrt(s2 / B - (s1 / B) * (s1 / B));
    t_note(t, "delta-method se %.5f, cluster bootstrap sd %.5f, unweighted se %.5f", se, sd,
           se_unw);
    T_CHECK(t, fabs(se - sd) < 0.15 * sd);
    T_CHECK(t, fabs(se_unw - sd) > 0.3 * sd); /* the old se was of another quantity */
    double ones[N];
    for (int i = 0; i < N; i++)
        ones[i] = 1;
    T_CHECK(t, fabs(stats_ratio_se(ratio, ones, N) - se_unw) < 1e-15);
}

/* Leave-one-block-out: block 0 (a far outlier) drives Pearson; the line names the unit. */
void test_study_robustness(tctx *t)
{
    static toy a;
    toy_make(&a, NI, 0.25, 9);
    toy *ys[1] = {&a};
    study_result *r = toy_study(t, ys, 1, 50);
    const study_corr *c = &r->tasks[0].c_drop;
    double x[NU], y[NU];
    for (int u = 1; u < NU; u++) {
        x[u - 1] = r->tasks[0].cos_score[u];
        y[u - 1] = r->tasks[0].drop[u];
    }
    T_CHECK(t, fabs(c->wo0[0] - stats_pearson(x, y, NU - 1)) < 1e-12);
    T_CHECK(t, fabs(c->wo0[1] - stats_spearman(x, y, NU - 1)) < 1e-12);
    T_CHECK(t, c->inf_unit[0] >= 0 && c->inf_unit[0] < NU);
    t_note(t, "pearson %.3f, without block 0 %.3f, without unit %d %.3f", c->pearson, c->wo0[0],
           c->inf_unit[0], c->woinf[0]);
    toy_free(r);
}

/* report.md prints n/a, never nan; summary.json writes [null, null] next to null. */
void test_study_reports_na(tctx *t)
{
    static toy a, b;
    toy_make(&a, NI, 0.5, 5);
    toy_make(&b, NI, 0.25, 8);
    toy *ys[2] = {&a, &b};
    study_result *r = toy_study(t, ys, 2, 200);
    snprintf(r->model_dir, sizeof r->model_dir, "toy");
    abl_err e = {0};
    const char *dir = t_tmpdir(t);
    T_CHECK(t, report_markdown(r, dir, &e) == ABL_OK);
    T_CHECK(t, report_summary_json(r, dir, &e) == ABL_OK);
    char path[600], *md = NULL, *js = NULL;
    size_t n;
    snprintf(path, sizeof path, "%s/report.md", dir);
    T_CHECK(t, abl_read_file(path, 0, NULL, &md, &n, &e) == ABL_OK);
    snprintf(path, sizeof path, "%s/summary.json", dir);
    T_CHECK(t, abl_read_file(path, 0, NULL, &js, &n, &e) == ABL_OK);
    if (md && js) {
        static const char *bad[] = {" nan", "[nan", "nan]", "nan,", "nan |", "(nan"};
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
            if (strstr(md, bad[i]) || strstr(js, bad[i]))
                t_fail(t, "'%s' in report.md or summary.json", bad[i]);
        T_CHECK(t, strstr(md, "n/a") != NULL);
        /* every coefficient that is null is followed by its null interval */
        char *q = js;
        for (char *p = js; *p; p++)
            if (*p != ' ' && *p != '\n')
                *q++ = *p;
        *q = 0;
        static const char *k[] = {"\"pearson\":null,\"pearson_ci95\":[",
                                  "\"spearman\":null,\"spearman_ci95\":[",
                                  "\"kendall_tau_b\":null,\"kendall_ci95\":[",
                                  "\"discordant_share\":null,\"discordant_ci95\":["};
        int found = 0;
        for (int i = 0; i < 4; i++)
            for (const char *p = strstr(js, k[i]); p; p = strstr(p + 1, k[i])) {
                found++;
                T_CHECK(t, !strncmp(p + strlen(k[i]), "null,null]", 10));
            }
        t_note(t, "%d null coefficients checked", found);
        T_CHECK(t, found >= 3);
    }
    free(md);
    free(js);
    toy_free(r);
}

/* The confusion of ranks: hand-made pooled scores and drops with planted replicates. */
void test_study_confusion_major(tctx *t)
{
    study_result r;
    memset(&r, 0, sizeof r);
    r.n_units = 3;
    double cs[3] = {0.1, 0.2, 0.3}, dr[3] = {5, 1, 9}; /* pair (0,1) misordered */
    r.pooled.cos_score = cs;
    r.pooled.drop = dr;
    enum { B = 100 };
    double rep[B * 3];
    for (int b = 0; b < B; b++) { /* unit 0 vs 1: clearly apart; 0 vs 2, 1 vs 2 apart too */
        rep[b * 3 + 0] = 5 + 0.01 * (b % 7);
        rep[b * 3 + 1] = 1 + 0.01 * (b % 5);
        rep[b * 3 + 2] = 9 + 0.01 * (b % 3);
    }
    T_CHECK(t, study_confusion(&r, rep, B, NULL) == ABL_OK);
    T_CHECK(t, r.conf.n == 3 && r.conf.n_pairs == 3 && r.conf.n_misjudged == 1);
    T_CHECK(t, r.conf.n_significant == 3 && r.conf.n_major == 1);
    T_CHECK(t, r.conf.rank_cos[0] == 1 && r.conf.rank_drop[0] == 2 && r.conf.rank_drop[1] == 1);
    /* overlapping replicates of 0 and 1: no longer significant, so not major */
    for (int b = 0; b < B; b++)
        rep[b * 3 + 1] = 5 + (b % 2 ? 3 : -3);
    T_CHECK(t, study_confusion(&r, rep, B, NULL) == ABL_OK);
    T_CHECK(t, r.conf.n_misjudged == 1 && r.conf.n_major == 0 && r.conf.n_significant == 2);
    free(r.conf.rank_cos);
    free(r.conf.rank_drop);
}

/* Task dependence: two tasks whose relevance profiles disagree while their cosine profiles
 * agree give large relevance spreads and zero cosine spreads; Wilcoxon sees it. */
void test_study_task_dependence(tctx *t)
{
    enum { U = 12 };
    study_result r;
    memset(&r, 0, sizeof r);
    study_task_res T[3];
    memset(T, 0, sizeof T);
    double rel[3][U], cs[3][U];
    for (int k = 0; k < 3; k++) {
        for (int u = 0; u < U; u++) {
            cs[k][u] = 0.1 + 0.01 * u + (k == 2 ? 0.001 * (u % 3) : 0);
            rel[k][u] = k == 0 ? 0.05 * u : k == 1 ? 0.6 - 0.05 * u : 0.3 + 0.01 * ((u * 7) % 5);
        }
        T[k].rel = rel[k];
        T[k].cos_score = cs[k];
        T[k].acc = 0.8;
        T[k].chance = 0.25;
    }
    r.tasks = T;
    r.n_tasks = 3;
    r.n_units = U;
    T_CHECK(t, study_task_dependence(&r, NULL) == ABL_OK);
    t_note(t, "%d tasks, W = %g, p = %g (%s), median spreads rel %.3f cos %.3f",
           r.taskdep.n_tasks, r.taskdep.stat, r.taskdep.p, r.taskdep.method,
           r.taskdep.median_spread_rel, r.taskdep.median_spread_cos);
    T_CHECK(t, r.taskdep.n_tasks == 3 && r.taskdep.n_units == U);
    T_CHECK(t, r.taskdep.p < 0.01 && r.taskdep.median_spread_rel > r.taskdep.median_spread_cos);
    /* the same test from the spreads directly */
    double d[U], st, p;
    for (int u = 0; u < U; u++)
        d[u] = r.taskdep.spread_rel[u] - r.taskdep.spread_cos[u];
    T_CHECK(t, stats_wilcoxon(d, U, &st, &p, NULL) == 0 && st == r.taskdep.stat && p == r.taskdep.p);
    /* one task only: n/a */
    r.n_tasks = 1;
    T_CHECK(t, study_task_dependence(&r, NULL) == ABL_OK);
    T_CHECK(t, r.taskdep.n_tasks == 1 && isnan(r.taskdep.p));
    free(r.taskdep.spread_rel);
    free(r.taskdep.spread_cos);
}

/* The continuous companion: mean over items of margin(intact) - margin(removed), pooled over
 * the tasks that have one. */
void test_study_margin_companion(tctx *t)
{
    static toy a;
    toy_make(&a, NI, 0.25, 9);
    toy *ys[1] = {&a};
    study_result *r = toy_study(t, ys, 1, 100);
    for (int u = 0; u < NU; u++) {
        double m = 0;
        for (int i = 0; i < NI; i++)
            m += a.margin[i] - a.margin[(size_t)(1 + u) * NI + i];
        T_CHECK(t, fabs(r->tasks[0].margin_drop[u] - m / NI) < 1e-12);
        T_CHECK(t, r->tasks[0].margin_lo[u] <= r->tasks[0].margin_drop[u] + 1e-12);
    }
    T_CHECK(t, r->tasks[0].margin_drop[0] == 0);
    T_CHECK(t, !isnan(r->tasks[0].c_margin.spearman));
    T_CHECK(t, r->pooled.margin_drop[2] == r->tasks[0].margin_drop[2]);
    /* the KL baseline: mean over scored rows (sum of KL sums / sum of rows) */
    for (int u = 0; u < NU; u++) {
        double k = 0, rows = 0;
        for (int i = 0; i < NI; i++) {
            k += a.kl[u * NI + i];
            rows += a.nsc[i];
        }
        T_CHECK(t, fabs(r->tasks[0].kl[u] - k / rows) < 1e-12);
        T_CHECK(t, r->tasks[0].kl_lo[u] <= r->tasks[0].kl[u] && r->tasks[0].kl[u] <= r->tasks[0].kl_hi[u]);
    }
    T_CHECK(t, !isnan(r->tasks[0].c_kl.spearman) && r->pooled.kl[3] == r->tasks[0].kl[3]);
    toy_free(r);
}

/* Coverage of the study's percentile intervals, seeded: 500 synthetic studies with known
 * per-unit drops (continuous paired item scores: a shared item effect plus independent noise
 * per variant), fixed cosine scores, so the true drops and the true correlation of cosine
 * score with drop are known; each study bootstrapped as a real one (items resampled, 400
 * replicates). Counts how often the 95% intervals contain the truth. */
enum { CV_REPS = 500, CV_ITEMS = 120, CV_UNITS = 8, CV_BOOT = 400 };

static double cv_normal(stats_rng *g)
{
    double u1 = (stats_rng_next(g) >> 11) * 0x1p-53, u2 = (stats_rng_next(g) >> 11) * 0x1p-53;
    return sqrt(-2 * log(u1 + 1e-300)) * cos(2 * M_PI * u2);
}

void test_study_percentile_coverage(tctx *t)
{
    static double hits[(1 + CV_UNITS) * CV_ITEMS], w[CV_ITEMS], ch[CV_ITEMS],
        cs[CV_ITEMS * CV_UNITS], nt[CV_ITEMS], ang[CV_ITEMS * CV_UNITS];
    int ul[CV_UNITS];
    double mu[1 + CV_UNITS], cosv[CV_UNITS], drop_true[CV_UNITS];
    mu[0] = 0.8;
    for (int u = 0; u < CV_UNITS; u++) {
        ul[u] = u;
        cosv[u] = 0.05 + 0.02 * u + (u == 0 ? 0.5 : 0);          /* block 0 an outlier */
        drop_true[u] = 0.04 * ((u * 5) % CV_UNITS) + 0.01 * u;   /* known, well spread */
        mu[1 + u] = mu[0] - drop_true[u];
    }
    double r_true = stats_pearson(cosv, drop_true, CV_UNITS);
    double s_true = stats_spearman(cosv, drop_true, CV_UNITS);
    double k_true = stats_kendall_b(cosv, drop_true, CV_UNITS);
    int cover_s = 0, cover_k = 0;
    for (int i = 0; i < CV_ITEMS; i++) {
        w[i] = 1;
        ch[i] = 0;
        nt[i] = 1;
        for (int u = 0; u < CV_UNITS; u++)
            cs[i * CV_UNITS + u] = cosv[u];
    }
    study_raw raw = {CV_ITEMS, 1 + CV_UNITS, CV_UNITS, hits, w, ch, cs, nt, ang, NULL, NULL,
                     NULL};
    stats_rng g;
    stats_rng_seed(&g, 20261204);
    int cover_r = 0, cover_d = 0, n_d = 0;
    double width = 0;
    for (int rep = 0; rep < CV_REPS; rep++) {
        for (int i = 0; i < CV_ITEMS; i++) {
            double item = 0.3 * cv_normal(&g); /* shared by every variant: pairing matters */
            for (int v = 0; v <= CV_UNITS; v++)
                hits[(size_t)v * CV_ITEMS + i] = mu[v] + item + 0.12 * cv_normal(&g);
        }
        study_result r;
        memset(&r, 0, sizeof r);
        study_task_res T[1];
        memset(T, 0, sizeof T);
        r.n_units = CV_UNITS;
        r.unit_layer = ul;
        r.n_tasks = 1;
        r.n_boot = CV_BOOT;
        r.tasks = T;
        T_CHECK(t, study_task_alloc(&T[0], CV_UNITS) == ABL_OK &&
                       study_task_alloc(&r.pooled, CV_UNITS) == ABL_OK);
        study_estimate(&raw, NULL, ul, CV_UNITS, &T[0]);
        T[0].pooled_in = true;
        study_pool(r.tasks, r.tasks, 1, CV_UNITS, &r.pooled);
        abl_err e = {0};
        T_CHECK(t, study_bootstrap(&r, &raw, (uint64_t)rep, &e) == ABL_OK);
        const study_corr *c = &T[0].c_drop;
        cover_r += c->pearson_lo <= r_true && r_true <= c->pearson_hi;
        width += c->pearson_hi - c->pearson_lo;
        cover_s += c->spearman_lo <= s_true && s_true <= c->spearman_hi;
        cover_k += c->kendall_lo <= k_true && k_true <= c->kendall_hi;
        for (int u = 0; u < CV_UNITS; u++, n_d++) /* drops in points */
            cover_d += T[0].drop_lo[u] <= 100 * drop_true[u] &&
                       100 * drop_true[u] <= T[0].drop_hi[u];
        study_task_free(&T[0]);
        study_task_free(&r.pooled);
        free(r.conf.rank_cos);
        free(r.conf.rank_drop);
    }
    double cr = (double)cover_r / CV_REPS, cd = (double)cover_d / n_d;
    t_note(t, "true pearson %.4f: coverage %.1f%% (mean width %.3f); drops: coverage %.1f%% of "
           "%d intervals; %d studies x %d resamples", r_true, 100 * cr, width / CV_REPS, 100 * cd,
           n_d, CV_REPS, CV_BOOT);
    t_note(t, "rank correlations (measured, not asserted: their bootstrap distribution is "
           "discrete): spearman %.4f covered %.1f%%, kendall %.4f covered %.1f%%", s_true,
           100.0 * cover_s / CV_REPS, k_true, 100.0 * cover_k / CV_REPS);
    T_CHECK(t, cr >= 0.93 && cr <= 0.97);
    T_CHECK(t, cd >= 0.93 && cd <= 0.97);
}
