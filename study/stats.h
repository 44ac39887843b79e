/* study/stats.h - the statistics of the study: mean, standard error, Pearson, Spearman (average
 * ranks), Kendall tau-b, gamma, discordant-pair share, a seeded RNG, percentile bootstrap CIs
 * (stats.c); normal quantiles, binomial intervals and the Wilcoxon test (stats_ci.c). */
#ifndef STATS_H
#define STATS_H

#include <stdint.h>

/* Arithmetic mean of x[0..n). NaN when n == 0. */
double stats_mean(const double *x, int n);

/* Standard error of the mean: sample standard deviation (n - 1 divisor) / sqrt(n), as
 * lm-eval-harness reports it. NaN when n < 2. */
double stats_se(const double *x, int n);

/* Standard error of the ratio estimator R = sum h / sum w over n clusters (documents with h
 * hits among w tokens), by the delta method: sqrt(sum (h_i - R w_i)^2 / (n (n - 1))) / mean w.
 * With every w = 1 it is stats_se(h). NaN when n < 2 or sum w <= 0. */
double stats_ratio_se(const double *h, const double *w, int n);

/* Pearson correlation of (x, y), n pairs, in double. NaN when n < 2 or either side is constant
 * (the correlation is undefined there, never silently 0). */
double stats_pearson(const double *x, const double *y, int n);

/* Ranks 1..n of x into rank (n), ties get the average of the ranks they span. work: 2n ints
 * of scratch owned by the caller. NaN inputs are a programmer error (asserted). */
void stats_rank(const double *x, int n, double *rank, int *work);

/* Spearman rho = Pearson of the average ranks. Allocates its scratch; NaN on allocation
 * failure and when undefined (n < 2, a constant side). */
double stats_spearman(const double *x, const double *y, int n);
/* The same without allocating: ranks (2n doubles) and work (2n ints) are the caller's. */
double stats_spearman_buf(const double *x, const double *y, int n, double *ranks, int *work);

/* Kendall tau-b: (C - D) / sqrt((n0 - n1)(n0 - n2)) with n0 = n(n-1)/2 pairs, n1 / n2 pairs tied
 * in x / y. O(n^2), meant for tens of blocks. NaN when a side is constant or n < 2. */
double stats_kendall_b(const double *x, const double *y, int n);

/* Share of discordant pairs among the pairs ordered by both x and y (pairs tied on either side
 * are left out): D / (C + D). With x = cosine score and y = accuracy drop it is the share of
 * block pairs whose relative importance the cosine score gets wrong. NaN when C + D == 0.
 * *n_pairs (may be NULL) receives C + D. */
double stats_discordant_share(const double *x, const double *y, int n, int *n_pairs);

/* Goodman-Kruskal gamma (C - D) / (C + D), pairs tied on either side left out. The discordant
 * share above equals (1 - gamma) / 2. NaN when C + D == 0. */
double stats_gamma(const double *x, const double *y, int n);

/* Copy the pairs (x[i], y[i]) where both are finite into a, b (n each, caller's); returns how
 * many. The correlations above take no NaN: filter with this first. */
int stats_finite_pairs(const double *x, const double *y, int n, double *a, double *b);

/* ---- seeded randomness and bootstrap --------------------------------------------------- */

/* xoshiro256** seeded through splitmix64: the same seed gives the same stream on every
 * platform. Plain data; one per thread. */
typedef struct {
    uint64_t s[4];
} stats_rng;

void stats_rng_seed(stats_rng *r, uint64_t seed);
uint64_t stats_rng_next(stats_rng *r);
/* Uniform integer in [0, n), n >= 1, without modulo bias. */
uint32_t stats_rng_below(stats_rng *r, uint32_t n);

/* Quantile q in [0, 1] of v (n values; sorted in place; NaN values are dropped first) with
 * linear interpolation between order statistics (type 7). NaN when no finite value. */
double stats_quantile(double *v, int n, double q);

/* Percentile interval [lo, hi] at level (0.95) of the bootstrap replicates v (n; compacted and
 * sorted in place): both quantiles of the finite replicates only. Returns how many replicates
 * were undefined (NaN); lo = hi = NaN when all were. */
int stats_percentile_ci(double *v, int n, double level, double *lo, double *hi);

/* One bootstrap replicate: fn gets the resampled item indices idx (n_items, drawn with
 * replacement) and returns the statistic (NaN allowed: that replicate is ignored). */
typedef double (*stats_boot_fn)(void *user, const int *idx, int n_items);

/* Draw n_rep resamples of n_items items with the given seed, evaluate fn on each, and return
 * the percentile CI at level in *lo, *hi. Deterministic for a seed. Returns 0, or -1 when
 * allocation fails (then *lo = *hi = NaN). Not thread-safe only through fn. */
int stats_bootstrap_ci(stats_boot_fn fn, void *user, int n_items, int n_rep, uint64_t seed,
                       double level, double *lo, double *hi);

/* Bootstrap CI of mean(x) over items. */
int stats_boot_mean_ci(const double *x, int n, int n_rep, uint64_t seed, double level,
                       double *lo, double *hi);

/* Paired bootstrap CI of mean(a - b): the same items are resampled for both sides (the CI of a
 * block's accuracy drop, a = intact correctness, b = correctness with the block removed). */
int stats_boot_paired_ci(const double *a, const double *b, int n, int n_rep, uint64_t seed,
                         double level, double *lo, double *hi);

/* ---- intervals and tests (stats_ci.c) --------------------------------------------------- */

/* Standard normal CDF and its inverse (p in (0, 1); +-inf at 0 and 1, NaN outside). */
double stats_norm_cdf(double z);
double stats_norm_ppf(double p);

/* Wilson score interval for k successes in n trials at level (0.95): [lo, hi] in [0, 1].
 * NaN when n <= 0. Matches scipy.stats.binomtest(k, n).proportion_ci(method='wilson'). */
void stats_wilson_ci(double k, double n, double level, double *lo, double *hi);

/* Clopper-Pearson (exact binomial) interval for k of n at level; lo = 0 when k = 0, hi = 1 when
 * k = n. NaN when n <= 0 or k outside [0, n]. Matches proportion_ci(method='exact'). */
void stats_exact_binom_ci(int k, int n, double level, double *lo, double *hi);

/* Interval for the difference of two paired proportions p1 - p2 from the 2x2 table of n pairs:
 * a = both 1, b = first 1 only, c = second 1 only, d = both 0 (p1 = (a+b)/n, p2 = (a+c)/n).
 * Newcombe's hybrid score interval (1998, method 10): Wilson intervals of p1 and p2 combined
 * with the phi correlation of the pairs. Honest with few discordant pairs: b = c = 0 gives a
 * non-zero width. NaN when n <= 0. */
void stats_newcombe_paired_ci(int a, int b, int c, int d, double level, double *lo, double *hi);

/* Two-sided Wilcoxon signed-rank test of the differences d (n; NaN entries are a programmer
 * error). Zeros are dropped (Wilcoxon's method), |d| ranked with average ranks. *stat =
 * min(R+, R-). p: with n <= 50, no zeros and no ties the exact null distribution; else with
 * n <= 13 the exact sign-flip distribution of the tied ranks; else the normal approximation
 * with the tie correction, no continuity correction (scipy.stats.wilcoxon's defaults).
 * *method (may be NULL) gets "exact", "exact-permutation" or "normal". Returns 0, -1 when no
 * difference is non-zero (then stat = p = NaN), -2 on allocation failure. */
int stats_wilcoxon(const double *d, int n, double *stat, double *p, const char **method);

#endif
