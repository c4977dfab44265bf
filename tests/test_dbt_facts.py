"""Fact marts of the municipal feeds and the seed indicators built on them, recomputed here from the raw rows."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import psycopg.sql
import pytest

from warehouse.dbt import run_dbt
from warehouse.paths import ROOT

FACTS = ["fct_performance", "fct_olympiads", "fct_teachers", "fct_vacancies", "fct_support_events",
         "fct_improvement_programmes", "fct_individual_routes"]


@pytest.fixture(scope="module")
def marts(demo_loaded, demo_db):
    """The demo database with the marts built (test_dbt.py builds them too: build only when they are missing)."""
    url, _ = demo_loaded
    conn, _ = demo_db
    built = conn.execute("select count(*) from information_schema.tables where table_schema = 'marts' "
                         "and table_name = any(%s)", ([*FACTS, "mart_seed_indicators"],)).fetchone()[0]
    if built < len(FACTS) + 1:
        assert run_dbt(["build"], url=url), "dbt build failed on the demo region"
    return conn


@pytest.fixture(scope="module")
def min_cell() -> int:
    params = pd.read_csv(ROOT / "dbt_project" / "seeds" / "method_parameters.csv")
    return int(params.set_index("parameter_code").loc["min_cell_size", "value"])


def frame(conn, query: str, params=None) -> pd.DataFrame:
    cur = conn.execute(query, params)
    return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


def as_float(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").astype(float)


def small(counts: pd.Series, min_cell: int) -> pd.Series:
    """Counts that describe 1 to min_cell − 1 pupils (zero describes nobody)."""
    return (counts >= 1) & (counts < min_cell)


def period_code(text: str) -> str:
    text = text.strip().lower()
    number = re.match(r"(\d)", text)
    if "четверт" in text:
        return f"q{number.group(1)}"
    if "полугод" in text:
        return f"h{number.group(1)}"
    assert text == "год", text
    return "year"


def target_group(conn) -> pd.DataFrame:
    """The programmes' target group: official ШНОР of the year (raw list) or ШНСУ (context mart)."""
    return frame(conn, "select distinct school_id, year as school_year from raw.shnor_list union "
                       "select school_id, school_year from marts.mart_adverse_context where is_adverse")


def registry(conn) -> pd.DataFrame:
    return frame(conn, "select registry_code as school_id, municipality from raw.school_registry")


def test_performance_fact_matches_the_raw_rows(marts, min_cell):
    raw = frame(marts, "select school_id, year as school_year, grade, period, enrolled, failing, only_4_5, repeaters, "
                       "lessons_missed, lessons_missed_unexcused from raw.performance")
    raw["period_code"] = raw["period"].map(period_code)
    raw = raw.merge(registry(marts), on="school_id", how="left")
    targets = target_group(marts).assign(in_group=True)
    raw = raw.merge(targets, on=["school_id", "school_year"], how="left")
    keys = ["school_id", "school_year", "grade", "period_code"]
    expected = raw.set_index(keys).sort_index()
    mart = frame(marts, "select * from marts.fct_performance").set_index(keys).sort_index()
    assert list(mart.index) == list(expected.index)
    assert (mart["municipality"] == expected["municipality"]).all()
    assert (mart["is_target_group"] == expected["in_group"].fillna(False).astype(bool)).all()

    hidden = small(expected["enrolled"], min_cell)
    assert (mart["is_suppressed"] == hidden).all()
    assert 0 < hidden.sum() < len(expected)
    counts = ["enrolled", "failing", "only_4_5", "repeaters", "lessons_missed", "lessons_missed_unexcused"]
    shown = ~hidden
    for column in counts:
        assert (mart.loc[shown, column] == expected.loc[shown, column]).all(), column
    assert mart.loc[hidden, [*counts, "share_failing", "pass_rate", "quality_rate", "lessons_missed_per_pupil",
                             "share_unexcused"]].isna().all().all()

    visible = expected[shown & (expected["enrolled"] > 0)]
    checks = {
        "share_failing": 100 * visible["failing"] / visible["enrolled"],
        "pass_rate": 100 - 100 * visible["failing"] / visible["enrolled"],
        "quality_rate": 100 * visible["only_4_5"] / visible["enrolled"],
        "lessons_missed_per_pupil": visible["lessons_missed"] / visible["enrolled"],
        "unexcused_missed_per_pupil": visible["lessons_missed_unexcused"] / visible["enrolled"],
    }
    for column, values in checks.items():
        assert (as_float(mart.loc[visible.index, column]) - values).abs().max() < 0.006, column
    codes = mart.index.get_level_values("period_code")
    assert set(codes) >= {"q1", "q4", "h1", "h2", "year"}
    assert (mart["period_kind"] == [{"q": "quarter", "h": "half", "y": "year"}[c[0]] for c in codes]).all()


def test_olympiads_fact_counts_participations_and_hides_small_cells(marts, min_cell):
    raw = frame(marts, "select school_id, year as school_year, subject, stage as stage_code, participants, winners, "
                       "prize_winners from raw.olympiads")
    raw["subject"] = raw["subject"].str.strip().str.lower()
    keys = ["school_id", "school_year", "stage_code", "subject"]
    expected = raw.groupby(keys)[["participants", "winners", "prize_winners"]].sum().sort_index()
    mart = frame(marts, "select * from marts.fct_olympiads").set_index(keys).sort_index()
    assert list(mart.index) == list(expected.index)

    hidden = small(expected["participants"], min_cell)
    assert (mart["is_suppressed"] == hidden).all()
    assert hidden.sum() > 0 and (~hidden).sum() > 100
    shown = ~hidden
    for column in ["participants", "winners", "prize_winners"]:
        assert (mart.loc[shown, column] == expected.loc[shown, column]).all(), column
    awarded = expected["winners"] + expected["prize_winners"]
    assert (mart.loc[shown, "winners_and_prize_winners"] == awarded[shown]).all()
    share = 100 * awarded[shown] / expected.loc[shown, "participants"]
    assert (as_float(mart.loc[shown, "share_winners_and_prize_winners"]) - share).abs().max() < 0.006
    assert mart.loc[hidden, ["participants", "winners", "prize_winners", "winners_and_prize_winners",
                             "share_winners_and_prize_winners"]].isna().all().all()
    stages = mart.reset_index().drop_duplicates("stage_code").set_index("stage_code")
    assert stages.loc["school", "stage_name"] == "школьный" and stages.loc["regional", "stage_order"] == 3


def test_teachers_fact_counts_each_teacher_once(marts):
    raw = frame(marts, "select school_id, year as school_year, teacher_id, age_band, outside_speciality, "
                       "gap_diagnostic_done, gaps_found, trained_3y, quality_course, support_municipal, "
                       "support_regional, has_mentor from raw.teachers")
    raw["over_60"] = raw["age_band"] == "60 и старше"
    raw["with_mentor"] = raw["has_mentor"]
    flags = ["over_60", "outside_speciality", "gap_diagnostic_done", "gaps_found", "trained_3y", "quality_course",
             "support_municipal", "support_regional", "with_mentor"]
    grouped = raw.groupby(["school_id", "school_year"])
    expected = grouped[flags].sum().join(grouped["teacher_id"].nunique().rename("teachers")).sort_index()
    mart = frame(marts, "select * from marts.fct_teachers").set_index(["school_id", "school_year"]).sort_index()
    assert list(mart.index) == list(expected.index) and len(mart) > 50
    assert (mart["teachers"] == expected["teachers"]).all()
    for flag in flags:
        assert (mart[f"teachers_{flag}"] == expected[flag]).all(), flag
        share = 100 * expected[flag] / expected["teachers"]
        assert (as_float(mart[f"share_{flag}"]) - share).abs().max() < 0.006, flag
    assert mart["teachers_over_60"].sum() > 0 and mart["teachers_with_mentor"].sum() > 0


def test_vacancies_fact_adds_up_by_subject(marts):
    raw = frame(marts, "select school_id, year as school_year, subject, vacancies from raw.vacancies")
    raw["subject"] = raw["subject"].str.strip().str.lower().fillna("не указан")
    expected = raw.groupby(["school_id", "school_year", "subject"])["vacancies"].sum().sort_index()
    mart = frame(marts, "select * from marts.fct_vacancies").set_index(
        ["school_id", "school_year", "subject"]).sort_index()
    assert list(mart.index) == list(expected.index) and len(mart) > 10
    assert (mart["vacancies"] == expected).all()
    totals = mart.groupby(level=[0, 1])["vacancies"].sum()
    assert (totals == raw.groupby(["school_id", "school_year"])["vacancies"].sum()).all()


def test_support_events_fact_has_one_row_per_event_and_school(marts):
    raw = frame(marts, "select e.source_file, e.source_row, e.event_date, e.level, e.participants, s.school_id "
                       "from raw.support_events e join raw.support_event_schools s "
                       "on s.load_id = e.load_id and s.source_row = e.source_row")
    # a school named twice in one event (by two of its codes) takes part once
    expected = raw.drop_duplicates(["source_file", "source_row", "school_id"])
    assert len(expected) < len(raw), "the demo plants schools named twice in one event"
    expected = expected.assign(school_year=[d.year + 1 if d.month >= 9 else d.year for d in expected["event_date"]])
    sizes = expected.groupby(["source_file", "source_row"]).size().rename("schools")
    expected = expected.join(sizes, on=["source_file", "source_row"])
    keys = ["source_file", "source_row", "school_id"]
    mart = frame(marts, "select * from marts.fct_support_events")
    merged = mart.merge(expected, on=keys, how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()
    assert (merged["school_year_x"] == merged["school_year_y"]).all()
    assert (merged["level_code"] == merged["level"]).all()
    assert (merged["event_participants"] == merged["participants"]).all()
    assert (merged["schools_in_event"] == merged["schools"]).all()
    # one identifier per event
    assert mart.groupby("event_id")[["source_file", "source_row"]].nunique().eq(1).all().all()
    assert mart["event_id"].nunique() == len(sizes)
    targets = target_group(marts).assign(in_group=True)
    flagged = mart.merge(targets, on=["school_id", "school_year"], how="left")
    assert (flagged["is_target_group"] == flagged["in_group"].fillna(False).astype(bool)).all()
    assert flagged["is_target_group"].any()


def test_improvement_programmes_fact_keeps_the_raw_rows(marts):
    raw = frame(marts, "select school_id, year as school_year, programme_written, external_review, road_map "
                       "from raw.improvement_programmes").set_index(["school_id", "school_year"]).sort_index()
    mart = frame(marts, "select * from marts.fct_improvement_programmes").set_index(
        ["school_id", "school_year"]).sort_index()
    assert list(mart.index) == list(raw.index) and len(mart) > 10
    for column in ["programme_written", "external_review", "road_map"]:
        assert mart[column].tolist() == raw[column].tolist(), column
    official = {tuple(r) for r in frame(marts, "select school_id, year from raw.shnor_list").itertuples(index=False)}
    assert (mart["is_shnor"] == pd.Series([k in official for k in mart.index], index=mart.index)).all()


def test_individual_routes_fact_hides_fewer_than_five_pupils(marts, min_cell):
    raw = frame(marts, "select school_id, year as school_year, pupils from raw.individual_routes")
    expected = raw.groupby(["school_id", "school_year"])["pupils"].sum().sort_index()
    enrolled = frame(marts, "select school_id, year as school_year, sum(enrolled) as enrolled from raw.performance "
                            "where period = 'год' group by 1, 2").set_index(["school_id", "school_year"])["enrolled"]
    mart = frame(marts, "select * from marts.fct_individual_routes").set_index(
        ["school_id", "school_year"]).sort_index()
    assert list(mart.index) == list(expected.index)
    hidden = small(expected, min_cell)
    assert (mart["is_suppressed"] == hidden).all()
    assert hidden.sum() > 0 and (expected == 0).sum() > 0 and (~hidden).sum() > 10
    assert mart.loc[hidden, ["pupils_with_route", "share_with_route"]].isna().all().all()
    assert (mart.loc[~hidden, "pupils_with_route"] == expected[~hidden]).all()
    pupils = enrolled.reindex(mart.index)
    assert (mart["pupils_enrolled"].astype(float) == pupils.astype(float)).all()
    share = 100 * expected[~hidden] / pupils[~hidden]
    assert (as_float(mart.loc[~hidden, "share_with_route"]) - share).abs().max() < 0.006


def test_no_fact_publishes_a_count_of_fewer_than_five_pupils(marts, min_cell):
    for mart, columns in [
        ("fct_performance", ["enrolled", "failing", "only_4_5", "repeaters"]),
        ("fct_olympiads", ["participants"]),
        ("fct_individual_routes", ["pupils_with_route"]),
    ]:
        data = frame(marts, f"select * from marts.{mart}")
        base = columns[0]
        assert not small(data[base].dropna(), min_cell).any(), mart
        assert data.loc[data["is_suppressed"], columns].isna().all().all(), mart
        assert data["is_suppressed"].any(), mart


def test_new_seed_indicators_from_the_raw_feeds(marts, min_cell):
    mart = frame(marts, "select * from marts.mart_seed_indicators where indicator_code between 'I15' and 'I28'")
    assert mart["indicator_code"].nunique() == 14
    schools = registry(marts)
    targets = target_group(marts).merge(schools, on="school_id")
    municipality_years = mart[["municipality", "school_year"]].drop_duplicates()

    rows = []  # municipality, school_year, indicator_code, numerator, denominator, pupil base, schools

    def add(code, data, numerator, denominator, base=None):
        grouped = data.groupby(["municipality", "school_year"])
        sums = grouped[[numerator, denominator]].sum(min_count=1)  # no rows at all: NaN, not 0
        ids = grouped.apply(lambda g: sorted(set(g.loc[g[numerator] > 0, "school_id"])), include_groups=False)
        for (municipality, year), row in sums.iterrows():
            rows.append((municipality, year, code, row[numerator], row[denominator],
                         None if base is None else row[base], ids.loc[(municipality, year)]))

    # I15: official ШНОР among all the municipality's schools in the registry
    official = frame(marts, "select distinct school_id, year as school_year from raw.shnor_list").merge(
        schools, on="school_id")
    n_schools = schools.groupby("municipality").size()
    for row in municipality_years.itertuples(index=False):
        listed = official[(official["municipality"] == row.municipality) & (official["school_year"] == row.school_year)]
        rows.append((row.municipality, row.school_year, "I15", len(listed), n_schools[row.municipality], None,
                     sorted(listed["school_id"])))

    teachers = frame(marts, "select school_id, year as school_year, quality_course::int as quality_course, "
                            "trained_3y::int as trained_3y, 1 as teacher from raw.teachers").merge(
        targets, on=["school_id", "school_year"])
    add("I16", teachers, "quality_course", "teacher")
    add("I17", teachers, "trained_3y", "teacher")

    performance = frame(marts, "select school_id, year as school_year, sum(enrolled) as enrolled, "
                               "sum(failing) as failing, sum(lessons_missed) as missed, "
                               "sum(lessons_missed_unexcused) as unexcused from raw.performance "
                               "where period = 'год' group by 1, 2")
    performance["passing"] = performance["enrolled"] - performance["failing"]
    in_group = targets.merge(performance, on=["school_id", "school_year"], how="left")
    for code, column in [("I18", "failing"), ("I19", "passing"), ("I20", "missed"), ("I21", "unexcused")]:
        add(code, in_group, column, "enrolled", base="enrolled")

    olympiads = frame(marts, "select school_id, year as school_year, stage, participants, "
                             "winners + prize_winners as awarded from raw.olympiads")
    wide = olympiads.pivot_table(index=["school_id", "school_year"], columns="stage",
                                 values=["participants", "awarded"], aggfunc="sum")
    wide.columns = [f"{value}_{stage}" for value, stage in wide.columns]
    in_group = in_group.merge(wide.reset_index(), on=["school_id", "school_year"], how="left")
    for i, stage in enumerate(["school", "municipal", "regional"]):
        add(f"I{22 + i}", in_group, f"participants_{stage}", "enrolled", base=f"participants_{stage}")
        add(f"I{25 + i}", in_group, f"awarded_{stage}", f"participants_{stage}", base=f"participants_{stage}")

    routes = frame(marts, "select school_id, year as school_year, pupils from raw.individual_routes")
    in_group = in_group.merge(routes, on=["school_id", "school_year"], how="left")
    add("I28", in_group, "pupils", "enrolled", base="pupils")

    expected = pd.DataFrame(rows, columns=["municipality", "school_year", "indicator_code", "numerator",
                                           "denominator", "base", "school_ids"])
    merged = mart.merge(expected, on=["municipality", "school_year", "indicator_code"], how="left",
                        suffixes=("", "_expected"))
    # municipality-years without target schools, or without the feed's rows, have no figure («нет данных»)
    no_data = merged["numerator_expected"].isna()
    list_years = set(official["school_year"])
    merged[["numerator_expected", "denominator_expected"]] = merged[
        ["numerator_expected", "denominator_expected"]].fillna(0)
    merged["school_ids_expected"] = merged["school_ids_expected"].apply(lambda v: v if isinstance(v, list) else [])
    hidden = small(merged["base"].fillna(0), min_cell)
    pupil_based = merged["base"].notna()
    denominator_hidden = pupil_based & small(merged["denominator_expected"], min_cell)
    assert hidden.any(), "the demo has a municipal figure about fewer than five pupils (regional ВсОШ stage)"
    assert (~hidden & (merged["numerator_expected"] > 0)).sum() > 100

    assert no_data.any() and (~no_data & ~hidden).sum() > 100
    for row in merged.itertuples():
        key = (row.municipality, row.school_year, row.indicator_code)
        n, d = row.numerator_expected, row.denominator_expected
        if row.indicator_code == "I15" and row.school_year not in list_years:
            missing = "идентификация не проводилась"
        elif hidden[row.Index]:
            missing = "скрыто"
        elif no_data[row.Index] or (row.unit in ("%", "уроков на обучающегося") and not d):
            missing = "нет данных"
        elif row.unit == "%" and n > d:
            missing = "несогласованные данные"
        else:
            missing = None
        if missing:  # no figure, no 0 in its place, no schools behind a hidden count
            assert row.reason_missing.startswith(missing), (key, row.reason_missing)
            assert pd.isna(row.numerator) and pd.isna(row.value) and pd.isna(row.school_ids), key
        else:
            assert pd.isna(row.reason_missing), (key, row.reason_missing)
            assert row.numerator == row.numerator_expected, (key, row.numerator, row.numerator_expected)
            if row.unit == "%":
                expected_value = 100 * n / d if d else np.nan
            elif row.unit == "уроков на обучающегося":
                expected_value = n / d if d else np.nan
            else:
                expected_value = n
            if np.isnan(expected_value):
                assert pd.isna(row.value), key
            else:  # published to one decimal
                assert float(row.value) == pytest.approx(expected_value, abs=0.0501), (key, row.value, expected_value)
            published = [s for s in row.school_ids.split(", ") if s]
            assert published == row.school_ids_expected, (key, published, row.school_ids_expected)
        if denominator_hidden[row.Index]:
            assert pd.isna(row.denominator), key
        else:
            assert row.denominator == row.denominator_expected, (key, row.denominator, row.denominator_expected)


def test_analysts_see_only_their_municipality_in_the_facts(marts):
    def as_role(role: str, query: str):
        with marts.transaction():
            marts.execute(psycopg.sql.SQL("set local role {}").format(psycopg.sql.Identifier(role)))
            return marts.execute(query).fetchall()

    for mart in FACTS:
        everyone = {m for (m,) in marts.execute(f"select distinct municipality from marts.{mart}")}
        assert len(everyone) >= 3, mart
        assert {m for (m,) in as_role("edu_reader", f"select distinct municipality from marts.{mart}")} == everyone
        seen = {m for (m,) in as_role("edu_analyst_nazarovo", f"select distinct municipality from marts.{mart}")}
        assert seen == {"г. Назарово"}, mart
