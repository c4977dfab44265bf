"""The SQL statistics of school dynamics on the probit scale (docs/research/issue9_dynamics.md §2) against numpy and
scipy: the delta-method covariance of cumulative probits against a multinomial simulation, the GLS location shift
against an ordered-probit maximum-likelihood fit, finiteness at empty marks, Benjamini–Hochberg against scipy, and
the rows of the dbt unit test «uniform cut shift» generated here from a 20-item test (so they are not copied from
the model's output)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import optimize, stats

from tests.test_stats_functions import db, one  # noqa: F401  (the module's database with the stats functions)

CONTINUITY = 0.5
UNIT_TESTS = Path(__file__).resolve().parents[1] / "dbt_project/models/intermediate/_dynamics__unit_tests.yml"


def corrected(counts) -> np.ndarray:
    """Cumulative shares below the three thresholds with ½ added to each of the four marks."""
    counts = np.asarray(counts, dtype=float)
    n = counts.sum()
    return (np.cumsum(counts)[:3] + CONTINUITY * np.arange(1, 4)) / (n + CONTINUITY * 4)


def sql_probits(db, p, n):  # noqa: F811
    """y_j and the six covariance elements, by the SQL functions the model uses."""
    y = [one(db, "select stats.normal_ppf(%s)", float(v)) for v in p]
    v = {f"v{j + 1}{k + 1}": one(db, "select stats.probit_cov(%s, %s, %s)", float(p[j]), float(p[k]), float(n))
         for j in range(3) for k in range(j, 3)}
    return np.array(y), v


def sql_shift(db, d, v, used):  # noqa: F811
    return db.execute("select stats.gls_location_shift(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                      (*[None if x is None else float(x) for x in d],
                       *(v[k] for k in ("v11", "v12", "v13", "v22", "v23", "v33")), *used)).fetchone()[0]


def test_cumulative_probits_covariance_matches_multinomial_simulation(db):  # noqa: F811
    rng = np.random.default_rng(9)
    probs, n = np.array([0.15, 0.35, 0.30, 0.20]), 200
    draws = rng.multinomial(n, probs, size=100_000)
    cumulative = np.cumsum(draws, axis=1)[:, :3] / n
    empirical = np.cov(stats.norm.ppf(cumulative), rowvar=False)
    p = np.cumsum(probs)[:3]
    for j in range(3):
        for k in range(j, 3):
            value = one(db, "select stats.probit_cov(%s, %s, %s)", float(p[j]), float(p[k]), n)
            assert value == pytest.approx(empirical[j, k], rel=0.05), (j, k)
    # outside the domain: no figure
    assert one(db, "select stats.probit_cov(0, 0.5, 10)") is None
    assert one(db, "select stats.probit_cov(0.6, 0.5, 10)") is None
    assert one(db, "select stats.probit_cov(0.2, 0.5, 0)") is None


def ordered_probit_ml(counts_prev, counts_now, region):
    """β and its SE by maximum likelihood: cumulative probits θ_j last year and θ_j + R_j − β this year, the
    thresholds θ free; the SE from the inverse of a central-difference Hessian of the log-likelihood."""
    counts_prev, counts_now = np.asarray(counts_prev, float), np.asarray(counts_now, float)

    def nll(params):
        theta, beta = params[:3], params[3]
        total = 0.0
        for counts, y in ((counts_prev, theta), (counts_now, theta + region - beta)):
            cdf = np.concatenate([[0.0], stats.norm.cdf(y), [1.0]])
            cells = np.clip(np.diff(cdf), 1e-300, None)
            total -= counts @ np.log(cells)
        return total

    start = np.concatenate([stats.norm.ppf(np.cumsum(counts_prev)[:3] / counts_prev.sum()), [0.0]])
    fit = optimize.minimize(nll, start, method="BFGS", options={"gtol": 1e-10})
    h, k = 1e-4, len(fit.x)
    hessian = np.zeros((k, k))
    for a in range(k):
        for b in range(k):
            step_a, step_b = np.eye(k)[a] * h, np.eye(k)[b] * h
            hessian[a, b] = (nll(fit.x + step_a + step_b) - nll(fit.x + step_a - step_b)
                             - nll(fit.x - step_a + step_b) + nll(fit.x - step_a - step_b)) / (4 * h * h)
    return fit.x[3], math.sqrt(np.linalg.inv(hessian)[3, 3])


@pytest.mark.parametrize(("beta", "region"), [(0.3, (0.1, 0.2, 0.15)), (-0.2, (0.0, 0.0, 0.0)),
                                              (0.0, (-0.25, -0.25, -0.25))])
def test_probit_shift_matches_ordered_probit_ml(db, beta, region):  # noqa: F811
    region = np.array(region)
    theta, n = np.array([-1.0, 0.0, 0.8]), 200
    rng = np.random.default_rng(int(100 * abs(beta)) + len(set(region)))
    now_probs = np.diff(np.concatenate([[0], stats.norm.cdf(theta + region - beta), [1]]))
    prev_probs = np.diff(np.concatenate([[0], stats.norm.cdf(theta), [1]]))
    counts_prev, counts_now = rng.multinomial(n, prev_probs), rng.multinomial(n, now_probs)
    y_prev, v_prev = sql_probits(db, corrected(counts_prev), n)
    y_now, v_now = sql_probits(db, corrected(counts_now), n)
    v = {key: v_prev[key] + v_now[key] for key in v_prev}
    estimate, se0_squared = sql_shift(db, y_now - y_prev - region, v, (True, True, True))
    ml_beta, ml_se = ordered_probit_ml(counts_prev, counts_now, region)
    # asymptotically the same estimator: at n = 200 the estimates differ by a small fraction of their standard
    # error (the ½ continuity correction included), the standard errors by under 2 %
    assert estimate == pytest.approx(ml_beta, abs=0.05 * ml_se)
    assert math.sqrt(se0_squared) == pytest.approx(ml_se, rel=0.02)
    # and numpy's solve of the same GLS problem, exactly
    matrix = np.array([[v[f"v{min(a, b)}{max(a, b)}"] for b in (1, 2, 3)] for a in (1, 2, 3)])
    x = np.linalg.solve(matrix, np.ones(3))
    assert estimate == pytest.approx(-(x @ (y_now - y_prev - region)) / x.sum(), rel=1e-12, abs=1e-15)
    assert se0_squared == pytest.approx(1 / x.sum(), rel=1e-12)


def test_probit_shift_of_a_subset_of_thresholds_matches_numpy(db):  # noqa: F811
    rng = np.random.default_rng(2)
    for _ in range(20):
        counts_prev, counts_now = rng.integers(0, 30, 4), rng.integers(0, 30, 4)
        counts_prev[0] += 1
        counts_now[3] += 1
        y_prev, v_prev = sql_probits(db, corrected(counts_prev), counts_prev.sum())
        y_now, v_now = sql_probits(db, corrected(counts_now), counts_now.sum())
        v = {key: v_prev[key] + v_now[key] for key in v_prev}
        used = tuple(bool(b) for b in rng.integers(0, 2, 3))
        result = sql_shift(db, y_now - y_prev, v, used)
        if not any(used):
            assert result is None
            continue
        idx = [j for j in range(3) if used[j]]
        matrix = np.array([[v[f"v{min(a, b) + 1}{max(a, b) + 1}"] for b in idx] for a in idx])
        x = np.linalg.solve(matrix, np.ones(len(idx)))
        assert result[0] == pytest.approx(-(x @ (y_now - y_prev)[idx]) / x.sum(), rel=1e-10, abs=1e-12)
        assert result[1] == pytest.approx(1 / x.sum(), rel=1e-10)


def test_probit_shift_with_empty_marks_is_finite(db):  # noqa: F811
    cases = [((20, 0, 0, 0), (0, 0, 0, 20)), ((0, 0, 0, 20), (20, 0, 0, 0)), ((1, 0, 0, 0), (0, 1, 0, 0)),
             ((0, 0, 1, 0), (0, 0, 1, 0)), ((5, 0, 0, 0), (5, 0, 0, 0))]
    for counts_prev, counts_now in cases:
        n_prev, n_now = sum(counts_prev), sum(counts_now)
        y_prev, v_prev = sql_probits(db, corrected(counts_prev), n_prev)
        y_now, v_now = sql_probits(db, corrected(counts_now), n_now)
        assert np.isfinite(y_prev).all() and np.isfinite(y_now).all()
        assert all(math.isfinite(x) and x > 0 for k, x in v_prev.items() if k[1] == k[2])
        v = {key: v_prev[key] + v_now[key] for key in v_prev}
        k_prev, k_now = np.cumsum(counts_prev)[:3], np.cumsum(counts_now)[:3]
        # a threshold with every pupil on one side in both years tells nothing (the model's rule)
        used = tuple(bool(not (a == 0 and b == 0) and not (a == n_prev and b == n_now))
                     for a, b in zip(k_prev, k_now, strict=True))
        result = sql_shift(db, y_now - y_prev, v, used)
        if not any(used):
            assert result is None, (counts_prev, counts_now)
        else:
            assert math.isfinite(result[0]) and math.isfinite(result[1]) and result[1] > 0
    # all «2» last year, all «5» now: a large improvement; the reverse a large deterioration
    up = sql_shift(db, *(lambda yp, yn: (yn[0] - yp[0], {k: yp[1][k] + yn[1][k] for k in yp[1]}))(
        sql_probits(db, corrected((20, 0, 0, 0)), 20), sql_probits(db, corrected((0, 0, 0, 20)), 20)),
        (True, True, True))
    assert up[0] > 2
    assert sql_shift(db, (0.1, None, 0.2), {f"v{j}{k}": 0.1 for j in range(1, 4) for k in range(j, 4)},
                     (True, True, True)) is None


def test_benjamini_hochberg_matches_scipy(db):  # noqa: F811
    rng = np.random.default_rng(4)
    for size in (1, 2, 7, 50, 400):
        p = rng.uniform(0, 1, size) ** 3
        p[rng.integers(0, size, size // 5)] = p[0]  # ties
        got = one(db, "select stats.bh_qvalues(%s::double precision[])", [float(x) for x in p])
        assert np.array(got) == pytest.approx(stats.false_discovery_control(p, method="bh"), rel=1e-12)
    with_nulls = [0.01, None, 0.04, 0.03, None, 0.5]
    got = one(db, "select stats.bh_qvalues(%s::double precision[])", with_nulls)
    expected = stats.false_discovery_control([0.01, 0.04, 0.03, 0.5], method="bh")
    assert [got[i] for i in (0, 2, 3, 5)] == pytest.approx(expected, rel=1e-12)
    assert got[1] is None and got[4] is None
    assert one(db, "select stats.bh_qvalues(array[1e-320, 'NaN', 0.2]::double precision[])")[0] == 0


def cut_shift_rows() -> list[dict]:
    """Schools at different levels on a 20-item test (ability N(μ, 1), item difficulty 0), marks cut at 6/11/16
    raw points last year and 7/12/17 this year; n = 1000 pupils with the expected mark counts. The region's
    R_j is the precision-weighted mean of the schools' probit changes (int_region_changes), d_j = Δy_j − R_j."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    weights = weights / weights.sum()
    n, rows, schools = 1000, [], []
    for i, mu in enumerate((-0.9, -0.3, 0.3, 0.9, 1.5, 2.1)):
        raw = np.array([weights @ stats.binom.pmf(s, 20, stats.norm.cdf(nodes + mu)) for s in range(21)])
        cells = {}
        for year, cuts in ((2025, (6, 11, 16)), (2026, (7, 12, 17))):
            bounds = [0, *cuts, 21]
            probs = [raw[bounds[c]:bounds[c + 1]].sum() for c in range(4)]
            counts = np.round(np.array(probs) * n).astype(int)
            counts[2] += n - counts.sum()
            p = corrected(counts)
            y = stats.norm.ppf(p)
            phi = stats.norm.pdf(y)
            v = {f"v{j + 1}{k + 1}": p[j] * (1 - p[k]) / (n * phi[j] * phi[k]) for j in range(3) for k in range(j, 3)}
            cells[year] = (counts, y, v)
        schools.append((f"S{i + 1}", cells))
    dy = np.array([cells[2026][1] - cells[2025][1] for _, cells in schools])
    w = np.array([[1 / (cells[2026][2][f"v{j}{j}"] + cells[2025][2][f"v{j}{j}"]) for j in (1, 2, 3)]
                  for _, cells in schools])
    region = (w * dy).sum(axis=0) / w.sum(axis=0)
    for (school, cells), change in zip(schools, dy, strict=True):
        (c_prev, _, v_prev), (c_now, _, v_now) = cells[2025], cells[2026]
        row = {"school_id": school, "procedure_code": "vpr", "subject_code": "math", "grade": 5, "school_year": 2026,
               "category_kind": "marks", "n_categories": 4, "n_prev": n, "n_now": n,
               "low_prev": int(c_prev[0]), "low_now": int(c_now[0]),
               "quality_prev": int(c_prev[2:].sum()), "quality_now": int(c_now[2:].sum()),
               "low_base": int(c_prev[0]), "quality_base": int(c_prev[2:].sum()),
               "low_base_share": float(c_prev[0] / n), "m1": True, "m2": True, "m3": True}
        row |= {f"d{j + 1}": round(float(change[j] - region[j]), 12) for j in range(3)}
        row |= {key: round(float(v_prev[key] + v_now[key]), 12) for key in v_prev}
        row["low_change_pp"] = round(100 * float(c_now[0] - c_prev[0]) / n, 12)
        rows.append(row)
    return rows


def test_cut_shift_unit_test_rows_are_generated_from_a_20_item_test():
    """The dbt unit test «a uniform cut shift gives every school «без значимых изменений»» reads these rows."""
    spec = yaml.safe_load(UNIT_TESTS.read_text(encoding="utf-8"))
    test = next(t for t in spec["unit_tests"] if t["name"] == "uniform_cut_shift_moves_no_school_class")
    given = next(g for g in test["given"] if g["input"] == "ref('int_school_result_pairs')")["rows"]
    expected = cut_shift_rows()
    assert len(given) == len(expected) == 6
    for row, want in zip(given, expected, strict=True):
        for key, value in want.items():
            if key == "low_change_pp":
                continue
            if isinstance(value, str | bool):
                assert row[key] == value, (row["school_id"], key)
                continue
            assert row[key] == pytest.approx(value, rel=1e-9, abs=1e-12), (row["school_id"], key)
    # the share of «2» moves by very different amounts at different levels (the p.p. baseline fails there)
    moves = [r["low_change_pp"] for r in expected]
    assert max(moves) - min(moves) > 5
    assert all(r["dynamics_class"] == "без значимых изменений" for r in test["expect"]["rows"])
