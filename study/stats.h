/* study/stats.h - the statistics of the study: mean, standard error, Pearson, Spearman (average
 * ranks), Kendall tau-b, discordant-pair share, a seeded RNG and percentile bootstrap CIs. */
#ifndef STATS_H
#define STATS_H

#include <stdint.h>

/* Arithmetic mean of x[0..n). NaN when n == 0. */
double stats_mean(const double *x, int n);

/* Standard error of the mean: sample standard deviation (n - 1 divisor) / sqrt(n), as
 * lm-eval-harness reports it. NaN when n < 2. */
double stats_se(const double *x, int n);

/* Pearson correlation of (x, y), n pairs, in double. NaN when n < 2 or either side is constant
 * (the correlation is undefined there, never silently 0). */
double stats_pearson(const double *x, const double *y, int n);

/* Ranks 1..n of x into rank (n), ties get the average of the ranks they span. work: 2n ints
 * of scratch owned by the caller. NaN inputs are a programmer error (asserted). */
void stats_rank(const double *x, int n, double *rank, int *work);

/* Spearman rho = Pearson of the average ranks. Allocates its scratch; NaN on allocation
 * failure and when undefined (n < 2, a constant side). */
double stats_spearman(const double *x, const double *y, int n);

/* Kendall tau-b: (C - D) / sqrt((n0 - n1)(n0 - n2)) with n0 = n(n-1)/2 pairs, n1 / n2 pairs tied
 * in x / y. O(n^2), meant for tens of blocks. NaN when a side is constant or n < 2. */
double stats_kendall_b(const double *x, const double *y, int n);

/* Share of discordant pairs among the pairs ordered by both x and y (pairs tied on either side
 * are left out): D / (C + D). With x = cosine score and y = accuracy drop it is the share of
 * block pairs whose relative importance the cosine score gets wrong. NaN when C + D == 0.
 * *n_pairs (may be NULL) receives C + D. */
double stats_discordant_share(const double *x, const double *y, int n, int *n_pairs);

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

/* Percentile interval [lo, hi] at level (0.95) of the bootstrap replicates v (n, sorted in
 * place; NaN replicates ignored). */
void stats_percentile_ci(double *v, int n, double level, double *lo, double *hi);

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

#endif
