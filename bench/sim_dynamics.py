"""Simulation for issue 9 item 2: school dynamics against the region on a cut-score-invariant scale.

Run:  /work/main/.venv/bin/python /work/wt/research9/sim_dynamics.py [--reps 3] [--seed 9] [--tau 0.0]

Part 1  why probits: a uniform shift of cut scores moves every school's probit of P(mark <= j) by the same
        amount (exactly for a normal latent ability, almost for a 20-item test), while the share of «2» in
        p.p. moves very differently at the floor and the ceiling; the region's pooled probit is not the
        schools' common shift (a mixture of normals is wider than each school).
Part 2  AS241 (Wichura 1988) inverse normal, as it would be written in SQL, against scipy.stats.norm.ppf.
Part 3  ~1,100 schools x 6 grades x 6 years, one year where every cut rises by one raw point; 10 % of
        schools improve, 5 % decline (one step in a random year). The same pupils are marked with and
        without the cut change, so «keeps its class» is a paired comparison. Methods:
          current  = int_school_dynamics today (last year's counts moved by the region's change in p.p.,
                     Newcombe / Fisher, FIOKO +10 p.p. rule, beta-binomial posterior for n < 10);
          proposed = GLS location shift of the three cumulative probits net of the region's per-threshold
                     probit change, delta-method SE (+ cohort variance tau^2 estimated from the region),
                     two-sided z, Benjamini-Hochberg q <= 0.2 within procedure x subject x grade x year,
                     and p <= alpha; variants with and without the FIOKO rule on the probit baseline.
"""

from __future__ import annotations

import argparse
from functools import cache

import numpy as np
from scipy import special, stats

ALPHA = 0.05
FDR_Q = 0.20
Z95 = stats.norm.ppf(0.975)
FAIL_PP = 10.0
N_SMALL = 10  # reliability_low_n
N_MIN = 5  # dynamics_min_n: pairs below are outside the indicator base, left out for both methods

# ----------------------------------------------------------------------------------------------- AS241


def ppf_as241(p: np.ndarray) -> np.ndarray:
    """Wichura AS241 (PPND16), the branch structure a SQL function would use. p in (0, 1)."""
    p = np.asarray(p, dtype=float)
    q = p - 0.5
    out = np.empty_like(p)
    central = np.abs(q) <= 0.425
    r = 0.180625 - q[central] ** 2
    num = (((((((2.5090809287301226727e3 * r + 3.3430575583588128105e4) * r + 6.7265770927008700853e4) * r
                + 4.5921953931549871457e4) * r + 1.3731693765509461125e4) * r + 1.9715909503065514427e3) * r
            + 1.3314166789178437745e2) * r + 3.3871328727963666080e0)
    den = (((((((5.2264952788528545610e3 * r + 2.8729085735721942674e4) * r + 3.9307895800092710610e4) * r
                + 2.1213794301586595867e4) * r + 5.3941960214247511077e3) * r + 6.8718700749205790830e2) * r
            + 4.2313330701600911252e1) * r + 1.0)
    out[central] = q[central] * num / den
    tail = ~central
    rr = np.sqrt(-np.log(np.where(q[tail] <= 0, p[tail], 1.0 - p[tail])))
    x = np.empty_like(rr)
    near = rr <= 5.0
    r = rr[near] - 1.6
    num = (((((((7.74545014278341407640e-4 * r + 2.27238449892691845833e-2) * r + 2.41780725177450611770e-1) * r
                + 1.27045825245236838258e0) * r + 3.64784832476320460504e0) * r + 5.76949722146069140550e0) * r
            + 4.63033784615654529590e0) * r + 1.42343711074968357734e0)
    den = (((((((1.05075007164441684324e-9 * r + 5.47593808499534494600e-4) * r + 1.51986665636164571966e-2) * r
                + 1.48103976427480074590e-1) * r + 6.89767334985100004550e-1) * r + 1.67638483018380384940e0) * r
            + 2.05319162663775882187e0) * r + 1.0)
    x[near] = num / den
    r = rr[~near] - 5.0
    num = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 1.24266094738807843860e-3) * r
                + 2.65321895265761230930e-2) * r + 2.96560571828504891230e-1) * r + 1.78482653991729133580e0) * r
            + 5.46378491116411436990e0) * r + 6.65790464350110377720e0)
    den = (((((((2.04426310338993978564e-15 * r + 1.42151175831644588870e-7) * r + 1.84631831751005468180e-5) * r
                + 7.86869131145613259100e-4) * r + 1.48753612908506148525e-2) * r + 1.36929880922735805310e-1) * r
            + 5.99832206555887937690e-1) * r + 1.0)
    x[~near] = num / den
    out[tail] = np.where(q[tail] < 0, -x, x)
    return out


def check_as241() -> None:
    p = np.concatenate([
        np.logspace(-300, -1, 20000), np.linspace(0.001, 0.999, 20001), 1 - np.logspace(-16, -1, 5000),
    ])
    ref = stats.norm.ppf(p)
    got = ppf_as241(p)
    abs_err = np.abs(got - ref)
    rel_err = abs_err / np.maximum(np.abs(ref), 1e-300)
    mid = (p > 1e-10) & (p < 1 - 1e-10)
    print("Part 2. AS241 vs scipy.stats.norm.ppf on", p.size, "points, p from 1e-300 to 1-1e-16")
    print(f"  max |error| = {abs_err.max():.2e}; max relative error = {rel_err[ref != 0].max():.2e};"
          f" on 1e-10 < p < 1-1e-10: max |error| = {abs_err[mid].max():.2e}")
    # round trip through the erfc-based normal_cdf already in stats (0.5*erfc(-x/sqrt 2))
    x = ppf_as241(np.linspace(1e-6, 1 - 1e-6, 10001))
    back = 0.5 * special.erfc(-x / np.sqrt(2))
    print(f"  round trip |Phi(ppf(p)) - p| <= {np.abs(back - np.linspace(1e-6, 1 - 1e-6, 10001)).max():.2e}\n")


# ------------------------------------------------------------------------------------ Part 1: the scale

ITEM_B = np.linspace(-2.0, 2.0, 20) + np.random.default_rng(1).normal(0, 0.25, 20)
ITEM_A = 1.7
CUTS = np.array([6, 11, 16])  # lowest raw score of «3», «4», «5» (max 20)


def score_pmf(theta: np.ndarray) -> np.ndarray:
    """Distribution of the raw score 0..20 for each ability (Poisson-binomial recursion)."""
    pc = special.expit(ITEM_A * (theta[:, None] - ITEM_B[None, :]))
    f = np.zeros((theta.size, ITEM_B.size + 1))
    f[:, 0] = 1.0
    for i in range(ITEM_B.size):
        f[:, 1:] = f[:, 1:] * (1 - pc[:, i:i + 1]) + f[:, :-1] * pc[:, i:i + 1]
        f[:, 0] *= 1 - pc[:, i]
    return f


def school_cum_test(mu: float, cuts: np.ndarray) -> np.ndarray:
    nodes, weights = np.polynomial.hermite_e.hermegauss(61)
    pmf = (score_pmf(mu + nodes) * (weights / weights.sum())[:, None]).sum(axis=0)
    cdf = np.cumsum(pmf)
    return cdf[cuts - 1]  # P(score < cut) = P(mark <= 2, 3, 4)


def part1() -> None:
    print("Part 1a. Latent N(mu_s, 1) in each school, cuts at -1, 0, +1; the region moves every cut by +0.25.")
    print("  school mu | share «2» before -> after (change p.p.) | probit change at 2|3, 3|4, 4|5 | mean ridit change")
    mus = np.array([-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0])
    cuts = np.array([-1.0, 0.0, 1.0])
    delta = 0.25
    sigma_b = 0.6
    # the region: schools' mu ~ N(0, sigma_b); pupils N(0, 1 + sigma_b^2)
    reg_sd = np.sqrt(1 + sigma_b**2)
    for mu in mus:
        before = stats.norm.cdf(cuts - mu)
        after = stats.norm.cdf(cuts + delta - mu)
        dprobit = stats.norm.ppf(after) - stats.norm.ppf(before)

        def ridit(c, mu=mu):
            # mean mid-rank percentile of the school's pupils among the region's pupils, 4 ordered marks
            reg = np.diff(np.concatenate([[0], stats.norm.cdf(c / reg_sd), [1]]))
            sch = np.diff(np.concatenate([[0], stats.norm.cdf(c - mu), [1]]))
            below = np.concatenate([[0], np.cumsum(reg)[:-1]])
            return float((sch * (below + reg / 2)).sum())

        print(f"  {mu:+5.1f}    | {100*before[0]:5.1f} -> {100*after[0]:5.1f} ({100*(after[0]-before[0]):+5.1f})"
              f"            | {dprobit[0]:+.3f} {dprobit[1]:+.3f} {dprobit[2]:+.3f}      |"
              f" {ridit(cuts + delta) - ridit(cuts):+.4f}")
    pooled = stats.norm.ppf(stats.norm.cdf((cuts + delta) / reg_sd)) - stats.norm.ppf(stats.norm.cdf(cuts / reg_sd))
    print(f"  probit of the region's pooled shares moves by {pooled[0]:+.3f} (= 0.25/sqrt(1+{sigma_b}^2)), not +0.250:"
          " the region's change must be the (weighted) mean of the schools' probit changes.\n")

    print("Part 1b. A 20-item test (2PL-like, a=1.7), cuts 6/11/16 raw points, every cut +1 point.")
    print("  school mu | share «2» change p.p. | «4»+«5» change p.p. | probit change at 2|3, 3|4, 4|5")
    rows = []
    for mu in np.linspace(-2.0, 2.5, 10):
        b = school_cum_test(mu, CUTS)
        a = school_cum_test(mu, CUTS + 1)
        dp = stats.norm.ppf(a) - stats.norm.ppf(b)
        rows.append(dp)
        print(f"  {mu:+5.2f}    | {100*(a[0]-b[0]):+6.2f}               | {-100*(a[1]-b[1]):+6.2f}"
              f"              | {dp[0]:+.3f} {dp[1]:+.3f} {dp[2]:+.3f}")
    rows = np.array(rows)
    print(f"  spread of the probit change over school levels: per threshold max-min ="
          f" {np.ptp(rows[:, 0]):.3f}, {np.ptp(rows[:, 1]):.3f}, {np.ptp(rows[:, 2]):.3f}"
          " (the 'almost': a raw point is worth more latent units at the floor/ceiling of the test)\n")


# -------------------------------------------------------------------------------- Part 3: simulation

GRADE_MU = np.array([-0.9, -0.5, -0.1, 0.3, 0.7, 1.1])  # region level per grade: floor ... ceiling


def simulate(rng: np.random.Generator, n_schools: int, n_years: int, break_year: int, tau: float):
    """Returns per grade the counts of marks (with and without the cut change) and truth."""
    size = np.clip(np.round(rng.lognormal(np.log(22), 0.75, n_schools)), 3, 200)
    mu_s = rng.normal(0, 0.45, n_schools)
    # truth: one step in a random year for 10 % improving and 5 % declining schools
    kind = rng.choice([0, 1, -1], n_schools, p=[0.85, 0.10, 0.05])
    step_year = rng.integers(1, n_years, n_schools)
    step_size = np.where(kind != 0, kind * rng.uniform(0.25, 0.5, n_schools), 0.0)
    out = []
    for _g, gmu in enumerate(GRADE_MU):
        drift = np.concatenate([[0], np.cumsum(rng.normal(0, 0.04, n_years - 1))])
        n = np.maximum(rng.poisson(size[:, None], (n_schools, n_years)), 1)
        stepped = np.arange(n_years)[None, :] >= step_year[:, None]
        true_mu = gmu + mu_s[:, None] + drift[None, :] + step_size[:, None] * stepped
        counts = {False: np.zeros((n_schools, n_years, 4), int), True: np.zeros((n_schools, n_years, 4), int)}
        mean = np.zeros((n_schools, n_years))
        var = np.zeros((n_schools, n_years))
        for t in range(n_years):
            cohort = rng.normal(0, tau, n_schools)
            school = np.repeat(np.arange(n_schools), n[:, t])
            theta = true_mu[school, t] + cohort[school] + rng.normal(0, 1, school.size)
            pc = special.expit(ITEM_A * (theta[:, None] - ITEM_B[None, :]))
            score = (rng.random(pc.shape) < pc).sum(axis=1)
            for brk in (False, True):
                cuts = CUTS + (1 if brk and t >= break_year else 0)
                mark = 2 + (score[:, None] >= cuts[None, :]).sum(axis=1)
                np.add.at(counts[brk][:, t, :], (school, mark - 2), 1)
            s = np.bincount(school, score, n_schools)
            s2 = np.bincount(school, score.astype(float) ** 2, n_schools)
            mean[:, t] = s / n[:, t]
            var[:, t] = np.where(n[:, t] > 1, (s2 - n[:, t] * mean[:, t] ** 2) / np.maximum(n[:, t] - 1, 1), np.nan)
        changed = np.zeros((n_schools, n_years), bool)
        changed[np.arange(n_schools), step_year] = kind != 0
        out.append(dict(counts=counts, n=n, mean=mean, var=var, kind=kind, changed=changed, mu=mu_s + gmu))
    return out


def wilson(x, n, z=Z95):
    p = x / n
    c = (p + z * z / (2 * n))
    h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (c - h) / (1 + z * z / n), (c + h) / (1 + z * z / n)


def newcombe(x1, n1, x0, n0):
    p1, p0 = x1 / n1, x0 / n0
    l1, u1 = wilson(x1, n1)
    l0, u0 = wilson(x0, n0)
    d = p1 - p0
    return d - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2), d + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)


@cache
def fisher_p(x1, n1, x0, n0):
    return stats.fisher_exact([[x1, n1 - x1], [x0, n0 - x0]]).pvalue


def beta_less(a1, b1, a0, b0, cells=200):
    edges = (np.arange(cells + 1) / cells) ** 2
    f1 = special.betainc(a1[:, None], b1[:, None], edges[None, :])
    f0 = special.betainc(a0[:, None], b0[:, None], edges[None, :])
    return np.clip(((f0[:, 1:] - f0[:, :-1]) * (f1[:, 1:] + f1[:, :-1]) / 2).sum(axis=1), 0, 1)


def prior(low, n):
    ok = n >= 5
    x, nn = low[ok].astype(float), n[ok].astype(float)
    mu = x.sum() / nn.sum()
    bv = np.var(x / nn, ddof=1) - np.mean(mu * (1 - mu) / nn)
    kappa = 10000.0 if bv <= 0 else float(np.clip(mu * (1 - mu) / bv - 1, 1, 10000))
    return mu, kappa


def current_method(c0, c1, n0, n1):
    """int_school_dynamics as implemented. c: (m, 4) counts of marks 2..5."""
    low0, low1 = c0[:, 0], c1[:, 0]
    q0, q1 = c0[:, 2] + c0[:, 3], c1[:, 2] + c1[:, 3]
    r_low = low1.sum() / n1.sum() - low0.sum() / n0.sum()
    r_q = q1.sum() / n1.sum() - q0.sum() / n0.sum()
    low_base = np.clip(np.round(low0 + r_low * n0), 0, n0).astype(int)
    q_base = np.clip(np.round(q0 + r_q * n0), 0, n0).astype(int)
    net_low = 100 * (low1 / n1 - low_base / n0)
    net_q = 100 * (q1 / n1 - q_base / n0)

    def significant(x1, x0b):
        small = np.minimum.reduce([x1, n1 - x1, x0b, n0 - x0b]) < 5
        lo, up = newcombe(x1, n1, x0b, n0)
        sig = (lo > 0) | (up < 0)
        for i in np.flatnonzero(small):
            sig[i] = fisher_p(int(x1[i]), int(n1[i]), int(x0b[i]), int(n0[i])) < ALPHA
        return sig

    low_sig, q_sig = significant(low1, low_base), significant(q1, q_base)
    improved = (low_sig & (net_low < 0)) | (q_sig & (net_q > 0))
    deteriorated = (low_sig & (net_low > 0)) | (net_low >= FAIL_PP) | (q_sig & (net_q < 0))
    small = np.minimum(n0, n1) < N_SMALL
    cls = np.full(n0.size, "none", dtype=object)
    if small.any():
        mu0, k0 = prior(low0, n0)
        mu1, k1 = prior(low1, n1)
        mu, kappa = (mu0 + mu1) / 2, min(k0, k1)
        i = np.flatnonzero(small)
        a1, b1 = mu * kappa + low1[i], (1 - mu) * kappa + n1[i] - low1[i]
        a0, b0 = mu * kappa + low_base[i], (1 - mu) * kappa + n0[i] - low_base[i]
        ok = np.minimum.reduce([a1, b1, a0, b0]) > 0
        p_imp = np.full(i.size, np.nan)
        p_imp[ok] = beta_less(a1[ok], b1[ok], a0[ok], b0[ok])
        improved[i] = p_imp >= 0.9
        deteriorated[i] = (1 - p_imp) >= 0.9
    cls[small] = "insufficient"
    cls[improved] = "pos"
    cls[deteriorated] = "neg"
    return cls, r_low


def bh(p):
    p = np.asarray(p)
    q = np.full(p.size, np.nan)
    ok = ~np.isnan(p)
    m = ok.sum()
    if m == 0:
        return q
    order = np.argsort(p[ok])
    ranked = p[ok][order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    tmp = np.empty(m)
    tmp[order] = np.minimum(ranked, 1)
    q[ok] = tmp
    return q


def probits(c, n):
    """Cumulative counts K_j = #(mark <= j), j = 2, 3, 4; corrected shares (1/2 added to each of the four
    marks, so the cumulative shares stay strictly increasing and the covariance is never singular), probits,
    and the delta-method covariance Cov(y_j, y_k) = p_j (1 - p_k) / (n phi_j phi_k), j <= k."""
    k = np.cumsum(c, axis=1)[:, :3]
    pt = (k + 0.5 * np.arange(1, 4)[None, :]) / (n[:, None] + 2)
    y = ppf_as241(pt.ravel()).reshape(pt.shape)
    phi = stats.norm.pdf(y)
    jj = np.minimum.outer(np.arange(3), np.arange(3))
    kk = np.maximum.outer(np.arange(3), np.arange(3))
    cov = pt[:, jj] * (1 - pt[:, kk]) / (n[:, None, None] * phi[:, :, None] * phi[:, None, :])
    return k, pt, y, cov


def proposed_method(c0, c1, n0, n1, fioko: bool, use_bh: bool = True, cutoffs=None):
    k0, pt0, y0, v0 = probits(c0, n0)
    k1, pt1, y1, v1 = probits(c1, n1)
    dy = y1 - y0
    v = v0 + v1
    informative = ~(((k0 == 0) & (k1 == 0)) | ((k0 == n0[:, None]) & (k1 == n1[:, None])))
    interior = (k0 > 0) & (k0 < n0[:, None]) & (k1 > 0) & (k1 < n1[:, None])
    big = (np.minimum(n0, n1) >= N_SMALL)[:, None] & interior
    w = 1 / np.einsum("ijj->ij", v)
    region = (np.where(big, w * dy, 0).sum(axis=0)) / np.where(big, w, 0).sum(axis=0)  # R_j
    d = np.where(informative, dy - region[None, :], 0.0)
    u = informative.astype(float)
    vm = v * (u[:, :, None] * u[:, None, :])
    vm[:, np.arange(3), np.arange(3)] += 1 - u  # identity on dropped thresholds
    sol = np.linalg.solve(vm, u[:, :, None])[:, :, 0]
    info = (sol * u).sum(axis=1)
    est = np.where(info > 0, -(sol * d).sum(axis=1) / np.where(info > 0, info, 1), np.nan)  # + = improvement
    var0 = np.where(info > 0, 1 / np.where(info > 0, info, 1), np.nan)
    # cohort (between-year) variance beyond the multinomial noise, from the region's big schools
    ref = (np.minimum(n0, n1) >= 30) & informative.all(axis=1)
    if ref.sum() >= 30:
        s = 1.4826 * np.median(np.abs(est[ref] - np.median(est[ref])))
        tau2x2 = max(0.0, s * s - np.median(var0[ref]))
    else:
        tau2x2 = 0.0
    se = np.sqrt(var0 + tau2x2)
    z = est / se
    p = 2 * stats.norm.sf(np.abs(z))
    # BH separately per direction on one-sided p-values, so that the FDR of «положительная» itself is <= q
    p_up, p_down = stats.norm.sf(z), stats.norm.cdf(z)
    if use_bh and cutoffs is not None:  # BH over the whole year (all grades, subjects): pooled cut-offs
        pos = (p <= ALPHA) & (est > 0) & (p_up <= cutoffs[0])
        neg = (p <= ALPHA) & (est < 0) & (p_down <= cutoffs[1])
    elif use_bh:
        pos = (p <= ALPHA) & (est > 0) & (bh(p_up) <= FDR_Q)
        neg = (p <= ALPHA) & (est < 0) & (bh(p_down) <= FDR_Q)
    else:
        pos, neg = (p <= ALPHA) & (est > 0), (p <= ALPHA) & (est < 0)
    cls = np.full(n0.size, "none", dtype=object)
    cls[np.isnan(est)] = "insufficient"
    cls[pos] = "pos"
    if fioko:
        base = stats.norm.cdf(ppf_as241(pt0[:, 0]) + region[0])
        neg |= (100 * (pt1[:, 0] - base) >= FAIL_PP) & (np.minimum(n0, n1) >= N_SMALL)
    cls[neg] = "neg"
    return cls, region, est, se, tau2x2, p_up, p_down


def bh_cutoff(p):
    """Largest p_(k) with p_(k) <= q k / m (Benjamini-Hochberg step-up); -1 if none."""
    p = np.sort(p[~np.isnan(p)])
    ok = np.flatnonzero(p <= FDR_Q * np.arange(1, p.size + 1) / p.size)
    return p[ok[-1]] if ok.size else -1.0


def region_breaks(c0, c1, n0, n1, m0, m1, v0, v1, region_probit):
    """Region-wide break per measure: significant and at least a small standardized effect (0.1)."""
    out = {}
    for name, x0, x1 in (("share «2»", c0[:, 0].sum(), c1[:, 0].sum()),
                         ("«4»+«5»", (c0[:, 2] + c0[:, 3]).sum(), (c1[:, 2] + c1[:, 3]).sum())):
        N0, N1 = n0.sum(), n1.sum()
        lo, up = newcombe(np.array([x1]), np.array([N1]), np.array([x0]), np.array([N0]))
        h = 2 * np.arcsin(np.sqrt(x1 / N1)) - 2 * np.arcsin(np.sqrt(x0 / N0))
        out[name] = bool(abs(h) >= 0.1 and (lo[0] > 0 or up[0] < 0))
        if name == "share «2»":
            out["current (share «2» >= 5 p.p.)"] = bool(abs(x1 / N1 - x0 / N0) >= 0.05 and (lo[0] > 0 or up[0] < 0))
    # mean score: pupil-level moments from school moments
    N0, N1 = n0.sum(), n1.sum()
    g0, g1 = (m0 * n0).sum() / N0, (m1 * n1).sum() / N1
    s0 = (np.nansum(v0 * (n0 - 1)) + (n0 * (m0 - g0) ** 2).sum()) / (N0 - 1)
    s1 = (np.nansum(v1 * (n1 - 1)) + (n1 * (m1 - g1) ** 2).sum()) / (N1 - 1)
    dd = (g1 - g0) / np.sqrt((s0 + s1) / 2)
    out["mean score"] = bool(abs(dd) >= 0.1)
    out["probit location"] = bool(abs(np.mean(region_probit)) >= 0.1)
    marks = np.arange(2, 6)
    mm0, mm1 = (c0.sum(0) * marks).sum() / N0, (c1.sum(0) * marks).sum() / N1
    sd0 = np.sqrt((c0.sum(0) * (marks - mm0) ** 2).sum() / N0)
    sd1 = np.sqrt((c1.sum(0) * (marks - mm1) ** 2).sum() / N1)
    out["mean mark (средняя отметка)"] = bool(abs(mm1 - mm0) / np.sqrt((sd0**2 + sd1**2) / 2) >= 0.1)
    out["ANY measure (is_region_break)"] = any(v for k, v in out.items() if not k.startswith("current"))
    return out


def run(reps: int, seed: int, tau: float, n_schools=1100, n_years=6, break_year=3):
    rng = np.random.default_rng(seed)
    acc = {m: dict(neg_b=0, neg_nb=0, keep=0, honest_b=0, fp=0, null=0, tp=0, alt=0, pos=0,
                   fp_small=0, null_small=0, tp_big=0, alt_big=0, neg_by_level=np.zeros(5),
                   pos_by_level=np.zeros(5), lvl_n=np.zeros(5))
           for m in ("current", "proposed", "proposed+FIOKO", "probit, no BH", "BH per grade")}
    breaks = {}
    r_err = []
    size_small = []
    for _ in range(reps):
        grades = simulate(rng, n_schools, n_years, break_year, tau)
        # pass 1: Benjamini-Hochberg family = every school comparison of one year (all grades), per direction
        pooled = {}
        for gd in grades:
            for t in range(1, n_years):
                n0, n1 = gd["n"][:, t - 1], gd["n"][:, t]
                keep = np.minimum(n0, n1) >= N_MIN
                for brk in (True, False):
                    r = proposed_method(gd["counts"][brk][keep, t - 1], gd["counts"][brk][keep, t],
                                        n0[keep], n1[keep], False)
                    pu, pdn = pooled.setdefault((t, brk), ([], []))
                    pu.append(r[5])
                    pdn.append(r[6])
        cut = {k: (bh_cutoff(np.concatenate(v[0])), bh_cutoff(np.concatenate(v[1]))) for k, v in pooled.items()}
        for _g, gd in enumerate(grades):
            for t in range(1, n_years):
                n0, n1 = gd["n"][:, t - 1], gd["n"][:, t]
                keep = np.minimum(n0, n1) >= N_MIN
                size_small.append(np.mean(np.minimum(n0, n1)[keep] < N_SMALL))
                null = ~gd["changed"][keep, t]
                improving = gd["changed"][keep, t] & (gd["kind"][keep] > 0)
                level = np.digitize(gd["mu"][keep], np.quantile(gd["mu"][keep], [0.2, 0.4, 0.6, 0.8]))
                small = np.minimum(n0, n1)[keep] < N_SMALL
                cls = {}
                for brk in (True, False):
                    c0 = gd["counts"][brk][keep, t - 1]
                    c1 = gd["counts"][brk][keep, t]
                    cur, _ = current_method(c0, c1, n0[keep], n1[keep])
                    prop, region, _est, _se, *_ = proposed_method(c0, c1, n0[keep], n1[keep], fioko=False,
                                                                cutoffs=cut[(t, brk)])
                    propf, *_ = proposed_method(c0, c1, n0[keep], n1[keep], fioko=True, cutoffs=cut[(t, brk)])
                    propg, *_ = proposed_method(c0, c1, n0[keep], n1[keep], fioko=False)
                    propr, *_ = proposed_method(c0, c1, n0[keep], n1[keep], fioko=False, use_bh=False)
                    cls[brk] = {"current": cur, "proposed": prop, "proposed+FIOKO": propf, "probit, no BH": propr,
                                "BH per grade": propg}
                    if brk:
                        b = region_breaks(gd["counts"][True][:, t - 1], gd["counts"][True][:, t], n0, n1,
                                          gd["mean"][:, t - 1], gd["mean"][:, t], gd["var"][:, t - 1],
                                          gd["var"][:, t], region)
                        for k, v in b.items():
                            key = (k, "break year" if t == break_year else "other years")
                            breaks.setdefault(key, []).append(v)
                    if brk and t == break_year:
                        # the region's per-threshold change against the truth: mean of null schools' probit shift
                        r_nb = proposed_method(gd["counts"][False][keep, t - 1], gd["counts"][False][keep, t],
                                               n0[keep], n1[keep], False)[1]
                        r_err.append(region - r_nb)
                for m in acc:
                    a = acc[m]
                    cb = cls[True][m]
                    if t == break_year:
                        cn = cls[False][m]
                        a["honest_b"] += null.sum()
                        a["neg_b"] += (cb[null] == "neg").sum()
                        a["neg_nb"] += (cn[null] == "neg").sum()
                        a["keep"] += (cb[null] == cn[null]).sum()
                        for lv in range(5):
                            sel = null & (level == lv)
                            a["lvl_n"][lv] += sel.sum()
                            a["neg_by_level"][lv] += (cb[sel] == "neg").sum()
                            a["pos_by_level"][lv] += (cb[sel] == "pos").sum()
                    a["null"] += null.sum()
                    a["fp"] += (cb[null] == "pos").sum()
                    a["null_small"] += (null & small).sum()
                    a["fp_small"] += (cb[null & small] == "pos").sum()
                    a["alt"] += improving.sum()
                    big = np.minimum(n0, n1)[keep] >= 50
                    a["alt_big"] += (improving & big).sum()
                    a["tp_big"] += (cb[improving & big] == "pos").sum()
                    a["tp"] += (cb[improving] == "pos").sum()
                    a["pos"] += (cb == "pos").sum()
    print(f"Part 3. {n_schools} schools x {len(GRADE_MU)} grades x {n_years} years, cut change (+1 raw point on"
          f" every cut) from year {break_year}, cohort SD tau={tau}, {reps} replicate(s), seed {seed};"
          f" pairs with min n >= {N_MIN}; {100*np.mean(size_small):.0f} % of them have min n < {N_SMALL}")
    hdr = (f"  {'method':16s} {'neg honest, break':>18s} {'neg honest, no break':>21s} {'keep class':>11s}"
           f" {'FPR pos':>8s} {'FPR pos n<10':>12s} {'power':>6s} {'power n>=50':>11s} {'FDR pos':>8s}")
    print(hdr)
    for m, a in acc.items():
        fdr = (a["fp"] / a["pos"]) if a["pos"] else float("nan")
        print(f"  {m:16s} {100*a['neg_b']/a['honest_b']:17.1f}% {100*a['neg_nb']/a['honest_b']:20.1f}%"
              f" {100*a['keep']/a['honest_b']:10.1f}% {100*a['fp']/a['null']:7.2f}%"
              f" {100*a['fp_small']/max(a['null_small'],1):11.2f}% {100*a['tp']/a['alt']:5.1f}%"
              f" {100*a['tp_big']/max(a['alt_big'],1):10.1f}% {100*fdr:7.1f}%")
    print("  (neg/keep: honest schools in the break pair, paired runs with and without the cut change;"
          " FPR/power/FDR: all pairs of the run with the change; power = «положительная» among improving pairs)")
    print("  honest schools in the break pair by quintile of school level (1 = lowest): "
          "% «отрицательная» / % «положительная»")
    for m, a in acc.items():
        cells = " ".join(f"{100*a['neg_by_level'][i]/a['lvl_n'][i]:4.1f}/{100*a['pos_by_level'][i]/a['lvl_n'][i]:4.1f}"
                         for i in range(5))
        print(f"  {m:16s} {cells}")
    print("  region-wide break detected (share of grade cells):")
    for (k, when), v in sorted(breaks.items()):
        print(f"    {k:32s} {when:12s} {100*np.mean(v):5.1f}%  ({len(v)} cells)")
    r_err = np.array(r_err)
    print(f"  the region's per-threshold probit change R_j due to the cut change (break run minus no-break run):"
          f" mean {np.round(r_err.mean(axis=0), 3)}, by grade floor->ceiling:")
    print("   ", np.round(r_err.reshape(-1, len(GRADE_MU), 3).mean(axis=0), 3).tolist())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--tau", type=float, default=0.0)
    ap.add_argument("--skip-parts", action="store_true")
    args = ap.parse_args()
    if not args.skip_parts:
        part1()
        check_as241()
    run(args.reps, args.seed, args.tau)


if __name__ == "__main__":
    main()
