"""The cell-level objectivity checks (O1 O4 O5 O6 O7 O9 O10) and their marts.

1. The p-value expressions of the check models, run on a real database with the SQL statistics functions, against
   scipy on synthetic cells: binomial tails (O1, O4, O10), χ² lower tail (O9), one-sided Welch (O6), the
   inverse-variance pooled z (O5, = weighted Stouffer), including n = 0, shares of 0 and 100 % and missing values.
2. The marts of the built demo region: p-values recomputed with scipy from the row's own n, effect and region
   value; Holm's adjustment recomputed; every cell has its rows; aggregated-only schools get «недостаточно
   данных» where pupil rows are needed; the overall status recomputed from the flags.
The rule logic on hand-made rows is in the dbt unit tests (`_objectivity_cells__models.yml`, marts yml)."""

from __future__ import annotations

import math
import uuid

import numpy as np
import pandas as pd
import psycopg
import pytest
from psycopg import sql
from scipy import stats

from warehouse.dbt import DBT_DIR, run_dbt


def macro_sql() -> str:
    text = (DBT_DIR / "macros" / "create_stats_functions.sql").read_text(encoding="utf-8")
    return text.split("{% macro create_stats_functions() %}", 1)[1].split("{% endmacro %}", 1)[0]


@pytest.fixture(scope="module")
def db(server_url):
    name = f"edu_objcell_{uuid.uuid4().hex[:8]}"
    admin_url = psycopg.conninfo.make_conninfo(server_url, dbname="postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    with psycopg.connect(psycopg.conninfo.make_conninfo(server_url, dbname=name), autocommit=True) as connection:
        connection.execute(macro_sql())
        yield connection
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def one(db, query: str, *args):
    return db.execute(query, args).fetchone()[0]


# --- 1. the models' expressions against scipy --------------------------------------------------------------

# (k, n, p): small and large cells, none and all of the pupils, the region's rate 0 and 1
BINOMIAL_CELLS = [(0, 10, 0.07), (3, 10, 0.07), (10, 10, 0.07), (13, 57, 0.0732), (20, 40, 0.07), (1, 45, 0.2),
                  (45, 45, 0.2), (0, 45, 0.0), (5, 45, 0.0), (45, 45, 1.0), (12, 300, 0.05), (150, 2000, 0.06)]


@pytest.mark.parametrize(("k", "n", "p"), BINOMIAL_CELLS)
def test_raised_lowered_and_quality_p_is_the_one_sided_binomial_test(db, k, n, p):
    # O1, O4: stats.binom_sf(k, n, p) = P(X >= k)
    expected = stats.binomtest(k, n, p, alternative="greater").pvalue
    assert one(db, "select stats.binom_sf(%s, %s, %s)", k, n, p) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(("k", "n", "p"), BINOMIAL_CELLS)
def test_term_marks_p_is_the_lower_binomial_test(db, k, n, p):
    # O10: stats.binom_cdf(failing, enrolled, expected) = P(X <= k)
    expected = stats.binomtest(k, n, p, alternative="less").pvalue
    assert one(db, "select stats.binom_cdf(%s, %s, %s)", k, n, p) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_binomial_of_an_empty_or_missing_cell_is_total(db):
    # n = 0 never reaches a test (the models say «недостаточно данных» below min_n), but the functions stay total
    assert one(db, "select stats.binom_sf(0, 0, 0.1)") == 1
    assert one(db, "select stats.binom_cdf(0, 0, 0.1)") == 1
    assert one(db, "select stats.binom_sf(null, 10, 0.1)") is None
    assert one(db, "select stats.binom_sf(3, 10, null)") is None


O9_EXPR = "select stats.chi2_cdf((%(n)s - 1) * %(v)s / %(peer)s, %(n)s - 1)"


@pytest.mark.parametrize(("n", "v", "peer"), [(10, 120.0, 300.0), (45, 40.0, 310.0), (45, 310.0, 310.0),
                                              (2, 5.0, 300.0), (25, 0.0, 250.0), (300, 150.0, 280.0)])
def test_uniform_results_p_is_the_chi2_lower_tail(db, n, v, peer):
    expected = stats.chi2.cdf((n - 1) * v / peer, n - 1)
    got = db.execute(O9_EXPR, {"n": n, "v": v, "peer": peer}).fetchone()[0]
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-300)


# O6: the one-sided fall from the two-sided Welch p, as the model writes it
O6_EXPR = """select case when %(m1)s > %(m0)s then stats.welch_p(%(m1)s, %(v1)s, %(n1)s, %(m0)s, %(v0)s, %(n0)s) / 2
                         else 1 - stats.welch_p(%(m1)s, %(v1)s, %(n1)s, %(m0)s, %(v0)s, %(n0)s) / 2 end"""


@pytest.mark.parametrize(("m1", "v1", "n1", "m0", "v0", "n0"), [
    (1.2, 6.0, 30, -0.1, 7.0, 28), (0.6, 8.0, 12, 0.5, 8.0, 11), (-0.3, 5.0, 40, 0.4, 6.5, 44),
    (2.5, 9.0, 10, -1.0, 4.0, 60), (0.0, 5.0, 20, 0.0, 5.0, 20)])
def test_cohort_fall_p_is_the_one_sided_welch_test(db, m1, v1, n1, m0, v0, n0):
    expected = stats.ttest_ind_from_stats(m1, math.sqrt(v1), n1, m0, math.sqrt(v0), n0, equal_var=False,
                                          alternative="greater").pvalue
    got = db.execute(O6_EXPR, {"m1": m1, "v1": v1, "n1": n1, "m0": m0, "v0": v0, "n0": n0}).fetchone()[0]
    assert got == pytest.approx(expected, rel=1e-9)


def test_cohort_fall_without_spread_has_no_p(db):
    # both cells without any spread: nothing to test (the model says «недостаточно данных»)
    assert db.execute(O6_EXPR, {"m1": 1, "v1": 0, "n1": 20, "m0": 0, "v0": 0, "n0": 20}).fetchone()[0] is None


def test_pooled_gain_p_is_weighted_stouffer(db):
    # O5: the inverse-variance mean of the cells' gains over its standard error = Stouffer's z with weights 1/se
    rng = np.random.default_rng(5)
    gains, variances = rng.normal(0.3, 0.4, 9), rng.uniform(0.02, 0.2, 9)
    got = one(db, """select stats.normal_sf((sum(g / v) / sum(1 / v)) / (1 / sqrt(sum(1 / v))))
                     from unnest(%s::float8[], %s::float8[]) as u(g, v)""", list(gains), list(variances))
    se = np.sqrt(variances)
    expected = stats.combine_pvalues(stats.norm.sf(gains / se), method="stouffer", weights=1 / se).pvalue
    assert got == pytest.approx(expected, rel=1e-9)


# --- 2. the marts of the demo region ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def built(demo_loaded):
    """The demo region's objectivity marts: test_dbt.py's full build made them when it ran first in the session;
    otherwise only what they need is built."""
    url, _ = demo_loaded
    with psycopg.connect(url, autocommit=True) as connection:
        if connection.execute("select to_regclass('marts.mart_objectivity') is null").fetchone()[0]:
            assert run_dbt(["build", "--select", "+mart_objectivity", "analyst_scopes", "--exclude", "test_type:data"],
                           url=url)
        yield connection


def frame(conn, query: str) -> pd.DataFrame:
    cur = conn.execute(query)
    return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


@pytest.fixture(scope="module")
def flags(built):
    return frame(built, "select * from marts.mart_objectivity_flags")


def computed(flags, check, sub_check=None):
    rows = flags[(flags.check_code == check) & flags.p_value.notna()]
    return rows if sub_check is None else rows[rows.sub_check == sub_check]


def test_o4_p_values_are_scipy_binomial_tests_of_the_rows_counts(flags):
    rows = computed(flags, "O4")
    assert {"raised", "lowered", "raised_all", "lowered_all"} <= set(rows.sub_check)
    for r in rows.itertuples():
        n, k = int(r.n_participants), round(r.effect * r.n_participants / 100)
        rate = r.region_value / 100 if r.sub_check != "gap2" else max(r.threshold, r.region_value) / 100
        expected = stats.binomtest(k, n, rate, alternative="greater").pvalue
        assert r.p_value == pytest.approx(expected, rel=1e-7, abs=1e-250), r


def test_o1_p_values_are_scipy_binomial_tests_of_the_rows_counts(flags):
    rows = computed(flags, "O1")
    assert len(rows) > 0
    for r in rows.itertuples():
        n, k = int(r.n_participants), round((r.effect + r.region_value) * r.n_participants / 100)
        expected = stats.binomtest(k, n, r.region_value / 100, alternative="greater").pvalue
        assert r.p_value == pytest.approx(expected, rel=1e-7, abs=1e-250), r


def test_o9_p_values_are_scipy_chi2_lower_tails(flags):
    rows = computed(flags, "O9")
    assert len(rows) > 0
    for r in rows.itertuples():
        expected = stats.chi2.cdf((r.n_participants - 1) * r.effect ** 2, r.n_participants - 1)
        assert r.p_value == pytest.approx(expected, rel=1e-7, abs=1e-250), r


def holm(p: np.ndarray) -> np.ndarray:
    order = np.argsort(p, kind="stable")
    m = len(p)
    adjusted = np.maximum.accumulate([(m - i) * p[j] for i, j in enumerate(order)])
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1)
    return out


def test_p_adjusted_is_holm_within_the_school_year_of_each_check(flags):
    rows = flags[flags.p_value.notna()]
    for (_, _, check), group in rows.groupby(["school_id", "school_year", "check_code"]):
        if check == "O2":
            # O2's two sub-checks of a cell share its one slope test: one p-value per cell in the family
            group = group.drop_duplicates(["subject_code", "grade"])
        assert group.p_adjusted.to_numpy() == pytest.approx(holm(group.p_value.to_numpy()), rel=1e-12)


def test_every_vpr_cell_has_a_row_of_every_cell_check(built, flags):
    cells = frame(built, "select school_id, school_year, subject_code, grade from intermediate.int_school_results "
                         "where procedure_code = 'vpr'")
    expected_subs = {"O1": {"main"}, "O4": {"raised", "lowered", "gap2"}, "O6": {"main"}, "O9": {"main"}}
    subs_of = flags.groupby(["school_id", "school_year", "subject_code", "grade", "check_code"]).sub_check \
        .apply(set).to_dict()
    for cell in cells.itertuples(index=False):
        for check, subs in expected_subs.items():
            assert subs_of.get((*cell, check)) == subs, (cell, check)
    school_years = cells[["school_id", "school_year"]].drop_duplicates()
    for check in ("O5", "O7"):
        have = flags[flags.check_code == check][["school_id", "school_year"]].drop_duplicates()
        assert len(have.merge(school_years)) == len(school_years) == len(have)
    assert (flags[flags.check_code == "O7"].status == "нет данных").all()


def test_aggregated_only_schools_say_insufficient_data_where_pupil_rows_are_needed(built, flags):
    aggregated = flags[(flags.data_basis == "aggregated") & (flags.check_code == "O4") & (flags.sub_check == "gap2")]
    assert len(aggregated) > 0, "the demo has aggregated-only schools"
    assert (aggregated.status == "недостаточно данных").all()
    # where the report let the other parts be computed, the reason is the missing pupil rows
    key = ["school_id", "school_year", "subject_code", "grade"]
    raised = flags[(flags.check_code == "O4") & (flags.sub_check == "raised") & flags.p_value.notna()][key]
    reportable = aggregated.merge(raised, on=key)
    assert len(reportable) > 0
    assert reportable.insufficient_reason.str.contains("работы участников").all()
    # and their other O4 parts are computed from the ФИС ОКО report, not left out
    report_rows = flags[(flags.data_basis == "aggregated") & (flags.check_code == "O4") & (flags.sub_check != "gap2")]
    assert (report_rows.status == "нет признаков").any() or (report_rows.status == "признак").any()


def test_overall_status_follows_the_rule(built, flags):
    mart = frame(built, "select * from marts.mart_objectivity").set_index(["school_id", "school_year"])
    live = set(flags[flags.status.isin(["признак", "нет признаков"])].check_code)
    assert "O7" not in live
    flagged = (flags[flags.status == "признак"].groupby(["school_id", "school_year"]).check_code
               .apply(lambda c: set(c) & live).to_dict())
    computed_n = (flags[flags.status.isin(["признак", "нет признаков"])].groupby(["school_id", "school_year"])
                  .check_code.nunique().to_dict())
    for (school, year), row in mart.iterrows():
        now = flagged.get((school, year), set())
        repeated = now & flagged.get((school, year - 1), set())
        if len(now) >= 2 or repeated:
            expected = "признаки необъективности"
        elif now:
            expected = "отдельные признаки"
        elif computed_n.get((school, year), 0):
            expected = "нет признаков"
        else:
            expected = "недостаточно данных"
        assert row.status == expected, (school, year, now, repeated)
        assert row.n_checks_flagged == len(now)
