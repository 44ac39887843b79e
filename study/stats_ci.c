/* study/stats_ci.c - closed-form intervals and tests: normal quantiles, Wilson and Clopper-Pearson
 * binomial intervals, Newcombe's paired-difference interval, the Wilcoxon signed-rank test. */
#include <math.h>
#include <stdlib.h>

#include "../base/abl.h"
#include "stats.h"

double stats_norm_cdf(double z) { return 0.5 * erfc(-z / sqrt(2.0)); }

double stats_norm_ppf(double p)
{
    if (!(p >= 0 && p <= 1))
        return NAN;
    if (p == 0)
        return -INFINITY;
    if (p == 1)
        return INFINITY;
    /* Acklam's rational approximation (rel. error 1e-9), then two Newton steps on the CDF */
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                               2.445134137142996e+00, 3.754408661907416e+00};
    double x, q, r;
    if (p < 0.02425) {
        q = sqrt(-2 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else if (p > 1 - 0.02425) {
        q = sqrt(-2 * log1p(-p));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else {
        q = p - 0.5;
        r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }
    for (int it = 0; it < 2; it++) {
        double e = stats_norm_cdf(x) - p, pdf = exp(-0.5 * x * x) / sqrt(2 * M_PI);
        if (pdf > 0)
            x -= e / pdf;
    }
    return x;
}

void stats_wilson_ci(double k, double n, double level, double *lo, double *hi)
{
    *lo = *hi = NAN;
    if (!(n > 0) || !(k >= 0 && k <= n))
        return;
    double z = stats_norm_ppf(0.5 + level / 2), z2 = z * z, p = k / n;
    double den = 1 + z2 / n, mid = (p + z2 / (2 * n)) / den;
    double half = z * sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / den;
    *lo = fmax(0, mid - half);
    *hi = fmin(1, mid + half);
}

/* P(X <= k) for X ~ Binomial(n, p), summed in log space. */
static double binom_cdf(int k, int n, double p)
{
    if (p <= 0)
        return 1;
    if (p >= 1)
        return k >= n ? 1 : 0;
    double s = 0, lp = log(p), lq = log1p(-p), lgn = lgamma(n + 1.0);
    for (int i = 0; i <= k; i++)
        s += exp(lgn - lgamma(i + 1.0) - lgamma(n - i + 1.0) + i * lp + (n - i) * lq);
    return s > 1 ? 1 : s;
}

/* The p in (0, 1) where f(p) = binom_cdf(k, n, p) crosses target (f decreases in p). */
static double binom_solve(int k, int n, double target)
{
    double lo = 0, hi = 1;
    for (int it = 0; it < 200 && hi - lo > 1e-16; it++) {
        double mid = 0.5 * (lo + hi);
        if (binom_cdf(k, n, mid) > target)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

void stats_exact_binom_ci(int k, int n, double level, double *lo, double *hi)
{
    *lo = *hi = NAN;
    if (n <= 0 || k < 0 || k > n)
        return;
    double a = (1 - level) / 2;
    /* lo: P(X >= k | p) = a, i.e. cdf(k - 1) = 1 - a; hi: cdf(k) = a */
    *lo = k == 0 ? 0 : binom_solve(k - 1, n, 1 - a);
    *hi = k == n ? 1 : binom_solve(k, n, a);
}

void stats_newcombe_paired_ci(int a, int b, int c, int d, double level, double *lo, double *hi)
{
    *lo = *hi = NAN;
    int n = a + b + c + d;
    if (n <= 0 || a < 0 || b < 0 || c < 0 || d < 0)
        return;
    double p1 = (double)(a + b) / n, p2 = (double)(a + c) / n, l1, u1, l2, u2;
    stats_wilson_ci(a + b, n, level, &l1, &u1);
    stats_wilson_ci(a + c, n, level, &l2, &u2);
    double m = (double)(a + b) * (c + d) * (a + c) * (b + d);
    double phi = m > 0 ? ((double)a * d - (double)b * c) / sqrt(m) : 0;
    double dl = p1 - l1, du = u2 - p2, el = u1 - p1, eu = p2 - l2;
    double delta = p1 - p2;
    *lo = delta - sqrt(fmax(0, dl * dl - 2 * phi * dl * du + du * du));
    *hi = delta + sqrt(fmax(0, el * el - 2 * phi * el * eu + eu * eu));
    *lo = fmax(*lo, -1);
    *hi = fmin(*hi, 1);
}

/* ---- Wilcoxon signed-rank ------------------------------------------------------------------ */

int stats_wilcoxon(const double *d, int n, double *stat, double *p, const char **method)
{
    *stat = *p = NAN;
    if (method)
        *method = "none";
    double *ad = malloc(sizeof(double) * 2 * (size_t)(n > 0 ? n : 1));
    int *w = malloc(sizeof(int) * 2 * (size_t)(n > 0 ? n : 1));
    char *pos = malloc((size_t)(n > 0 ? n : 1));
    if (!ad || !w || !pos) {
        free(ad);
        free(w);
        free(pos);
        return -2;
    }
    double *rk = ad + n;
    int m = 0;
    for (int i = 0; i < n; i++) {
        ABL_ASSERT(!isnan(d[i]));
        if (d[i] != 0) {
            pos[m] = d[i] > 0;
            ad[m++] = fabs(d[i]);
        }
    }
    int rc = -1;
    if (m == 0)
        goto done;
    stats_rank(ad, m, rk, w);
    double rp = 0, rm = 0, ties = 0;
    for (int i = 0; i < m; i++)
        if (pos[i])
            rp += rk[i];
        else
            rm += rk[i];
    /* tie groups: sum of t^3 - t over runs of equal |d| (w[0..m) is the sorted order) */
    for (int i = 0; i < m;) {
        int j = i;
        while (j + 1 < m && ad[w[j + 1]] == ad[w[i]])
            j++;
        double t = j - i + 1;
        ties += t * t * t - t;
        i = j + 1;
    }
    *stat = fmin(rp, rm);
    int zeros = n - m;
    if (n <= 50 && ties == 0 && zeros == 0) {
        /* exact: number of subsets of ranks 1..m with each sum (counts exact in double) */
        int tot = m * (m + 1) / 2;
        double *cnt = calloc((size_t)tot + 1, sizeof(double));
        if (!cnt) {
            rc = -2;
            goto done;
        }
        cnt[0] = 1;
        for (int r = 1; r <= m; r++)
            for (int s = tot; s >= r; s--)
                cnt[s] += cnt[s - r];
        double le = 0, ge = 0, all = ldexp(1.0, m);
        for (int s = 0; s <= tot; s++) {
            if (s <= rp + 1e-9)
                le += cnt[s];
            if (s >= rp - 1e-9)
                ge += cnt[s];
        }
        free(cnt);
        *p = fmin(1, 2 * fmin(le, ge) / all);
        if (method)
            *method = "exact";
    } else if (n <= 13) {
        /* exact over the 2^m sign flips of the (tied) ranks */
        double le = 0, ge = 0, eps = 1e-9 * (1 + rp);
        for (long mask = 0; mask < (1L << m); mask++) {
            double s = 0;
            for (int i = 0; i < m; i++)
                if (mask >> i & 1)
                    s += rk[i];
            le += s <= rp + eps;
            ge += s >= rp - eps;
        }
        *p = fmin(1, 2 * fmin(le, ge) / ldexp(1.0, m));
        if (method)
            *method = "exact-permutation";
    } else {
        double mn = m * (m + 1) / 4.0;
        double se = sqrt(((double)m * (m + 1) * (2.0 * m + 1) - ties / 2) / 24);
        double z = se > 0 ? (rp - mn) / se : 0;
        *p = fmin(1, 2 * stats_norm_cdf(-fabs(z)));
        if (method)
            *method = "normal";
    }
    rc = 0;
done:
    free(ad);
    free(w);
    free(pos);
    return rc;
}
