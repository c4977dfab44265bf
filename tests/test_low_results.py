"""ШНОР identification on the demo region: the reasons carry the school's value, the region's and the percentile
(recomputed here from mart_school_results), the seed indicators count computed candidates and those needing
confirmation apart, and the rule's unit tests (one-procedure school ranked «по одной процедуре», the label for
signs of non-objectivity) pass. Reuses the demo database test_dbt.py builds; builds the ШНОР marts if missing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import psycopg
import pytest

from warehouse.dbt import run_dbt

UNIT_TESTS = ("one_procedure_school_is_still_ranked", "fewer_procedures_than_the_ranked_minimum_are_not_ranked",
              "reasons_show_school_region_and_percentile", "candidate_with_signs_of_non_objectivity_needs_confirmation")


@pytest.fixture(scope="module")
def marts(demo_loaded):
    url, _ = demo_loaded
    with psycopg.connect(url, autocommit=True) as connection:
        built = connection.execute("select to_regclass('marts.mart_seed_indicators') is not null").fetchone()[0]
        if not built:
            # alone (not after test_dbt.py): the ШНОР marts and their parents, without the data tests of models
            # outside them
            assert run_dbt(["build", "--select", "+mart_low_results", "+mart_seed_indicators", "mart_school_results",
                            "analyst_scopes", "--exclude", "test_type:data"], url=url)
        yield url, connection


def frame(conn, query: str, *args) -> pd.DataFrame:
    cur = conn.execute(query, args)
    return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


def test_rule_unit_tests_pass(marts):
    url, _ = marts
    assert run_dbt(["test", "--select", *UNIT_TESTS], url=url)


def ru(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def test_reasons_carry_school_region_and_percentile(marts):
    _, conn = marts
    cells = frame(conn, "select school_id, school_year, procedure_code, subject_code, grade, n, cell_z "
                        "from intermediate.int_low_results_cells where cell_z is not null")
    results = frame(conn, "select school_id, school_year, procedure_code, subject_code, grade, n_participants, "
                          "share_low::float as share_low, mean_score_100::float as mean_score "
                          "from marts.mart_school_results")
    key = ["school_year", "procedure_code", "subject_code", "grade"]
    df = cells.merge(results, on=["school_id", *key])
    assert len(df) == len(cells) and (df["n"] == df["n_participants"]).all()
    df["x"] = (df["share_low"] * df["n"] / 100).round()
    # the region per cell: all pupils of the schools in the cell
    region = df.groupby(key).apply(lambda g: pd.Series({
        "region_low": g["x"].sum() / g["n"].sum(),
        "region_mean": (g["n"] * g["mean_score"]).sum() / g["n"].sum()}), include_groups=False).reset_index()
    df = df.merge(region, on=key)
    df["w"] = np.sqrt(df["n"])
    pooled = df.groupby(["school_id", "school_year", "procedure_code", "subject_code"]).apply(lambda g: pd.Series({
        "n": g["n"].sum(),
        "share_low": 100 * g["x"].sum() / g["n"].sum(),
        "region_share_low": 100 * (g["n"] * g["region_low"]).sum() / g["n"].sum(),
        "mean_score": (g["n"] * g["mean_score"]).sum() / g["n"].sum(),
        "region_mean_score": (g["n"] * g["region_mean"]).sum() / g["n"].sum(),
        "z": (g["w"] * g["cell_z"]).sum() / g["w"].sum(), "w_sum": g["w"].sum()}), include_groups=False).reset_index()
    # the percentile ranks every school with the procedure × subject, small schools' pooled grades included
    small = frame(conn, "select school_id, school_year, procedure_code, subject_code, n, cell_z "
                        "from intermediate.int_low_results_small_cells where cell_z is not null")
    small["w"] = np.sqrt(small["n"])
    small = small.groupby(["school_id", "school_year", "procedure_code", "subject_code"]).apply(
        lambda g: pd.Series({"pooled_z": (g["w"] * g["cell_z"]).sum(), "pooled_w": g["w"].sum()}),
        include_groups=False).reset_index()
    pooled = pooled.merge(small, on=["school_id", "school_year", "procedure_code", "subject_code"], how="outer")
    pooled["z"] = ((pooled["z"] * pooled["w_sum"]).fillna(0) + pooled["pooled_z"].fillna(0)) / (
        pooled["w_sum"].fillna(0) + pooled["pooled_w"].fillna(0))
    group = pooled.groupby(["school_year", "procedure_code", "subject_code"])["z"]
    pooled["percentile"] = (group.rank(method="min") - 1) / (group.transform("size") - 1)
    pooled = pooled[pooled["pooled_w"].isna()]  # values recomputed here for the schools without pooled grades
    got = frame(conn, "select school_id, school_year, procedure_code, subject_code, n, share_low, region_share_low, "
                      "mean_score, region_mean_score, percentile, reason from intermediate.int_low_results_reasons "
                      "where pooled_grades is null")
    both = pooled.merge(got, on=["school_id", "school_year", "procedure_code", "subject_code"], suffixes=("", "_sql"))
    assert len(both) == len(pooled) == len(got) > 0
    for column, tolerance in (("n", 0), ("share_low", 1e-9), ("region_share_low", 1e-9), ("mean_score", 0.01),
                              ("region_mean_score", 0.01), ("percentile", 1e-9)):
        assert np.allclose(both[column], both[f"{column}_sql"], atol=tolerance, equal_nan=True), column
    # the mart's text: the basis, then per procedure × subject the school's values, the region's and the percentile
    mart = frame(conn, "select school_id, school_year, n_procedures, identification_basis, reasons, is_candidate "
                       "from marts.mart_low_results where result_score is not null")
    assert mart["is_candidate"].any()
    for row in mart.itertuples():
        mine = both[(both["school_id"] == row.school_id) & (both["school_year"] == row.school_year)]
        assert len(mine) <= row.n_procedures
        assert row.reasons.startswith(f"Оценка {row.identification_basis.split(' (')[0]}. ")
        for cell in mine.itertuples():
            assert (f"{cell.n:.0f} уч.): доля" in row.reasons and f"{ru(cell.share_low)} % (регион "
                    f"{ru(cell.region_share_low)} %)" in row.reasons), (row.school_id, cell.procedure_code)
            if not np.isnan(cell.percentile):
                assert f"хуже, чем у {round(100 * cell.percentile)} % школ региона" in row.reasons


def test_seed_indicators_count_candidates_and_those_needing_confirmation_apart(marts):
    _, conn = marts
    seed = frame(conn, "select * from marts.mart_seed_indicators where indicator_code in ('I29', 'I30')")
    low = frame(conn, "select municipality, school_year, school_id, is_candidate, needs_confirmation, result_score "
                      "from marts.mart_low_results")
    checked = frame(conn, "select distinct municipality, school_year from marts.mart_objectivity")
    checked = set(zip(checked["municipality"], checked["school_year"], strict=True))
    first = low.loc[low["result_score"].notna(), "school_year"].min()
    assert (seed["value"].notna() | seed["reason_missing"].notna()).all()
    for row in seed.itertuples():
        mine = low[(low["municipality"] == row.municipality) & (low["school_year"] == row.school_year)]
        flagged = mine["is_candidate"] & (mine["needs_confirmation"] == (row.indicator_code == "I30"))
        if mine["result_score"].notna().sum() == 0:
            assert row.reason_missing.startswith("идентификация не проводилась") and pd.isna(row.value)
        elif row.school_year == first:  # no candidate can exist before two years of results: unknown, not 0
            assert row.reason_missing.startswith("недостаточно данных") and pd.isna(row.value)
        elif row.indicator_code == "I30" and (row.municipality, row.school_year) not in checked:
            assert "объективности" in row.reason_missing and pd.isna(row.value)
        else:
            assert pd.isna(row.reason_missing) and row.numerator == flagged.sum() == row.value
            assert row.denominator == mine["result_score"].notna().sum()
            listed = sorted(row.school_ids.split(", ")) if row.school_ids else []
            assert listed == sorted(mine.loc[flagged, "school_id"])
    assert (seed["indicator_code"] == "I29").sum() == (seed["indicator_code"] == "I30").sum() > 0
