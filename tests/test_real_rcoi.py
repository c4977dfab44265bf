"""РЦОИ protocols in the structures real centres print (tests/fixtures/real/rcoi): what lands in raw.gia_results."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from ingestion.core.pseudonym import Pseudonymiser
from ingestion.feeds.gia import GiaLoader
from tests.conftest import TEST_KEY
from tests.fixtures.real.rcoi import make_rcoi

FIXTURES = Path(make_rcoi.__file__).resolve().parent
EGE_BLOCKS = FIXTURES / "Протокол_ЕГЭ_2025_блоки.xlsx"
OGE_TWO_ROWS = FIXTURES / "Протокол_ОГЭ_2025_двухстрочная_шапка.xlsx"
EGE_CSV = FIXTURES / "Протокол_ЕГЭ_2025_01.csv"
COLUMNS = ("exam", "subject_code", "subject", "exam_date", "year", "school_code", "school_id", "short_answers",
           "long_answers", "primary_score", "test_score", "mark")


@pytest.fixture
def landing(landing):
    """The ГИА folder of a landing whose registry is loaded (conftest's ``landing``)."""
    (landing / "gia").mkdir()
    return landing / "gia"


def pupil(code: str) -> str:
    return Pseudonymiser(TEST_KEY).token("pupil", code)


def rows_of(conn, load_id: int) -> dict[tuple[str, int], dict]:
    """Loaded rows keyed by (participant hash, subject code)."""
    cur = conn.execute(f"select participant_id, source_row, {', '.join(COLUMNS)} from raw.gia_results "
                       "where load_id = %s", (load_id,))
    names = [d.name for d in cur.description]
    out = {}
    for values in cur.fetchall():
        row = dict(zip(names, values, strict=True))
        out[(row["participant_id"], row["subject_code"])] = row
    return out


def quarantine(conn, load_id: int) -> dict[int, tuple[str, str]]:
    return {row: (reason, message) for row, reason, message in conn.execute(
        "select source_row, reason_code, message from raw.quarantine where load_id = %s", (load_id,))}


def test_fixtures_are_what_the_script_writes(tmp_path):
    """The committed files hold the cells make_rcoi.py writes (the script is the source of the fixtures)."""
    from ingestion.core.sources import open_sheets

    for written in make_rcoi.write_all(tmp_path):
        committed = FIXTURES / written.name
        assert [list(s.rows) for s in open_sheets(committed)] == [list(s.rows) for s in open_sheets(written)]


def test_several_exams_in_one_sheet_with_block_headers(landing, conn):
    result = GiaLoader(conn, TEST_KEY).load(shutil.copy(EGE_BLOCKS, landing))
    assert result.status == "loaded", result.message
    # five participants' rows; the two «Средние» rows, block headers and column headers are none of them
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (5, 5, 0)
    rows = rows_of(conn, result.load_id)
    assert set(rows) == {(pupil("1000000001"), 1), (pupil("1000000002"), 1), (pupil("1000000003"), 1),
                         (pupil("1000000001"), 22), (pupil("1000000004"), 22)}
    first = rows[(pupil("1000000001"), 1)]
    assert {k: first[k] for k in COLUMNS} == {
        "exam": "EGE", "subject_code": 1, "subject": "Русский язык", "exam_date": dt.date(2025, 5, 30),
        "year": 2025, "school_code": "240001", "school_id": "24R00001",
        "short_answers": "++-+++-+++-++++-+++++-+++-", "long_answers": "2(2)3(4)", "primary_score": 25,
        "test_score": 61, "mark": None}
    assert first["source_row"] == 6
    base = rows[(pupil("1000000004"), 22)]
    assert {k: base[k] for k in COLUMNS} == {
        "exam": "EGE", "subject_code": 22, "subject": "Математика базовая", "exam_date": dt.date(2025, 6, 2),
        "year": 2025, "school_code": "240003", "school_id": "24R00003",
        "short_answers": "++-+-+++--+-+++-+--++", "long_answers": None, "primary_score": 13,
        "test_score": None, "mark": 4}
    assert base["source_row"] == 14
    # nothing of the averages rows in any column
    assert conn.execute("select count(*) from raw.gia_results where source_row in (9, 15)").fetchone()[0] == 0


def test_two_row_merged_header_school_lines_and_numeric_codes(landing, conn):
    result = GiaLoader(conn, TEST_KEY).load(shutil.copy(OGE_TWO_ROWS, landing))
    assert result.status == "loaded", result.message
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (5, 5, 0)
    rows = rows_of(conn, result.load_id)
    math = rows[(pupil("2000000002"), 2)]
    assert {k: math[k] for k in COLUMNS} == {
        "exam": "OGE", "subject_code": 2, "subject": "Математика", "exam_date": dt.date(2025, 6, 6),
        "year": 2025, "school_code": "240002", "school_id": "24R00002",
        "short_answers": "+-+--+-+-+-++--+-+-", "long_answers": "0(2)0(2)0(2)", "primary_score": 9,
        "test_score": None, "mark": 3}
    rus = rows[(pupil("2000000001"), 1)]
    assert (rus["exam_date"], rus["primary_score"], rus["mark"], rus["long_answers"], rus["source_row"]) == (
        dt.date(2025, 6, 3), 28, 5, "6(7)5(6)4(6)3(3)", 17)
    # the school lines (rows 7, 10) and «Средние» (12, 19) are neither loaded nor quarantined: rows_read is 5
    assert sorted(r["source_row"] for r in rows.values()) == [8, 9, 11, 17, 18]


def test_protocol_saved_as_csv(landing, conn):
    result = GiaLoader(conn, TEST_KEY).load(shutil.copy(EGE_CSV, landing))
    assert result.status == "loaded", result.message
    assert (result.rows_read, result.rows_loaded) == (3, 3)
    third = rows_of(conn, result.load_id)[(pupil("1000000003"), 1)]
    assert (third["exam"], third["school_id"], third["primary_score"], third["test_score"], third["exam_date"]) == (
        "EGE", "24R00002", 13, 40, dt.date(2025, 5, 30))


def test_corrected_protocol_with_a_changed_date_replaces_not_doubles(landing, conn, tmp_path):
    first = GiaLoader(conn, TEST_KEY).load(make_rcoi.write_csv(landing / "Протокол_ЕГЭ_2025_01.csv",
                                                               make_rcoi.ege_compact_csv_rows()))
    rows = make_rcoi.ege_compact_csv_rows()
    rows[0] = ["01 - Русский язык 2025.06.04"]  # the centre corrects the exam date
    second = GiaLoader(conn, TEST_KEY).load(make_rcoi.write_csv(landing / "Протокол_ЕГЭ_2025_01_исправленный.csv",
                                                                rows))
    assert (first.rows_loaded, second.rows_loaded, second.rows_replaced) == (3, 3, 3)
    assert conn.execute("select count(*), count(distinct participant_id), min(exam_date), max(exam_date), "
                        "min(period), max(period) from raw.gia_results").fetchone() == (
        3, 3, dt.date(2025, 6, 4), dt.date(2025, 6, 4), "main", "main")  # no period in a protocol: the date's
    assert conn.execute("select status, superseded_by from raw.load_ledger where load_id = %s",
                        (first.load_id,)).fetchone() == ("replaced", second.load_id)


def test_a_retake_in_one_file_is_kept_apart_by_date(landing, conn):
    """Main day and reserve day of the same subject in one protocol: both rows load, neither is a duplicate."""
    rows = make_rcoi.ege_compact_csv_rows()
    rows += [["01 - Русский язык 2025.06.20"], rows[1], rows[4]]  # participant 3 sits the reserve day
    result = GiaLoader(conn, TEST_KEY).load(make_rcoi.write_csv(landing / "Протокол_ЕГЭ_2025_01.csv", rows))
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (4, 4, 0)
    assert conn.execute("select count(*) from raw.gia_results where participant_id = %s",
                        (pupil("1000000003"),)).fetchone()[0] == 2


def _spoiled_rus(**changes) -> list:
    """EGE_RUS with participant 2's row changed (fields as in make_rcoi's tuples)."""
    fields = ("school", "code", "name", "short", "long", "primary", "final")
    pupils = [list(p) for p in make_rcoi.EGE_RUS]
    for name, value in changes.items():
        pupils[1][fields.index(name)] = value
    return [tuple(p) for p in pupils]


def test_a_score_above_the_subjects_maximum_is_quarantined(landing, conn):
    """Basic mathematics has 21 primary points at most (dbt seed gia_max_primary); the task string agrees with
    the score, so only the maximum can refuse the row."""
    base = [list(p) for p in make_rcoi.EGE_MATH_BASE]
    base[0][3], base[0][4] = "+" * 20 + "2", 22
    base[1][3], base[1][4] = "+" * 21, 21  # the maximum itself is a valid score
    rows = make_rcoi.ege_multi_rows(base=[tuple(p) for p in base])
    path = make_rcoi.write_protocol(landing / "maximum.xlsx", "Протокол ЕГЭ", rows)
    result = GiaLoader(conn, TEST_KEY).load(path)
    assert (result.rows_loaded, result.rows_quarantined) == (4, 1)
    assert quarantine(conn, result.load_id) == {13: (
        "invalid_value",
        "Файл «maximum.xlsx», строка 13: первичный балл 22 больше максимального по предмету в этом году (21)")}


def test_implausible_dates_are_quarantined(landing, conn):
    late = dt.date.today().year + 2
    rows = make_rcoi.ege_compact_csv_rows()
    rows[0] = [f"01 - Русский язык {late}.05.30"]
    early = make_rcoi.ege_compact_csv_rows()
    early[0] = ["01 - Русский язык 2008.05.30"]
    for name, content, problem in (("ЕГЭ_late.csv", rows, f"дата экзамена 30.05.{late} позже конца следующего года"),
                                   ("ЕГЭ_early.csv", early, "дата экзамена 30.05.2008 раньше 2009 года")):
        result = GiaLoader(conn, TEST_KEY).load(make_rcoi.write_csv(landing / name, content))
        assert (result.rows_loaded, result.rows_quarantined) == (0, 3), name
        reason, message = quarantine(conn, result.load_id)[3]
        assert reason == "invalid_value"
        assert message.startswith(f"Файл «{name}», строка 3: {problem}")


def test_the_first_year_of_ege_history_is_accepted(landing, conn):
    rows = make_rcoi.ege_compact_csv_rows()
    rows[0] = ["01 - Русский язык 2009.06.01"]
    result = GiaLoader(conn, TEST_KEY).load(make_rcoi.write_csv(landing / "ЕГЭ_2009.csv", rows))
    assert (result.rows_loaded, result.rows_quarantined) == (3, 0)
    assert conn.execute("select distinct year from raw.gia_results").fetchall() == [(2009,)]


def test_a_score_without_its_task_string_is_quarantined(landing, conn):
    rows = make_rcoi.ege_multi_rows(rus=_spoiled_rus(short=None, long=None))
    path = make_rcoi.write_protocol(landing / "no_tasks.xlsx", "Протокол ЕГЭ", rows)
    result = GiaLoader(conn, TEST_KEY).load(path)
    assert (result.rows_loaded, result.rows_quarantined) == (4, 1)
    reason, message = quarantine(conn, result.load_id)[7]
    assert reason == "missing_value"
    assert message == ("Файл «no_tasks.xlsx», строка 7: первичный балл указан, а строка результатов по заданиям "
                       "пуста («Ответы в краткой форме», «Ответы в развернутой форме»)")


def test_a_block_without_its_column_header_refuses_the_file(landing, conn):
    rows = make_rcoi.ege_multi_rows()
    del rows[11]  # the column header of the second block
    result = GiaLoader(conn, TEST_KEY).load(make_rcoi.write_protocol(landing / "no_header.xlsx", "Протокол ЕГЭ", rows))
    assert result.status == "failed"
    assert result.message.startswith("Файл «no_header.xlsx»: под строкой «22 - Математика базовая 2025.06.02» "
                                     "(строка 11): не найдена строка заголовка")
    assert conn.execute("select count(*) from raw.gia_results").fetchone()[0] == 0


def test_a_protocol_that_names_no_exam_is_refused(landing, conn):
    rows = make_rcoi.ege_compact_csv_rows()
    result = GiaLoader(conn, TEST_KEY).load(make_rcoi.write_csv(landing / "Протокол_2025_01.csv", rows))
    assert result.status == "failed"
    assert result.message.startswith("Файл «Протокол_2025_01.csv»: не указан экзамен (ОГЭ, ЕГЭ, ГВЭ-9, ГВЭ-11)")


def test_a_flat_table_without_subject_or_date_is_refused(landing, conn):
    rows = make_rcoi.ege_compact_csv_rows()[1:]  # no block header line
    result = GiaLoader(conn, TEST_KEY).load(make_rcoi.write_csv(landing / "ЕГЭ_без_даты.csv", rows))
    assert result.status == "failed"
    assert result.message == ("Файл «ЕГЭ_без_даты.csv»: нет столбцов «Код предмета», «Дата экзамена» и строки "
                              "экзамена над таблицей (вида «01 - Русский язык 2025.05.30»)")


def test_protocol_lines_are_told_apart():
    from ingestion.feeds import rcoi_protocol as protocol

    head = protocol.block_header(("4 – Химия 01.06.2026", None, ""))
    assert (head.subject_code, head.subject, head.exam_date) == (4, "Химия", dt.date(2026, 6, 1))
    assert protocol.block_header(("20 - Татарстан Республика",)) is None  # the region line
    assert protocol.block_header(("01 - Русский язык 2025.05.30", "240001")) is None  # not alone in its row
    assert [protocol.is_summary((t, None, 15.5)) for t in ("Средние", "Средний балл", "Итого по ОО", "Всего:",
                                                          "Итоговое сочинение", "Всеобщая история", "ЕГЭ")] == [
        True, True, True, True, False, False, False]
    assert protocol.merge_header(("№", "Задания", None, "Результат", None, "Код участника"),
                                 (None, "с кратким ответом", "с развёрнутым ответом", "Первичный балл", "Оценка")) == (
        "№", "Задания с кратким ответом", "Задания с развёрнутым ответом", "Первичный балл", "Оценка",
        "Код участника")
    assert [protocol.exam_named(t) for t in ("Протокол_ОГЭ_2025", "Протокол ЕГЭ", "ГВЭ-11 и ЕГЭ", "ГИА-9")] == [
        "OGE", "EGE", None, None]


# ----------------------------------------------------------------- periods: the partition and its replacement
def _protocol_on(conn, landing, name: str, header: str):
    """The compact ЕГЭ protocol under another block header (another exam day)."""
    rows = make_rcoi.ege_compact_csv_rows()
    rows[0] = [header]
    return GiaLoader(conn, TEST_KEY).load(make_rcoi.write_csv(landing / name, rows))


def by_period(conn) -> dict[str, tuple[int, int]]:
    """Rows per period: (rows, distinct participants)."""
    return {p: (n, d) for p, n, d in conn.execute(
        "select period, count(*), count(distinct participant_id) from raw.gia_results group by period")}


def test_an_additional_period_keeps_the_main_one_and_a_corrected_main_replaces_only_it(landing, conn):
    """Protocols name no period: the exam date's month gives it (gia_periods), and the period is in the key."""
    main = _protocol_on(conn, landing, "Протокол_ЕГЭ_2025_01.csv", "01 - Русский язык 2025.06.03")
    additional = _protocol_on(conn, landing, "Протокол_ЕГЭ_2025_01_доп.csv", "01 - Русский язык 2025.09.05")
    assert (main.rows_loaded, additional.rows_loaded, additional.rows_replaced) == (3, 3, 0)
    assert by_period(conn) == {"main": (3, 3), "additional": (3, 3)}
    corrected = _protocol_on(conn, landing, "Протокол_ЕГЭ_2025_01_испр.csv", "01 - Русский язык 2025.06.04")
    assert (corrected.rows_loaded, corrected.rows_replaced) == (3, 3)
    assert by_period(conn) == {"main": (3, 3), "additional": (3, 3)}
    assert conn.execute("select period, min(exam_date), max(exam_date), min(load_id), max(load_id) "
                        "from raw.gia_results group by period order by period").fetchall() == [
        ("additional", dt.date(2025, 9, 5), dt.date(2025, 9, 5), additional.load_id, additional.load_id),
        ("main", dt.date(2025, 6, 4), dt.date(2025, 6, 4), corrected.load_id, corrected.load_id)]
    assert conn.execute("select load_id, status from raw.load_ledger where load_id in (%s, %s) order by 1",
                        (main.load_id, additional.load_id)).fetchall() == [
        (main.load_id, "replaced"), (additional.load_id, "loaded")]


FLAT_HEADER = ["Экзамен", "Код предмета", "Предмет", "Дата экзамена", "Период", "Код ОУ", "Код участника",
               "Первичный балл"]


def flat(landing, name: str, rows: list[tuple[str, str, int]], first: int = 1) -> Path:
    """A flat ЕГЭ extract of Russian: (date, period, primary score) per participant, codes from ``first``."""
    return make_rcoi.write_csv(landing / name, [FLAT_HEADER, *(
        ["ЕГЭ", 1, "Русский язык", date, period, "240001", f"{2000000000 + first + i}", score]
        for i, (date, period, score) in enumerate(rows))])


def test_a_period_the_file_names_wins_and_one_against_the_date_is_quarantined(landing, conn):
    path = flat(landing, "ЕГЭ_2025_1.csv", [
        ("03.06.2025", "основной", 20),   # as the date says
        ("05.05.2025", "досрочный", 21),  # early days running into May: within the slack, the file's period stays
        ("20.06.2025", "резервный", 22),  # a reserve day: kept as the file names it
        ("04.09.2025", "основной", 23),   # September named main: would re-key the row into the wrong partition
        ("04.09.2025", "", 24),           # no period: the date's
    ])
    result = GiaLoader(conn, TEST_KEY).load(path)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (5, 4, 1)
    assert dict(conn.execute("select primary_score, period from raw.gia_results").fetchall()) == {
        20: "main", 21: "early", 22: "reserve", 24: "additional"}
    ((row, (reason, message)),) = quarantine(conn, result.load_id).items()
    assert (row, reason) == (5, "inconsistent")
    assert "период «основной» не соответствует дате экзамена 04.09.2025" in message
    assert "дополнительный период" in message


def test_every_month_has_exactly_one_period():
    from ingestion.feeds.gia import period_months

    months = [m for first, last in period_months().values() for m in range(first, last + 1)]
    assert sorted(months) == list(range(1, 13))


def test_a_small_file_replacing_a_large_one_is_noted_in_the_ledger_and_the_summary(landing, conn):
    from ingestion.core.replacements import REPLACED_FACTOR, REPLACED_MINIMUM
    from ingestion.run import summary

    many = REPLACED_MINIMUM + 10
    whole = GiaLoader(conn, TEST_KEY).load(flat(landing, "ЕГЭ_2025_1.csv", [("03.06.2025", "основной", 20)] * many))
    assert whole.rows_loaded == many and whole.message == ""
    # the reviewer's case: three participants of the additional period leave the main period alone
    extra = GiaLoader(conn, TEST_KEY).load(flat(landing, "ЕГЭ_2025_1_дополнительный_период.csv",
                                                [("04.09.2025", "дополнительный", 19)] * 3, first=9000))
    assert (extra.rows_loaded, extra.rows_replaced, extra.message) == (3, 0, "")
    assert by_period(conn) == {"main": (many, many), "additional": (3, 3)}
    # the same main period, a few participants only (a file of one school, or mislabelled)
    part = GiaLoader(conn, TEST_KEY).load(flat(landing, "ЕГЭ_2025_1_часть.csv",
                                               [("04.06.2025", "основной", 21)] * 3, first=5000))
    assert (part.rows_loaded, part.rows_replaced) == (3, many)
    assert by_period(conn) == {"main": (3, 3), "additional": (3, 3)}
    assert part.rows_replaced > REPLACED_FACTOR * part.rows_loaded
    expected = (f"файл «ЕГЭ_2025_1_часть.csv» заменил {many} строк прежних загрузок, принёс 3: проверьте, что это "
                "полный файл за экзамен, год, предмет и период ГИА")
    assert part.message == expected
    assert conn.execute("select notes from raw.load_ledger where load_id = %s",
                        (part.load_id,)).fetchone()[0] == expected
    text = summary([whole, extra, part])
    header, gia_line = text.splitlines()[1:3]
    assert header.split()[-1] == "заменено" and gia_line.split()[-1] == str(many)
    assert f"  {expected}" in text.splitlines()
    # a correction of about the same size is not noted
    again = GiaLoader(conn, TEST_KEY).load(flat(landing, "ЕГЭ_2025_1_испр.csv", [("04.06.2025", "основной", 22)] * 3,
                                                first=7000))
    assert (again.rows_replaced, again.message) == (3, "")
    assert conn.execute("select notes from raw.load_ledger where load_id = %s", (again.load_id,)).fetchone()[0] is None
    assert "заменил" not in summary([again])


def test_rows_loaded_before_the_period_joined_the_key_get_their_dates_period(landing, conn):
    """The schema update: an old index on exam × year × subject is rebuilt, a protocol's NULL periods filled."""
    _protocol_on(conn, landing, "Протокол_ЕГЭ_2025_01_доп.csv", "01 - Русский язык 2025.09.05")
    conn.execute("update raw.gia_results set period = null")
    conn.execute("drop index raw.gia_results_partition")
    conn.execute("create index gia_results_partition on raw.gia_results (exam, year, subject_code)")
    for statement in GiaLoader.ddl():
        conn.execute(statement)
    assert by_period(conn) == {"additional": (3, 3)}
    assert "period" in conn.execute("select indexdef from pg_indexes where schemaname = 'raw' "
                                    "and indexname = 'gia_results_partition'").fetchone()[0]
