"""The SQL statistics functions (dbt macro create_stats_functions) against scipy at the edges of their domain:
counts 0, 1 and 10⁶, a count above n, shares 0 and 1, z = ±40, NULL and NaN. Every call must return a number
or NULL: PostgreSQL raises on float8 underflow, so a function that is not total fails the whole dbt build.
The macro body is plain SQL; it is executed directly (no dbt run needed)."""

from __future__ import annotations

import math
import uuid

import numpy as np
import psycopg
import pytest
from psycopg import sql
from scipy import integrate, special, stats

from warehouse.dbt import DBT_DIR

Z95 = stats.norm.ppf(0.975)


def macro_sql() -> str:
    text = (DBT_DIR / "macros" / "create_stats_functions.sql").read_text(encoding="utf-8")
    body = text.split("{% macro create_stats_functions() %}", 1)[1].split("{% endmacro %}", 1)[0]
    assert "{{" not in body and "{%" not in body  # plain SQL, so it can run without dbt
    return body


@pytest.fixture(scope="module")
def db(server_url):
    name = f"edu_stats_{uuid.uuid4().hex[:8]}"
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


@pytest.mark.parametrize("x", [-40, -38, -37.5, -37, -30, -8.5, -1.96, 0.0, 1e-300, 1.0, 8.5, 30, 37.5, 40, 1e300])
def test_normal_cdf_and_sf_match_scipy_in_the_tails(db, x):
    cdf, sf = one(db, "select stats.normal_cdf(%s)", x), one(db, "select stats.normal_sf(%s)", x)
    # relative accuracy where the value is representable; below 1e-307 the functions give 0
    for value, expected in ((cdf, stats.norm.cdf(x)), (sf, stats.norm.sf(x))):
        if expected < 1e-307:
            assert value == pytest.approx(0, abs=1e-307)
        else:
            assert value == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_normal_cdf_of_missing_and_infinite_values(db):
    assert one(db, "select stats.normal_cdf(null)") is None
    assert one(db, "select stats.normal_cdf('NaN')") is None
    assert one(db, "select stats.normal_cdf('Infinity')") == 1
    assert one(db, "select stats.normal_cdf('-Infinity')") == 0
    # the p-value of mart_factor_associations for a thousand schools and ρ = 0.9 (z ≈ 46): 0, not an underflow
    z = math.atanh(0.9) * math.sqrt(997)
    assert one(db, "select 2 * stats.normal_sf(%s)", z) == 0


def wilson(x, n, z):
    if z > 6:  # the confidence level 2Φ(z) − 1 rounds to 1 in float8: the score interval's closed form
        p = x / n
        centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)
    ci = stats.binomtest(x, n).proportion_ci(confidence_level=2 * stats.norm.cdf(z) - 1, method="wilson")
    return ci.low, ci.high


@pytest.mark.parametrize(("x", "n", "z"), [(0, 1, Z95), (1, 1, Z95), (0, 6, Z95), (6, 6, Z95), (0, 10**6, Z95),
                                           (10**6, 10**6, Z95), (1, 10**6, Z95), (500_000, 10**6, Z95),
                                           (1, 10**6, 40.0), (3, 7, 8.0), (252, 252, 1.0)])
def test_wilson_interval_matches_scipy_at_the_edges(db, x, n, z):
    low = one(db, "select stats.wilson_lower(%s, %s, %s)", x, n, z)
    high = one(db, "select stats.wilson_upper(%s, %s, %s)", x, n, z)
    assert (low, high) == pytest.approx(wilson(x, n, z), abs=1e-12)


@pytest.mark.parametrize(("x", "n", "z"), [(0, 0, Z95), (1, 0, Z95), (7, 6, Z95), (-1, 5, Z95), (None, 5, Z95),
                                           (1, 5, None), (1, 5, -1.0), (0.5, 0.5, Z95), (1, "NaN", Z95)])
def test_wilson_interval_outside_its_domain_is_null(db, x, n, z):
    """n = 0, a count above n, a negative count or z: no interval (NULL), never an error."""
    assert one(db, "select stats.wilson_lower(%s, %s, %s)", x, n, z) is None
    assert one(db, "select stats.wilson_upper(%s, %s, %s)", x, n, z) is None


def test_wilson_interval_for_a_huge_n_is_the_share(db):
    assert one(db, "select stats.wilson_lower(3e15, 1e16, 1.96)") == pytest.approx(0.3)


@pytest.mark.parametrize(("x1", "n1", "x0", "n0"), [(0, 1, 1, 1), (3, 6, 38, 252), (0, 6, 252, 252),
                                                    (0, 10**6, 10**6, 10**6), (5, 10**6, 0, 1), (1, 1, 1, 1)])
def test_newcombe_interval_matches_its_wilson_construction(db, x1, n1, x0, n0):
    l1, u1 = wilson(x1, n1, Z95)
    l0, u0 = wilson(x0, n0, Z95)
    d = x1 / n1 - x0 / n0
    low = one(db, "select stats.newcombe_lower(%s, %s, %s, %s, %s)", x1, n1, x0, n0, Z95)
    high = one(db, "select stats.newcombe_upper(%s, %s, %s, %s, %s)", x1, n1, x0, n0, Z95)
    assert low == pytest.approx(d - math.hypot(x1 / n1 - l1, u0 - x0 / n0), abs=1e-12)
    assert high == pytest.approx(d + math.hypot(u1 - x1 / n1, x0 / n0 - l0), abs=1e-12)


def test_newcombe_interval_without_a_year_is_null(db):
    for args in [(0, 0, 1, 5), (1, 5, 0, 0), (7, 6, 1, 5), (1, 5, 9, 5)]:
        assert one(db, "select stats.newcombe_lower(%s, %s, %s, %s, 1.96)", *args) is None
        assert one(db, "select stats.newcombe_upper(%s, %s, %s, %s, 1.96)", *args) is None


@pytest.mark.parametrize(("x1", "n1", "x0", "n0"), [(0, 0, 0, 0), (0, 1, 0, 1), (1, 1, 0, 1), (0, 6, 3, 252),
                                                    (6, 6, 0, 252), (3, 6, 30, 252), (0, 10**6, 5, 10**6),
                                                    (0, 10**6, 200, 10**6), (1, 1, 999_990, 10**6)])
def test_fisher_exact_matches_scipy_with_tiny_probabilities(db, x1, n1, x0, n0):
    """Tables of 10⁶ have hypergeometric probabilities far below the smallest float8 (log space)."""
    expected = stats.fisher_exact([[x1, n1 - x1], [x0, n0 - x0]]).pvalue
    value = one(db, "select stats.fisher_exact_p(%s, %s, %s, %s)", x1, n1, x0, n0)
    assert value == pytest.approx(expected, rel=1e-6, abs=1e-12)


def test_fisher_exact_of_a_count_above_n_is_null(db):
    for args in [(3, 2, 0, 5), (0, 5, 6, 5), (-1, 5, 0, 5)]:
        assert one(db, "select stats.fisher_exact_p(%s, %s, %s, %s)", *args) is None


def test_log_choose_outside_its_domain_is_null(db):
    assert one(db, "select stats.log_choose(5, 6)") is None
    assert one(db, "select stats.log_choose(5, -1)") is None
    assert one(db, "select stats.log_choose(10, 3)") == pytest.approx(math.log(120))


@pytest.mark.parametrize(("a", "b", "x"), [(0.5, 0.5, 1e-300), (0.5, 0.5, 1e-320), (3, 4, 1e-200), (1e-300, 1, 0.5),
                                           (50, 50, 0.5), (5e5, 0.5, 0.99999), (5e5, 0.5, 1 - 1e-7),
                                           (0.5, 5e5, 1e-6), (1e6, 1e6, 0.4999), (1e6, 1e6, 0.501),
                                           (1e6, 0.5, 1e-3), (0.2, 60, 0.999), (1, 1, 0.3)])
def test_incomplete_beta_matches_scipy_at_the_edges(db, a, b, x):
    value = one(db, "select stats.betainc(%s, %s, %s)", a, b, x)
    assert value == pytest.approx(special.betainc(a, b, x), rel=1e-7, abs=1e-300)


def test_incomplete_beta_outside_its_domain(db):
    assert one(db, "select stats.betainc(0, 1, 0.5)") is None
    assert one(db, "select stats.betainc(1, -1, 0.5)") is None
    assert one(db, "select stats.betainc(1e12, 1e12, 0.5)") is None  # beyond the documented 10⁷
    assert one(db, "select stats.betainc(2, 3, 'NaN')") is None
    assert one(db, "select stats.betainc(2, 3, -1)") == 0
    assert one(db, "select stats.betainc(2, 3, 2)") == 1


@pytest.mark.parametrize("groups", [(50, 100, 10**6, 50.01, 100, 10**6), (50, 100, 10**6, 50.1, 120, 6),
                                    (50, 100, 252, 40, 100, 6), (50, 10, 2, 60, 10, 2),
                                    (50, 100, 5 * 10**6, 50.02, 100, 5 * 10**6), (50, 1e-60, 6, 70, 25, 6),
                                    (0, 1, 2, 100, 1, 2)])
def test_welch_matches_scipy_from_summary_statistics(db, groups):
    m1, v1, n1, m0, v0, n0 = groups
    expected = stats.ttest_ind_from_stats(m1, math.sqrt(v1), n1, m0, math.sqrt(v0), n0, equal_var=False).pvalue
    value = one(db, "select stats.welch_p(%s, %s, %s, %s, %s, %s)", *groups)
    assert value == pytest.approx(expected, rel=1e-6, abs=1e-300)


def test_welch_without_two_observations_or_variance_is_null(db):
    for groups in [(50, 0, 5, 50, 0, 5), (50, 1e-300, 5, 50, 1e-300, 5), (50, 10, 1, 60, 10, 5),
                   (50, 10, 0, 60, 10, 5), (50, -1, 5, 60, 10, 5), (50, None, 5, 60, 10, 5)]:
        assert one(db, "select stats.welch_p(%s, %s, %s, %s, %s, %s)", *groups) is None


@pytest.mark.parametrize(("a1", "b1", "a0", "b0"), [(0.5, 6, 30, 250), (1, 7, 1, 252), (0.2, 2, 0.2, 2),
                                                    (0.5, 6, 1e5, 9e5), (3, 4, 1, 2)])
def test_beta_less_probability_matches_scipy(db, a1, b1, a0, b0):
    value = one(db, "select stats.beta_less_probability(%s, %s, %s, %s, 200)", a1, b1, a0, b0)
    if a0 + b0 > 1e5:  # X0 is a spike at its mean: P(X1 < X0) is X1's distribution function there
        expected = stats.beta(a1, b1).cdf(a0 / (a0 + b0))
    else:
        expected = integrate.quad(lambda p: stats.beta(a0, b0).pdf(p) * stats.beta(a1, b1).cdf(p), 0, 1,
                                  limit=200)[0]
    assert value == pytest.approx(expected, abs=2e-3)


def test_beta_less_probability_outside_its_domain_is_null(db):
    for args in [(0, 2, 3, 4, 200), (1, 2, 3, -4, 200), (1, 2, 3, 4, 0), (None, 2, 3, 4, 200)]:
        assert one(db, "select stats.beta_less_probability(%s, %s, %s, %s, %s)", *args) is None


def test_safe_exp_never_underflows(db):
    assert one(db, "select stats.safe_exp(-800)") == 0
    assert one(db, "select stats.safe_exp(-1e300)") == 0
    assert one(db, "select stats.safe_exp(0)") == 1
    assert np.isfinite(one(db, "select stats.safe_exp(1e6)"))
