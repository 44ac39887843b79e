/* tests/test_stats_golden.c - every statistic of study/stats*.c against numpy/scipy values in
 * tests/golden/stats_golden.tsv (tools/golden/stats_golden.py), plus planted-fault checks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/file.h"
#include "../study/stats.h"
#include "t.h"

#define GOLDEN "tests/golden/stats_golden.tsv"

/* Comma list -> v (cap); returns the count. "nan" parses as NaN. */
static int parse_list(const char *s, const char *end, double *v, int cap)
{
    int n = 0;
    while (s < end && n < cap) {
        char *e;
        v[n++] = strtod(s, &e);
        if (e == s)
            return -1;
        s = e;
        if (*s == ',')
            s++;
    }
    return n;
}

/* Both NaN, or within tol (absolute + relative). */
static int same(double got, double want, double tol)
{
    if (isnan(want) || isnan(got))
        return isnan(want) && isnan(got);
    return fabs(got - want) <= tol * (1 + fabs(want));
}

typedef struct {
    char kind[16], name[64];
    double x[4096], y[4096], want[8];
    int nx, ny, nw;
} gcase;

/* Calls fn on every golden case; returns how many were read. */
static int each_case(tctx *t, void (*fn)(tctx *, const gcase *, int *), int *worst_fail)
{
    char *buf = NULL;
    size_t len = 0;
    abl_err e = {0};
    if (abl_read_file(GOLDEN, 0, "run tools/golden/stats_golden.py", &buf, &len, &e)) {
        t_fail(t, "%s", e.msg);
        return 0;
    }
    static gcase g;
    int n = 0;
    for (char *line = buf; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        if (line[0] != '#' && line[0]) {
            char *f[5] = {line, NULL, NULL, NULL, NULL};
            for (int i = 1; i < 5; i++) {
                f[i] = f[i - 1] ? strchr(f[i - 1], '\t') : NULL;
                if (f[i])
                    *f[i]++ = 0;
            }
            if (!f[4]) {
                t_fail(t, "%s: malformed line '%.40s'", GOLDEN, line);
                break;
            }
            snprintf(g.kind, sizeof g.kind, "%s", f[0]);
            snprintf(g.name, sizeof g.name, "%s", f[1]);
            g.nx = parse_list(f[2], f[2] + strlen(f[2]), g.x, 4096);
            g.ny = parse_list(f[3], f[3] + strlen(f[3]), g.y, 4096);
            g.nw = parse_list(f[4], f[4] + strlen(f[4]), g.want, 8);
            fn(t, &g, worst_fail);
            n++;
        }
        line = nl ? nl + 1 : NULL;
    }
    free(buf);
    return n;
}

static void check(tctx *t, const gcase *g, const char *what, double got, double want,
                  double tol, int *fails)
{
    if (!same(got, want, tol)) {
        (*fails)++;
        t_fail(t, "%s %s %s: got %.17g, scipy %.17g", g->kind, g->name, what, got, want);
    }
}

static void one(tctx *t, const gcase *g, int *fails)
{
    if (!strcmp(g->kind, "corr")) {
        double a[4096], b[4096];
        int m = stats_finite_pairs(g->x, g->y, g->nx, a, b);
        check(t, g, "pearson", stats_pearson(a, b, m), g->want[0], 1e-12, fails);
        check(t, g, "spearman", stats_spearman(a, b, m), g->want[1], 1e-12, fails);
        check(t, g, "kendall", stats_kendall_b(a, b, m), g->want[2], 1e-12, fails);
        check(t, g, "gamma", stats_gamma(a, b, m), g->want[3], 1e-14, fails);
        check(t, g, "discordant", stats_discordant_share(a, b, m, NULL), g->want[4], 1e-14,
              fails);
        double gm = stats_gamma(a, b, m), ds = stats_discordant_share(a, b, m, NULL);
        if (!isnan(gm))
            check(t, g, "discordant = (1 - gamma) / 2", ds, (1 - gm) / 2, 1e-14, fails);
    } else if (!strcmp(g->kind, "pct")) {
        double v[4096], lo, hi;
        memcpy(v, g->x, sizeof(double) * (size_t)g->nx);
        int undef = stats_percentile_ci(v, g->nx, 0.95, &lo, &hi);
        int nan_in = 0;
        for (int i = 0; i < g->nx; i++)
            nan_in += isnan(g->x[i]);
        check(t, g, "q2.5", lo, g->want[0], 1e-13, fails);
        check(t, g, "q97.5", hi, g->want[1], 1e-13, fails);
        check(t, g, "undefined replicates", undef, nan_in, 0, fails);
        memcpy(v, g->x, sizeof(double) * (size_t)g->nx);
        check(t, g, "q25", stats_quantile(v, g->nx, 0.25), g->want[2], 1e-13, fails);
    } else if (!strcmp(g->kind, "wilson") || !strcmp(g->kind, "exact")) {
        double lo, hi;
        if (g->kind[0] == 'w')
            stats_wilson_ci(g->x[0], g->x[1], 0.95, &lo, &hi);
        else
            stats_exact_binom_ci((int)g->x[0], (int)g->x[1], 0.95, &lo, &hi);
        check(t, g, "lo", lo, g->want[0], 1e-10, fails);
        check(t, g, "hi", hi, g->want[1], 1e-10, fails);
    } else if (!strcmp(g->kind, "newcombe")) {
        double lo, hi;
        stats_newcombe_paired_ci((int)g->x[0], (int)g->x[1], (int)g->x[2], (int)g->x[3], 0.95,
                                 &lo, &hi);
        check(t, g, "lo", lo, g->want[0], 1e-10, fails);
        check(t, g, "hi", hi, g->want[1], 1e-10, fails);
    } else if (!strcmp(g->kind, "wilcoxon")) {
        double st, p;
        const char *how;
        T_CHECK(t, stats_wilcoxon(g->x, g->nx, &st, &p, &how) == 0);
        check(t, g, "statistic", st, g->want[0], 1e-12, fails);
        check(t, g, how, p, g->want[1], 1e-10, fails);
    } else {
        t_fail(t, "%s: unknown kind '%s'", GOLDEN, g->kind);
    }
}

void test_stats_golden_scipy(tctx *t)
{
    int fails = 0;
    int n = each_case(t, one, &fails);
    t_note(t, "%d golden cases from %s, %d mismatches", n, GOLDEN, fails);
    T_CHECK(t, n >= 90);
}

/* The double-counting defect: with NaN replicates the upper quantile re-scanned the compacted
 * array and counted finite replicates twice ({NaN,1,2,NaN,3,4} gave 4.000, numpy 3.925). */
void test_stats_percentile_ci_nan_replicates(tctx *t)
{
    double v[] = {NAN, 1, 2, NAN, 3, 4}, lo, hi;
    int undef = stats_percentile_ci(v, 6, 0.95, &lo, &hi);
    t_note(t, "ci [%.6f, %.6f], %d undefined", lo, hi, undef);
    T_CHECK(t, fabs(lo - 1.075) < 1e-12);
    T_CHECK(t, fabs(hi - 3.925) < 1e-12);
    T_CHECK(t, undef == 2);
    double all[] = {NAN, NAN};
    T_CHECK(t, stats_percentile_ci(all, 2, 0.95, &lo, &hi) == 2 && isnan(lo) && isnan(hi));
}

/* Planted faults: each statistic moves when its input is perturbed in the way it must notice. */
void test_stats_planted_faults(tctx *t)
{
    double x[] = {1, 2, 3, 4, 5, 6}, y[] = {1, 2, 3, 4, 5, 6};
    T_CHECK(t, stats_kendall_b(x, y, 6) == 1 && stats_gamma(x, y, 6) == 1);
    y[5] = 0; /* one point moved to the other end: 5 discordant pairs of 15 */
    T_CHECK(t, fabs(stats_discordant_share(x, y, 6, NULL) - 5.0 / 15) < 1e-15);
    T_CHECK(t, fabs(stats_gamma(x, y, 6) - (10 - 5) / 15.0) < 1e-15);
    /* Wilson and exact intervals of 0 of n are never [0, 0] */
    double lo, hi;
    stats_wilson_ci(0, 12, 0.95, &lo, &hi);
    T_CHECK(t, lo == 0 && hi > 0.2);
    stats_exact_binom_ci(0, 12, 0.95, &lo, &hi);
    T_CHECK(t, lo == 0 && hi > 0.25);
    /* no flipped item among 12: the paired interval still has width */
    stats_newcombe_paired_ci(9, 0, 0, 3, 0.95, &lo, &hi);
    t_note(t, "no flips, 12 items: [%.4f, %.4f]", lo, hi);
    T_CHECK(t, lo < -0.05 && hi > 0.05);
    /* Wilcoxon: a shift makes p small, a symmetric sample leaves it large */
    double d[12], st, p;
    for (int i = 0; i < 12; i++)
        d[i] = 1 + 0.1 * i;
    T_CHECK(t, stats_wilcoxon(d, 12, &st, &p, NULL) == 0 && st == 0 && p < 0.001);
    for (int i = 0; i < 12; i++)
        d[i] = (i % 2 ? -1 : 1) * (1 + 0.1 * (i / 2));
    T_CHECK(t, stats_wilcoxon(d, 12, &st, &p, NULL) == 0 && p > 0.5);
    double z[3] = {0, 0, 0};
    T_CHECK(t, stats_wilcoxon(z, 3, &st, &p, NULL) == -1 && isnan(p));
    /* normal quantile */
    T_CHECK(t, fabs(stats_norm_ppf(0.975) - 1.959963984540054) < 1e-13);
    T_CHECK(t, fabs(stats_norm_ppf(1e-10) + 6.361340902404056) < 1e-10);
}
