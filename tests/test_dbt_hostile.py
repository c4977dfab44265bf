"""The full dbt build over a raw schema of hostile values (tests/hostile_raw.py): n = 0, 1 and 10⁶, shares 0 and
100 %, everything missing, shares adding up to 102 %, counts above n, a school of one pupil beside one of
thousands, n = 6 after n = 252, ЕГЭ in a single year, one procedure only in a municipality. The build passes
(one build for the module), and the marts flag what makes no sense and say why a figure is missing."""

from __future__ import annotations

import datetime
import uuid

import psycopg
import pytest
from psycopg import sql

from tests.hostile_raw import BIG_TOWN, LONE_TOWN, code, hostile_sql
from warehouse.dbt import run_dbt


@pytest.fixture(scope="module")
def marts(server_url, template_db):
    name = f"edu_hostile_{uuid.uuid4().hex[:8]}"
    admin_url = psycopg.conninfo.make_conninfo(server_url, dbname="postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name),
                                                                       sql.Identifier(template_db)))
    url = psycopg.conninfo.make_conninfo(server_url, dbname=name)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(hostile_sql())
        assert run_dbt(["build"], url=url), "dbt build failed on hostile raw data"
        yield connection
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def rows(conn, query: str, *args) -> list[dict]:
    cur = conn.execute(query, args)
    names = [d.name for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def result(conn, school: str, year: int, subject: str = "rus", grade: int = 5) -> dict:
    found = rows(conn, "select * from marts.mart_school_results where school_id = %s and school_year = %s "
                       "and subject_code = %s and grade = %s", code(school), year, subject, grade)
    assert len(found) == 1, (school, year, found)
    return found[0]


def test_shares_adding_to_102_percent_are_a_flagged_row(marts):
    bad, good = result(marts, "H_102", 2026), result(marts, "H_102", 2025)
    assert bad["is_inconsistent"] and "102.00 %" in bad["reason_missing"]
    assert bad["share_mark_2"] is None and bad["quality_rate"] is None and bad["n_participants"] == 300
    assert not good["is_inconsistent"] and float(good["share_mark_2"]) == 20 and good["reason_missing"] is None
    # the inconsistent year takes no part in the dynamics
    assert not rows(marts, "select 1 from marts.mart_school_dynamics where school_id = %s", code("H_102"))
    issue = rows(marts, "select * from marts.mart_data_issues where school_id = %s", code("H_102"))
    assert [(i["issue_code"], i["municipality"]) for i in issue] == [("inconsistent_shares", BIG_TOWN)]
    assert "102.00 %" in issue[0]["issue"]


def test_share_outside_0_100_and_zero_participants_are_flagged_never_computed(marts):
    over = result(marts, "H_OVER", 2026)
    assert over["is_inconsistent"] and "вне 0–100 %" in over["reason_missing"] and over["share_mark_2"] is None
    for year in (2025, 2026):
        zero = result(marts, "H_ZERO", year)
        assert zero["n_participants"] == 0 and zero["reason_missing"] == "нет данных: число участников 0"
        assert zero["share_mark_2"] is None and zero["pass_rate"] is None
    assert not rows(marts, "select 1 from marts.mart_school_dynamics where school_id = %s", code("H_ZERO"))
    missing = result(marts, "H_NULL", 2026)
    assert missing["n_participants"] is None and missing["reason_missing"].startswith("нет данных")


def test_shares_of_0_and_100_percent_are_real_values(marts):
    for year in (2025, 2026):
        none_low, all_low = result(marts, "H_ZERO_SHARES", year), result(marts, "H_FULL_SHARES", year)
        assert float(none_low["share_mark_2"]) == 0 and float(none_low["quality_rate"]) == 100
        assert float(all_low["share_mark_2"]) == 100 and float(all_low["pass_rate"]) == 0
    dynamics = rows(marts, "select * from marts.mart_school_dynamics where school_id in (%s, %s)",
                    code("H_ZERO_SHARES"), code("H_FULL_SHARES"))
    assert len(dynamics) == 2
    for row in dynamics:  # no change at all: the interval of the share holds 0
        assert float(row["low_change_pp"]) == 0 and float(row["low_change_lower_pp"]) <= 0 <= float(
            row["low_change_upper_pp"])
        # every pupil on the same side of every threshold in both years (all «2», all «5»): no threshold tells
        # anything about a shift, so there is no figure and no class
        assert row["probit_shift"] is None and row["thresholds_used"] is None
        assert row["dynamics_class"] == "недостаточно данных"


def test_a_million_participants_and_a_school_of_one_pupil(marts):
    million = rows(marts, "select * from marts.mart_school_dynamics where school_id = %s", code("H_MILLION"))
    assert len(million) == 1 and million[0]["reliability"] == "высокая"
    assert float(million[0]["low_change_pp"]) == pytest.approx(-0.1, abs=0.005)
    assert float(million[0]["low_change_lower_pp"]) < float(million[0]["low_change_upper_pp"])
    big = result(marts, "H_BIG", 2026, "math", 4)
    assert big["n_participants"] == 3000 and float(big["share_mark_2"]) == 25
    one = result(marts, "H_ONE", 2025, "math", 4)
    assert one["n_participants"] == 1 and one["is_suppressed"] and one["share_mark_2"] is None
    assert one["reason_missing"] == "скрыто: участников меньше 5"
    # the one-pupil year is hidden: the change would reveal it, so only the class is shown
    pair = rows(marts, "select * from marts.mart_school_dynamics where school_id = %s", code("H_ONE"))
    assert len(pair) == 1 and pair[0]["is_suppressed"]
    assert pair[0]["low_change_pp"] is None and pair[0]["mean_score_prev"] is None
    assert pair[0]["reason_missing"].startswith("скрыто")
    # a score above the maximum (and a maximum of 0) has no 0–100 score: means stay within the scale
    means = rows(marts, "select max(score_100) as top, count(*) filter (where score_100 is null) as unscored "
                        "from intermediate.int_pupil_results_unioned where school_id = %s "
                        "and procedure_code = 'vpr'", code("H_ONE"))[0]
    assert float(means["top"]) <= 100 and means["unscored"] == 2


def test_six_participants_after_252_are_judged_by_the_same_probit_test(marts):
    pair = rows(marts, "select * from marts.mart_school_dynamics where school_id = %s", code("H_DROP"))
    assert len(pair) == 1
    row = pair[0]
    assert (row["n_prev"], row["n_now"]) == (252, 6)
    # the share of «2» went from 15 % to 50 %: a shift downwards, with the wide interval of six pupils
    assert float(row["probit_shift"]) < 0 and row["trend"] == "тенденция к ухудшению"
    assert float(row["probit_shift_upper"]) - float(row["probit_shift_lower"]) > 1
    significant = row["probit_p"] <= 0.05 and row["probit_q_bh"] <= 0.2
    assert row["dynamics_class"] == ("отрицательная" if significant else "недостаточно данных")


def test_regional_extract_fills_only_cells_without_a_report(marts):
    flat = rows(marts, "select school_year, subject_code, result_source, n_participants, share_mark_2, "
                       "is_inconsistent from marts.mart_school_results where school_id = %s "
                       "order by school_year, subject_code", code("H_FLAT"))
    assert [(r["school_year"], r["subject_code"], r["result_source"]) for r in flat] == [
        (2025, "rus", "regional_extract"), (2026, "math", "regional_extract"), (2026, "rus", "regional_extract")]
    assert float(flat[2]["share_mark_2"]) == 5 and flat[1]["is_inconsistent"]  # the 102 % extract row
    both = rows(marts, "select result_source, n_participants from marts.mart_school_results where school_id = %s",
                code("H_BOTH"))
    assert both == [{"result_source": "aggregated", "n_participants": 80}]  # the report wins, counted once
    big = result(marts, "H_BIG", 2026, "math", 4)  # and pupil rows win over the extract
    assert (big["result_source"], big["n_participants"]) == ("individual", 3000)


def test_rows_without_keys_and_impossible_counts_are_listed_with_the_school(marts):
    issues = rows(marts, "select feed, school_id, municipality, issue_code, issue from marts.mart_data_issues")
    found = {(i["feed"], i["school_id"], i["issue_code"]) for i in issues}
    assert {("performance", code("H_OVER"), "count_above_n"), ("olympiads", code("H_OVER"), "count_above_n"),
            ("individual_routes", code("H_ONE"), "count_above_n"),
            ("social_passport", code("H_OVER"), "share_out_of_range"),
            ("vpr_results", code("H_ONE"), "score_out_of_range"), ("vpr_results", None, "no_school"),
            ("vpr_mark_stats", "24X99999", "unknown_school"), ("gia_results", code("H_ONE"), "unknown_subject"),
            ("school_registry", code("H_NULL"), "no_municipality"),
            ("kdr_results", code("H_ONE"), "unknown_level")} <= found
    assert all(i["issue"] for i in issues)
    assert ("vpr_mark_stats", None, "no_school") not in found  # the region's row names no school, rightly
    over = [i for i in issues if i["school_id"] == code("H_OVER")]
    assert all(i["municipality"] == BIG_TOWN for i in over)
    # 45 failing of 30 pupils: the indicator is kept, flagged, and never counts as over its threshold
    failing = rows(marts, "select value, is_over_threshold, is_implausible from marts.mart_risk_indicators "
                          "where school_id = %s and indicator_code = 'failing_pct'", code("H_OVER"))
    assert failing == [{"value": 150, "is_over_threshold": None, "is_implausible": True}]
    # the flagged routes row keeps its place in its mart
    routes = rows(marts, "select is_implausible, share_with_route from marts.fct_individual_routes "
                         "where school_id = %s", code("H_ONE"))
    assert routes == [{"is_implausible": True, "share_with_route": None}]


def test_seed_indicators_say_why_there_is_no_figure(marts):
    seed = rows(marts, "select * from marts.mart_seed_indicators")
    by_key = {(r["municipality"], r["school_year"], r["indicator_code"]): r for r in seed}
    # 2025 has no official list: the number of ШНОР is unknown, not 0
    for municipality in (BIG_TOWN, LONE_TOWN):
        i01 = by_key[(municipality, 2025, "I01")]
        assert i01["value"] is None and i01["numerator"] is None
        assert i01["reason_missing"].startswith("идентификация не проводилась")
        assert by_key[(municipality, 2025, "I02")]["reason_missing"].startswith("идентификация не проводилась")
    assert by_key[(LONE_TOWN, 2026, "I01")]["value"] == 1 and by_key[(LONE_TOWN, 2026, "I01")]["reason_missing"] is None
    # a figure about fewer than 5 pupils is hidden and lists no schools
    hidden = by_key[(BIG_TOWN, 2026, "I18")]
    assert hidden["value"] is None and hidden["reason_missing"].startswith("скрыто") and not hidden["school_ids"]
    # never a 0 in place of a missing figure; every missing figure has a reason
    assert all(r["value"] is not None or r["reason_missing"] for r in seed)
    assert all(r["value"] is None for r in seed if r["reason_missing"])
    assert any(r["reason_missing"] and r["reason_missing"].startswith("нет данных") for r in seed)


def test_lone_procedure_municipality_gets_a_reason_not_a_verdict(marts):
    lone = rows(marts, "select * from marts.mart_low_results where school_id = %s", code("H_LONE"))
    assert len(lone) == 1 and lone[0]["is_official"] and not lone[0]["is_candidate"]
    # one procedure in its municipality: ranked against the whole region all the same, and the reasons say so
    assert lone[0]["identification_note"] is None and lone[0]["result_score"] is not None
    assert lone[0]["identification_basis"].startswith("по одной процедуре")
    assert lone[0]["reasons"].startswith(
        "Оценка по одной процедуре. ВПР, Русский язык (5 кл., 12 уч.): доля «2» 25,0 %")


def test_years_without_a_previous_year_have_results_but_no_dynamics(marts):
    """ЕГЭ in 2009 and 2026 only: no change is computed from a year that is not there."""
    ege = rows(marts, "select school_year, share_low, mean_score_100, reason_missing from marts.mart_school_results "
                      "where procedure_code = 'ege' order by school_year")
    assert [r["school_year"] for r in ege] == [2009, 2026]
    assert not rows(marts, "select 1 from marts.mart_school_dynamics where procedure_code = 'ege'")
    assert not rows(marts, "select 1 from marts.mart_region_dynamics where procedure_code = 'ege'")
    # 2009 has no minimum score in the reference data: no share of low results, and the reason says so
    assert ege[0]["share_low"] is None and float(ege[0]["mean_score_100"]) == 60
    assert ege[0]["reason_missing"].startswith("нет данных")
    years = rows(marts, "select school_year, school_year_label, starts_on from marts.dim_school_year "
                        "where school_year = 2009")
    assert years == [{"school_year": 2009, "school_year_label": "2008/09",
                      "starts_on": datetime.date(2008, 9, 1)}]


def test_mean_score_of_report_cells_comes_from_the_score_distribution(marts):
    """The flat extract's distribution: 10 % at each score 10…19 of 0…20 gives a mean of 14.5 / 20 = 72.5 %."""
    flat = result(marts, "H_FLAT", 2026)
    assert float(flat["mean_score_100"]) == 72.5
    assert result(marts, "H_FLAT", 2025)["mean_score_100"] is None  # no distribution for that year


def test_analysts_see_only_their_municipality_in_dim_school_and_the_issue_list(marts):
    """dim_school and mart_data_issues are under the marts' row-level security: the demo analyst of
    г. Назарово sees none of these schools (all in other municipalities); BI sees them all."""
    def as_role(role: str, query: str):
        with marts.transaction():
            marts.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
            return marts.execute(query).fetchall()

    everyone = marts.execute("select count(*) from marts.dim_school").fetchone()[0]
    assert everyone == 13
    assert as_role("edu_reader", "select count(*) from marts.dim_school")[0][0] == everyone
    assert as_role("edu_analyst_nazarovo", "select count(*) from marts.dim_school")[0][0] == 0
    assert as_role("edu_analyst_nazarovo", "select count(*) from marts.mart_data_issues")[0][0] == 0
    assert as_role("edu_reader", "select count(*) from marts.mart_data_issues")[0][0] > 10
