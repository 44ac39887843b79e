/* tests/test_stats.c - the study's statistics against hand-computed and textbook values,
 * ties for Spearman and Kendall, bootstrap determinism, and SHA-256 against FIPS vectors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../base/sha256.h"
#include "../study/stats.h"
#include "t.h"

static int near(tctx *t, const char *what, double got, double want, double tol)
{
    t_note(t, "%s: got %.12g want %.12g abs_diff %.3g", what, got, want, fabs(got - want));
    if (!(fabs(got - want) <= tol)) {
        t_fail(t, "%s: got %.12g, want %.12g", what, got, want);
        return 0;
    }
    return 1;
}

void test_stats_mean_se(tctx *t)
{
    double x[] = {1, 0, 1, 1};
    near(t, "mean", stats_mean(x, 4), 0.75, 1e-15);
    /* sample variance (3 * 0.0625 + 0.5625) / 3 = 0.25; se = sqrt(0.25 / 4) */
    near(t, "se", stats_se(x, 4), 0.25, 1e-15);
    T_CHECK(t, isnan(stats_mean(x, 0)));
    T_CHECK(t, isnan(stats_se(x, 1)));
}

void test_stats_pearson_textbook(tctx *t)
{
    /* sxy = 6, sxx = 10, syy = 6: r = 6 / sqrt(60) = sqrt(0.6) */
    double x[] = {1, 2, 3, 4, 5}, y[] = {2, 4, 5, 4, 5};
    near(t, "pearson", stats_pearson(x, y, 5), sqrt(0.6), 1e-14);
    double ny[] = {-2, -4, -5, -4, -5};
    near(t, "pearson negated", stats_pearson(x, ny, 5), -sqrt(0.6), 1e-14);
    double c[] = {3, 3, 3, 3, 3};
    T_CHECK(t, isnan(stats_pearson(x, c, 5))); /* undefined, never 0 */
    near(t, "perfect", stats_pearson(x, x, 5), 1.0, 1e-15);
}

void test_stats_ranks_with_ties(tctx *t)
{
    double x[] = {10, 20, 20, 5, 20}, r[5];
    int w[10];
    stats_rank(x, 5, r, w);
    double want[] = {2, 4, 4, 1, 4}; /* the three 20s share ranks 3,4,5 -> 4 */
    for (int i = 0; i < 5; i++)
        T_CHECK(t, r[i] == want[i]);
}

void test_stats_spearman_kendall_ties(tctx *t)
{
    /* Hand computation: rank x = (1, 2.5, 2.5, 4, 5), rank y = (1, 4, 2.5, 2.5, 5);
     * deviations from 3 give sxy = 7.25, sxx = syy = 9.5: rho = 7.25 / 9.5.
     * Pairs: 7 concordant, 1 discordant, (1,2) tied in x, (2,3) tied in y; 9 untied on each
     * side: tau-b = (7 - 1) / sqrt(9 * 9) = 2/3. Discordant share = 1 / 8. */
    double x[] = {1, 2, 2, 3, 4}, y[] = {1, 3, 2, 2, 5};
    near(t, "spearman", stats_spearman(x, y, 5), 7.25 / 9.5, 1e-14);
    near(t, "kendall tau-b", stats_kendall_b(x, y, 5), 2.0 / 3.0, 1e-14);
    int np = 0;
    near(t, "discordant share", stats_discordant_share(x, y, 5, &np), 0.125, 1e-15);
    T_CHECK(t, np == 8);
    /* Without ties tau-b is tau-a: x = 1..4, y = (1, 3, 2, 4): C = 5, D = 1 -> 4/6 */
    double a[] = {1, 2, 3, 4}, b[] = {1, 3, 2, 4};
    near(t, "kendall no ties", stats_kendall_b(a, b, 4), 4.0 / 6.0, 1e-14);
    /* Spearman without ties = 1 - 6 sum d^2 / (n (n^2 - 1)) = 1 - 12/60 */
    near(t, "spearman no ties", stats_spearman(a, b, 4), 0.8, 1e-14);
    double c[] = {1, 1, 1, 1};
    T_CHECK(t, isnan(stats_kendall_b(a, c, 4)));
    T_CHECK(t, isnan(stats_discordant_share(a, c, 4, NULL)));
}

void test_stats_quantile(tctx *t)
{
    double v[] = {4, 1, NAN, 3, 2};
    near(t, "q25", stats_quantile(v, 5, 0.25), 1.75, 1e-15);
    double w[] = {4, 1, 3, 2};
    near(t, "q100", stats_quantile(w, 4, 1.0), 4, 0);
    near(t, "q0", stats_quantile(w, 4, 0.0), 1, 0);
}

void test_stats_rng_deterministic(tctx *t)
{
    stats_rng a, b;
    stats_rng_seed(&a, 42);
    stats_rng_seed(&b, 42);
    int same = 1;
    for (int i = 0; i < 100; i++)
        same &= stats_rng_next(&a) == stats_rng_next(&b);
    T_CHECK(t, same);
    /* uniformity of below(): 6 buckets, 60000 draws, each within 5% of 10000 */
    int cnt[6] = {0};
    for (int i = 0; i < 60000; i++)
        cnt[stats_rng_below(&a, 6)]++;
    for (int k = 0; k < 6; k++)
        T_CHECK(t, abs(cnt[k] - 10000) < 500);
}

void test_stats_bootstrap(tctx *t)
{
    enum { N = 400 };
    double x[N], y[N];
    for (int i = 0; i < N; i++) {
        x[i] = (i * 7) % 10 < 6;     /* 60% ones */
        y[i] = (i * 7) % 10 < 4;     /* 40% ones, paired */
    }
    double lo1, hi1, lo2, hi2, lo3, hi3;
    T_CHECK(t, stats_boot_mean_ci(x, N, 2000, 7, 0.95, &lo1, &hi1) == 0);
    T_CHECK(t, stats_boot_mean_ci(x, N, 2000, 7, 0.95, &lo2, &hi2) == 0);
    T_CHECK(t, lo1 == lo2 && hi1 == hi2); /* same seed, same interval */
    T_CHECK(t, stats_boot_mean_ci(x, N, 2000, 8, 0.95, &lo3, &hi3) == 0);
    T_CHECK(t, lo3 != lo1 || hi3 != hi1);
    double m = stats_mean(x, N), se = stats_se(x, N);
    t_note(t, "mean %.4f ci [%.4f, %.4f] normal-approx half-width %.4f", m, lo1, hi1, 1.96 * se);
    T_CHECK(t, lo1 < m && m < hi1);
    T_CHECK(t, fabs((hi1 - lo1) / 2 - 1.96 * se) < 0.25 * 1.96 * se);
    /* paired: a - a is exactly 0 on every resample */
    T_CHECK(t, stats_boot_paired_ci(x, x, N, 1000, 1, 0.95, &lo1, &hi1) == 0);
    T_CHECK(t, lo1 == 0 && hi1 == 0);
    T_CHECK(t, stats_boot_paired_ci(x, y, N, 1000, 1, 0.95, &lo1, &hi1) == 0);
    t_note(t, "paired drop 0.2 ci [%.4f, %.4f]", lo1, hi1);
    T_CHECK(t, lo1 > 0.1 && lo1 < 0.2 && hi1 > 0.2 && hi1 < 0.3);
}

void test_stats_sha256_vectors(tctx *t)
{
    char hex[65];
    sha256_hex("", 0, hex);
    T_CHECK(t, !strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    sha256_hex("abc", 3, hex);
    T_CHECK(t, !strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(m, strlen(m), hex);
    T_CHECK(t, !strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
    /* one million 'a' fed in uneven chunks */
    static char a[1000];
    memset(a, 'a', sizeof a);
    sha256_ctx c;
    sha256_init(&c);
    for (int done = 0, k = 1; done < 1000000; k = k % 997 + 1) {
        int n = 1000000 - done < k ? 1000000 - done : k;
        sha256_update(&c, a, (size_t)n);
        done += n;
    }
    uint8_t d[32];
    sha256_final(&c, d);
    T_CHECK(t, d[0] == 0xcd && d[1] == 0xc7 && d[31] == 0xd0);
    abl_err e = {0};
    T_CHECK(t, sha256_file("/nonexistent/x", hex, &e) == ABL_E_IO);
    T_CHECK(t, strstr(e.msg, "/nonexistent/x") != NULL);
}
