"""ФИС ОКО workbooks in the structures real exports have (tests/fixtures/real/fis_oko), and the layout rules.

Each fixture is loaded after the test registry (tests/builders.registry_file), and a few rows are checked
cell by cell against what a reader of the workbook sees.
"""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from ingestion.core.layout import header_text, is_totals_label
from ingestion.feeds.objectivity_markers import ObjectivityMarkersLoader
from ingestion.feeds.vpr_individual import VprIndividualLoader
from ingestion.feeds.vpr_reports import VprJournalLoader, VprMarksLoader, VprScoresLoader, VprTasksLoader
from tests.builders import write_xlsx
from tests.conftest import TEST_KEY

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "real" / "fis_oko"


def land(landing: Path, feed: str, name: str) -> Path:
    """A fixture copied into the feed's landing folder."""
    target = landing / feed / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FIXTURES / name, target)
    return target


def rows(conn, query: str, *args) -> list[tuple]:
    return conn.execute(query, args).fetchall()


# ----------------------------------------------------------------------------- individual results
def test_individual_results_as_exported(landing, conn):
    result = VprIndividualLoader(conn, TEST_KEY).load(land(landing, "vpr_individual", "individual_exported.xlsx"))
    assert result.status == "loaded", result.message
    # school lines are context, not participants: 4 pupils in 6 rows below the header
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (4, 4, 0)
    got = rows(conn, "select source_row, school_code, school_id, municipality, class_label, variant, primary_score, "
                     "mark, journal_mark, year, subject, grade, max_primary_score, work_date, season "
                     "from raw.vpr_results order by source_row")
    assert got[0] == (10, "edu240001", "24R00001", "г. Назарово", "1", 1, 6, 5, 5, 2026, "Русский язык", 4, 6,
                      dt.date(2026, 4, 20), "spring")
    assert got[2][:9] == (12, "edu240001", "24R00001", "г. Назарово", "2", 1, 3, 3, None)  # «нет отметки»
    assert got[3][:5] == (14, "edu240003", "24R00003", "Эвенкийский муниципальный район", "1")
    # numeric participant codes are read as a person sees them («40001», not «40001.0») before hashing
    loader = VprIndividualLoader(conn, TEST_KEY)
    ids = [i for (i,) in conn.execute("select participant_id from raw.vpr_results order by source_row")]
    import pandas as pd
    assert ids == loader.pseudonymiser.series("pupil", pd.Series(["40001", "40002", "40003", "40101"])).tolist()
    tasks = rows(conn, "select task_code, max_points, difficulty, points from raw.vpr_task_scores "
                       "where source_row = 12 order by task_code")
    assert tasks == [("1", 2, "Б", 2), ("2", 1, "Б", None), ("9.1", 1, "П", 1), ("9.2", 2, "В", 0)]


def test_individual_date_as_a_date_cell(landing, conn):
    result = VprIndividualLoader(conn, TEST_KEY).load(land(landing, "vpr_individual", "individual_date_cell.xlsx"))
    assert result.status == "loaded", result.message
    assert rows(conn, "select school_id, participant_id is not null, class_label, primary_score, mark, journal_mark,"
                      " subject, grade, work_date, max_primary_score from raw.vpr_results") == [
        ("24R00002", True, "5", 3, 5, 4, "Математика", 5, dt.date(2024, 4, 16), 3)]


def test_an_unreadable_date_label_refuses_the_file(landing, conn):
    path = write_xlsx(landing / "vpr_individual" / "bad_date.xlsx", {"Индивидуальные результаты": [
        ["ВПР 2024 Математика 5 класс"], ["Дата:", "в апреле"],
        ["ОО", "Код участника", "1 (3б)", "Первичный балл", "Отметка"], ["edu240001", 1, 3, 3, 4]]})
    result = VprIndividualLoader(conn, TEST_KEY).load(path)
    assert result.status == "failed"
    assert result.message == "Файл «bad_date.xlsx»: дата работы «в апреле» над таблицей не читается как дата"


def test_a_date_in_the_label_cell_itself(landing, conn):
    path = write_xlsx(landing / "vpr_individual" / "inline.xlsx", {"Индивидуальные результаты": [
        ["ВПР 2024 Математика 5 класс"], ["Дата проведения: 23.04.2024"],
        ["ОО", "Код участника", "1 (3б)", "Первичный балл", "Отметка"], ["edu240001", 1, 3, 3, 4]]})
    assert VprIndividualLoader(conn, TEST_KEY).load(path).status == "loaded"
    assert rows(conn, "select work_date from raw.vpr_results") == [(dt.date(2024, 4, 23),)]


def test_totals_and_averages_rows_are_not_participants(landing, conn):
    path = write_xlsx(landing / "vpr_individual" / "totals.xlsx", {"Индивидуальные результаты": [
        ["ВПР 2024 Математика 5 класс"], ["Дата:", "16.04.2024"],
        ["ОО", "Код участника", "1 (2б)", "Первичный балл", "Отметка"],
        ["edu240001", 7, 2, 2, 4], ["edu240001", 8, 1, 1, 3],
        ["Итого", None, None, 3, None], ["Среднее", None, 1.5, 1.5, 3.5]]})
    result = VprIndividualLoader(conn, TEST_KEY).load(path)
    assert (result.status, result.rows_read, result.rows_loaded, result.rows_quarantined) == ("loaded", 2, 2, 0)


# ----------------------------------------------------------------------------- «Аналитика» reports
def test_marks_as_exported(landing, conn):
    result = VprMarksLoader(conn, TEST_KEY).load(land(landing, "vpr_marks", "marks_exported.xlsx"))
    assert result.status == "loaded", result.message
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (6, 6, 0)
    got = rows(conn, "select org_name, org_level, org_key, school_id, n_schools, n_participants, "
                     "pct_2, pct_3, pct_4, pct_5, year, subject, grade from raw.vpr_mark_stats order by source_row")
    assert got[0][:6] == ("Вся выборка", "country", "country:вся выборка", None, 35589, 1722202)
    assert got[1][:2] == ("Красноярский край", "region")
    assert got[2][:6] == ("Эвенкийский муниципальный район(reg24_m002)", "municipality", "municipality:reg24_m002",
                          None, 47, 3162)
    assert got[3] == ("МКОУ Туринская СШ(edu240003)", "school", "edu240003", "24R00003", None, 89,
                      Decimal("12.36"), Decimal("52.81"), Decimal("26.97"), Decimal("7.86"), 2026, "Русский язык", 4)
    assert got[5][1:4] == ("school", "edu240001", "24R00001")


def test_marks_with_a_two_row_header(landing, conn):
    result = VprMarksLoader(conn, TEST_KEY).load(land(landing, "vpr_marks", "marks_two_row.xlsx"))
    assert result.status == "loaded", result.message
    assert rows(conn, "select source_row, org_level, school_id, n_participants, pct_2, pct_5, year, subject, grade "
                      "from raw.vpr_mark_stats order by source_row") == [
        (10, "region", None, 28000, Decimal("10.1"), Decimal("9.2"), 2025, "Математика", 6),
        (11, "school", "24R00002", 51, Decimal("3.92"), Decimal("15.68"), 2025, "Математика", 6)]


JOURNAL_ROWS = [
    ("region", "confirmed", 17951, Decimal("60.67")), ("region", "lowered", 11011, Decimal("37.22")),
    ("region", "raised", 624, Decimal("2.11")), ("region", "total", 29589, None),
    ("school", "confirmed", 37, Decimal("39.78")), ("school", "lowered", 52, Decimal("55.91")),
    ("school", "raised", 4, Decimal("4.3")), ("school", "total", 93, None),
]


@pytest.mark.parametrize("name", ["journal_wide.xlsx", "journal_two_row.xlsx"])
def test_wide_journal_comparison_becomes_the_long_rows(landing, conn, name):
    result = VprJournalLoader(conn, TEST_KEY).load(land(landing, "vpr_journal", name))
    assert result.status == "loaded", result.message
    # three organisations, one file row each; four long rows per organisation
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 3, 0)
    got = rows(conn, "select org_level, comparison_group, n_participants, pct from raw.vpr_journal_stats "
                     "where org_level in ('region', 'school') order by org_level, comparison_group")
    assert got == JOURNAL_ROWS
    first = 9 if name == "journal_wide.xlsx" else 10
    assert rows(conn, "select distinct source_row, org_name, school_id, year, subject, grade "
                      "from raw.vpr_journal_stats where org_level = 'school'") == [
        (first + 2, "МБОУ «СШ № 1 г. Назарово»(edu240001)", "24R00001", 2024, "Математика", 4)]
    assert rows(conn, "select count(*) from raw.vpr_journal_stats where org_key = 'municipality:reg24_m011'") == [(4,)]


def test_a_bad_cell_of_the_wide_journal_quarantines_its_file_row_once(landing, conn):
    header = ["Группы участников", "Кол-во участников(всего)"]
    for group in ("Понизили (Отметка < Отметка по журналу)", "Подтвердили (Отметка = Отметке по журналу)",
                  "Повысили (Отметка > Отметка по журналу)"):
        header += [f"{group} %", f"{group} Кол-во участников"]
    path = write_xlsx(landing / "vpr_journal" / "bad.xlsx", {"Сравнение отметок": [
        ["ВПР 2024 Математика 4 класс"], header,
        ["МБОУ СШ № 1(edu240001)", 10, 50, 5, "много", 4, 10, 1],
        ["МБОУ СШ № 2(edu240002)", 10, 50, 5, 40, 4, 10, 1]]})
    result = VprJournalLoader(conn, TEST_KEY).load(path)
    assert (result.status, result.rows_read, result.rows_loaded, result.rows_quarantined) == ("loaded", 2, 1, 1)
    quarantined = rows(conn, "select source_row, reason_code, message from raw.quarantine")
    assert len(quarantined) == 1 and quarantined[0][:2] == (3, "invalid_value")
    # the message names the share columns of the three groups (the bad cell is one of them) and the problem
    assert quarantined[0][2] == (
        "Файл «bad.xlsx», строка 3: в столбце «Понизили (Отметка < Отметка по журналу) % / Подтвердили (Отметка = "
        "Отметке по журналу) % / Повысили (Отметка > Отметка по журналу) %» значение (скрыто, 5 симв.) не является "
        "числом")
    assert rows(conn, "select distinct school_id from raw.vpr_journal_stats") == [("24R00002",)]


def test_tasks_as_exported(landing, conn):
    result = VprTasksLoader(conn, TEST_KEY).load(land(landing, "vpr_tasks", "tasks_exported.xlsx"))
    assert result.status == "loaded", result.message
    assert rows(conn, "select source_row, org_level, school_id, n_participants, year, subject, grade "
                      "from raw.vpr_task_stats order by source_row")[2] == (
        12, "school", "24R00002", 48, 2026, "Математика", 5)
    assert rows(conn, "select task_code, max_points, difficulty, pct_completed from raw.vpr_task_stat_values "
                      "where source_row = 12 order by task_code") == [
        ("1", "1", "Б", Decimal("87.5")), ("10К1", "2", "В", Decimal("25")), ("2", "2", "Б", Decimal("70.83")),
        ("9.1", "1", "П", Decimal("50"))]


def test_objectivity_markers_as_published(landing, conn):
    result = ObjectivityMarkersLoader(conn, TEST_KEY).load(
        land(landing, "objectivity_markers", "objectivity_markers.xlsx"))
    assert result.status == "loaded", result.message
    assert rows(conn, "select year, school_code, school_id, school_name, municipality, marker_count "
                      "from raw.objectivity_markers order by source_row") == [
        (2024, "edu240001", "24R00001", "МБОУ СШ № 1", "г. Назарово", 3),
        (2024, "edu240003", "24R00003", "МКОУ Туринская СШ", "Эвенкийский муниципальный район", 1)]
    assert rows(conn, "select grade, subject_code, subject, marker from raw.objectivity_marker_values "
                      "where source_row = 2 order by grade, subject_code") == [
        (4, "МА", "Математика", None), (4, "РУ", "Русский язык", 1), (5, "МА", "Математика", None),
        (5, "РУ", "Русский язык", 2)]


def test_a_totals_row_under_the_markers_list_is_not_a_school(landing, conn):
    sheet = [["Год", "Муниципалитет", "Логин", "ОО", "4 РУ", "4 МА", "Количество маркеров"],
             [2024, "г. Назарово", "edu240001", "МБОУ СШ № 1", 1, None, 1], ["Итого", None, None, None, 1, 0, 1]]
    path = write_xlsx(landing / "objectivity_markers" / "t.xlsx", {"Лист1": sheet})
    result = ObjectivityMarkersLoader(conn, TEST_KEY).load(path)
    assert (result.status, result.rows_read, result.rows_loaded, result.rows_quarantined) == ("loaded", 1, 1, 0)


# ----------------------------------------------------------------------------- refusals
def test_a_report_of_another_kind_is_refused_by_its_name(landing, conn):
    result = VprMarksLoader(conn, TEST_KEY).load(land(landing, "vpr_marks", "scores_exported.xlsx"))
    assert result.status == "failed"
    assert result.message == (
        "Файл «scores_exported.xlsx»: в файле отчёт «Распределение первичных баллов», а в этой папке ожидается "
        "«Статистика по отметкам» (ВПР: статистика по отметкам): файл не загружен, положите его в папку своего "
        "отчёта")
    assert rows(conn, "select count(*) from raw.vpr_mark_stats") == [(0,)]


@pytest.mark.parametrize(("loader", "feed", "expected"), [
    (VprTasksLoader, "vpr_tasks", "«Выполнение заданий» (ВПР: выполнение заданий)"),  # 2…5 look like tasks
    (VprJournalLoader, "vpr_journal", "«Сравнение отметок с отметками по журналу» (ВПР: сравнение отметок с "
                                      "отметками по журналу)"),  # no header of its own at all
])
def test_the_marks_report_in_another_report_folder_is_refused(landing, conn, loader, feed, expected):
    result = loader(conn, TEST_KEY).load(land(landing, feed, "marks_exported.xlsx"))
    assert result.status == "failed"
    assert result.message == (f"Файл «marks_exported.xlsx»: в файле отчёт «Статистика по отметкам», а в этой папке "
                              f"ожидается {expected}: файл не загружен, положите его в папку своего отчёта")
    assert rows(conn, f"select count(*) from raw.{loader.table}") == [(0,)]


def test_a_sheet_of_another_report_beside_ours_does_not_stop_the_load(landing, conn):
    marks = [["ВПР 2024 Математика 4 класс"], ["Группы участников", "Кол-во участников", 2, 3, 4, 5],
             ["Красноярский край", 100, 10, 30, 40, 20]]
    individual = [["ВПР 2024 Математика 4 класс"], ["ОО", "Код участника", "1 (1б)", "Первичный балл", "Отметка"]]
    path = write_xlsx(landing / "vpr_marks" / "two.xlsx", {"МА 4 Индивидуальные результаты": individual,
                                                           "МА 4 Статистика по отметкам": marks})
    result = VprMarksLoader(conn, TEST_KEY).load(path)
    assert (result.status, result.rows_loaded) == ("loaded", 1), result.message


def test_a_report_of_another_kind_is_refused_by_its_columns(landing, conn):
    scores = [["ВПР 2024 Математика 4 класс"], ["Группы участников", "Кол-во участников", 0, 1, 2, 3, 4, 5],
              ["Красноярский край", 100, 1, 2, 10, 30, 40, 17]]
    result = VprMarksLoader(conn, TEST_KEY).load(write_xlsx(landing / "vpr_marks" / "s.xlsx", {"Лист1": scores}))
    assert result.status == "failed"
    assert result.message.startswith("Файл «s.xlsx»: в заголовке есть столбцы баллов «0», «1» …: это «Распределение "
                                     "первичных баллов», а в этой папке ожидается «Статистика по отметкам»")
    marks = [["ВПР 2024 Математика 4 класс"], ["Группы участников", "Кол-во ОО", "Кол-во участников", 2, 3, 4, 5],
             ["Красноярский край", 700, 100, 10, 30, 40, 20]]
    result = VprScoresLoader(conn, TEST_KEY).load(write_xlsx(landing / "vpr_scores" / "m.xlsx", {"Лист1": marks}))
    assert result.status == "failed"
    assert "столбцы баллов 2, 3, 4, 5 не образуют шкалу от 0" in result.message


def test_two_cells_for_one_column_none_exact_refuses_the_file_naming_both(landing, conn):
    sheet = [["ВПР 2024 Математика 4 класс"],
             ["Группы участников", "Кол-во участников (писали)", "Кол-во участников (по списку)", 2, 3, 4, 5],
             ["Красноярский край", 100, 120, 10, 30, 40, 20]]
    result = VprMarksLoader(conn, TEST_KEY).load(write_xlsx(landing / "vpr_marks" / "a.xlsx", {"Лист1": sheet}))
    assert result.status == "failed"
    assert result.message == (
        "Файл «a.xlsx»: в строке заголовка 2 столбцу «Кол-во участников» подходят несколько столбцов: "
        "«Кол-во участников (писали)» и «Кол-во участников (по списку)»; ни один не назван точно, а угадывать "
        "нельзя: переименуйте лишний столбец")


def test_an_exact_header_wins_over_a_neighbour(landing, conn):
    sheet = [["ВПР 2024 Математика 4 класс"],
             ["Группы участников", "Кол-во участников (по списку)", "Кол-во участников", 2, 3, 4, 5],
             ["Красноярский край", 120, 100, 10, 30, 40, 20]]
    result = VprMarksLoader(conn, TEST_KEY).load(write_xlsx(landing / "vpr_marks" / "e.xlsx", {"Лист1": sheet}))
    assert result.status == "loaded", result.message
    assert rows(conn, "select n_participants from raw.vpr_mark_stats") == [(100,)]


def test_totals_rows_of_a_report_are_not_organisations(landing, conn):
    sheet = [["ВПР 2024 Математика 4 класс"], ["Группы участников", "Кол-во участников", 2, 3, 4, 5],
             ["г. Назарово", 100, 10, 30, 40, 20], ["МБОУ СШ № 1(edu240001)", 50, 10, 30, 40, 20],
             ["Итого по муниципалитету", 50, 10, 30, 40, 20], ["Всего", 150, 10, 30, 40, 20],
             ["Средние", None, 10, 30, 40, 20]]
    result = VprMarksLoader(conn, TEST_KEY).load(write_xlsx(landing / "vpr_marks" / "t.xlsx", {"Лист1": sheet}))
    assert (result.status, result.rows_read, result.rows_loaded) == ("loaded", 2, 2)
    assert rows(conn, "select org_level from raw.vpr_mark_stats order by source_row") == [("municipality",),
                                                                                          ("school",)]


def header_of(rows_: list[list], columns, wide=()):
    from ingestion.core.layout import LayoutFinder

    layout, problem = LayoutFinder(tuple(columns), tuple(wide)).find(Path("x.xlsx"), enumerate(map(tuple, rows_), 1))
    return layout, problem


def test_a_row_of_maxima_over_a_header_is_not_its_upper_half():
    tasks = VprTasksLoader
    layout, _ = header_of([["Макс. балл", None, 1, 2], ["Группы участников", "Кол-во участников", "1", "2"]],
                          tasks.columns, tasks.wide)
    assert layout.header_row == 2 and [k["task_code"] for _, _, k in layout.wide] == ["1", "2"]
    # the same maxima above a header split over two rows: the header is rows 2–3, the maxima stay data
    layout, _ = header_of([["Макс. балл", None, 1, 2], ["Группы участников", "Кол-во участников", "Задания"],
                           [None, None, 1, 2]], tasks.columns, tasks.wide)
    assert layout.header_row == 3 and [n for n, _ in layout.preamble] == [1]


def test_a_missing_column_is_named():
    layout, problem = header_of([["Группы участников", "Кол-во ОО", 2, 3, 4, 5]], VprMarksLoader.columns)
    assert layout is None
    assert problem == "не найдена строка заголовка в первых 30 строках: нет столбцов «Кол-во участников»"


def test_header_cells_fold_as_a_reader_sees_them():
    assert [header_text(c) for c in (2.0, 5, "Кол-во\nучастников", "Первичный\xa0балл ", None, 9.1)] == [
        "2", "5", "кол-во участников", "первичный балл", "", "9.1"]
    assert [is_totals_label(t) for t in ("Итого", "Итого по региону", "Всего:", "Средние", "Среднее значение",
                                         "Вся выборка", "Средняя школа № 1", "МБОУ СШ № 1")] == [
        True, True, True, True, True, False, False, False]


# ----------------------------------------------------------------------------- the demo region
EXPORT_SHEET = r"^(РУ|МА) \d "  # «РУ 4 Статистика по отметкам»: the sheet names of the export


def test_demo_region_carries_the_export_structures_and_they_load(demo_db, demo_landing):
    """The generator writes a share of ВПР workbooks as ФИС ОКО exports them; each loads every row written."""
    import json
    import re

    from ingestion.core.ledger import file_checksum
    from ingestion.core.sources import open_sheets

    conn, _ = demo_db
    truth = json.loads((demo_landing / "_truth" / "truth.json").read_text(encoding="utf-8"))["files"]
    read = dict(conn.execute("select f.sha256, l.rows_read from raw.load_ledger l join raw.file_ledger f "
                             "using (file_id) where l.status = 'loaded'").fetchall())
    exported: dict[str, int] = {}
    two_row = 0
    for feed in ("vpr_individual", "vpr_marks", "vpr_scores", "vpr_journal", "vpr_tasks"):
        for path in sorted((demo_landing / feed).glob("*.xlsx")):
            sheet = next(open_sheets(path))
            if not re.match(EXPORT_SHEET, sheet.name):
                continue
            cells = [c for _, row in sheet.rows for c in row]
            exported[feed] = exported.get(feed, 0) + 1
            two_row += "Кол-во участников(всего)" in cells and "%" in cells
            assert read[file_checksum(path)[0]] == truth[f"{feed}/{path.name}"] > 0, path.name
    assert set(exported) == {"vpr_individual", "vpr_marks", "vpr_scores", "vpr_journal", "vpr_tasks"}
    assert two_row >= 1  # the wide comparison with its header over two rows
    # the wide comparison became long rows: four per organisation, one file row each
    assert conn.execute("select count(*) from (select load_id, source_row from raw.vpr_journal_stats "
                        "group by 1, 2 having count(*) = 4) t").fetchone()[0] > 0
    assert conn.execute("select count(*) from raw.vpr_mark_stats where org_name ~ '\\(edu\\d+\\)$' "
                        "and school_id is null").fetchone()[0] == 0
