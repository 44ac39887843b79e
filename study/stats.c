/* study/stats.c - correlation coefficients, ranks with ties, and the seeded percentile
 * bootstrap used for every confidence interval of the study. All sums in double. */
#include "stats.h"

#include <math.h>
#include <stdlib.h>

#include "../base/abl.h"

double stats_mean(const double *x, int n)
{
    if (n <= 0)
        return NAN;
    double s = 0;
    for (int i = 0; i < n; i++)
        s += x[i];
    return s / n;
}

double stats_se(const double *x, int n)
{
    if (n < 2)
        return NAN;
    double m = stats_mean(x, n), ss = 0;
    for (int i = 0; i < n; i++)
        ss += (x[i] - m) * (x[i] - m);
    return sqrt(ss / (n - 1) / n);
}

double stats_ratio_se(const double *h, const double *w, int n)
{
    if (n < 2)
        return NAN;
    double H = 0, W = 0;
    for (int i = 0; i < n; i++) {
        H += h[i];
        W += w[i];
    }
    if (!(W > 0))
        return NAN;
    double R = H / W, ss = 0;
    for (int i = 0; i < n; i++)
        ss += (h[i] - R * w[i]) * (h[i] - R * w[i]);
    return sqrt(ss / (n - 1) / n) / (W / n);
}

double stats_pearson(const double *x, const double *y, int n)
{
    if (n < 2)
        return NAN;
    double mx = stats_mean(x, n), my = stats_mean(y, n);
    double sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < n; i++) {
        double dx = x[i] - mx, dy = y[i] - my;
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if (sxx <= 0 || syy <= 0)
        return NAN;
    double r = sxy / sqrt(sxx * syy);
    return r > 1 ? 1 : r < -1 ? -1 : r;
}

/* Stable merge sort of indices by value (C11 qsort has no context pointer). */
static void sort_idx(const double *x, int *idx, int *tmp, int n)
{
    if (n < 2)
        return;
    int h = n / 2;
    sort_idx(x, idx, tmp, h);
    sort_idx(x, idx + h, tmp, n - h);
    int i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = x[idx[j]] < x[idx[i]] ? idx[j++] : idx[i++];
    while (i < h)
        tmp[k++] = idx[i++];
    while (j < n)
        tmp[k++] = idx[j++];
    for (k = 0; k < n; k++)
        idx[k] = tmp[k];
}

void stats_rank(const double *x, int n, double *rank, int *work)
{
    int *idx = work, *tmp = work + n;
    for (int i = 0; i < n; i++) {
        ABL_ASSERT(!isnan(x[i]));
        idx[i] = i;
    }
    sort_idx(x, idx, tmp, n);
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && x[work[j + 1]] == x[work[i]])
            j++;
        double r = (i + j) / 2.0 + 1; /* average of ranks i+1 .. j+1 */
        for (int k = i; k <= j; k++)
            rank[work[k]] = r;
        i = j + 1;
    }
}

double stats_spearman_buf(const double *x, const double *y, int n, double *ranks, int *work)
{
    if (n < 2)
        return NAN;
    stats_rank(x, n, ranks, work);
    stats_rank(y, n, ranks + n, work);
    return stats_pearson(ranks, ranks + n, n);
}

double stats_spearman(const double *x, const double *y, int n)
{
    if (n < 2)
        return NAN;
    double *rx = malloc(sizeof(double) * 2 * (size_t)n);
    int *w = malloc(sizeof(int) * 2 * (size_t)n);
    if (!rx || !w) {
        free(rx);
        free(w);
        return NAN;
    }
    stats_rank(x, n, rx, w);
    stats_rank(y, n, rx + n, w);
    double r = stats_pearson(rx, rx + n, n);
    free(rx);
    free(w);
    return r;
}

static int sgn(double v) { return (v > 0) - (v < 0); }

double stats_kendall_b(const double *x, const double *y, int n)
{
    if (n < 2)
        return NAN;
    double s = 0, nx = 0, ny = 0; /* s = C - D; nx, ny = pairs not tied in x, in y */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            int a = sgn(x[i] - x[j]), b = sgn(y[i] - y[j]);
            s += a * b;
            nx += a != 0;
            ny += b != 0;
        }
    if (nx == 0 || ny == 0)
        return NAN;
    return s / sqrt(nx * ny);
}

double stats_discordant_share(const double *x, const double *y, int n, int *n_pairs)
{
    int c = 0, d = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            int p = sgn(x[i] - x[j]) * sgn(y[i] - y[j]);
            c += p > 0;
            d += p < 0;
        }
    if (n_pairs)
        *n_pairs = c + d;
    return c + d ? (double)d / (c + d) : NAN;
}

double stats_gamma(const double *x, const double *y, int n)
{
    int c = 0, d = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            int p = sgn(x[i] - x[j]) * sgn(y[i] - y[j]);
            c += p > 0;
            d += p < 0;
        }
    return c + d ? (double)(c - d) / (c + d) : NAN;
}

int stats_finite_pairs(const double *x, const double *y, int n, double *a, double *b)
{
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i]) && isfinite(y[i])) {
            a[m] = x[i];
            b[m] = y[i];
            m++;
        }
    return m;
}

/* ---- RNG ------------------------------------------------------------------------------- */

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void stats_rng_seed(stats_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t stats_rng_next(stats_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

uint32_t stats_rng_below(stats_rng *r, uint32_t n)
{
    ABL_ASSERT(n >= 1);
    uint64_t lim = (UINT64_MAX / n) * n; /* reject the tail that would bias the modulo */
    uint64_t v;
    do
        v = stats_rng_next(r);
    while (v >= lim);
    return (uint32_t)(v % n);
}

/* ---- quantiles and bootstrap ----------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double stats_quantile(double *v, int n, double q)
{
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(v[i]))
            v[m++] = v[i];
    if (m == 0)
        return NAN;
    qsort(v, (size_t)m, sizeof *v, cmp_double);
    double h = (m - 1) * q;
    int lo = (int)floor(h);
    if (lo >= m - 1)
        return v[m - 1];
    return v[lo] + (h - lo) * (v[lo + 1] - v[lo]);
}

int stats_percentile_ci(double *v, int n, double level, double *lo, double *hi)
{
    int m = 0; /* compact the finite replicates once, sort once, take both quantiles there */
    for (int i = 0; i < n; i++)
        if (!isnan(v[i]))
            v[m++] = v[i];
    double a = (1 - level) / 2;
    *lo = stats_quantile(v, m, a);
    *hi = stats_quantile(v, m, 1 - a);
    return n - m;
}

int stats_bootstrap_ci(stats_boot_fn fn, void *user, int n_items, int n_rep, uint64_t seed,
                       double level, double *lo, double *hi)
{
    *lo = *hi = NAN;
    if (n_items <= 0 || n_rep <= 0)
        return 0;
    int *idx = malloc(sizeof(int) * (size_t)n_items);
    double *rep = malloc(sizeof(double) * (size_t)n_rep);
    if (!idx || !rep) {
        free(idx);
        free(rep);
        return -1;
    }
    stats_rng r;
    stats_rng_seed(&r, seed);
    for (int b = 0; b < n_rep; b++) {
        for (int i = 0; i < n_items; i++)
            idx[i] = (int)stats_rng_below(&r, (uint32_t)n_items);
        rep[b] = fn(user, idx, n_items);
    }
    stats_percentile_ci(rep, n_rep, level, lo, hi);
    free(idx);
    free(rep);
    return 0;
}

typedef struct {
    const double *a, *b;
} pair_arg;

static double mean_of(void *user, const int *idx, int n)
{
    const pair_arg *p = user;
    double s = 0;
    for (int i = 0; i < n; i++)
        s += p->a[idx[i]] - (p->b ? p->b[idx[i]] : 0);
    return s / n;
}

int stats_boot_mean_ci(const double *x, int n, int n_rep, uint64_t seed, double level,
                       double *lo, double *hi)
{
    pair_arg p = {x, NULL};
    return stats_bootstrap_ci(mean_of, &p, n, n_rep, seed, level, lo, hi);
}

int stats_boot_paired_ci(const double *a, const double *b, int n, int n_rep, uint64_t seed,
                         double level, double *lo, double *hi)
{
    pair_arg p = {a, b};
    return stats_bootstrap_ci(mean_of, &p, n, n_rep, seed, level, lo, hi);
}
