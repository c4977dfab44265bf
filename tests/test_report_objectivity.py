"""The objectivity section of the report, built from hand-made contract-shaped marts (C1) and evidence tables; and
the recall / honest-flag-rate arithmetic of bench/eval_objectivity.py on a tiny synthetic truth."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from report import build_report, objectivity_data
from tests import browser
from tests.test_report import SCHEMA, text_of

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import eval_objectivity

NAZ, EVK = "г. Назарово", "Эвенкийский муниципальный район"
FLAGGED, HONEST, FEDERAL = "МБОУ СШ № 7 «Проверочная»", "МБОУ СШ № 9 «Честная»", "МБОУ ООШ № 3 «Списочная»"

MARTS = """
create schema if not exists marts;
create schema if not exists intermediate;
create schema if not exists staging;
create schema if not exists reference;
create table marts.mart_objectivity (
    school_id text, school_name text, municipality text, school_year int, status text, status_reason text,
    checks_flagged text, n_checks_flagged int, checks_flagged_previous_year text, checks_insufficient text,
    n_checks_computed int, rule_version text, federal_listed bool, federal_marker_count int, federal_markers text,
    federal_vs_computed text);
create table marts.mart_objectivity_flags (
    school_id text, school_name text, municipality text, school_year int, procedure_code text, subject_code text,
    grade int, check_code text, check_name text, sub_check text, data_basis text, status text, n_participants int,
    effect double precision, effect_unit text, threshold double precision, comparison text,
    region_value double precision, p_value double precision, p_adjusted double precision,
    percentile double precision, rule_version text, explanation text, insufficient_reason text);
"""

CONTENT = f"""
insert into marts.mart_objectivity values
  ('0401007', '{FLAGGED}', '{NAZ}', 2024, 'признаки необъективности', '2 разных признака в году: O3, O4',
   'O3, O4', 2, null, 'O8', 6, 'all-2026.1', false, null, null, 'не в федеральном списке, расчёт нашёл признаки'),
  ('0401007', '{FLAGGED}', '{NAZ}', 2023, 'нет признаков', null, null, 0, null, null, 7, 'all-2026.1', false,
   null, null, null),
  ('0401009', '{HONEST}', '{NAZ}', 2024, 'нет признаков', null, null, 0, null, null, 7, 'all-2026.1', false,
   null, null, null),
  ('0501003', '{FEDERAL}', '{EVK}', 2024, 'недостаточно данных', 'мало участников', null, 0, null, 'O2, O3, O4',
   0, 'all-2026.1', true, 2, '4 МА, 5 РУ', 'в федеральном списке, расчёт признаков не нашёл');
insert into marts.mart_objectivity_flags values
  ('0401007', '{FLAGGED}', '{NAZ}', 2024, 'vpr', 'rus', 5, 'O3', 'Пики у границ отметок', 'main', 'individual',
   'признак', 40, -4.1, 'z', -3.09, '≤', null, 0.00002, 0.0001, 0.004, 'O3-2026.1',
   'У границы «3» 6 работ при 1 на два балла ниже', null),
  ('0401007', '{FLAGGED}', '{NAZ}', 2024, 'vpr', 'rus', 5, 'O4', 'Расхождение с журналом', 'raised', 'individual',
   'признак', 40, 30, '%', 13.2, '≥', 7.4, 0.0003, 0.002, 0.99, 'O4-2026.1',
   '«Повысили» 30 % при 7,4 % в регионе', null),
  ('0401007', '{FLAGGED}', '{NAZ}', 2024, 'vpr', 'rus', 5, 'O8', 'Сходство ответов', 'main', 'none',
   'недостаточно данных', 40, null, null, null, null, null, null, null, null, 'O8-2026.1', null,
   'нет работ участников с ответами по заданиям'),
  ('0401007', '{FLAGGED}', '{NAZ}', 2024, 'vpr', 'math', 5, 'O4', 'Расхождение с журналом', 'raised', 'individual',
   'нет признаков', 38, 8, '%', 13.2, '≥', 7.4, 0.4, 1, 0.6, 'O4-2026.1', '«Повысили» 8 %', null),
  ('0401009', '{HONEST}', '{NAZ}', 2024, 'vpr', 'rus', 5, 'O4', 'Расхождение с журналом', 'raised', 'individual',
   'нет признаков', 50, 5, '%', 13.2, '≥', 7.4, 0.8, 1, 0.3, 'O4-2026.1', '«Повысили» 5 %', null),
  ('0501003', '{FEDERAL}', '{EVK}', 2024, 'vpr', 'rus', 4, 'O4', 'Расхождение с журналом', 'raised', 'aggregated',
   'недостаточно данных', 6, null, null, null, null, null, null, null, null, 'O4-2026.1', null,
   'участников меньше 10');
create table marts.mart_low_results (school_id text, school_year int, is_candidate bool, status_label text);
insert into marts.mart_low_results values ('0401007', 2024, true, 'кандидат, результаты требуют подтверждения'),
  ('0401007', 2023, true, 'кандидат'), ('0401009', 2024, false, null);
create table intermediate.int_score_histograms (school_id text, school_year int, subject_code text, grade int,
                                                score int, n_pupils int, data_basis text);
-- the flagged school: 1 pupil two below the «3» cut (10), none one below, 6 at it; an honest school makes the region
insert into intermediate.int_score_histograms values
  ('0401007', 2024, 'rus', 5, 5, 3, 'individual'), ('0401007', 2024, 'rus', 5, 8, 1, 'individual'),
  ('0401007', 2024, 'rus', 5, 10, 6, 'individual'), ('0401007', 2024, 'rus', 5, 15, 20, 'individual'),
  ('0401007', 2024, 'rus', 5, 22, 10, 'individual'),
  ('0401009', 2024, 'rus', 5, 8, 10, 'individual'), ('0401009', 2024, 'rus', 5, 9, 10, 'individual'),
  ('0401009', 2024, 'rus', 5, 10, 10, 'individual'), ('0401009', 2024, 'rus', 5, 16, 20, 'individual');
create table reference.vpr_mark_scales (valid_from int, valid_to int, subject_code text, grade int, mark int,
                                        min_primary_score int, source text);
insert into reference.vpr_mark_scales values (2023, 2026, 'rus', 5, 2, 0, 't'), (2023, 2026, 'rus', 5, 3, 10, 't'),
  (2023, 2026, 'rus', 5, 4, 20, 't'), (2023, 2026, 'rus', 5, 5, 30, 't'), (2019, 2022, 'rus', 5, 3, 99, 't');
create table staging.stg_fis_oko__vpr_journal_stats (load_id int, source_row int, org_level text, org_id text,
    org_name text, school_id text, school_year int, subject_code text, grade int, n_total int, n_lowered int,
    n_confirmed int, n_raised int, pct_lowered numeric, pct_confirmed numeric, pct_raised numeric,
    is_count_derived bool);
insert into staging.stg_fis_oko__vpr_journal_stats values
  (1, 1, 'school', '0401007', 'ш', '0401007', 2024, 'rus', 5, 40, 4, 24, 12, null, null, null, false),
  (1, 2, 'region', 'R', 'Красноярский край', null, 2024, 'rus', 5, 1000, 169, 757, 74, 16.9, 75.7, 7.4, false);
create table intermediate.int_task_results (procedure_code text, school_id text, school_year int, subject_code text,
    grade int, task_code text, task_kind text, difficulty text, task_max_points int, result_source text,
    n_participants bigint, mean_pct_of_max numeric, region_pct_of_max numeric, region_n_participants bigint,
    region_source text);
insert into intermediate.int_task_results values
  ('vpr', '0401007', 2024, 'rus', 5, '10', 'задание', 'В', 1, 'individual', 40, 70, 25, 1000, 'computed'),
  ('vpr', '0401007', 2024, 'rus', 5, '2', 'задание', 'Б', 2, 'individual', 40, 50, 75, 1000, 'computed'),
  ('vpr', '0401007', 2024, 'rus', 5, '1', 'задание', 'Б', 1, 'individual', 40, 40, 70, 1000, 'computed'),
  ('vpr', '0401007', 2024, 'rus', 5, '3К1', 'критерий', 'В', 1, 'individual', 40, 80, 30, 1000, 'computed'),
  ('kdr', '0401007', 2024, 'rus', 5, '1', 'задание', 'Б', 1, 'individual', 40, 99, 1, 1000, 'computed');
"""


@pytest.fixture
def site(conn, tmp_path) -> Path:
    conn.execute(MARTS)
    conn.execute(CONTENT)
    out = tmp_path / "report"
    build_report(conn, out)
    return out


def objectivity_pages(site: Path) -> dict[str, Path]:
    return {p.name: p for p in site.glob("objectivity*.html")}


def page_of(site: Path, municipality: str) -> Path:
    for path in site.glob("objectivity-*.html"):
        if f"Объективность результатов: {municipality}" in text_of(path):
            return path
    raise AssertionError(f"no objectivity page of {municipality}")


def test_overview_names_the_schools_with_signs(site):
    overview = text_of(site / "objectivity.html")
    assert FLAGGED in overview and FEDERAL in overview
    assert HONEST not in overview                                  # no signs, not on the federal list
    assert "признаки необъективности" in overview and "требуют подтверждения" in overview
    assert "кандидат, результаты требуют подтверждения" in overview
    assert "не входит в расчёт" in overview and "в списке: 4 МА, 5 РУ" in overview
    # the per-municipality summary counts school-years by status: Назарово 3 (1 with signs), Эвенкийский 1
    assert re.search(r"г\. Назарово 2 3 1 0 2 0 0", overview), overview
    assert re.search(r"Эвенкийский муниципальный район 1 1 0 0 0 1 1", overview), overview
    # per check: O3 flagged in 1 of 1 school-year; O4 computed in 2 (0401007, 0401009) of 3, flagged in 1
    assert "O3 Пики у границ отметок 1 1 1 0" in overview
    assert "O4 Расхождение с журналом 3 2 1 1" in overview and "O8 Сходство ответов 1 0 0 1" in overview
    assert "Раздел не построен" not in overview
    assert len(objectivity_pages(site)) == 3                       # the overview and the two municipalities


def test_municipality_page_shows_the_evidence(site):
    page = page_of(site, NAZ)
    text, html = text_of(page), page.read_text(encoding="utf-8")
    assert FLAGGED in text and HONEST not in text and FEDERAL not in text
    assert "2 разных признака в году: O3, O4" in text and "У границы «3» 6 работ" in text
    assert "Федеральный список ФИС ОКО (отдельно от расчёта): не в списке" in text
    assert "ШНОР: кандидат, результаты требуют подтверждения." in text
    # the O8 row that could not be computed says why, not «нет признаков»
    assert "O8 Сходство ответов недостаточно данных" in text and "нет работ участников с ответами" in text
    # the chart of the flagged cell (rus 5) exists and is linked; the unflagged math cell gets none
    charts = re.findall(r'<img src="(charts/objectivity/[^"]+\.svg)"', html)
    assert charts == ["charts/objectivity/0401007-2024-rus-5.svg"]
    assert (site / charts[0]).stat().st_size > 5_000
    # at the «3» cut: 1 pupil two below, 0 one below, 6 at it → 6 / mean(1, 0) = 12; the «4» cut has no pupils
    assert "«3» 10 1 0 6 12,00" in text and "«4» 20 0 0 0 недостаточно данных" in text
    assert "«99»" not in text and " 99 " not in text                # the scale of other years is not used
    # register: 12 of 40 raised (30 %) against the region's 7.4 %
    assert "школа 40 10,0 % 60,0 % 30,0 %" in text and "регион 1 000 16,9 % 75,7 % 7,4 %" in text
    # difficulty weighted by maximum points: Б school (40·1 + 50·2)/3 = 46.7, region (70 + 150)/3 = 73.3
    assert "Б — базовый 2 46,7 73,3 -26,7" in text
    assert "П — повышенный 0 недостаточно данных" in text
    assert "В — высокий 2 75,0 27,5 47,5" in text                    # the КДР row is not read


def test_charts_beyond_the_limit_give_tables_only(conn, tmp_path, monkeypatch):
    from report import objectivity

    conn.execute(MARTS)
    conn.execute(CONTENT)
    monkeypatch.setattr(objectivity, "CHART_SCHOOL_YEARS", 0)
    build_report(conn, tmp_path / "r")
    text = text_of(page_of(tmp_path / "r", NAZ))
    assert "График не построен" in text and "«3» 10 1 0 6 12,00" in text
    assert not list((tmp_path / "r").glob("charts/objectivity/*.svg"))


def test_insufficient_school_and_federal_markers_apart(site):
    text = text_of(page_of(site, EVK))
    assert FEDERAL in text and "недостаточно данных" in text and "участников меньше 10" in text
    assert "в списке, маркеров: 2 (4 МА, 5 РУ)" in text
    assert "в федеральном списке, расчёт признаков не нашёл" in text
    assert "Расчёт признаков не нашёл; школа — в федеральном списке" in text


def test_objectivity_pages_in_headless_chromium(site):
    if browser.chromium_path() is None:
        pytest.fail(browser.INSTALL_HINT)
    facts = browser.check_site(site)       # raises on a request off the machine or an image not shown
    for name, fact in facts.items():
        if name.startswith("objectivity"):
            assert fact["width"] <= 1300, f"{name} scrolls sideways ({fact['width']} px)"
    naz = next(f for n, f in facts.items() if n.startswith("objectivity-") and f["images"])
    assert len(naz["images"]) == 1 and naz["images"][0]["width"] > 0


def test_evidence_cells_follow_the_signs():
    def row(subject, grade, status, n=30, procedure="vpr"):
        return {"procedure_code": procedure, "subject_code": subject, "grade": grade, "status": status,
                "n_participants": n}

    rows = [row("rus", 4, "нет признаков", 60), row("math", 5, "признак", 20), row("math", 6, "нет признаков", 50),
            row("math", 7, "нет признаков", 40), row("rus", 5, "нет признаков", 55), row("all", 0, "признак"),
            row("oge_math", 9, "признак", 90, "oge")]
    assert objectivity_data.evidence_cells(rows) == [("math", 5)]          # the flagged cell; not ОГЭ
    rows.append(row("math", 0, "признак", 110))                             # a sign on mathematics as a whole
    assert objectivity_data.evidence_cells(rows) == [("math", 5), ("math", 6), ("math", 7)]
    quiet = [r for r in rows if r["status"] != "признак"]                   # federal list only: the largest two
    assert objectivity_data.evidence_cells(quiet) == [("rus", 4), ("rus", 5)]


def test_section_not_built_without_marts(conn, tmp_path):
    build_report(conn, tmp_path / "r")
    text = text_of(tmp_path / "r" / "objectivity.html")
    assert "Раздел не построен" in text and "marts.mart_objectivity" in text
    assert not list((tmp_path / "r").glob("objectivity-*.html"))
    # one mart without the other is still not a section
    conn.execute(MARTS.split("create table marts.mart_objectivity_flags")[0])
    build_report(conn, tmp_path / "r")
    text = text_of(tmp_path / "r" / "objectivity.html")
    assert "Раздел не построен" in text and "marts.mart_objectivity_flags" in text


FALLBACK = """
drop table intermediate.int_score_histograms;
create table staging.stg_fis_oko__vpr_results (school_id text, participant_id text, school_year int,
    subject_code text, grade int, variant int, primary_score int, mark int, journal_mark int);
insert into staging.stg_fis_oko__vpr_results values
  ('0401007', 'PUPIL-SECRET-1', 2024, 'rus', 5, 1, 8, 2, 3),
  ('0401007', 'PUPIL-SECRET-2', 2024, 'rus', 5, 1, 10, 3, 3),
  ('0401007', 'PUPIL-SECRET-3', 2024, 'rus', 5, 2, 10, 3, 4),
  ('0401007', 'PUPIL-SECRET-4', 2024, 'rus', 5, 2, 10, 3, 3),
  ('0401007', 'PUPIL-SECRET-5', 2024, 'rus', 5, 2, null, null, 3),
  ('0401007', 'PUPIL-SECRET-6', 2023, 'rus', 5, 1, 1, 2, 2);
create table staging.stg_fis_oko__vpr_score_distributions (source_rank int, result_source text, load_id bigint,
    source_row int, school_id text, school_year int, subject_code text, grade int, n_participants int);
insert into staging.stg_fis_oko__vpr_score_distributions values
  (1, 'aggregated', 900, 1, '0401009', 2024, 'rus', 5, 20),        -- the honest school: reports only
  (2, 'regional_extract', 901, 1, '0401009', 2024, 'rus', 5, 20),  -- the flat extract loses to the report
  (1, 'aggregated', 902, 1, '0401007', 2024, 'rus', 5, 30);        -- the pupil rows win over the report
insert into raw.vpr_score_stat_points values (900, 1, 9, 50), (900, 1, 10, 50), (902, 1, 0, 100);
insert into raw.vpr_flat_score_points values (901, 1, 5, 100);
"""


def test_histogram_model_of_the_draft_shape(conn):
    """int_score_histograms with `pupils` for n_pupils and distribution_ok: read, the failed distribution left out."""
    conn.execute(MARTS)
    conn.execute(CONTENT)
    conn.execute("alter table intermediate.int_score_histograms rename column n_pupils to pupils; "
                 "alter table intermediate.int_score_histograms add column distribution_ok bool default true; "
                 "update intermediate.int_score_histograms set distribution_ok = false where school_id = '0401009'")
    data = objectivity_data.fetch(conn)
    assert data.histograms[("0401007", 2024, "rus", 5)] == {5: 3, 8: 1, 10: 6, 15: 20, 22: 10}
    assert data.region_histograms[(2024, "rus", 5)] == {5: 3, 8: 1, 10: 6, 15: 20, 22: 10}


def test_histograms_without_the_model_come_from_pupils_and_reports(conn, tmp_path):
    """Without int_score_histograms: pupil rows where the school has them, else the ФИС ОКО distribution
    (count = share × n / 100); no pupil code reaches what is read or the pages."""
    conn.execute(MARTS)
    conn.execute(CONTENT)
    conn.execute(FALLBACK)
    data = objectivity_data.fetch(conn)
    assert data.histograms[("0401007", 2024, "rus", 5)] == {8: 1, 10: 3}
    assert data.histogram_basis[("0401007", 2024, "rus", 5)] == "individual"
    assert data.region_histograms[(2024, "rus", 5)] == {8: 1, 9: 10, 10: 13}
    assert "PUPIL-SECRET" not in repr(data.__dict__)
    build_report(conn, tmp_path / "r")
    for page in (tmp_path / "r").glob("*.html"):
        assert "PUPIL-SECRET" not in page.read_text(encoding="utf-8"), page.name
    assert "«3» 10 1 0 3 6,00" in text_of(page_of(tmp_path / "r", NAZ))


def test_withheld_mart_is_not_shown(conn, tmp_path):
    """A mart closed to readers by a failed mart check is not published by the report either."""
    conn.execute(MARTS)
    conn.execute(CONTENT)
    conn.execute(SCHEMA.read_text(encoding="utf-8"))
    conn.execute("insert into qc.runs (run_id, landing, started_at, status) values (1, 'l', now(), 'blocked'); "
                 "insert into qc.withheld_marts (relation, run_id, reasons) values "
                 "('marts.mart_objectivity_flags', 1, 'p-значение вне [0, 1]')")
    build_report(conn, tmp_path / "r")
    text = text_of(tmp_path / "r" / "objectivity.html")
    assert "Раздел не построен" in text and "закрыты для чтения" in text and "p-значение вне [0, 1]" in text
    assert FLAGGED not in text and not list((tmp_path / "r").glob("objectivity-*.html"))


# ----------------------------------------------------------------------------------------------- eval arithmetic

def test_eval_recall_and_honest_rate():
    cells = [{"subject_code": "math", "grade": 5, "n_participants": 30, "n_changed": 5}]
    truth = {"schools": {
        "A": {"inflation": [{"year": 2024, "method": "copied_answers", "cells": cells}]},
        "B": {"inflation": [{"year": 2024, "method": "copied_answers", "cells": cells},
                            {"year": 2025, "method": "journal_gap", "cells": cells}]},
        "C": {"inflation": [{"year": 2024, "method": "copied_answers",                     # aggregated only
                             "cells": [*cells, {"subject_code": "rus", "grade": 5, "n_changed": 0}]}]},
        "D": {"inflation": [{"year": 2025, "method": "easy_hard_inversion", "cells": cells}]},   # no O2 rows
        "H1": {"inflation": []}, "H2": {"inflation": []}, "H3": {"inflation": []}}}
    flags = [
        ("A", 2024, "O8", "math", 5, "признак"), ("A", 2024, "O4", "math", 5, "признак"),
        ("B", 2024, "O8", "math", 5, "нет признаков"), ("B", 2024, "O8", "rus", 4, "признак"),  # sign elsewhere
        ("B", 2025, "O4", "math", 5, "нет признаков"),
        ("C", 2024, "O8", "math", 5, "недостаточно данных"), ("C", 2024, "O8", "rus", 5, "нет признаков"),
        ("H1", 2024, "O8", "math", 5, "признак"), ("H1", 2025, "O8", "math", 5, "нет признаков"),
        ("H2", 2024, "O8", "math", 5, "нет признаков"), ("H2", 2024, "O4", "rus", 5, "признак"),
        ("H3", 2024, "O8", "math", 5, "недостаточно данных")]
    statuses = [("A", 2024, "признаки необъективности"), ("B", 2024, "отдельные признаки"),
                ("C", 2024, "нет признаков"), ("H1", 2024, "отдельные признаки")]
    res = eval_objectivity.evaluate(truth, flags, statuses)
    copied = res["kinds"]["copied_answers"]
    # A flagged; B flagged (any O8 row of the school-year); C: O8 not computed in the planted cell → apart
    assert (copied["planted"], copied["flagged"], copied["insufficient"]) == (3, 2, 1)
    assert copied["recall"] == 1.0 and copied["recall_all_planted"] == pytest.approx(2 / 3)
    # honest school-years: H1 2024, H1 2025, H2 2024, H3 2024 (O8 not computed: left out) → 1 of 3
    assert (copied["honest_computed"], copied["honest_flagged"]) == (3, 1)
    assert copied["honest_flag_rate"] == pytest.approx(1 / 3)
    # A and B planted in a cell of 30 pupils: both flagged; C (30 + an unchanged cell left out) not computed
    assert res["by_size"]["copied_answers"] == {"20 ≤ n < 40": {"flagged": 2, "computed": 2, "insufficient": 1}}
    journal = res["kinds"]["journal_gap"]
    assert (journal["planted"], journal["flagged"], journal["recall"]) == (1, 0, 0.0)
    assert journal["honest_flag_rate"] == pytest.approx(1 / 1)     # only H2 2024 has an O4 row
    inversion = res["kinds"]["easy_hard_inversion"]
    assert (inversion["planted"], inversion["no_rows"], inversion["insufficient"]) == (1, 1, 0)
    assert inversion["recall"] is None
    assert res["kinds"]["cut_bunching"]["planted"] == 0 and res["kinds"]["cut_bunching"]["recall"] is None
    assert res["confusion"]["copied_answers"]["O4"] == pytest.approx(1 / 3)
    assert res["overall"]["copied_answers"]["признаки необъективности"] == pytest.approx(1 / 3)
    assert res["overall"]["honest"]["n"] == 4 and res["overall"]["honest"]["отдельные признаки"] == 0.25
    out = eval_objectivity.machine({"current": res})
    assert out["current"]["copied_answers"] == {"recall": 1.0, "honest_flag_rate": pytest.approx(1 / 3)}
    assert set(out["current"]) == set(eval_objectivity.PRIMARY)
