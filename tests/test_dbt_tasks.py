"""Task-level facts, score scales and conformed dimensions on the loaded demo region.

Expected values are recomputed here from the raw rows with pandas, and the reference scales from the demo
generator's own scale code (ingestion/demo/scales.py), never from the marts' SQL.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import psycopg
import pytest

from ingestion.demo.scales import (
    GIA_TESTS,
    KDR_TESTS,
    OGE_MATH_GEOMETRY,
    VPR_TESTS,
    YEARS,
    ege_test_score,
)
from warehouse.dbt import run_dbt

SUBJECTS = {"Русский язык": "rus", "Математика": "math"}
# РЦОИ exam and subject code → the project's procedure and subject (seed gia_subjects)
GIA_SUBJECTS = {("OGE", 1): "rus", ("OGE", 2): "math", ("EGE", 1): "rus", ("EGE", 2): "math_profile",
                ("EGE", 22): "math_base"}
GIA_KEYS = {("oge", "rus"): ("ОГЭ", "1"), ("oge", "math"): ("ОГЭ", "2"), ("ege", "rus"): ("ЕГЭ", "1"),
            ("ege", "math_profile"): ("ЕГЭ", "2"), ("ege", "math_base"): ("ЕГЭ", "22")}
KDR_KEYS = {"kdr4_rl": "КДР4_ЧГ", "kdr6_rl": "КДР6_ЧГ", "kdr8_sl": "КДР8_ЕНГ"}
CELL = ["school_id", "procedure_code", "subject_code", "grade", "school_year", "task_code"]
TOLERANCE = 0.006  # the marts round to 2 decimals


@pytest.fixture(scope="module")
def marts(demo_loaded, demo_db):
    url, _ = demo_loaded
    assert run_dbt(["build"], url=url), "dbt build failed on the demo region"
    connection, _ = demo_db
    yield connection


def frame(conn, query: str, params=None) -> pd.DataFrame:
    cur = conn.execute(query, params)
    return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


def min_cell_size(conn) -> int:
    return int(conn.execute("select value from reference.method_parameters "
                            "where parameter_code = 'min_cell_size'").fetchone()[0])


# ---------------------------------------------------------------- the scale seeds against the demo's scale code

def test_scale_seeds_agree_with_the_demo_scale_code(marts):
    vpr = frame(marts, "select * from reference.vpr_mark_scales")
    expected = {(SUBJECTS[s], g, mark, low) for (s, g), t in VPR_TESTS.items()
                for mark, low in zip((2, 3, 4, 5), (0, *t.cuts), strict=True)}
    assert set(zip(vpr["subject_code"], vpr["grade"], vpr["mark"], vpr["min_primary_score"], strict=True)) == expected
    assert len(vpr) == len(expected)

    oge = frame(marts, "select * from reference.oge_mark_scales")
    expected = {(GIA_SUBJECTS[("OGE", int(code))], mark, low) for (exam, code), t in GIA_TESTS.items()
                if exam == "ОГЭ" for mark, low in zip((2, 3, 4, 5), (0, *t.cuts), strict=True)}
    assert set(zip(oge["subject_code"], oge["mark"], oge["min_primary_score"], strict=True)) == expected
    # the geometry condition names the positions of the geometry tasks in the РЦОИ task strings
    test = GIA_TESTS[("ОГЭ", "2")]
    n_short = test.extra["n_short"]
    geometry = {("КО" if j < n_short else "РО") + str(j + 1 if j < n_short else j - n_short + 1)
                for j, t in enumerate(test.tasks) if t.code in OGE_MATH_GEOMETRY}
    for row in oge.itertuples():
        if row.subject_code == "math" and row.mark >= 3:
            assert set(row.condition_tasks.split()) == geometry and row.condition_min_points == 2
        else:
            assert pd.isna(row.condition_tasks)

    ege = frame(marts, "select * from reference.ege_score_scales")
    expected = set()
    for code, subject in (("1", "rus"), ("2", "math_profile")):
        expected |= {(subject, p, ege_test_score(code, p), None) for p in range(GIA_TESTS[("ЕГЭ", code)].max_score + 1)}
    base = GIA_TESTS[("ЕГЭ", "22")]
    expected |= {("math_base", p, None, base.mark(p)) for p in range(base.max_score + 1)}
    got = {(r.subject_code, r.primary_score, None if pd.isna(r.test_score) else int(r.test_score),
            None if pd.isna(r.mark) else int(r.mark)) for r in ege.itertuples()}
    assert got == expected and len(ege) == len(expected)

    kdr = frame(marts, "select * from reference.kdr_skill_groups")
    expected = set()
    for procedure, key in KDR_KEYS.items():
        groups: dict[int, int] = {}
        for t in KDR_TESTS[key].tasks:
            groups[t.group] = groups.get(t.group, 0) + t.max_points
        expected |= {(procedure, g, m) for g, m in groups.items()}
    assert set(zip(kdr["procedure_code"], kdr["skill_group"], kdr["max_points"], strict=True)) == expected

    multi = frame(marts, "select * from reference.gia_task_max_points")
    expected = {(proc, subject, f"КО{j + 1}", t.max_points) for (proc, subject), key in GIA_KEYS.items()
                for j, t in enumerate(GIA_TESTS[key].tasks[:GIA_TESTS[key].extra["n_short"]]) if t.max_points > 1}
    assert set(zip(multi["procedure_code"], multi["subject_code"], multi["task_code"], multi["max_points"],
                   strict=True)) == expected

    # every scale covers every demo year, and every row says where it comes from
    for table in ("vpr_mark_scales", "oge_mark_scales", "ege_score_scales", "kdr_skill_groups",
                  "gia_task_max_points"):
        rows = frame(marts, f"select valid_from, valid_to, source from reference.{table}")
        assert (rows["valid_from"] <= min(YEARS)).all() and (rows["valid_to"] >= max(YEARS)).all(), table
        assert rows["source"].str.len().gt(0).all(), table


def parse_short(text) -> list[int]:
    return [1 if ch == "+" else 0 if ch == "-" else int(ch) for ch in (text if isinstance(text, str) else "")]


def parse_long(text) -> list[tuple[int, int]]:
    return [(int(p), int(m)) for p, m in re.findall(r"(\d+)\((\d+)\)", text if isinstance(text, str) else "")]


def gia_attempts(conn) -> pd.DataFrame:
    """ГИА rows as the marts count them: the last attempt per participant, exam, subject and year."""
    gia = frame(conn, "select * from raw.gia_results")
    gia = gia.sort_values("exam_date").groupby(["participant_id", "exam", "subject_code", "year"]).tail(1)
    gia["procedure_code"] = gia["exam"].str.lower()
    gia["subject"] = [GIA_SUBJECTS[(e, int(c))] for e, c in zip(gia["exam"], gia["subject_code"], strict=True)]
    gia["grade"] = np.where(gia["exam"] == "OGE", 9, 11)
    return gia.drop(columns=["subject_code"]).rename(columns={"subject": "subject_code", "year": "school_year"})


def scale_mark(scale: pd.DataFrame, score: int, **conditions_met) -> int:
    ok = scale[(scale["min_primary_score"] <= score)]
    if "condition_tasks" in ok:
        ok = ok[ok["condition_tasks"].isna() | conditions_met.get("geometry_ok", True)]
    return int(ok["mark"].max())


def test_scales_reproduce_every_mark_and_test_score_in_raw(marts):
    vpr_scale = frame(marts, "select * from reference.vpr_mark_scales")
    vpr = frame(marts, "select subject, grade, year, primary_score, mark from raw.vpr_results where mark is not null")
    by_test = {k: g for k, g in vpr_scale.groupby(["subject_code", "grade"])}
    recomputed = [scale_mark(by_test[(SUBJECTS[s], g)], p)
                  for s, g, p in zip(vpr["subject"], vpr["grade"], vpr["primary_score"], strict=True)]
    assert (np.array(recomputed) == vpr["mark"].to_numpy()).all()

    gia = gia_attempts(marts)
    oge_scale = frame(marts, "select * from reference.oge_mark_scales")
    oge = gia[gia["procedure_code"] == "oge"]
    condition = oge_scale["condition_tasks"].dropna().iloc[0].split()
    geometry_positions = {int(c[2:]) - 1 for c in condition if c.startswith("КО")}
    geometry_long = {int(c[2:]) - 1 for c in condition if c.startswith("РО")}
    bitten = 0
    for row in oge.itertuples():
        scale = oge_scale[oge_scale["subject_code"] == row.subject_code]
        geometry_ok = True
        if row.subject_code == "math":
            short, long = parse_short(row.short_answers), parse_long(row.long_answers)
            geometry_ok = sum(short[j] for j in geometry_positions) + sum(long[j][0] for j in geometry_long) >= 2
        assert scale_mark(scale, row.primary_score, geometry_ok=geometry_ok) == row.mark
        bitten += not geometry_ok and row.primary_score >= 8
    ege_scale = frame(marts, "select * from reference.ege_score_scales")
    ege = gia[gia["procedure_code"] == "ege"].merge(ege_scale, left_on=["subject_code", "primary_score"],
                                                    right_on=["subject_code", "primary_score"], suffixes=("", "_scale"))
    assert len(ege) == (gia["procedure_code"] == "ege").sum()
    scored = ege[ege["subject_code"] != "math_base"]
    assert (scored["test_score"] == scored["test_score_scale"]).all()
    based = ege[ege["subject_code"] == "math_base"]
    assert (based["mark"] == based["mark_scale"]).all() and len(based) > 0

    # the mart applies the same scales: every pupil row with a scale matches it
    mart = frame(marts, "select procedure_code, matches_scale, scale_mark, mark from marts.fct_pupil_results")
    with_scale = mart[mart["procedure_code"].isin(["vpr", "oge", "ege"])]
    assert with_scale["matches_scale"].notna().all() and with_scale["matches_scale"].all()
    assert mart.loc[~mart["procedure_code"].isin(["vpr", "oge", "ege"]), "matches_scale"].isna().all()
    # a mark the file got wrong would show: the geometry rule really changes marks in the demo
    assert bitten > 0, "the ОГЭ geometry condition is never exercised by the demo"


# ---------------------------------------------------------------- pupil facts

def test_pupil_results_are_the_raw_pupil_rows(marts):
    vpr = frame(marts, "select participant_id, school_id, subject, grade, year, season, primary_score, "
                       "max_primary_score, mark from raw.vpr_results where mark is not null")
    vpr = vpr.assign(procedure_code="vpr", subject_code=vpr["subject"].map(SUBJECTS),
                     school_year=vpr["year"] + (vpr["season"] == "autumn"),
                     score_pct=100 * vpr["primary_score"] / vpr["max_primary_score"], test_score=None, level_code=None)
    gia = gia_attempts(marts)
    gia_max = {(proc, subject): GIA_TESTS[key].max_score for (proc, subject), key in GIA_KEYS.items()}
    gia["score_pct"] = 100 * gia["primary_score"] / [gia_max[k] for k in zip(gia["procedure_code"], gia["subject_code"],
                                                                                strict=True)]
    gia["level_code"] = None
    kdr = frame(marts, "select participant_id, school_id, work as procedure_code, grade, year as school_year, "
                       "primary_score, pct_of_max as score_pct, level_code from raw.kdr_results "
                       "where level_code is not null")
    kdr["subject_code"] = np.where(kdr["procedure_code"].str.endswith("_rl"), "reading", "science")
    kdr["mark"] = None
    kdr["test_score"] = None
    columns = ["participant_id", "school_id", "procedure_code", "subject_code", "grade", "school_year",
               "primary_score", "score_pct", "mark", "test_score", "level_code"]
    expected = pd.concat([vpr[columns], gia[columns], kdr[columns]], ignore_index=True)
    key = ["participant_id", "procedure_code", "subject_code", "grade", "school_year"]
    expected = expected.set_index(key).sort_index()

    mart = frame(marts, f"select {', '.join(columns)}, municipality from marts.fct_pupil_results")
    mart = mart.set_index(key).sort_index()
    assert mart.index.is_unique
    assert list(mart.index) == list(expected.index)
    assert len(mart) > 10_000
    assert (mart["school_id"] == expected["school_id"]).all()
    assert (mart["primary_score"].astype(float) == expected["primary_score"].astype(float)).all()
    assert ((mart["score_pct"].astype(float) - expected["score_pct"].astype(float)).abs() < TOLERANCE).all()
    for column in ("mark", "test_score"):
        assert (mart[column].astype("Int64").fillna(-1) == expected[column].astype("Int64").fillna(-1)).all(), column
    assert (mart["level_code"].fillna("") == expected["level_code"].fillna("")).all()
    assert mart["municipality"].notna().all()


# ---------------------------------------------------------------- task facts from pupil rows

def pupil_task_rows(conn) -> pd.DataFrame:
    """Every pupil's points and maximum per task, from raw rows (ГИА strings parsed here, maxima from the
    demo's blueprints)."""
    vpr = frame(conn, "select r.school_id, r.subject, r.grade, r.year, r.season, t.task_code, t.points, t.max_points "
                      "from raw.vpr_results as r join raw.vpr_task_scores as t using (load_id, source_row) "
                      "where r.mark is not null")
    vpr = pd.DataFrame({"school_id": vpr["school_id"], "procedure_code": "vpr",
                        "subject_code": vpr["subject"].map(SUBJECTS), "grade": vpr["grade"],
                        "school_year": vpr["year"] + (vpr["season"] == "autumn"), "task_code": vpr["task_code"],
                        "points": vpr["points"].astype(float), "max_points": vpr["max_points"].astype(float)})
    rows = []
    for r in gia_attempts(conn).itertuples():
        test = GIA_TESTS[GIA_KEYS[(r.procedure_code, r.subject_code)]]
        n_short = test.extra["n_short"]
        base = (r.school_id, r.procedure_code, r.subject_code, r.grade, r.school_year)
        rows += [(*base, f"КО{j + 1}", p, test.tasks[j].max_points) for j, p in enumerate(parse_short(r.short_answers))]
        rows += [(*base, f"РО{j + 1}", p, test.tasks[n_short + j].max_points)
                 for j, (p, _) in enumerate(parse_long(r.long_answers))]
    gia = pd.DataFrame(rows, columns=vpr.columns)
    kdr = frame(conn, "select r.school_id, r.work, r.grade, r.year, s.skill_group, s.points from raw.kdr_results "
                      "as r join raw.kdr_skill_scores as s using (load_id, source_row) where r.level_code is not null")
    group_max = {}
    for procedure, key in KDR_KEYS.items():
        for t in KDR_TESTS[key].tasks:
            group_max[(procedure, t.group)] = group_max.get((procedure, t.group), 0) + t.max_points
    kdr = pd.DataFrame({"school_id": kdr["school_id"], "procedure_code": kdr["work"],
                        "subject_code": np.where(kdr["work"].str.endswith("_rl"), "reading", "science"),
                        "grade": kdr["grade"], "school_year": kdr["year"],
                        "task_code": "ГУ" + kdr["skill_group"].astype(str), "points": kdr["points"].astype(float),
                        "max_points": [float(group_max[k]) for k in zip(kdr["work"], kdr["skill_group"], strict=True)]})
    tasks = pd.concat([vpr, gia, kdr], ignore_index=True)
    tasks["pct"] = 100 * tasks["points"] / tasks["max_points"]
    return tasks


def test_task_results_from_pupil_rows(marts):
    tasks = pupil_task_rows(marts)
    assert (tasks["pct"].between(0, 100)).all()
    expected = tasks.groupby(CELL).agg(n=("pct", "size"), mean=("pct", "mean"), max_points=("max_points", "max"))
    # the region for ГИА and КДР is every pupil of the region (no regional report exists)
    region = tasks.groupby(CELL[1:]).agg(region_n=("pct", "size"), region_mean=("pct", "mean"))

    mart = frame(marts, "select * from marts.fct_task_results where result_source = 'individual'")
    mart = mart.set_index(CELL).sort_index()
    expected = expected.sort_index()
    assert list(mart.index) == list(expected.index)
    assert set(mart.index.get_level_values("procedure_code")) == {"vpr", "oge", "ege", "kdr4_rl", "kdr6_rl",
                                                                   "kdr8_sl"}
    assert (mart["n_participants"] == expected["n"]).all()
    assert (mart["task_max_points"] == expected["max_points"]).all()
    shown = ~mart["is_suppressed"]
    assert shown.sum() > 1000
    assert ((mart.loc[shown, "mean_pct_of_max"].astype(float) - expected.loc[shown, "mean"]).abs() < TOLERANCE).all()

    not_vpr = mart[mart.index.get_level_values("procedure_code") != "vpr"].join(expected).reset_index()
    joined = not_vpr.merge(region.reset_index(), on=CELL[1:])
    assert len(joined) == len(not_vpr)
    assert (joined["region_source"] == "computed").all()
    assert (joined["region_n_participants"] == joined["region_n"]).all()
    assert ((joined["region_pct_of_max"].astype(float) - joined["region_mean"]).abs() < TOLERANCE).all()
    shown = ~joined["is_suppressed"]
    gap = joined.loc[shown, "diff_from_region_pp"].astype(float) - (joined["mean"] - joined["region_mean"])[shown]
    assert (gap.abs() < TOLERANCE).all()


# ---------------------------------------------------------------- task facts from ФИС ОКО reports

def report_values(conn) -> pd.DataFrame:
    report = frame(conn, "select s.org_level, s.school_id, s.subject, s.grade, s.year as school_year, "
                         "s.n_participants, v.task_code, v.pct_completed from raw.vpr_task_stats as s "
                         "join raw.vpr_task_stat_values as v using (load_id, source_row)")
    report["subject_code"] = report["subject"].map(SUBJECTS)
    report["procedure_code"] = "vpr"
    return report


def test_schools_with_only_reports_get_task_results_from_the_report(marts):
    report = report_values(marts)
    schools = report[(report["org_level"] == "school") & report["school_id"].notna()]
    with_pupils = frame(marts, "select distinct school_id, subject, grade, year as school_year from raw.vpr_results "
                               "where mark is not null")
    with_pupils["subject_code"] = with_pupils["subject"].map(SUBJECTS)
    test_keys = ["school_id", "subject_code", "grade", "school_year"]
    marked = schools.merge(with_pupils[test_keys].assign(has_pupils=True), on=test_keys, how="left")
    expected = marked[marked["has_pupils"].isna()].set_index(CELL).sort_index()

    mart = frame(marts, "select * from marts.fct_task_results where result_source = 'aggregated'")
    mart = mart.set_index(CELL).sort_index()
    assert len(mart) > 500
    assert list(mart.index) == list(expected.index)
    assert (mart["n_participants"] == expected["n_participants"]).all()
    shown = ~mart["is_suppressed"]
    assert ((mart.loc[shown, "mean_pct_of_max"].astype(float)
             - expected.loc[shown, "pct_completed"].astype(float)).abs() < TOLERANCE).all()
    # the task's maximum is known even where this report had no «Макс. балл» row
    assert mart["task_max_points"].notna().all()

    # every ВПР cell, from either source, carries the region's own row of the report
    region = report[report["org_level"] == "region"][[*CELL[1:], "pct_completed", "n_participants"]]
    vpr = frame(marts, "select * from marts.fct_task_results where procedure_code = 'vpr'")
    joined = vpr.merge(region, on=CELL[1:], suffixes=("", "_region"))
    assert len(joined) == len(vpr)
    assert (joined["region_source"] == "aggregated").all()
    assert (joined["region_pct_of_max"].astype(float) == joined["pct_completed"].astype(float)).all()
    assert (joined["region_n_participants"] == joined["n_participants_region"]).all()


def test_pupil_rows_and_reports_agree_where_a_school_has_both(marts):
    report = report_values(marts)
    schools = report[(report["org_level"] == "school") & report["school_id"].notna()]
    mart = frame(marts, "select * from marts.fct_task_results where procedure_code = 'vpr' "
                        "and result_source = 'individual' and not is_suppressed")
    joined = mart.merge(schools, on=CELL, suffixes=("", "_report"))
    # rows quarantined at load are in the report but not in the pupil rows: compare complete schools only
    complete = joined[joined["n_participants"] == joined["n_participants_report"]]
    assert len(complete) > 500
    gap = (complete["mean_pct_of_max"].astype(float) - complete["pct_completed"].astype(float)).abs()
    assert gap.max() < 0.011


# ---------------------------------------------------------------- suppression

def test_small_cells_are_suppressed(marts):
    threshold = min_cell_size(marts)
    mart = frame(marts, "select * from marts.fct_task_results")
    small = mart["n_participants"] < threshold
    assert small.any() and (~small).any()
    assert (mart["is_suppressed"] == small).all()
    assert mart.loc[small, ["mean_pct_of_max", "diff_from_region_pp"]].isna().all().all()
    assert mart.loc[~small, "mean_pct_of_max"].notna().all()
    # the region's value stays: it is not a small cell
    assert mart.loc[small, "region_pct_of_max"].notna().all()


def test_suppression_follows_the_parameter(marts, demo_loaded):
    url, _ = demo_loaded
    before = frame(marts, "select n_participants from marts.fct_task_results")
    original = min_cell_size(marts)
    raised = int(before["n_participants"].quantile(0.5))
    assert raised > original
    try:
        marts.execute("update reference.method_parameters set value = %s where parameter_code = 'min_cell_size'",
                      (raised,))
        assert run_dbt(["run", "--select", "fct_task_results"], url=url)
        after = frame(marts, "select n_participants, is_suppressed, mean_pct_of_max from marts.fct_task_results")
        assert (after["is_suppressed"] == (after["n_participants"] < raised)).all()
        assert after.loc[after["is_suppressed"], "mean_pct_of_max"].isna().all()
        assert after["is_suppressed"].sum() > (before["n_participants"] < original).sum()
    finally:
        marts.execute("update reference.method_parameters set value = %s where parameter_code = 'min_cell_size'",
                      (original,))
        assert run_dbt(["run", "--select", "fct_task_results"], url=url)


# ---------------------------------------------------------------- dimensions

def test_dimensions(marts):
    years = frame(marts, "select * from marts.dim_school_year").set_index("school_year").sort_index()
    raw_years = set()
    for table, column in (("vpr_results", "year"), ("gia_results", "year"), ("kdr_results", "year"),
                          ("social_passport", "school_year"), ("teachers", "year"), ("vpr_task_stats", "year")):
        raw_years |= {int(y) for (y,) in marts.execute(f"select distinct {column} from raw.{table}").fetchall()}
    assert raw_years <= set(years.index) and set(years.index) >= set(YEARS)
    for year, row in years.iterrows():
        assert row["school_year_label"] == f"{year - 1}/{year % 100:02d}"
        assert (row["starts_on"].year, row["starts_on"].month, row["ends_on"].year) == (year - 1, 9, year)
    assert years["is_latest"].sum() == 1 and years["is_latest"].idxmax() == years.index.max()
    assert years.loc[2026, "school_year_label"] == "2025/26"

    grades = frame(marts, "select grade, level_code from marts.dim_grade").set_index("grade")["level_code"].to_dict()
    assert grades == {g: "НОО" if g <= 4 else "ООО" if g <= 9 else "СОО" for g in range(1, 12)}

    subjects = frame(marts, "select * from marts.dim_subject")
    seeds = frame(marts, "select subject_code from reference.subjects union select subject_code "
                         "from reference.gia_subjects")
    assert sorted(subjects["subject_code"]) == sorted(seeds["subject_code"])
    assert subjects.set_index("subject_code").loc["rus", "rcoi_subject_codes"] == "ОГЭ 1; ЕГЭ 1"

    procedures = frame(marts, "select procedure_code from marts.dim_procedure")
    facts = frame(marts, "select distinct procedure_code from marts.fct_pupil_results")
    assert set(facts["procedure_code"]) <= set(procedures["procedure_code"])


def test_municipal_analysts_see_only_their_tasks_and_no_pupil_rows(marts):
    role, municipality = "edu_analyst_nazarovo", "г. Назарово"
    with marts.transaction():
        marts.execute(psycopg.sql.SQL("set local role {}").format(psycopg.sql.Identifier(role)))
        seen = {m for (m,) in marts.execute("select distinct municipality from marts.fct_task_results").fetchall()}
    assert seen == {municipality}
    # pupil-level rows would undo the suppression of small cells: closed to BI and analysts
    for reader in ("edu_reader", role):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), marts.transaction():
            marts.execute(psycopg.sql.SQL("set local role {}").format(psycopg.sql.Identifier(reader)))
            marts.execute("select count(*) from marts.fct_pupil_results")
