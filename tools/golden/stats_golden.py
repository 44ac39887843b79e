#!/usr/bin/env python3
"""tools/golden/stats_golden.py - reference values for study/stats*.c from numpy and scipy.

Writes tests/golden/stats_golden.tsv (run by a developer; never at build or test time):
one case per line, tab separated: kind, name, then comma lists of inputs and expected values.
  corr      x  y  -> pearson spearman kendall_tau_b gamma discordant_share   (NaN pairs dropped)
  pct       v     -> q(0.025) q(0.975) q(0.25) of the finite values (linear, numpy type 7)
  wilson    k,n   -> lo hi  (scipy binomtest proportion_ci 'wilson', 95%)
  exact     k,n   -> lo hi  (scipy binomtest proportion_ci 'exact' = Clopper-Pearson, 95%)
  newcombe  a,b,c,d -> lo hi (Newcombe 1998 method 10 from scipy's Wilson intervals)
  wilcoxon  d     -> statistic p (scipy.stats.wilcoxon, two-sided, defaults)
Usage: python3 tools/golden/stats_golden.py [out.tsv]
"""
import math
import sys
import warnings

import numpy as np
import scipy
from scipy import stats

warnings.simplefilter("ignore")
rows = []


def fmt(v):
    return ",".join(repr(float(x)) for x in v)


def corr_row(name, x, y):
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y)
    a, b = x[keep], y[keep]
    n = len(a)
    nan = float("nan")
    if n < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        pe = sp = kt = nan
    else:
        pe = stats.pearsonr(a, b).statistic
        sp = stats.spearmanr(a, b).statistic
        kt = stats.kendalltau(a, b, variant="b").statistic
    c = d = 0
    for i in range(n):
        for j in range(i + 1, n):
            s = np.sign(a[i] - a[j]) * np.sign(b[i] - b[j])
            c += s > 0
            d += s < 0
    gamma = (c - d) / (c + d) if c + d else nan
    disc = d / (c + d) if c + d else nan
    rows.append(("corr", name, fmt(x), fmt(y), fmt([pe, sp, kt, gamma, disc])))


def pct_row(name, v):
    v = np.asarray(v, float)
    f = v[np.isfinite(v)]
    q = [np.percentile(f, p) for p in (2.5, 97.5, 25)] if len(f) else [float("nan")] * 3
    rows.append(("pct", name, fmt(v), "", fmt(q)))


rng = np.random.default_rng(20261204)
# random continuous data, n = 2..30, with a planted correlation
for n in range(2, 31):
    x = rng.normal(size=n)
    y = 0.6 * x + rng.normal(size=n)
    corr_row(f"rand_n{n}", x, y)
# heavy ties: small integer ranges
for n in (3, 5, 8, 13, 21, 30):
    corr_row(f"ties_n{n}", rng.integers(0, 3, n), rng.integers(0, 4, n))
# NaNs inside (pairs with a NaN on either side are dropped)
for n in (4, 9, 17, 30):
    x = rng.normal(size=n)
    y = x + rng.normal(size=n)
    x[rng.choice(n, size=max(1, n // 4), replace=False)] = np.nan
    y[rng.choice(n, size=1)] = np.nan
    corr_row(f"nans_n{n}", x, y)
# constant vectors: every coefficient undefined
corr_row("const_x", [2, 2, 2, 2, 2], [1, 2, 3, 4, 5])
corr_row("const_y", [1, 2, 3, 4, 5, 6], [7, 7, 7, 7, 7, 7])
corr_row("n1", [1], [2])
# perfectly monotone: rank coefficients exactly +-1, Pearson below 1 when nonlinear
corr_row("mono_up", np.arange(1, 11), np.exp(np.arange(1, 11) / 2))
corr_row("mono_down", np.arange(1, 16), -np.arange(1, 16) ** 3)
corr_row("linear", np.arange(30), 3 * np.arange(30) - 7)
corr_row("n2", [0.1, 0.9], [5, 1])
# one extreme point (the study's block 0)
x = np.r_[0.99, rng.uniform(0.02, 0.2, 29)]
corr_row("outlier_block0", x, np.r_[60, rng.normal(2, 2, 29)])

pct_row("nan_double_count", [np.nan, 1, 2, np.nan, 3, 4])
pct_row("no_nan", rng.normal(size=1000))
pct_row("many_nan", np.r_[rng.normal(size=200), [np.nan] * 60])
pct_row("all_nan", [np.nan, np.nan])
pct_row("one", [3.5])
pct_row("ties", [1, 1, 1, 2, 2, 3])

for k, n in [(0, 12), (12, 12), (1, 12), (6, 12), (3, 7), (0, 1), (1, 1), (50, 100),
             (917, 1838), (1, 2000), (1999, 2000), (0, 3000)]:
    bt = stats.binomtest(k, n)
    w = bt.proportion_ci(0.95, method="wilson")
    e = bt.proportion_ci(0.95, method="exact")
    rows.append(("wilson", f"k{k}_n{n}", fmt([k, n]), "", fmt([w.low, w.high])))
    rows.append(("exact", f"k{k}_n{n}", fmt([k, n]), "", fmt([e.low, e.high])))


def wilson(k, n):
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
    return ci.low, ci.high


def newcombe(a, b, c, d):
    n = a + b + c + d
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson(a + b, n)
    l2, u2 = wilson(a + c, n)
    m = (a + b) * (c + d) * (a + c) * (b + d)
    phi = (a * d - b * c) / math.sqrt(m) if m > 0 else 0.0
    dl, du, el, eu = p1 - l1, u2 - p2, u1 - p1, p2 - l2
    lo = p1 - p2 - math.sqrt(max(0.0, dl * dl - 2 * phi * dl * du + du * du))
    hi = p1 - p2 + math.sqrt(max(0.0, el * el - 2 * phi * el * eu + eu * eu))
    return max(lo, -1.0), min(hi, 1.0)


for a, b, c, d in [(9, 0, 0, 3), (12, 0, 0, 0), (0, 0, 0, 12), (5, 3, 1, 3), (400, 60, 20, 520),
                   (0, 12, 0, 0), (6, 2, 2, 2), (900, 5, 0, 933)]:
    rows.append(("newcombe", f"a{a}b{b}c{c}d{d}", fmt([a, b, c, d]), "",
                 fmt(newcombe(a, b, c, d))))


def wil_row(name, d):
    r = stats.wilcoxon(d)
    rows.append(("wilcoxon", name, fmt(d), "", fmt([r.statistic, r.pvalue])))


for n in (5, 8, 12, 20, 30, 50):  # no ties, no zeros: exact
    wil_row(f"exact_n{n}", rng.normal(0.3, 1, n))
wil_row("exact_all_pos", np.arange(1, 9) * 0.5)
wil_row("ties_n10", [1, -1, 2, 2, -2, 3, 3, 3, -4, 5])  # ties, n <= 13: exact permutation
wil_row("zeros_n9", [0, 1.5, -0.5, 2, 0, 3, -1, 4, 2.5])
wil_row("normal_n60", rng.normal(0.2, 1, 60))
wil_row("normal_ties_n30", np.round(rng.normal(0.3, 1, 30), 1))
wil_row("normal_zeros_n40", np.r_[np.zeros(3), np.round(rng.normal(0.2, 1, 37), 1)])

out = sys.argv[1] if len(sys.argv) > 1 else "tests/golden/stats_golden.tsv"
with open(out, "w") as f:
    f.write(f"# made by tools/golden/stats_golden.py with numpy {np.__version__}, "
            f"scipy {scipy.__version__}\n")
    for r in rows:
        f.write("\t".join(r) + "\n")
print(f"{out}: {len(rows)} cases")
