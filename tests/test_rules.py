"""Row and file rules (ingestion/core/rules.py), each fed a bad file through a real load into PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from ingestion.core import loader as loader_module
from ingestion.core import rules, values
from ingestion.core.cells import UNCACHED_FORMULA
from ingestion.core.redact import looks_like_person
from ingestion.core.sources import Sheet
from ingestion.feeds import LOADERS
from ingestion.feeds.individual_routes import IndividualRoutesLoader
from ingestion.feeds.kdr import KdrLoader
from ingestion.feeds.official_lists import ShnorListLoader
from ingestion.feeds.olympiads import OlympiadsLoader
from ingestion.feeds.performance import PerformanceLoader
from ingestion.feeds.social_passport import SocialPassportLoader
from ingestion.feeds.support_events import SupportEventsLoader
from ingestion.feeds.teachers import TeachersLoader
from ingestion.feeds.vpr_flat import VprFlatMarksLoader, VprFlatScoresLoader
from ingestion.feeds.vpr_individual import VprIndividualLoader
from ingestion.feeds.vpr_reports import VprMarksLoader, VprScoresLoader, VprTasksLoader
from ingestion.run import summary
from tests.builders import write_xlsx
from tests.conftest import TEST_KEY

NEXT_YEAR = dt.date.today().year + 1


def csv_file(folder: Path, feed: str, name: str, rows: list[list]) -> Path:
    path = folder / feed / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(";".join("" if c is None else str(c) for c in row) for row in rows) + "\n",
                    encoding="utf-8")
    return path


def quarantine(conn, load_id: int) -> dict[int, tuple[str, str, dict]]:
    return {row: (code, message, data) for row, code, message, data in conn.execute(
        "select source_row, reason_code, message, row_data from raw.quarantine where load_id = %s", (load_id,))}


# ----------------------------------------------------------------------------- 1. mark shares
MARKS_HEADER = ["Год", "Класс", "Предмет", "Муниципалитет", "ОО", "Логин", "Кол-во участников", "2", "3", "4", "5"]


def marks_row(login: str, n, shares, municipality="г. Назарово", subject="Математика", year="2024"):
    return [year, 5, subject, municipality, "МБОУ СШ", login, n, *shares]


def test_mark_shares_written_as_fractions_are_converted_with_a_note(landing, conn):
    path = csv_file(landing, "vpr_flat_marks", "fractions.csv", [
        MARKS_HEADER,
        marks_row("edu240001", 25, ["0,12", "0,35", "0,40", "0,13"]),
        marks_row("edu240002", 40, ["0,05", "0,30", "0,45", "0,2"]),
    ])
    result = VprFlatMarksLoader(conn, TEST_KEY).load(path)
    assert result.status == "loaded" and result.rows_loaded == 2
    assert "долями единицы" in result.message and "умножены на 100" in result.message
    stored = conn.execute("select pct_2, pct_3, pct_4, pct_5 from raw.vpr_flat_marks order by source_row").fetchall()
    assert [tuple(float(v) for v in r) for r in stored] == [(12, 35, 40, 13), (5, 30, 45, 20)]
    notes = conn.execute("select status, notes from raw.load_ledger where load_id = %s", (result.load_id,)).fetchone()
    assert notes == ("loaded", result.message)


def test_a_file_mixing_percent_and_fraction_shares_is_refused(landing, conn):
    path = csv_file(landing, "vpr_flat_marks", "mixed.csv", [
        MARKS_HEADER,
        marks_row("edu240001", 25, ["12", "35", "40", "13"]),
        marks_row("edu240002", 40, ["0,05", "0,30", "0,45", "0,2"]),
    ])
    result = VprFlatMarksLoader(conn, TEST_KEY).load(path)
    assert result.status == "failed"
    assert "Файл «mixed.csv»" in result.message and "по-разному" in result.message
    assert "строке 2" in result.message and "строке 3" in result.message
    assert conn.execute("select count(*) from raw.vpr_flat_marks").fetchone()[0] == 0


def test_counts_written_where_percentages_belong_refuse_the_file(landing, conn):
    path = csv_file(landing, "vpr_flat_marks", "counts.csv", [
        MARKS_HEADER,
        marks_row("edu240001", 20, [2, 5, 8, 5]),
        marks_row("edu240002", 30, [3, 10, 12, 5]),
    ])
    result = VprFlatMarksLoader(conn, TEST_KEY).load(path)
    assert result.status == "failed" and "количества участников" in result.message
    assert conn.execute("select count(*) from raw.vpr_flat_marks").fetchone()[0] == 0


def test_a_group_whose_shares_miss_100_is_quarantined_with_the_sum(landing, conn):
    path = csv_file(landing, "vpr_flat_marks", "sums.csv", [
        MARKS_HEADER,
        marks_row("edu240001", 25, ["12,0", "36,0", "41,0", "13,0"]),  # 102 %
        marks_row("edu240002", 40, ["5,0", "30,4", "45,0", "20,0"]),  # 100,4 %: rounding
        marks_row("edu240003", 30, ["X", "X", "X", "X"]),  # suppressed: nothing to add up
        marks_row("edu240003", 30, ["0", "0", "0", "0"], subject="Русский язык"),  # participants, no shares
    ])
    result = VprFlatMarksLoader(conn, TEST_KEY).load(path)
    assert (result.status, result.rows_loaded, result.rows_quarantined) == ("loaded", 2, 2)
    bad = quarantine(conn, result.load_id)
    assert bad[2][0] == "inconsistent" and "102,0 %" in bad[2][1] and "±1,5" in bad[2][1]
    assert bad[5][0] == "inconsistent" and "равны нулю" in bad[5][1]
    assert rules.MARK_SHARE_TOLERANCE_PP == 1.5


def test_the_fis_oko_marks_report_gets_the_same_share_rule(landing, conn):
    rows = [["Статистика по отметкам"], ["ВПР 2024. Математика. 5 класс"], [],
            ["Группы участников", "Кол-во ОО", "Кол-во участников", "2", "3", "4", "5"],
            ["Вся выборка", 30000, 1200000, "0,08", "0,36", "0,37", "0,19"],
            ["Красноярский край", 20, 900, "0,15", "0,40", "0,30", "0,15"],
            ["edu240001 МБОУ СШ № 1", 1, 25, "0,20", "0,40", "0,30", "0,12"]]  # 1,02
    path = write_xlsx(landing / "vpr_marks" / "marks.xlsx", {"Статистика по отметкам": rows})
    result = VprMarksLoader(conn, TEST_KEY).load(path)
    assert (result.status, result.rows_loaded, result.rows_quarantined) == ("loaded", 2, 1)
    assert "умножены на 100" in result.message
    stored = conn.execute("select org_level, pct_2 from raw.vpr_mark_stats order by source_row").fetchall()
    assert [(level, float(p)) for level, p in stored] == [("country", 8.0), ("region", 15.0)]
    assert "102,0 %" in quarantine(conn, result.load_id)[7][1]


SCORES_HEADER = ["Год", "Класс", "Предмет", "Логин", "Кол-во участников"]


def scores_file(landing: Path, name: str, rows: list[tuple]) -> Path:
    """A flat regional extract of score distributions: (login, n, shares «0»…«k-1») per row."""
    width = len(rows[0][2])
    return csv_file(landing, "vpr_flat_scores", name, [SCORES_HEADER + [str(k) for k in range(width)]]
                    + [["2024", 5, "Математика", login, n, *shares] for login, n, shares in rows])


def test_a_score_distribution_missing_100_by_more_than_its_rounding_is_quarantined(landing, conn):
    path = scores_file(landing, "scores.csv", [
        ("edu240001", 40, ["3,2"] * 30 + ["5,52"]),  # 101,52 %: 31 rounded shares may miss 100 by 1,55 p.p.
        ("edu240002", 40, ["3,2"] * 30 + ["6,0"]),  # 102 %
        ("edu240003", 30, ["0"] * 31),  # participants, no shares
    ])
    result = VprFlatScoresLoader(conn, TEST_KEY).load(path)
    assert (result.status, result.rows_loaded, result.rows_quarantined) == ("loaded", 1, 2)
    bad = quarantine(conn, result.load_id)
    assert bad[3][0] == "inconsistent" and "«0»–«30» равна 102,0 %" in bad[3][1] and "±1,55 п.п." in bad[3][1]
    assert bad[4][0] == "inconsistent" and "равны нулю" in bad[4][1]
    stored = conn.execute("select source_row, count(*), sum(pct), max(pct) from raw.vpr_flat_score_points "
                          "group by source_row").fetchall()
    assert [(row, n, float(total), float(top)) for row, n, total, top in stored] == [(2, 31, 101.52, 5.52)]
    assert rules.score_share_tolerance(31) == pytest.approx(1.55)
    assert rules.score_share_tolerance(4) == rules.MARK_SHARE_TOLERANCE_PP  # never stricter than the marks'


def test_score_shares_written_as_fractions_are_converted_and_counts_refused(landing, conn):
    fractions = scores_file(landing, "fractions.csv", [("edu240001", 20, ["0,1", "0,2", "0,3", "0,25", "0,15"]),
                                                      ("edu240002", 8, ["0", "0,125", "0,5", "0,25", "0,125"])])
    result = VprFlatScoresLoader(conn, TEST_KEY).load(fractions)
    assert (result.status, result.rows_loaded) == ("loaded", 2)
    assert "по первичным баллам" in result.message and "умножены на 100" in result.message
    stored = conn.execute("select source_row, score, pct from raw.vpr_flat_score_points order by 1, 2").fetchall()
    assert [float(p) for _, _, p in stored] == [10, 20, 30, 25, 15, 0, 12.5, 50, 25, 12.5]
    counts = scores_file(landing, "counts.csv", [("edu240001", 20, [2, 4, 6, 5, 3]),
                                                 ("edu240002", 8, [0, 1, 4, 2, 1])])
    refused = VprFlatScoresLoader(conn, TEST_KEY).load(counts)
    assert refused.status == "failed" and "Файл «counts.csv»" in refused.message
    assert "количества участников" in refused.message and "строке 2" in refused.message
    mixed = scores_file(landing, "mixed.csv", [("edu240001", 20, ["10", "20", "30", "25", "15"]),
                                               ("edu240002", 8, ["0", "0,125", "0,5", "0,25", "0,125"])])
    refused = VprFlatScoresLoader(conn, TEST_KEY).load(mixed)
    assert refused.status == "failed" and "по-разному" in refused.message


def test_the_fis_oko_score_distribution_gets_the_same_share_rule(landing, conn):
    rows = [["Распределение первичных баллов"], ["ВПР 2024. Математика. 5 класс"], [],
            ["Группы участников", "Кол-во участников", 0, 1, 2, 3, 4, 5],
            ["Вся выборка", 1200000, 1.2, 3.4, 10.5, 30.1, 35.8, 19],
            ["Красноярский край", 900, 2, 4, 11, 30, 35, 18],
            ["edu240001 МБОУ СШ № 1", 25, 4, 8, 12, 28, 32, 12]]  # 96 %
    path = write_xlsx(landing / "vpr_scores" / "scores.xlsx", {"Распределение первичных баллов": rows})
    result = VprScoresLoader(conn, TEST_KEY).load(path)
    assert (result.status, result.rows_loaded, result.rows_quarantined) == ("loaded", 2, 1)
    code, message, _ = quarantine(conn, result.load_id)[7]
    assert code == "inconsistent" and "«0»–«5» равна 96,0 %" in message and "±1,5 п.п." in message
    assert conn.execute("select count(*) from raw.vpr_score_stat_points").fetchone()[0] == 12


def test_task_completion_written_as_fractions_is_read_as_percent(landing, conn):
    header = [["Выполнение заданий"], ["ВПР 2024. Математика. 5 класс"], [],
              ["Группы участников", "Кол-во участников", "1", "2", "3К1"]]
    fractions = write_xlsx(landing / "vpr_tasks" / "fractions.xlsx", {"Выполнение заданий": [
        *header, ["Красноярский край", 900, 0.812, 0.6505, 0.4], ["edu240001 МБОУ СШ № 1", 25, 1, 0.72, 0]]})
    result = VprTasksLoader(conn, TEST_KEY).load(fractions)
    assert result.status == "loaded" and "умножены на 100" in result.message
    stored = conn.execute("select source_row, task_code, pct_completed from raw.vpr_task_stat_values "
                          "order by 1, 2").fetchall()
    assert [(task, float(p)) for _, task, p in stored] == [("1", 81.2), ("2", 65.05), ("3К1", 40.0),
                                                           ("1", 100.0), ("2", 72.0), ("3К1", 0.0)]
    percent = write_xlsx(landing / "vpr_tasks" / "percent.xlsx", {"Выполнение заданий": [
        *header, ["Красноярский край", 900, 81.2, 0.5, 40]]})
    result = VprTasksLoader(conn, TEST_KEY).load(percent)
    assert result.status == "loaded" and result.message == ""
    assert conn.execute("select min(pct_completed) from raw.vpr_task_stat_values").fetchone()[0] == 0.5


def test_social_passport_in_fractions_is_read_as_percent(landing, conn):
    header = ["Учебный год", "Код ОО", "Наименование ОО", "Всего обучающихся", "Доля из малоимущих семей, %",
              "Доля с ОВЗ, %", "Доля для которых русский язык не родной, %", "Доля на профилактическом учёте, %",
              "Доля из неполных семей, %", "Доля из семей без высшего образования, %",
              "Доля из семей с безработными родителями, %"]
    fractions = csv_file(landing, "social_passport", "fractions.csv", [
        header, ["2023-2024", "edu240001", "МБОУ СШ № 1", 300, "0,101", "0,044", "0", "0,005", "0,193", "0,377", "1"]])
    result = SocialPassportLoader(conn, TEST_KEY).load(fractions)
    assert result.status == "loaded" and "умножены на 100" in result.message
    row = conn.execute("select school_year, pct_low_income, pct_single_parent, pct_unemployed_parents "
                       "from raw.social_passport").fetchone()
    assert (row[0], float(row[1]), float(row[2]), float(row[3])) == (2024, 10.1, 19.3, 100.0)
    percent = csv_file(landing, "social_passport", "percent.csv", [
        header, ["2023-2024", "edu240001", "МБОУ СШ № 1", 300, "0,5", "4,4", "0", "0,5", "19,3", "37,7", "1"]])
    result = SocialPassportLoader(conn, TEST_KEY).load(percent)
    assert result.status == "loaded" and result.message == ""
    assert float(conn.execute("select pct_low_income from raw.social_passport").fetchone()[0]) == 0.5


PASSPORT_HEADER = ["Учебный год", "Код ОО", "Наименование ОО", "Всего обучающихся", "Доля из малоимущих семей, %",
                   "Доля с ОВЗ, %", "Доля для которых русский язык не родной, %", "Доля на профилактическом учёте, %",
                   "Доля из неполных семей, %", "Доля из семей без высшего образования, %",
                   "Доля из семей с безработными родителями, %"]


def test_social_passport_mixing_percent_and_fraction_rows_is_refused(landing, conn):
    path = csv_file(landing, "social_passport", "mixed.csv", [
        PASSPORT_HEADER,
        ["2023-2024", "edu240001", "МБОУ СШ № 1", 300, "12,5%", "3,1%", "0%", "1,2%", "25%", "40%", "5%"],
        ["2023-2024", "edu240002", "МБОУ СШ № 2", 200, "0,125", "0,031", "0", "0,012", "0,25", "0,4", "0,05"]])
    result = SocialPassportLoader(conn, TEST_KEY).load(path)
    assert result.status == "failed" and "Файл «mixed.csv»" in result.message
    assert "по-разному" in result.message and "строке 2" in result.message and "строке 3" in result.message
    assert conn.execute("select count(*) from raw.social_passport").fetchone()[0] == 0


def test_a_passport_row_below_one_percent_everywhere_in_a_percent_file_is_quarantined(landing, conn):
    path = csv_file(landing, "social_passport", "small.csv", [
        PASSPORT_HEADER,
        ["2023-2024", "edu240001", "МБОУ СШ № 1", 300, "12,5", "3,1", "0", "1,2", "25", "40", "5"],
        ["2023-2024", "edu240002", "МБОУ СШ № 2", 200, "0", "0,5", "0", "0", "0", "0", "0"]])
    result = SocialPassportLoader(conn, TEST_KEY).load(path)
    assert result.status == "loaded" and (result.rows_loaded, result.rows_quarantined) == (1, 1)
    code, message, _ = quarantine(conn, result.load_id)[3]
    assert code == "inconsistent" and "не больше 1" in message and "строке 2" in message
    assert float(conn.execute("select pct_low_income from raw.social_passport").fetchone()[0]) == 12.5


@pytest.mark.parametrize("order", ["fractions first", "percent first"])
def test_passport_rows_of_both_kinds_in_different_chunks_refuse_the_file(landing, conn, order):
    percent = ["2023-2024", "edu240001", "МБОУ СШ № 1", 300, "12,5", "3,1", "0", "1,2", "25", "40", "5"]
    fraction = ["2023-2024", "edu240002", "МБОУ СШ № 2", 200, "0,125", "0,031", "0", "0,012", "0,25", "0,4", "0,05"]
    rows = [fraction, percent] if order == "fractions first" else [percent, fraction]
    path = csv_file(landing, "social_passport", "chunks.csv", [PASSPORT_HEADER, *rows])
    result = SocialPassportLoader(conn, TEST_KEY, chunk_rows=1).load(path)
    assert result.status == "failed" and "по-разному" in result.message
    assert conn.execute("select count(*) from raw.social_passport").fetchone()[0] == 0


# ----------------------------------------------------------------------------- 2. a count never exceeds n
OLYMPIAD_HEADER = ["Учебный год", "Код ОО", "Предмет", "Этап", "Участников", "Победителей", "Призёров"]


def test_olympiad_winners_and_prize_winners_never_exceed_participants(landing, conn):
    path = csv_file(landing, "olympiads", "o.csv", [
        OLYMPIAD_HEADER,
        ["2023-2024", "edu240001", "математика", "школьный", 10, 3, 4],
        ["2023-2024", "edu240001", "физика", "школьный", 10, 11, ""],  # winners alone above n
        ["2023-2024", "edu240001", "химия", "школьный", 10, 6, 5],  # together above n
    ])
    result = OlympiadsLoader(conn, TEST_KEY).load(path)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 2)
    bad = quarantine(conn, result.load_id)
    assert bad[3][0] == "inconsistent" and "(11 > 10)" in bad[3][1]
    assert bad[4][0] == "inconsistent" and "(11 > 10)" in bad[4][1] and "вместе" in bad[4][1]


def test_performance_counts_never_exceed_enrolment_nor_absences(landing, conn):
    header = ["Год", "Код ОО", "Класс", "Период", "Обучающихся", "Имеют «2» / академическую задолженность",
              "Только на «4» и «5»", "Пропущено уроков всего", "Пропущено уроков без уважительной причины"]
    path = csv_file(landing, "performance", "p.csv", [
        header,
        ["2024", "edu240001", 5, "год", 30, 2, 10, 100, 20],
        ["2024", "edu240001", 6, "год", 30, 31, 0, 100, 20],
        ["2024", "edu240001", 7, "год", 30, 0, 10, 100, 120],
        ["2024", "edu240001", 8, "год", 30, 12, 20, 100, 20],
    ])
    result = PerformanceLoader(conn, TEST_KEY).load(path)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 3)
    bad = quarantine(conn, result.load_id)
    assert {r: c for r, (c, _, _) in bad.items()} == {3: "inconsistent", 4: "inconsistent", 5: "inconsistent"}
    assert "(31 > 30)" in bad[3][1] and "(120 > 100)" in bad[4][1] and "(32 > 30)" in bad[5][1]


def test_pupils_with_routes_never_exceed_the_registry_enrolment(landing, conn):
    path = csv_file(landing, "individual_routes", "i.csv", [
        ["Год", "Код ОО", "Обучающихся с ИОМ"], ["2024", "edu240001", 12], ["2024", "edu240002", 301]])
    result = IndividualRoutesLoader(conn, TEST_KEY).load(path)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    code, message, _ = quarantine(conn, result.load_id)[3]
    assert code == "inconsistent" and "(301 > 300)" in message


def individual_file(folder: Path, pupils: list[list]) -> Path:
    header = ["ОО", "Код участника", "Класс", *[f"{t} (2б)" for t in range(1, 6)], "Первичный балл", "Отметка"]
    rows = [["ВПР 2024 Математика 5 класс"], ["Максимальный первичный балл", 10], ["Дата", "16.04.2024"], [], header,
            *[["edu240001", f"P-{i:04d}", "5А", *pupil] for i, pupil in enumerate(pupils, start=1)]]
    return write_xlsx(folder / "vpr_individual" / "ind.xlsx", {"Индивидуальные результаты": rows})


def test_a_primary_score_other_than_the_sum_of_the_task_points_is_quarantined(landing, conn):
    path = individual_file(landing, [
        [2, 2, 2, 2, 2, 10, 5],
        [2, 2, 2, 2, 2, 4, 3],  # every task filled: the score must be their sum
        [2, "X", 1, 0, 0, 3, 3],  # a task not done: a score at least the sum of the others is possible
        [2, "Х", 2, 2, 2, 7, 4],  # ... but not a score below that sum
        [1, 1, 1, 1, 1, 5, 3],
    ])
    result = VprIndividualLoader(conn, TEST_KEY).load(path)
    assert result.status == "loaded" and (result.rows_loaded, result.rows_quarantined) == (3, 2)
    bad = quarantine(conn, result.load_id)
    assert {r: c for r, (c, _, _) in bad.items()} == {7: "inconsistent", 9: "inconsistent"}
    assert "первичный балл 4 не равен сумме баллов за задания (10)" in bad[7][1]
    assert "первичный балл 7 меньше суммы баллов за заполненные задания (8)" in bad[9][1]
    stored = conn.execute("select source_row, primary_score from raw.vpr_results order by 1").fetchall()
    assert stored == [(6, 10), (8, 3), (10, 5)]
    assert conn.execute("select count(*) from raw.vpr_task_scores").fetchone()[0] == 15


# ----------------------------------------------------------------------------- 3. dates
EVENTS_HEADER = ["Дата", "Уровень", "Вид", "Тема", "ОО-участники", "Участников"]


def test_excel_serial_dates_and_russian_dates_load_and_implausible_dates_are_quarantined(landing, conn):
    rows = [EVENTS_HEADER,
            [45397, "школьный", "семинар", "Анализ ВПР", "edu240001", 5],
            ["16 апреля 2024 г.", "школьный", "семинар", "Анализ ВПР", "edu240001", 5],
            ["2024-04-17T00:00:00", "школьный", "семинар", "Анализ ВПР", "edu240001", 5],
            [f"01.02.{NEXT_YEAR + 1}", "школьный", "семинар", "Анализ ВПР", "edu240001", 5],
            ["01.09.2005", "школьный", "семинар", "Анализ ВПР", "edu240001", 5],
            [1234567, "школьный", "семинар", "Анализ ВПР", "edu240001", 5]]
    path = write_xlsx(landing / "support_events" / "e.xlsx", {"План": rows})
    result = SupportEventsLoader(conn, TEST_KEY).load(path)
    stored = [d for (d,) in conn.execute("select event_date from raw.support_events order by source_row")]
    assert stored == [dt.date(2024, 4, 15), dt.date(2024, 4, 16), dt.date(2024, 4, 17)]
    bad = quarantine(conn, result.load_id)
    assert [bad[r][0] for r in (5, 6, 7)] == ["implausible_value", "implausible_value", "invalid_value"]
    assert f"01.02.{NEXT_YEAR + 1}" in bad[5][1] and "вне допустимого периода" in bad[5][1]


@pytest.mark.parametrize(("cell", "date"), [
    (45397, dt.date(2024, 4, 15)), (45397.75, dt.date(2024, 4, 15)), ("45397", dt.date(2024, 4, 15)),
    ("15.04.2024", dt.date(2024, 4, 15)), ("15.04.24", dt.date(2024, 4, 15)), ("15-04-2024", dt.date(2024, 4, 15)),
    ("2024.04.15", dt.date(2024, 4, 15)), ("15 апреля 2024", dt.date(2024, 4, 15)),
    ("1 мая 2024 года", dt.date(2024, 5, 1)), ("15.04.2024 10:30", dt.date(2024, 4, 15)),
])
def test_date_formats(cell, date):
    value, bad = values.parse_date(pd.Series([cell], dtype="object"))
    assert value.iloc[0] == date and not bad.iloc[0]


# ----------------------------------------------------------------------------- 4. school years in every feed
@pytest.mark.parametrize("written", ["2023-2024 учебный год", "2023/2024 уч. г.", "2023–24", "2024", "2024 г.",
                                     "2023-2024"])
def test_a_school_year_however_written_keys_the_spring_year(landing, conn, written):
    path = csv_file(landing, "olympiads", "o.csv", [
        OLYMPIAD_HEADER, [written, "edu240001", "математика", "школьный", 10, 1, 2]])
    result = OlympiadsLoader(conn, TEST_KEY).load(path)
    assert result.rows_loaded == 1
    assert conn.execute("select year from raw.olympiads").fetchone()[0] == 2024


def test_years_from_2009_to_next_year_are_accepted_and_others_quarantined(landing, conn):
    path = write_xlsx(landing / "shnor_list" / "s.xlsx", {"ШНОР": [
        ["Год", "Источник", "Логин", "ОО", "Муниципалитет"],
        ["2023-2024", "ЦОКО", "edu240001", "МБОУ СШ № 1", "г. Назарово"],
        [2009, "ЦОКО", "edu240002", "МБОУ СШ № 2", "г. Назарово"],
        [2008, "ЦОКО", "edu240003", "МКОУ Туринская СШ", "Эвенкийский муниципальный район"],
        [NEXT_YEAR + 1, "фиоко", "edu240003", "МКОУ Туринская СШ", "Эвенкийский муниципальный район"],
    ]})
    result = ShnorListLoader(conn, TEST_KEY).load(path)
    assert sorted(y for (y,) in conn.execute("select year from raw.shnor_list")) == [2009, 2024]
    bad = quarantine(conn, result.load_id)
    assert {bad[4][0], bad[5][0]} == {"implausible_value"}
    assert "«2008»" in bad[4][1] and f"2009–{NEXT_YEAR}" in bad[4][1]


def test_a_title_year_outside_the_window_refuses_the_file(landing, conn):
    rows = [[f"КДР4 ЧГ {NEXT_YEAR + 1}"], KDR_HEADER,
            ["г. Назарово", "edu240001", "МБОУ СШ № 1", "4А", "K-1", 8, "базовый", 3, 2]]
    result = KdrLoader(conn, TEST_KEY).load(write_xlsx(landing / "kdr" / "k.xlsx", {"Результаты": rows}))
    assert result.status == "failed" and f"год {NEXT_YEAR + 1}" in result.message and "«k.xlsx»" in result.message


OWN_FEEDS = {"performance", "olympiads", "teachers", "vacancies", "social_passport", "kdr", "shnor_list",
             "project500", "risk_profiles", "improvement_programmes", "individual_routes", "vpr_flat_marks",
             "vpr_flat_scores"}


@pytest.mark.parametrize("loader", [x for x in LOADERS if x.feed in OWN_FEEDS], ids=lambda x: x.feed)
def test_every_year_column_of_the_municipal_and_regional_feeds_is_a_school_year(loader):
    years = [c for c in loader.columns if c.name in ("year", "school_year")]
    assert all(c.kind == "school_year" for c in years)
    assert years or "year" in loader.extra_columns  # КДР: the year of its title


# ----------------------------------------------------------------------------- 5. formulas without a value
@pytest.mark.parametrize("kind", ["text", "int", "decimal", "bool", "date", "school_year", "choice", "class",
                                  "school", "pupil"])
def test_every_column_kind_refuses_a_formula_without_a_value(kind):
    from ingestion.core.columns import Column

    column = Column("c", "c", kind, choices={"да": "yes"} if kind == "choice" else None)
    raw = pd.Series([UNCACHED_FORMULA, None], dtype="object")
    value, bad = column.parse(raw)
    assert bad.tolist() == [True, False] and value.isna().all()
    _, bad, faults = rules.parse_column(column, raw, "Столбец")
    formula = [(mask, text) for mask, code, text in faults if code == "formula_without_value"]
    assert len(formula) == 1 and formula[0][0].tolist() == [True, False] and "откройте файл в Excel" in formula[0][1]


def test_a_formula_cell_without_a_value_quarantines_its_row(landing, conn, monkeypatch):
    rows = [(1, ("Год", "Код ОО", "Обучающихся с ИОМ")), (2, ("2024", "edu240001", UNCACHED_FORMULA)),
            (3, ("2024", "edu240002", "4"))]
    monkeypatch.setattr(loader_module, "open_sheets", lambda path, sheet=None, **kw: iter([Sheet("Лист1", iter(rows))]))
    path = csv_file(landing, "individual_routes", "f.csv", [["placeholder"]])
    result = IndividualRoutesLoader(conn, TEST_KEY).load(path)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    code, message, data = quarantine(conn, result.load_id)[2]
    assert code == "formula_without_value" and "«Обучающихся с ИОМ»" in message and "сохраните" in message
    assert data["pupils"] == "формула без вычисленного значения"
    assert conn.execute("select pupils from raw.individual_routes").fetchall() == [(4,)]


def test_a_formula_cell_among_wide_columns_quarantines_its_row(landing, conn, monkeypatch):
    header = ("Год", "Класс", "Предмет", "Логин", "Кол-во участников", "0", "1", "2")
    rows = [(1, header), (2, ("2024", "5", "Математика", "edu240001", "10", "20", UNCACHED_FORMULA, "30")),
            (3, ("2024", "5", "Математика", "edu240002", "10", "20", "50", "30"))]
    monkeypatch.setattr(loader_module, "open_sheets", lambda path, sheet=None, **kw: iter([Sheet("Лист1", iter(rows))]))
    path = csv_file(landing, "vpr_flat_scores", "f.csv", [["placeholder"]])
    result = VprFlatScoresLoader(conn, TEST_KEY).load(path)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    code, message, _ = quarantine(conn, result.load_id)[2]
    assert code == "formula_without_value" and "доля участников с баллом 1" in message


# ----------------------------------------------------------------------------- 6. values from a known set
@pytest.mark.parametrize(("cell", "ok"), [("5А", True), ("11 Б", True), ("5", True), (5.0, True), ("10-Л", True),
                                          ("4 «А»", True), ("5-й класс", False), ("13А", False), ("АБ", False)])
def test_class_labels_by_pattern(cell, ok):
    value, bad = values.parse_class_label(pd.Series([cell], dtype="object"))
    assert bad.iloc[0] is not ok
    if cell == 5.0:
        assert value.iloc[0] == "5"


KDR_HEADER = ["Муниципалитет", "Код ОО", "ОО", "Класс", "Код ученика", "Первичный балл", "Уровень",
              "Группа умений 1", "Группа умений 2"]


def test_kdr_classes_municipalities_and_maximum_scores(landing, conn):
    rows = [["КДР4 ЧГ 2024 — читательская грамотность"], KDR_HEADER,
            ["г. Назарово", "edu240001", "МБОУ СШ № 1", 4.0, "K-1", 8, "базовый", 3, 2],
            ["г. Назарово", "edu240001", "МБОУ СШ № 1", "4 Б", "K-2", 8, "базовый", 3, 2],
            ["г. Назарово", "edu240001", "МБОУ СШ № 1", "5А", "K-3", 8, "базовый", 3, 2],
            ["г. Назарово", "edu240001", "МБОУ СШ № 1", "4-й", "K-4", 8, "базовый", 3, 2],
            ["Энский район", "edu240001", "МБОУ СШ № 1", "4А", "K-5", 8, "базовый", 3, 2],
            ["г. Назарово", "edu240001", "МБОУ СШ № 1", "4А", "K-6", 25, "высокий", 3, 2]]
    result = KdrLoader(conn, TEST_KEY).load(write_xlsx(landing / "kdr" / "k.xlsx", {"Результаты": rows}))
    assert [c for (c,) in conn.execute("select class_label from raw.kdr_results order by source_row")] == ["4", "4 Б"]
    bad = quarantine(conn, result.load_id)
    assert {r: c for r, (c, _, _) in bad.items()} == {5: "inconsistent", 6: "invalid_value", 7: "unknown_value",
                                                      8: "implausible_value"}
    assert "«Энский район»" in bad[7][1] and "муниципалитетов реестра" in bad[7][1]
    assert "25" in bad[8][1] and f"({rules.kdr_max_scores()[('kdr4_rl', 2024)]:.0f})" in bad[8][1]


def test_kdr_skill_group_points_above_the_group_maximum_are_quarantined(landing, conn):
    top = rules.kdr_group_maxima()[("kdr4_rl", 2024)]
    rows = [["КДР4 ЧГ 2024 — читательская грамотность"], KDR_HEADER,
            ["г. Назарово", "edu240001", "МБОУ СШ № 1", "4А", "K-1", 8, "базовый", top[1], top[2]],
            ["г. Назарово", "edu240001", "МБОУ СШ № 1", "4А", "K-2", 8, "базовый", 99, 2],
            ["г. Назарово", "edu240001", "МБОУ СШ № 1", "4А", "K-3", 8, "базовый", 1, top[2] + 0.5]]
    result = KdrLoader(conn, TEST_KEY).load(write_xlsx(landing / "kdr" / "k.xlsx", {"Результаты": rows}))
    assert (result.rows_loaded, result.rows_quarantined) == (1, 2)
    bad = quarantine(conn, result.load_id)
    assert {r: c for r, (c, _, _) in bad.items()} == {4: "implausible_value", 5: "implausible_value"}
    assert f"«Группа умений 1» 99 больше максимального балла группы ({top[1]:.0f})" in bad[4][1]
    assert "«Группа умений 2»" in bad[5][1]
    assert conn.execute("select max(points) from raw.kdr_skill_scores").fetchone()[0] == max(top[1], top[2])


def test_subjects_outside_the_dictionary_are_quarantined(landing, conn):
    path = csv_file(landing, "olympiads", "o.csv", [
        OLYMPIAD_HEADER,
        ["2024", "edu240001", "Математика", "школьный", 10, 1, 2],
        ["2024", "edu240001", "русский язык", "школьный", 10, 1, 2],
        ["2024", "edu240001", "Основы кулинарии", "школьный", 10, 1, 2],
        ["2024", "edu240001", "Физика, математика", "муниципальный", 10, 1, 2],
    ])
    result = OlympiadsLoader(conn, TEST_KEY).load(path)
    bad = quarantine(conn, result.load_id)
    assert list(bad) == [4] and bad[4][0] == "unknown_value" and "«Основы кулинарии»" in bad[4][1]
    assert "русский язык" in rules.known_subjects() and "математика" in rules.known_subjects()


def test_municipalities_outside_the_registry_are_quarantined(landing, conn):
    path = csv_file(landing, "vpr_flat_marks", "m.csv", [
        MARKS_HEADER,
        marks_row("edu240001", 25, ["12", "35", "40", "13"]),
        marks_row("edu240002", 25, ["12", "35", "40", "13"], municipality="Энский район"),
        marks_row("edu240003", 25, ["12", "35", "40", "13"],
                  municipality="Эвенкийский муниципальный район(reg24_m003)"),
    ])
    result = VprFlatMarksLoader(conn, TEST_KEY).load(path)
    bad = quarantine(conn, result.load_id)
    assert list(bad) == [3] and bad[3][0] == "unknown_value" and "«Энский район»" in bad[3][1]


def test_teacher_age_bands_and_categories_from_the_known_sets(landing, conn):
    path = csv_file(landing, "teachers", "t.csv", [
        ["Год", "Код ОО", "ID педагога", "Предмет", "Возраст", "Квалификационная категория"],
        ["2024", "edu240001", "T-1", "математика", "до 30", "высшая"],
        ["2024", "edu240001", "T-2", "математика", "40-49", "Высшая категория"],
        ["2024", "edu240001", "T-3", "математика", "50 – 59 лет", "первая квалификационная категория"],
        ["2024", "edu240001", "T-4", "математика", "старше 60", "без категории"],
        ["2024", "edu240001", "T-5", "математика", "47", "первая"],  # an age, not a band
        ["2024", "edu240001", "T-6", "математика", "30–39", "Высшая категория по должности учитель"],
    ])
    result = TeachersLoader(conn, TEST_KEY).load(path)
    stored = conn.execute("select teacher_id, age_band, qualification from raw.teachers order by source_row").fetchall()
    assert [(band, category) for _, band, category in stored] == [
        ("до 30", "highest"), ("40–49", "highest"), ("50–59", "first"), ("60 и старше", "none")]
    bad = quarantine(conn, result.load_id)
    assert {r: c for r, (c, _, _) in bad.items()} == {6: "invalid_value", 7: "invalid_value"}
    assert "«Возраст»" in bad[6][1] and "«47»" in bad[6][1]


# ----------------------------------------------------------------------------- 7. names of people
@pytest.mark.parametrize("text", ["Иванов Иван Иванович", "Петрова А.", "Петрова А.И.", "А. И. Петрова",
                                  "Петрова Анна", "ИВАНОВ ИВАН ИВАНОВИЧ", "Семинар Петровой А.И. по ВПР",
                                  "Салтыков-Щедрин Михаил", "консультация иванова и.и.", "Консультация Иванов И И",
                                  "Konsultatsiya Ivanova I.I.", "встреча с и. и. ивановой"])
def test_names_of_people_are_recognised(text):
    assert looks_like_person(text)


@pytest.mark.parametrize("text", ["Средняя школа", "МБОУ СОШ № 2", "Большемуртинский район", "Красноярский край",
                                  "Эвенкийский муниципальный район", "г. Красноярск", "Русский язык",
                                  "ЦОКО Красноярского края", "Новая Школа", "Объективность оценивания ВПР",
                                  "начальные классы", "Вся выборка", "КГКУ «Красноярский информационно-методический "
                                  "центр»", "T-2456760", "40–49", "Северо-Енисейский Район",
                                  "Региональный Методический Семинар", "Пушкинские Чтения", "Форум Молодых Педагогов",
                                  "анализ результатов, т.е. отметок", "и.о. директора", "ул. Ленина, д. 5",
                                  "Корпус Б", "р.п. Шушенское", "мбоу с.ш. № 2", "г.о. Норильск"])
def test_names_of_organisations_and_places_are_not_taken_for_people(text):
    assert not looks_like_person(text)


def test_a_name_in_a_free_text_column_is_never_stored_nor_echoed(landing, conn):
    olympiads = csv_file(landing, "olympiads", "o.csv", [
        OLYMPIAD_HEADER,
        ["2024", "edu240001", "Иванов Иван Иванович", "школьный", 10, 1, 2],
        ["2024", "edu240001", "математика", "школьный", 10, 1, 2],
    ])
    result = OlympiadsLoader(conn, TEST_KEY).load(olympiads)
    teachers = csv_file(landing, "teachers", "t.csv", [
        ["Год", "Код ОО", "ID педагога", "Предмет"], ["2024", "edu240001", "Петрова А.И.", "математика"],
        ["2024", "edu240001", "T-1", "математика"]])
    second = TeachersLoader(conn, TEST_KEY).load(teachers)
    rows = {**quarantine(conn, result.load_id), **{-r: v for r, v in quarantine(conn, second.load_id).items()}}
    assert {r: c for r, (c, _, _) in rows.items()} == {2: "personal_data", -2: "personal_data"}
    assert rows[2][2]["subject"] == "[скрыто]" and "«Предмет»" in rows[2][1]
    stored = conn.execute("select t::text from raw.olympiads t union all select t::text from raw.teachers t")
    dump = json.dumps(rows, ensure_ascii=False) + " ".join(str(r) for r in stored)
    assert "Иванов" not in dump and "Петрова" not in dump
    assert (result.rows_loaded, second.rows_loaded) == (1, 1)


def test_a_name_in_a_municipality_column_is_not_echoed_either(landing, conn):
    path = csv_file(landing, "vpr_flat_marks", "m.csv", [
        MARKS_HEADER, marks_row("edu240001", 25, ["12", "35", "40", "13"], municipality="Сидоров Пётр Ильич")])
    result = VprFlatMarksLoader(conn, TEST_KEY).load(path)
    code, message, data = quarantine(conn, result.load_id)[2]
    assert code == "unknown_value" and "«[скрыто]»" in message and data["municipality"] == "[скрыто]"
    assert "Сидоров" not in message + json.dumps(data, ensure_ascii=False)


# ----------------------------------------------------------------------------- 9. nothing loaded is not «loaded»
def test_a_file_whose_rows_all_fail_is_rejected_and_counted_as_a_failure(landing, conn):
    path = csv_file(landing, "olympiads", "bad.csv", [
        OLYMPIAD_HEADER,
        ["2024", "edu999999", "математика", "школьный", 10, 1, 2],
        ["2024", "edu999998", "математика", "школьный", 10, 1, 2],
        ["2024", "edu240001", "математика", "школьный", 10, 11, 2],
    ])
    result = OlympiadsLoader(conn, TEST_KEY).load(path)
    assert (result.status, result.rows_read, result.rows_loaded, result.rows_quarantined) == ("rejected", 3, 0, 3)
    assert result.message.startswith("Файл «bad.csv»: ни одна строка не загружена")
    assert "unknown_school — 2" in result.message and "inconsistent — 1" in result.message
    assert conn.execute("select status, error_message from raw.load_ledger where load_id = %s",
                        (result.load_id,)).fetchone() == ("rejected", result.message)
    text = summary([result])
    assert result.message in text and "не удалось загрузить" in text
    # the same bytes are tried again next time: a rejected file is not «already loaded»
    assert OlympiadsLoader(conn, TEST_KEY).load(path).status == "rejected"
