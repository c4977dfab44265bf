"""Objectivity checks O2, O3, O8 (dbt models int_objectivity_o2/o3/o8) on small synthetic inputs: their
p-values against scipy, and totality (a cell without data, n = 0, every pupil at one score, tasks without a
difficulty). The model SQL is rendered here with ref()/source() pointing at tables of a scratch schema, so no
dbt build is needed; the statistics functions come from the create_stats_functions macro as in dbt."""

from __future__ import annotations

import uuid

import jinja2
import numpy as np
import psycopg
import pytest
from psycopg import sql
from scipy import stats

from warehouse.dbt import DBT_DIR

MODELS = DBT_DIR / "models" / "intermediate"
PARAMETERS = {
    "O2": {"min_n": 10, "alpha_family": 0.01, "hard_minus_basic_pp": 15, "basic_gap_max_pp": 0,
           "min_tasks_per_level": 2, "slope_reference_min_cells": 20},
    "O3": {"min_n": 15, "alpha_family": 0.01, "peak_ratio": 2, "window_below": 2, "peer_deciles": 1},
    "O8": {"min_n": 15, "alpha_family": 0.01, "identical_min": 3, "min_lost_points": 3, "score_bands": 1,
           "guttman_percentile": 0.95, "max_group": 40},
}


def render(model: str) -> str:
    """The model's SQL with refs and sources as tables of schema t, and the project's macros."""
    macros = (DBT_DIR / "macros" / "objectivity_parameters.sql").read_text(encoding="utf-8")
    env = jinja2.Environment()
    text = macros + (MODELS / f"{model}.sql").read_text(encoding="utf-8")
    return env.from_string(text).render(
        ref=lambda name: f"t.{name}", source=lambda _schema, name: f"t.{name}", config=lambda **_: "")


def stats_sql() -> str:
    text = (DBT_DIR / "macros" / "create_stats_functions.sql").read_text(encoding="utf-8")
    return text.split("{% macro create_stats_functions() %}", 1)[1].split("{% endmacro %}", 1)[0]


@pytest.fixture(scope="module")
def db(server_url):
    name = f"edu_objp_{uuid.uuid4().hex[:8]}"
    admin_url = psycopg.conninfo.make_conninfo(server_url, dbname="postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    with psycopg.connect(psycopg.conninfo.make_conninfo(server_url, dbname=name), autocommit=True) as conn:
        conn.execute(stats_sql())
        conn.execute("create schema t")
        conn.execute("create table t.int_objectivity_parameters (school_year int, check_code text, "
                     "parameter_code text, value double precision, rule_version text)")
        for check, values in PARAMETERS.items():
            for code, value in values.items():
                conn.execute("insert into t.int_objectivity_parameters values (2025, %s, %s, %s, %s)",
                             (check, code, value, f"{check}-test"))
        conn.execute("create table t.int_method_parameters as select 0.5::double precision as share_sum_tolerance_pp")
        yield conn
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def table(conn, name: str, columns: str, rows: list[tuple]) -> None:
    conn.execute(f"drop table if exists t.{name}")
    conn.execute(f"create table t.{name} ({columns})")
    if rows:
        marks = ", ".join(["%s"] * len(rows[0]))
        with conn.cursor() as cur:
            cur.executemany(f"insert into t.{name} values ({marks})", rows)


def run(conn, model: str) -> list[dict]:
    cur = conn.execute(render(model))
    names = [c.name for c in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


SCHOOL_RESULTS = ("school_id text, school_year int, procedure_code text, subject_code text, grade int, "
                  "result_source text, n_participants bigint, is_consistent boolean")


# O2 ------------------------------------------------------------------------------------------------------------
TASK_RESULTS = ("procedure_code text, school_id text, school_year int, subject_code text, grade int, task_code text, "
                "task_kind text, difficulty text, task_max_points int, result_source text, n_participants bigint, "
                "mean_pct_of_max numeric, region_pct_of_max numeric, region_n_participants bigint, region_source text")


def o2_inputs(conn, school_pct, region_pct, levels, weights, *, n=40):
    table(conn, "int_school_results", SCHOOL_RESULTS, [
        ("S1", 2025, "vpr", "math", 5, "individual", n, True),
        ("S2", 2025, "vpr", "math", 5, "aggregated", 0, False),     # n = 0
        ("S3", 2025, "vpr", "rus", 5, "aggregated", 30, True),      # no task rows at all
    ])
    rows = [("vpr", "S1", 2025, "math", 5, str(j + 1), "задание", lev, w, "individual", n, s, r, 5000, "aggregated")
            for j, (s, r, lev, w) in enumerate(zip(school_pct, region_pct, levels, weights, strict=True))]
    rows.append(("vpr", "S2", 2025, "math", 5, "1", "задание", "Б", 1, "aggregated", 0, 50, 60, 5000, "aggregated"))
    table(conn, "int_task_results", TASK_RESULTS, rows)
    return {(r["school_id"], r["sub_check"]): r for r in run(conn, "int_objectivity_o2")}


def logit(p):
    p = np.clip(np.asarray(p, dtype=float), 0.5, 99.5) / 100
    return np.log(p / (1 - p))


def test_o2_slope_p_value_matches_scipy_linregress(db):
    rng = np.random.default_rng(3)
    region = rng.uniform(20, 95, 12)
    school = np.clip(region + rng.normal(0, 6, 12) + np.where(region < 50, 12, -6), 0, 100)
    levels = ["Б" if r > 70 else "В" if r < 45 else "П" for r in region]
    out = o2_inputs(db, school.round(2), region.round(2), levels, [1] * 12)
    x, y = -logit(region.round(2)), logit(school.round(2)) - logit(region.round(2))
    expected = stats.linregress(x, y, alternative="greater")
    slope = out[("S1", "slope")]
    assert slope["effect"] == pytest.approx(expected.slope, rel=1e-9)
    assert slope["p_value"] == pytest.approx(expected.pvalue, rel=1e-7)
    # one cell in the school-year: Holm changes nothing
    assert slope["p_adjusted"] == pytest.approx(expected.pvalue, rel=1e-7)
    official = out[("S1", "official")]
    gaps = school.round(2) - region.round(2)
    hard = {"В"} if levels.count("В") >= 2 else {"П", "В"}
    basic_gap = np.mean([g for g, lv in zip(gaps, levels, strict=True) if lv == "Б"])
    hard_gap = np.mean([g for g, lv in zip(gaps, levels, strict=True) if lv in hard])
    assert official["effect"] == pytest.approx(hard_gap - basic_gap, rel=1e-9)
    assert (official["status"] == "признак") == (
        hard_gap - basic_gap >= 15 and basic_gap < 0 and expected.pvalue < 0.01)


def test_o2_weighted_slope_matches_weighted_least_squares(db):
    rng = np.random.default_rng(5)
    region = rng.uniform(15, 90, 10)
    school = np.clip(region + rng.normal(0, 5, 10), 1, 99).round(2)
    weights = np.array([1, 1, 2, 1, 3, 1, 2, 1, 1, 4])
    levels = ["Б", "Б", "Б", "П", "П", "П", "П", "В", "В", "В"]
    out = o2_inputs(db, school, region.round(2), levels, weights)
    x, y = -logit(region.round(2)), logit(school) - logit(region.round(2))
    xm, ym = np.average(x, weights=weights), np.average(y, weights=weights)
    sxx = np.sum(weights * (x - xm) ** 2)
    slope = np.sum(weights * (x - xm) * (y - ym)) / sxx
    resid = y - ym - slope * (x - xm)
    se = np.sqrt(np.sum(weights * resid ** 2) / (len(x) - 2) / sxx)
    row = out[("S1", "slope")]
    assert row["effect"] == pytest.approx(slope, rel=1e-9)
    assert row["p_value"] == pytest.approx(stats.t.sf(slope / se, len(x) - 2), rel=1e-7)


def test_o2_without_difficulty_falls_back_to_region_terciles_and_says_insufficient_when_empty(db):
    region = np.linspace(90, 20, 9)
    school = region + np.linspace(-10, 10, 9)
    out = o2_inputs(db, school.round(2), region.round(2), [None] * 9, [1] * 9)
    official = out[("S1", "official")]
    # terciles of region completion: the three easiest are basic, the three hardest hard
    assert official["effect"] == pytest.approx(np.mean((school - region)[6:]) - np.mean((school - region)[:3]))
    assert "оценён по выполнению в регионе" in official["explanation"]
    assert official["status"] != "недостаточно данных"
    for sub in ("official", "slope"):
        assert out[("S2", sub)]["status"] == "недостаточно данных"
        assert "меньше" in out[("S2", sub)]["insufficient_reason"]
        assert out[("S3", sub)]["status"] == "недостаточно данных"
        assert out[("S3", sub)]["data_basis"] == "none"
        assert out[("S3", sub)]["p_value"] is None and out[("S3", sub)]["p_adjusted"] is None


def test_o2_slope_is_judged_against_the_median_slope_of_the_test(db):
    rng = np.random.default_rng(4)
    region = np.linspace(92, 25, 10)
    cells, rows, slopes = [], [], {}
    for i in range(25):
        school = np.clip(region + rng.normal(0, 4, 10) - 0.1 * (region - 60), 1, 99).round(2)
        cells.append((f"R{i}", 2025, "vpr", "math", 5, "individual", 40, True))
        rows += [("vpr", f"R{i}", 2025, "math", 5, str(j + 1), "задание", "Б" if j < 4 else "В", 1, "individual", 40,
                  s, r, 5000, "aggregated") for j, (s, r) in enumerate(zip(school, region, strict=True))]
        slopes[f"R{i}"] = (-logit(region), logit(school) - logit(region))
    table(db, "int_school_results", SCHOOL_RESULTS, cells)
    table(db, "int_task_results", TASK_RESULTS, rows)
    out = {r["school_id"]: r for r in run(db, "int_objectivity_o2") if r["sub_check"] == "slope"}
    fits = {s: stats.linregress(x, y) for s, (x, y) in slopes.items()}
    b = np.array([f.slope for f in fits.values()])
    reference = np.median(b)
    se2 = np.median([f.stderr ** 2 for f in fits.values()])
    tau2 = max(0.0, (1.4826 * np.median(np.abs(b - reference))) ** 2 - se2)
    for school in ("R0", "R7"):
        fit = fits[school]
        assert out[school]["threshold"] == pytest.approx(reference, rel=1e-9)
        t = (fit.slope - reference) / np.sqrt(fit.stderr ** 2 + tau2)
        assert out[school]["p_value"] == pytest.approx(stats.t.sf(t, 8), rel=1e-7)


# O3 ------------------------------------------------------------------------------------------------------------
CUTS = {3: 5, 4: 10, 5: 15}
HIST = ("school_id text, school_year int, subject_code text, grade int, score int, pupils bigint, "
        "n_participants bigint, max_score int, data_basis text, pct_total double precision, distribution_ok boolean")


def o3_inputs(conn, histograms: dict[str, np.ndarray]):
    cells = [(s, 2025, "vpr", "math", 5, "individual", int(h.sum()), True) for s, h in histograms.items()]
    cells.append(("EMPTY", 2025, "vpr", "math", 5, "aggregated", 0, False))
    table(conn, "int_school_results", SCHOOL_RESULTS, cells)
    table(conn, "int_score_histograms", HIST, [
        (s, 2025, "math", 5, score, int(c), int(h.sum()), len(h) - 1, "individual", 100.0, True)
        for s, h in histograms.items() for score, c in enumerate(h)])
    table(conn, "vpr_mark_scales", "valid_from int, valid_to int, subject_code text, grade int, mark int, "
          "min_primary_score int", [(2020, 2030, "math", 5, m, c) for m, c in {2: 0, **CUTS}.items()])
    return {(r["school_id"], r["sub_check"], r["subject_code"]): r for r in run(conn, "int_objectivity_o3")}


def o3_expected(histograms, school):
    """Deficit z with the peers (every other school: one peer group here) by the documented formula."""
    d = v = 0.0
    for cut in CUTS.values():
        below = slice(cut - 2, cut)
        window = slice(cut - 2, cut + 2)
        k, n = histograms[school][below].sum(), histograms[school][window].sum()
        kp = sum(h[below].sum() for s, h in histograms.items() if s != school)
        np_ = sum(h[window].sum() for s, h in histograms.items() if s != school)
        if n == 0 or np_ == 0:
            continue
        p = kp / np_
        d += k - n * p
        v += n * p * (1 - p) * (1 + n / np_)
    return (d + 0.5) / np.sqrt(v)


def test_o3_deficit_p_value_matches_scipy_and_every_pupil_at_the_cut_is_a_sign(db):
    rng = np.random.default_rng(11)
    histograms = {f"P{i}": np.bincount(rng.binomial(20, 0.55, 60), minlength=21) for i in range(6)}
    bunched = np.bincount(rng.binomial(20, 0.55, 90), minlength=21)
    for cut in CUTS.values():      # the pupils one or two points below each cut moved up to it
        moved = bunched[cut - 2:cut].copy()
        bunched[cut - 2:cut] -= moved
        bunched[cut] += moved.sum()
    histograms["B"] = bunched
    histograms["ONE"] = np.zeros(21, dtype=int)
    histograms["ONE"][10] = 30      # every pupil on the «4» cut
    out = o3_inputs(db, histograms)
    for school in ("P0", "B", "ONE"):
        z = o3_expected(histograms, school)
        row = out[(school, "cell", "math")]
        assert row["effect"] == pytest.approx(z, rel=1e-9)
        assert row["p_value"] == pytest.approx(stats.norm.cdf(z), rel=1e-9)
        # the school-year row pools one cell here: the same statistic; Holm over three equal p-values
        assert out[(school, "school_year", "all")]["p_value"] == pytest.approx(stats.norm.cdf(z), rel=1e-9)
        assert out[(school, "cell", "math")]["p_adjusted"] == pytest.approx(min(1, 3 * stats.norm.cdf(z)), rel=1e-9)
    assert out[("B", "cell", "math")]["status"] == "признак"
    assert out[("ONE", "cell", "math")]["status"] == "признак"
    empty = out[("EMPTY", "cell", "math")]
    assert empty["status"] == "недостаточно данных" and empty["data_basis"] == "none"
    assert empty["insufficient_reason"] == "нет распределения первичных баллов для ячейки"
    assert out[("EMPTY", "school_year", "all")]["status"] == "недостаточно данных"


def test_o3_pupils_far_from_every_cut_cannot_be_computed(db):
    rng = np.random.default_rng(2)
    histograms = {f"P{i}": np.bincount(rng.binomial(20, 0.5, 50), minlength=21) for i in range(3)}
    histograms["FAR"] = np.zeros(21, dtype=int)
    histograms["FAR"][20] = 25
    out = o3_inputs(db, histograms)
    row = out[("FAR", "cell", "math")]
    assert row["status"] == "недостаточно данных" and row["p_value"] is None
    assert "у границ отметок нет участников" in row["insufficient_reason"]


# O8 ------------------------------------------------------------------------------------------------------------
VECTORS = ("load_id bigint, source_row int, school_id text, participant_id text, school_year int, subject_code text, "
           "grade int, variant text, class_label text, task_codes text[], points int[], max_points int[], total int, "
           "max_total int, is_complete boolean, band int")


def o8_inputs(conn, works):
    """works: (school, class, variant, points). One score band (score_bands = 1)."""
    rows = [(1, i, s, f"p{i}", 2025, "math", 5, v, c, [str(j + 1) for j in range(len(p))], list(p), [1] * len(p),
             int(sum(p)), len(p), True, 1) for i, (s, c, v, p) in enumerate(works)]
    table(conn, "int_objectivity_pupil_vectors", VECTORS, rows)
    conn.execute("drop table if exists t.int_objectivity_pupil_task_probs")
    conn.execute(f"create table t.int_objectivity_pupil_task_probs as {render('int_objectivity_pupil_task_probs')}")
    schools = sorted({w[0] for w in works})
    table(conn, "int_school_results", SCHOOL_RESULTS,
          [(s, 2025, "vpr", "math", 5, "individual", sum(w[0] == s for w in works), True) for s in schools]
          + [("AGG", 2025, "vpr", "math", 5, "aggregated", 50, True)])
    return {(r["school_id"], r["sub_check"]): r for r in run(conn, "int_objectivity_o8")}


def region_works(rng, schools=8, per_school=30, tasks=12):
    difficulty = np.linspace(-1.5, 1.5, tasks)
    works = []
    for s in range(schools):
        theta = rng.normal(0, 1, per_school)
        answers = (rng.random((per_school, tasks)) < 1 / (1 + np.exp(-(theta[:, None] - difficulty)))).astype(int)
        works += [(f"S{s}", "5А" if i % 2 else "5Б", str(1 + i % 2), a) for i, a in enumerate(answers)]
    return works


def test_o8_identical_vectors_and_pairs_match_poisson_tails(db):
    rng = np.random.default_rng(8)
    works = region_works(rng)
    template = np.array([1, 1, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0])
    works += [("COPY", "5А", "1", template.copy()) for _ in range(6)]
    works += [("COPY", "5А" if i % 2 else "5Б", "2", (rng.random(12) < 0.6).astype(int)) for i in range(14)]
    out = o8_inputs(db, works)
    all_points = np.array([w[3] for w in works])
    p1 = all_points.mean(axis=0)                                # P(points = 1) per task, one band
    # identical: λ = n_variant · P(total) · Π p_j(v_j) / P_indep(total)
    variant = [w for w in works if w[0] == "COPY" and w[2] == "1"]
    total = template.sum()
    p_total = np.mean(all_points.sum(axis=1) == total)
    mu, sigma = p1.sum(), np.sqrt(np.sum(p1 * (1 - p1)))
    p_indep = stats.norm.cdf((total + 0.5 - mu) / sigma) - stats.norm.cdf((total - 0.5 - mu) / sigma)
    lam = len(variant) * p_total * np.prod(np.where(template == 1, p1, 1 - p1)) / p_indep
    nontrivial = {tuple(w[3]) for w in works if w[0] == "COPY" and 0 < sum(w[3]) <= len(w[3]) - 3}
    row = out[("COPY", "identical")]
    assert row["effect"] == 6
    assert row["region_value"] == pytest.approx(lam, rel=1e-6)
    assert row["p_value"] == pytest.approx(min(1, stats.poisson.sf(5, lam) * len(nontrivial)), rel=1e-6)
    assert row["status"] == "признак"
    # pairs within class × variant of non-trivial works: W tasks lost alike, E = Σ_j P(0)² (one band, 0/1 tasks)
    expected = np.sum((1 - p1) ** 2)
    groups: dict[tuple, list] = {}
    for school, cls, var, points in works:
        if school == "COPY" and 0 < points.sum() <= len(points) - 3:
            groups.setdefault((cls, var), []).append(points)
    tails = [stats.poisson.sf(np.sum((a == b) & (a < 1)) - 1, expected)
             for group in groups.values() for i, a in enumerate(group) for b in group[i + 1:]]
    pairs = out[("COPY", "pairs")]
    assert pairs["region_value"] == pytest.approx(expected, rel=1e-9)
    assert pairs["p_value"] == pytest.approx(min(1, min(tails) * len(tails)), rel=1e-6)
    agg = out[("AGG", "identical")]
    assert agg["status"] == "недостаточно данных" and agg["data_basis"] == "aggregated"
    assert "только сводные отчёты" in agg["insufficient_reason"]


def test_o8_guttman_misfit_matches_binomtest(db):
    rng = np.random.default_rng(9)
    works = region_works(rng, schools=12)
    # inverted works: the hard tasks solved, the easy ones not
    works += [("INV", "5А", str(1 + i % 2), np.array([0] * 6 + [1] * 6)) for i in range(8)]
    works += [("INV", "5А", str(1 + i % 2), (rng.random(12) < 0.5).astype(int)) for i in range(12)]
    out = o8_inputs(db, works)
    row = out[("INV", "guttman")]
    n, k, p_region = 20, round(row["effect"] * 20 / 100), row["region_value"] / 100
    assert k >= 8
    assert row["p_value"] == pytest.approx(stats.binomtest(k, n, p_region, alternative="greater").pvalue, rel=1e-6)
    assert row["status"] == "признак"
    honest = [r for (s, sub), r in out.items() if sub == "guttman" and s.startswith("S")]
    assert all(0 <= r["p_value"] <= 1 for r in honest)
