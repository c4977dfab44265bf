"""Hand-written supplier files a reviewer fed to the loaders: each is loaded as its reader means or refused.

Counts and percents are told apart by their headers (ingestion.core.layout), an organisation row of a
ФИС ОКО report is a school with a login or a known municipality (ingestion.feeds.vpr_reports), and mark
headers written in guillemets («2») are the marks.
"""

from __future__ import annotations

from decimal import Decimal

from ingestion.feeds.performance import PerformanceLoader
from ingestion.feeds.social_passport import SocialPassportLoader
from ingestion.feeds.vpr_flat import VprFlatMarksLoader
from ingestion.feeds.vpr_reports import VprMarksLoader
from tests.builders import write_xlsx
from tests.conftest import TEST_KEY

PERFORMANCE_HEADER = ["Год", "Код ОО", "Класс", "Период", "Обучающихся", "Имеют «2» / академическую задолженность",
                      "Только на «4» и «5»", "Пропущено уроков всего", "Пропущено уроков без уважительной причины"]


def performance_file(landing, name, header, row):
    return write_xlsx(landing / "performance" / name, {"Успеваемость": [header, row]})


# ----------------------------------------------------------------------------- counts and percents
def test_percent_headers_for_pupil_counts_refuse_the_file(landing, conn):
    header = [*PERFORMANCE_HEADER]
    header[5] = "Имеют «2» / академическую задолженность, %"
    header[6] = "Только на «4» и «5», %"
    path = performance_file(landing, "percent.xlsx", header, ["2024", "edu240001", 5, "год", 50, 4, 30, 100, 20])
    result = PerformanceLoader(conn, TEST_KEY).load(path)
    assert result.status == "failed"
    assert result.message == (
        "Файл «percent.xlsx»: в строке заголовка 1 столбец «Имеют «2» / академическую задолженность, %» содержит "
        "доли в процентах, а для столбца «Имеют «2» / академическую задолженность» ожидаются числа (количество): "
        "пришлите числа, а не проценты; столбец «Только на «4» и «5», %» содержит доли в процентах, а для столбца "
        "«Только на «4» и «5»» ожидаются числа (количество): пришлите числа, а не проценты")
    assert conn.execute("select count(*) from raw.performance").fetchone() == (0,)


def test_an_optional_count_column_in_percent_is_refused_not_dropped(landing, conn):
    header = [*PERFORMANCE_HEADER]
    header[6] = "Доля успевающих только на «4» и «5»"
    path = performance_file(landing, "share.xlsx", header, ["2024", "edu240001", 5, "год", 50, 4, 30, 100, 20])
    result = PerformanceLoader(conn, TEST_KEY).load(path)
    assert result.status == "failed"
    assert "столбец «Доля успевающих только на «4» и «5»» содержит доли в процентах" in result.message


def test_a_count_beside_its_percent_is_read_from_the_count(landing, conn):
    header = [*PERFORMANCE_HEADER[:7], "Только на «4» и «5», %", *PERFORMANCE_HEADER[7:]]
    path = performance_file(landing, "both.xlsx", header,
                            ["2024", "edu240001", 5, "год", 50, 4, 15, 30, 100, 20])
    result = PerformanceLoader(conn, TEST_KEY).load(path)
    assert result.status == "loaded", result.message
    assert conn.execute("select enrolled, failing, only_4_5 from raw.performance").fetchone() == (50, 4, 15)


def test_a_count_header_for_a_share_refuses_the_file(landing, conn):
    header = ["Учебный год", "Код ОО", "Всего обучающихся", "Количество обучающихся из малоимущих семей",
              "Доля с ОВЗ, %", "Доля для которых русский язык не родной, %", "Доля на профилактическом учёте, %",
              "Доля из неполных семей, %", "Доля из семей без высшего образования, %",
              "Доля из семей с безработными родителями, %"]
    path = write_xlsx(landing / "social_passport" / "counts.xlsx", {"Паспорт": [
        header, ["2023-2024", "edu240001", 300, 30, "4,4", "0", "0,5", "19,3", "37,7", "1"]]})
    result = SocialPassportLoader(conn, TEST_KEY).load(path)
    assert result.status == "failed"
    assert result.message == (
        "Файл «counts.xlsx»: в строке заголовка 1 столбец «Количество обучающихся из малоимущих семей» содержит "
        "количество, а для столбца «Доля из малоимущих семей» ожидаются доли в процентах: пришлите проценты, "
        "а не числа")
    assert conn.execute("select count(*) from raw.social_passport").fetchone() == (0,)


# ----------------------------------------------------------------------------- organisations of a report
def marks_report(landing, name, header, data):
    return write_xlsx(landing / "vpr_marks" / name, {"Статистика по отметкам": [
        ["ВПР 2024. Математика. 5 класс"], ["Статистика по отметкам"], header, *data]})


MARKS_REPORT_HEADER = ["Группы участников", "Кол-во ОО", "Кол-во участников", "2", "3", "4", "5"]


def test_a_school_without_its_login_is_quarantined_not_stored_as_a_municipality(landing, conn):
    path = marks_report(landing, "no_login.xlsx", MARKS_REPORT_HEADER, [
        ["Красноярский край", 700, 28000, 10, 40, 40, 10],
        ["г. Назарово", 12, 600, 8, 42, 38, 12],
        ["МБОУ СШ № 34", None, 50, 6, 44, 40, 10],
        ["Шарыповский муниципальный округ(reg24_m030)", 9, 300, 12, 48, 30, 10],
        ["МБОУ СШ № 1 (edu240001)", None, 40, 5, 45, 40, 10],
        ["Итого по муниципалитету", None, 90, 5, 45, 40, 10],
    ])
    result = VprMarksLoader(conn, TEST_KEY).load(path)
    assert result.status == "loaded", result.message
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (5, 4, 1)
    assert conn.execute("select org_name, org_level, school_id from raw.vpr_mark_stats order by source_row"
                        ).fetchall() == [
        ("Красноярский край", "region", None), ("г. Назарово", "municipality", None),
        ("Шарыповский муниципальный округ(reg24_m030)", "municipality", None),
        ("МБОУ СШ № 1 (edu240001)", "school", "24R00001")]
    assert conn.execute("select source_row, reason_code, message from raw.quarantine where load_id = %s",
                        (result.load_id,)).fetchall() == [
        (6, "unknown_value", "Файл «no_login.xlsx», строка 6: организация «МБОУ СШ № 34» в столбце «Группы "
                             "участников» не является ни муниципалитетом реестра ОО, ни ОО с логином ФИС ОКО "
                             "(«edu…»): допишите логин ОО или код муниципалитета («reg…_m…»)")]


# ----------------------------------------------------------------------------- marks in guillemets
def test_mark_headers_in_guillemets_are_the_marks(landing, conn):
    header = [*MARKS_REPORT_HEADER[:3], "«2»", "«3»", "«4»", "«5»"]
    path = marks_report(landing, "guillemets.xlsx", header, [["МБОУ СШ № 2(edu240002)", None, 51, 3.92, 39.22,
                                                                41.18, 15.68]])
    result = VprMarksLoader(conn, TEST_KEY).load(path)
    assert result.status == "loaded", result.message
    assert conn.execute("select school_id, n_participants, pct_2, pct_3, pct_4, pct_5 from raw.vpr_mark_stats"
                        ).fetchall() == [("24R00002", 51, Decimal("3.92"), Decimal("39.22"), Decimal("41.18"),
                                          Decimal("15.68"))]


def test_flat_marks_with_headers_in_guillemets(landing, conn):
    path = landing / "vpr_flat_marks" / "flat.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("Год;Класс;Предмет;Муниципалитет;ОО;Логин;Кол-во участников;«5»;«4»;«3»;«2»\n"
                    "2024;5;Математика;г. Назарово;МБОУ СШ № 1;edu240001;20;10;40;45;5\n", encoding="utf-8")
    result = VprFlatMarksLoader(conn, TEST_KEY).load(path)
    assert result.status == "loaded", result.message
    assert conn.execute("select pct_2, pct_3, pct_4, pct_5 from raw.vpr_flat_marks").fetchall() == [
        (Decimal("5"), Decimal("45"), Decimal("40"), Decimal("10"))]


def test_missing_mark_columns_are_named_in_single_guillemets(landing, conn):
    path = marks_report(landing, "no_marks.xlsx", ["Группы участников", "Кол-во участников", "Отметки"],
                        [["МБОУ СШ № 2(edu240002)", 51, "—"]])
    result = VprMarksLoader(conn, TEST_KEY).load(path)
    assert result.status == "failed"
    assert "нет столбцов «2», «3», «4», «5»" in result.message and "««" not in result.message
