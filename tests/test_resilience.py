"""Nothing fatal, nothing silent: a bad file is that file's failure, a file nobody reads is reported, a snapshot
without rows never replaces the loaded one, plan-reports and ОГРН/ИНН keys, and a whole landing of good and
bad files together."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from psycopg import sql

from ingestion.core.schools import SchoolResolver, normalise_code
from ingestion.feeds import BY_FEED, LOADERS
from ingestion.feeds.registry import ReorganisationLoader, SchoolRegistryLoader
from ingestion.feeds.support_events import SupportEventsLoader
from ingestion.feeds.vacancies import VacanciesLoader
from ingestion.feeds.vpr_individual import VprIndividualLoader
from ingestion.run import ensure_schema, ignored_files, ledger_summary, load_all, load_feed, record_unread, summary
from tests.builders import registry_file, vpr_pupil, vpr_rows, write_xlsx
from tests.conftest import TEST_KEY

REGISTRY_HEADER = ["Код ОО (регистр)", "Логин ФИС ОКО", "Код РЦОИ", "ОГРН", "ИНН", "Полное наименование",
                   "Краткое наименование", "Муниципалитет", "Тип ОО", "Статус", "Головная ОО (для филиала)"]
REORGANISATION_HEADER = ["Дата", "Вид", "Код ОО (регистр) до", "Код ОО (регистр) после", "Наименование до",
                         "Наименование после", "Логин ФИС ОКО до", "Код РЦОИ до"]


def load_registry(conn, landing: Path) -> None:
    for loader in (ReorganisationLoader, SchoolRegistryLoader):
        assert {r.status for r in load_feed(conn, loader, landing, TEST_KEY)} == {"loaded"}


@pytest.fixture
def landing(tmp_path, conn):
    registry_file(tmp_path)
    load_registry(conn, tmp_path)
    return tmp_path


def write_csv(path: Path, rows: list[list], encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def vacancies_file(folder: Path, name: str, rows: list[list]) -> Path:
    return write_csv(folder / "vacancies" / name, [["Год", "Код ОО", "Предмет", "Вакансий"], *rows])


def count(conn, table: str, where: str = "true", params: tuple = ()) -> int:
    return conn.execute(sql.SQL("select count(*) from raw.{} where " + where).format(sql.Identifier(table)),
                        params).fetchone()[0]


def ledger_rows(conn, feed: str) -> list[tuple]:
    return conn.execute("select f.file_name, l.status, l.error_message from raw.load_ledger l "
                        "join raw.file_ledger f using (file_id) where l.feed = %s order by l.load_id",
                        (feed,)).fetchall()


def set_arrival(paths: list[Path], start: float = 1_700_000_000) -> None:
    """Arrival order is mtime, then name: give each file its own minute, in the order listed."""
    for i, path in enumerate(paths):
        os.utime(path, (start + 60 * i, start + 60 * i))


# ---------------------------------------------------------------- one bad file never stops the others
def corrupt_xml(path: Path) -> Path:
    """A workbook whose sheet XML is cut in the middle: a valid zip, malformed XML inside."""
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    sheet = next(n for n in parts if n.startswith("xl/worksheets/"))
    parts[sheet] = parts[sheet][: len(parts[sheet]) // 2]
    with zipfile.ZipFile(path, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


BAD_FILES = {
    "пустой.csv": lambda p: p.write_bytes(b""),
    "с_нулевым_байтом.csv": lambda p: p.write_bytes("Год;Код ОО;Предмет;Вакансий\r\n2024;24R00001;Мат\x00ематика;1\r\n"
                                                    .encode()),
    "не_книга.xlsx": lambda p: p.write_bytes(b"PK\x03\x04 this is no workbook"),
    "битый_xml.xlsx": lambda p: corrupt_xml(write_xlsx(p, {"Лист1": [["Год", "Код ОО", "Предмет", "Вакансий"],
                                                                     [2024, "24R00001", "Физика", 1]]})),
}


@pytest.mark.parametrize("bad_name", sorted(BAD_FILES))
def test_a_bad_file_fails_alone_and_the_others_load(landing, conn, bad_name):
    good_before = vacancies_file(landing, "Вакансии_1.csv", [["2024", "24R00001", "Математика", "2"]])
    bad = landing / "vacancies" / bad_name
    BAD_FILES[bad_name](bad)
    good_after = vacancies_file(landing, "Вакансии_2.csv", [["2024", "24R00002", "Физика", "1"]])
    set_arrival([good_before, bad, good_after])
    results = load_feed(conn, VacanciesLoader, landing, TEST_KEY)
    assert [(r.file, r.status) for r in results] == [
        ("Вакансии_1.csv", "loaded"), (bad_name, "failed"), ("Вакансии_2.csv", "loaded")]
    failed = results[1]
    assert failed.message.startswith(f"Файл «{bad_name}»") and failed.rows_loaded == 0
    assert ledger_rows(conn, "vacancies")[1] == (bad_name, "failed", failed.message)
    assert conn.execute("select school_id, vacancies from raw.vacancies order by school_id").fetchall() == [
        ("24R00001", 2), ("24R00002", 1)]
    assert f"Файл «{bad_name}»" in summary(results) and f"Файл «{bad_name}»" in ledger_summary(conn)


A_NAME = "Иванов Иван Иванович"  # as a cell would quote it
UNEXPECTED = [ValueError, KeyError, zipfile.BadZipFile, csv.Error,
              lambda text: UnicodeDecodeError("utf-8", text.encode(), 0, 1, text)]


@pytest.mark.parametrize("error", UNEXPECTED, ids=["ValueError", "KeyError", "BadZipFile", "csv.Error",
                                                   "UnicodeDecodeError"])
def test_an_unexpected_exception_while_reading_is_that_files_failure(landing, conn, caplog, error):
    """Reading breaks with an exception nobody foresaw, after the header and a row: the file fails, the run goes
    on, and neither the ledger nor the log repeats the exception's text (it may quote a cell, a name)."""

    class Breaking(VacanciesLoader):
        # called for every row as the reader hands it over: a stand-in for any reader that breaks mid-file
        def skip_row(self, cells: tuple) -> bool:
            if "сломается" in self.file_name and cells[1] == "24R00003":
                raise error(A_NAME)
            return False

    files = [vacancies_file(landing, "Вакансии_1.csv", [["2024", "24R00001", "Математика", "2"]]),
             vacancies_file(landing, "Вакансии_сломается.csv", [["2024", "24R00002", "Физика", "1"],
                                                               ["2024", "24R00003", "Физика", "1"]]),
             vacancies_file(landing, "Вакансии_3.csv", [["2024", "24R00003", "Химия", "4"]])]
    set_arrival(files)
    with caplog.at_level(logging.ERROR, logger="ingestion.core.loader"):
        results = load_feed(conn, Breaking, landing, TEST_KEY)
    assert [r.status for r in results] == ["loaded", "failed", "loaded"]
    kind = type(error("x")).__name__
    assert results[1].message.startswith("Файл «Вакансии_сломается.csv»: внутренняя ошибка загрузчика")
    assert f"({kind})" in results[1].message
    assert conn.execute("select school_id from raw.vacancies order by 1").fetchall() == [("24R00001",), ("24R00003",)]
    log = caplog.text
    assert "Traceback" in log and "test_resilience.py" in log and kind in log
    assert A_NAME not in log and A_NAME not in results[1].message


def test_a_failure_after_rows_were_copied_rolls_back_that_file_only(landing, conn, caplog):
    """The file breaks after its first chunks are in the table: they go, the ledger row stays, as failed."""
    path = vacancies_file(landing, "Вакансии.csv", [["2024", code, "Математика", "1"]
                                                    for code in ("24R00001", "24R00002", "24R00003")])

    def explode(rows_read: int) -> None:
        if rows_read == 2:
            raise RuntimeError("сбой после двух строк")

    loader = VacanciesLoader(conn, TEST_KEY, chunk_rows=1, on_chunk=explode)
    with caplog.at_level(logging.ERROR):
        result = loader.load(path)
    assert result.status == "failed" and "(RuntimeError)" in result.message
    assert count(conn, "vacancies") == 0 and count(conn, "quarantine") == 0
    assert ledger_rows(conn, "vacancies") == [("Вакансии.csv", "failed", result.message)]
    # the next run tries the file again and loads it
    assert VacanciesLoader(conn, TEST_KEY).load(path).status == "loaded"
    assert count(conn, "vacancies") == 3


def test_a_lost_database_connection_stops_the_run(landing, db_url):
    """Not a file's failure: no later file could load either, so the caller sees the error."""
    import psycopg

    path = vacancies_file(landing, "Вакансии.csv", [["2024", "24R00001", "Математика", "1"]] * 2)
    with psycopg.connect(db_url, autocommit=True) as victim, psycopg.connect(db_url, autocommit=True) as killer:
        pid = victim.info.backend_pid

        def drop_connection(rows_read: int) -> None:
            killer.execute("select pg_terminate_backend(%s)", (pid,))

        with pytest.raises(psycopg.OperationalError):
            VacanciesLoader(victim, TEST_KEY, on_chunk=drop_connection).load(path)
        assert victim.broken


def test_a_file_that_vanished_before_its_load_is_recorded_as_failed(landing, conn):
    gone = landing / "vacancies" / "Вакансии_удалён.csv"
    result = VacanciesLoader(conn, TEST_KEY).load(gone)
    assert result.status == "failed" and result.message.startswith("Файл «Вакансии_удалён.csv»: файл исчез")
    assert ledger_rows(conn, "vacancies") == [("Вакансии_удалён.csv", "failed", result.message)]


# ---------------------------------------------------------------- files nobody reads
def test_files_nobody_reads_are_refused_once_and_reported(tmp_path, conn):
    landing = tmp_path / "landing"
    unread = {
        "vacancies/Пояснительная записка.pdf": "формат «.pdf» не читается",
        "vacancies/Письмо.docx": "формат «.docx» не читается",
        "vacancies/Архив.zip": "формат «.zip» не читается",
        "vacancies/README": "файл без расширения не читается",
        "vacancies/2024/Вакансии.csv": "вложенные папки внутри папки потока «vacancies» не читаются",
        "vpr/ВПР_2024.xlsx": "папка «vpr» не является папкой потока данных",
        "Вакансии_2024.csv": "он лежит прямо в папке приёма",
    }
    ignored = ["_truth/truth.json", "vacancies/~$Вакансии.xlsx", ".DS_Store", "vacancies/.~lock.csv#"]
    for name in [*unread, *ignored]:
        (landing / name).parent.mkdir(parents=True, exist_ok=True)
        (landing / name).write_bytes(name.encode())  # distinct contents, distinct checksums
    first = record_unread(conn, landing)
    again = record_unread(conn, landing)
    assert sorted(r.message.split("»")[0].removeprefix("Файл «") for r in first) == sorted(unread)
    for r in first:
        relative = r.message.split("»")[0].removeprefix("Файл «")
        assert r.status == "refused" and unread[relative] in r.message
        assert r.feed == ("vacancies" if relative.startswith("vacancies/") else "unread")
    assert [r.message for r in again] == [r.message for r in first]  # reported every run …
    stored = conn.execute("select l.status, l.error_message, f.sha256 from raw.load_ledger l "
                          "join raw.file_ledger f using (file_id)").fetchall()
    assert len(stored) == len(unread)  # … recorded once
    assert {s for s, _, _ in stored} == {"refused"} and all(len(sha) == 64 for _, _, sha in stored)
    assert not any("truth" in m or "~$" in m or "DS_Store" in m for _, m, _ in stored)
    assert sorted(map(str, ignored_files(landing))) == sorted(["_truth", "vacancies/~$Вакансии.xlsx", ".DS_Store",
                                                               "vacancies/.~lock.csv#"])
    text = summary(first, ignored_files(landing))
    assert f"Файлы, которые не читает ни один поток данных ({len(unread)})" in text
    assert "Пропущены по правилам" in text and "_truth" in text
    assert all(m in ledger_summary(conn) for _, m, _ in stored)


def test_a_file_name_in_another_encoding_is_refused_not_fatal(tmp_path, conn):
    landing = tmp_path / "landing"
    registry_file(landing)
    (landing / "vacancies").mkdir()
    cp1251_name = os.fsencode(landing / "vacancies") + b"/" + "Вакансии.csv".encode("cp1251")
    with open(cp1251_name, "wb") as handle:  # a name unpacked from an archive made on Windows
        handle.write(b"\xc3\xee\xe4;\xca\xee\xe4 \xce\xce\r\n")
    results = load_all(conn, landing, key=TEST_KEY)
    refused = [r for r in results if r.status == "refused"]
    assert [(r.feed, r.file) for r in refused] == [("vacancies", "????????.csv")]
    assert "не в кодировке UTF-8" in refused[0].message
    assert conn.execute("select file_name from raw.file_ledger where feed = 'vacancies'").fetchall() == [
        ("????????.csv",)]
    summary(results).encode("utf-8")  # printable


def test_a_refused_file_moved_where_it_belongs_leaves_the_open_problems(tmp_path, conn):
    landing = tmp_path / "landing"
    registry_file(landing)
    stray = vacancies_file(landing, "x", [["2024", "24R00001", "Математика", "2"]])
    misplaced = stray.rename(landing / "Вакансии_2024.csv")
    shutil.rmtree(landing / "vacancies")
    results = load_all(conn, landing, key=TEST_KEY)
    assert [r.status for r in results if r.feed == "unread"] == ["refused"]
    assert "Вакансии_2024.csv» не загружен: он лежит прямо в папке приёма" in ledger_summary(conn)
    (landing / "vacancies").mkdir()
    misplaced.rename(landing / "vacancies" / "Вакансии_2024.csv")
    results = load_all(conn, landing, key=TEST_KEY)
    assert [r.status for r in results if r.feed == "vacancies"] == ["loaded"]
    assert "Файлы, которые не читает" not in ledger_summary(conn)


# ---------------------------------------------------------------- snapshots
def header_only_registry(folder: Path, name: str = "Реестр_ОО_пустой.xlsx") -> Path:
    title = [f"Реестр общеобразовательных организаций ({name})"]  # its own checksum
    return write_xlsx(folder / "registry" / name, {"Реестр ОО": [title, REGISTRY_HEADER],
                                                   "Реорганизации": [title, REORGANISATION_HEADER]})


def test_a_header_only_registry_never_replaces_the_loaded_one(landing, conn):
    keys_before = conn.execute("select key_value, registry_code from raw.school_keys order by 1").fetchall()
    empty = header_only_registry(landing)
    registry = SchoolRegistryLoader(conn, TEST_KEY).load(empty)
    reorganisations = ReorganisationLoader(conn, TEST_KEY).load(empty)
    assert registry.status == "failed" and reorganisations.status == "failed"
    assert registry.message.startswith("Файл «Реестр_ОО_пустой.xlsx»: в таблице «Реестр ОО» нет ни одной строки")
    assert "прежние данные сохранены (строк: 3)" in registry.message
    assert "прежние данные сохранены (строк: 1)" in reorganisations.message
    assert count(conn, "school_registry") == 3 and count(conn, "school_reorganisations") == 1
    assert conn.execute("select key_value, registry_code from raw.school_keys order by 1").fetchall() == keys_before
    # later feeds still resolve their schools, old codes included
    later = VprIndividualLoader(conn, TEST_KEY).load(write_xlsx(
        landing / "vpr_individual" / "v.xlsx", {"Индивидуальные результаты": vpr_rows(
            [vpr_pupil("edu240001", "P-1", (1, 1, 1), 4), vpr_pupil("edu249999", "P-2", (1, 0, 0), 3)])}))
    assert (later.rows_loaded, later.rows_quarantined) == (2, 0)


def test_a_header_only_registry_on_an_empty_warehouse_is_refused_too(tmp_path, conn):
    result = SchoolRegistryLoader(conn, TEST_KEY).load(header_only_registry(tmp_path))
    assert result.status == "failed" and "справочник по-прежнему пуст" in result.message


def test_an_empty_reorganisations_sheet_loads_only_while_none_are_loaded(tmp_path, conn):
    empty = header_only_registry(tmp_path / "first")
    assert ReorganisationLoader(conn, TEST_KEY).load(empty).status == "loaded"  # a region without any
    registry_file(tmp_path / "second")
    load_registry(conn, tmp_path / "second")  # one reorganisation now
    again = header_only_registry(tmp_path, "Реестр_ОО_2.xlsx")
    result = ReorganisationLoader(conn, TEST_KEY).load(again)
    assert result.status == "failed" and "прежние данные сохранены (строк: 1)" in result.message
    assert conn.execute("select registry_code from raw.school_keys where key_value = 'edu249999'").fetchone() == (
        "24R00003",)


def test_a_registry_of_mostly_bad_rows_is_refused(landing, conn):
    rows = [REGISTRY_HEADER,
            ["24R00011", "edu240011", "240011", None, None, "МБОУ СШ № 11", None, "г. Назарово", "СОШ", None, None],
            *[[f"24R0002{i}", None, None, None, None, None, None, None, "СОШ", None, None] for i in range(2)]]
    result = SchoolRegistryLoader(conn, TEST_KEY).load(write_xlsx(landing / "registry" / "r.xlsx",
                                                                  {"Реестр ОО": rows}))
    assert result.status == "failed" and "отложено 2 строк из 3" in result.message
    assert count(conn, "school_registry") == 3 and count(conn, "quarantine") == 0


# ---------------------------------------------------------------- ОГРН and ИНН
def test_schools_resolve_by_ogrn_and_inn_but_never_by_a_shared_one(tmp_path, conn):
    rows = [REGISTRY_HEADER,
            # ОГРН and ИНН as number cells: floats when read back
            ["24R00001", "edu240001", "240001", 1022401000001, 2456000001, "МБОУ СШ № 1", None, "г. Назарово",
             "СОШ", "действующая", None],
            # an ИНН with a leading zero, stored as a number (the zero is lost), spaces in the ОГРН
            ["24R00002", "edu240002", "240002", "1 0224 0100 0002", 105012345, "МБОУ СШ № 2", None,
             "г. Назарово", "СОШ", "действующая", None],
            # a head school and its branch with the same ОГРН and ИНН
            ["24R00003", "edu240003", "240003", "1022401000003", "2456000003", "МКОУ Туринская СШ", None,
             "Эвенкийский муниципальный район", "СОШ", "действующая", None],
            ["24R00004", "edu240004", "240004", "1022401000003", "2456000003", "Филиал МКОУ Туринская СШ", None,
             "Эвенкийский муниципальный район", "филиал", "действующая", "24R00003"],
            # not an organisation's numbers: no keys
            ["24R00005", "edu240005", "240005", "нет", "123", "МБОУ СШ № 5", None, "г. Назарово", "СОШ",
             "действующая", None]]
    path = write_xlsx(tmp_path / "registry" / "Реестр.xlsx", {"Реестр ОО": rows,
                                                              "Реорганизации": [REORGANISATION_HEADER]})
    load_registry(conn, tmp_path)
    keys = {k: (kind, code) for k, kind, code in conn.execute(
        "select key_value, key_kind, registry_code from raw.school_keys where key_kind in ('ogrn', 'inn')")}
    assert keys == {"1022401000001": ("ogrn", "24R00001"), "2456000001": ("inn", "24R00001"),
                    "1022401000002": ("ogrn", "24R00002"), "0105012345": ("inn", "24R00002")}
    resolver = SchoolResolver.from_database(conn)
    codes = pd.Series(["1022401000001", "2456000001.0", "0105012345", "105012345", "1022401000003", "2456000003",
                       "edu240004"], dtype="string")
    assert resolver.resolve(codes).fillna("—").tolist() == ["24R00001", "24R00001", "24R00002", "24R00002", "—", "—",
                                                            "24R00004"]
    assert conn.execute("select key_value, key_kind, registry_codes from raw.school_keys_ambiguous order by 1"
                        ).fetchall() == [("1022401000003", "ogrn", "24R00003, 24R00004"),
                                         ("2456000003", "inn", "24R00003, 24R00004")]
    assert resolver.unknown_text("2456000003").startswith("ИНН «2456000003» принадлежит нескольким ОО реестра "
                                                          "(24R00003, 24R00004;")
    assert resolver.unknown_text("edu249998") == "код ОО «edu249998» не найден в реестре ОО"
    # a feed that names schools by ИНН loads them; the shared one is quarantined, not given to either school
    result = VacanciesLoader(conn, TEST_KEY).load(vacancies_file(tmp_path, "Вакансии.csv", [
        ["2024", "2456000001", "Математика", "2"], ["2024", "2456000003", "Физика", "1"]]))
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    assert conn.execute("select school_id from raw.vacancies").fetchall() == [("24R00001",)]
    assert path.exists()
    events = SupportEventsLoader(conn, TEST_KEY).load(plan_report(tmp_path, "План-отчёт.xlsx", [
        ["12.10.2023", "муниципальный", "семинар", "Оценивание", "1022401000001; 1022401000003", 10]]))
    assert events.rows_quarantined == 1
    message = conn.execute("select message from raw.quarantine where load_id = %s", (events.load_id,)).fetchone()[0]
    assert message.startswith("Файл «План-отчёт.xlsx», строка 3: ОГРН «1022401000003» принадлежит нескольким ОО")


def test_codes_are_normalised_like_the_registry_keys():
    assert normalise_code(" 1022401000001.0 ") == "1022401000001"
    assert normalise_code("EDU 240001") == "edu240001"
    assert normalise_code("24R00001") == "24r00001"


# ---------------------------------------------------------------- support events
EVENTS_HEADER = ["Дата", "Уровень", "Вид", "Тема", "ОО-участники", "Участников"]


def plan_report(folder: Path, name: str, events: list[list]) -> Path:
    return write_xlsx(folder / "support_events" / name,
                      {"Лист1": [["План-отчёт о мероприятиях"], EVENTS_HEADER, *events]})


def events_by_key(conn) -> dict:
    return {(m, y): n for m, y, n in conn.execute(
        "select plan_municipality, plan_year, count(*) from raw.support_events group by 1, 2")}


def test_a_corrected_plan_report_under_another_name_replaces_the_first(landing, conn):
    loader = SupportEventsLoader(conn, TEST_KEY)
    first = loader.load(plan_report(landing, "План-отчёт_2024_Назарово.xlsx", [
        ["12.10.2023", "муниципальный", "семинар", "Оценивание", "24R00001; 24R00002", 10],
        ["15.03.2024", "школьный", "консультация", "ВПР", "edu240001", 3],
        ["30.08.2023", "муниципальный", "семинар", "Подготовка года", "24R00002", 4]]))  # August: one stray date
    other_municipality = loader.load(plan_report(landing, "План-отчёт_2024_Эвенкийский.xlsx", [
        ["20.11.2023", "региональный", "курсы", "Функциональная грамотность", "24R00003", 5]]))
    corrected = loader.load(plan_report(landing, "План-отчёт_Назарово_исправленный.xlsx", [
        ["12.10.2023", "муниципальный", "семинар", "Оценивание", "24R00001, 24R00002", 12],
        ["15.03.2024", "школьный", "консультация", "ВПР", "edu240001", 3]]))
    assert [r.status for r in (first, other_municipality, corrected)] == ["loaded"] * 3
    assert corrected.rows_replaced == 3
    assert events_by_key(conn) == {("г. Назарово", 2024): 2, ("Эвенкийский муниципальный район", 2024): 1}
    assert conn.execute("select distinct source_file from raw.support_events where plan_municipality = "
                        "'г. Назарово'").fetchall() == [("План-отчёт_Назарово_исправленный.xlsx",)]
    assert count(conn, "support_event_schools", "load_id = %s", (first.load_id,)) == 0
    assert conn.execute("select status from raw.load_ledger where load_id = %s", (first.load_id,)).fetchone() == (
        "replaced",)
    # the next year's plan-report is a partition of its own
    following = loader.load(plan_report(landing, "План-отчёт_2025_Назарово.xlsx", [
        ["01.10.2024", "муниципальный", "семинар", "Оценивание", "24R00001", 6]]))
    assert following.rows_replaced == 0 and events_by_key(conn)[("г. Назарово", 2025)] == 1


def test_a_plan_report_with_no_majority_municipality_is_regional(landing, conn):
    SupportEventsLoader(conn, TEST_KEY).load(plan_report(landing, "Региональный.xlsx", [
        ["12.10.2009", "региональный", "семинар", "Оценивание", "24R00001; 24R00003", 10]]))
    assert events_by_key(conn) == {("(регион)", 2010): 1}  # a school year of 2009/10 loads


def test_schema_step_keys_plan_reports_loaded_before_the_key_existed(landing, conn):
    SupportEventsLoader(conn, TEST_KEY).load(plan_report(landing, "План-отчёт.xlsx", [
        ["12.10.2023", "муниципальный", "семинар", "Оценивание", "24R00001", 10]]))
    conn.execute("update raw.support_events set plan_municipality = null, plan_year = null")
    for statement in SupportEventsLoader.ddl():
        conn.execute(statement)
    assert events_by_key(conn) == {("г. Назарово", 2024): 1}


def test_school_years_from_2009_load(landing, conn):
    result = VacanciesLoader(conn, TEST_KEY).load(vacancies_file(landing, "Вакансии_2009.csv", [
        ["2008-2009", "24R00001", "Математика", "2"], ["2009/10", "24R00002", "Физика", "1"]]))
    assert (result.status, result.rows_loaded) == ("loaded", 2)
    assert conn.execute("select year from raw.vacancies order by 1").fetchall() == [(2009,), (2010,)]


def test_the_schema_step_upgrades_a_warehouse_of_the_previous_version(conn):
    """Before: no 'refused' status, plan-reports partitioned by file name, no table of shared numbers."""
    conn.execute("drop schema raw_current cascade")  # added with the data-quality checks
    conn.execute("alter table raw.load_ledger drop constraint load_ledger_status_check")
    conn.execute("alter table raw.load_ledger add constraint load_ledger_status_check check "
                 "(status in ('running', 'loaded', 'failed', 'interrupted', 'replaced'))")
    conn.execute("drop index raw.support_events_partition")
    conn.execute("alter table raw.support_events drop column plan_municipality, drop column plan_year")
    conn.execute("create index support_events_partition on raw.support_events (source_file)")
    conn.execute("drop table raw.school_keys_ambiguous")
    ensure_schema(conn)
    index = conn.execute("select indexdef from pg_indexes where indexname = 'support_events_partition'").fetchone()[0]
    assert index.endswith("(plan_municipality, plan_year)")
    assert count(conn, "school_keys_ambiguous") == 0
    file_id = conn.execute("insert into raw.file_ledger (feed, file_name, file_path, sha256, size_bytes, arrived_at) "
                           "values ('unread', 'a.pdf', '/a.pdf', 'x', 1, now()) returning file_id").fetchone()[0]
    conn.execute("insert into raw.load_ledger (file_id, feed, status) values (%s, 'unread', 'refused')", (file_id,))


# ---------------------------------------------------------------- the load DAGs' summary and check
def test_a_family_summary_names_the_failed_files_and_an_empty_landing_says_nothing_was_loaded(landing, conn, db_url,
                                                                                          monkeypatch):
    from datetime import UTC, datetime

    from warehouse import airflow_common

    monkeypatch.setenv("EDU_WAREHOUSE_URL", db_url)
    since = datetime.now(UTC)
    text, problems = airflow_common.family_summary(("vacancies", "teachers"), since, str(landing))
    assert "нет файлов" in text and "ничего не загружено" in text and problems == []
    (landing / "vacancies").mkdir(exist_ok=True)
    (landing / "vacancies" / "Вакансии_пустой.csv").write_bytes(b"")
    load_all(conn, landing, feeds=["vacancies"], key=b"summary-test-key-0123456789abcdef")
    text, problems = airflow_common.family_summary(("vacancies", "teachers"), since, str(landing))
    assert "vacancies" in text and "Новых загрузок в этом запуске: 1" in text
    assert len(problems) == 1 and "Вакансии_пустой.csv" in problems[0] and "failed" in problems[0]


# ---------------------------------------------------------------- a whole landing
FILES_PER_FEED = 5


@pytest.fixture(scope="module")
def small_region(tmp_path_factory) -> tuple[Path, dict]:
    from ingestion.demo import generate_region

    folder = tmp_path_factory.mktemp("region")
    generate_region(folder, schools=4, seed=11, workers=1)
    return folder, json.loads((folder / "_truth" / "truth.json").read_text(encoding="utf-8"))


def folder_of(result) -> str:
    loader = BY_FEED.get(result.feed)
    return (loader.folder or loader.feed) if loader else result.feed


@pytest.mark.parametrize("empty_registry_first", [False, True], ids=["empty_registry_later", "empty_registry_first"])
def test_a_whole_landing_loads_every_good_file_and_reports_the_bad_ones(small_region, tmp_path, conn,
                                                                         empty_registry_first):
    source, truth = small_region
    landing = tmp_path / "landing"
    good: list[str] = []
    for folder in sorted({loader.folder or loader.feed for loader in LOADERS}):
        names = sorted(n.split("/", 1)[1] for n in truth["files"] if n.startswith(folder + "/"))
        good += [f"{folder}/{n}" for n in names[:FILES_PER_FEED]]
    assert len(good) >= 90
    for name in good:
        (landing / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, landing / name)
    shutil.copytree(source / "_truth", landing / "_truth")
    a_performance_csv = next(n for n in good if n.startswith("performance/") and n.endswith(".csv"))
    bad = {
        "vacancies/Вакансии_пустой.csv": lambda p: p.write_bytes(b""),
        "performance/Успеваемость_с_нулём.csv": lambda p: p.write_bytes(
            (source / a_performance_csv).read_bytes().replace(b"\n", b"\n\x00", 1)),
        "registry/Реестр_ОО_пустой.xlsx": lambda p: header_only_registry(p.parent.parent, p.name),
        "teachers/Педагоги_битый.xlsx": lambda p: p.write_bytes(b"PK\x03\x04 not a workbook at all"),
        "olympiads/Протокол.pdf": lambda p: p.write_bytes(b"%PDF-1.4 a protocol"),
    }
    for name, write in bad.items():
        (landing / name).parent.mkdir(parents=True, exist_ok=True)
        write(landing / name)
    # the other bad files arrive after their feeds' good ones; the header-only registry before or after the good one
    order = [landing / n for n in good] + [landing / n for n in bad]
    if empty_registry_first:
        order.insert(0, order.pop(order.index(landing / "registry/Реестр_ОО_пустой.xlsx")))
    set_arrival(order)

    results = load_all(conn, landing, key=TEST_KEY)

    outcome: dict[str, set] = {}
    for r in results:
        outcome.setdefault(f"{folder_of(r)}/{r.file}", set()).add(r.status)
    # every good file loads (the registry workbook by both of its loaders), with every row it holds
    assert {n for n, statuses in outcome.items() if statuses == {"loaded"}} == set(good)
    for name in good:
        mine = [r for r in results if f"{folder_of(r)}/{r.file}" == name]
        assert all(r.rows_loaded + r.rows_quarantined == r.rows_read for r in mine)
        if not name.startswith("registry/"):
            assert sum(r.rows_read for r in mine) == truth["files"][name], name
    # the rows quarantined are the defects the generator planted in those files, no others
    planted = {(d["file"], d["row"]) for d in truth["planted_defects"] if f"{d['feed']}/{d['file']}" in good}
    quarantined = set(conn.execute("select f.file_name, q.source_row from raw.quarantine q join raw.load_ledger l "
                                   "using (load_id) join raw.file_ledger f using (file_id)").fetchall())
    assert quarantined == planted
    # the bad ones: failed or refused, each with a Russian message naming it, and no row of theirs anywhere
    problems = {f"{folder_of(r)}/{r.file}": r for r in results if r.status in ("failed", "refused")}
    assert set(problems) == set(bad)
    assert {n: r.status for n, r in problems.items() if r.status == "refused"} == {"olympiads/Протокол.pdf": "refused"}
    for name, r in problems.items():
        assert r.message.startswith("Файл «") and Path(name).name in r.message.split("»")[0]
    registry_problem = problems["registry/Реестр_ОО_пустой.xlsx"]
    assert registry_problem.feed == "registry" and "нет ни одной строки данных" in registry_problem.message
    assert ("справочник по-прежнему пуст" if empty_registry_first else "прежние данные сохранены") in \
        registry_problem.message
    bad_loads = [r.load_id for r in results if r.status in ("failed", "refused")]
    for table in sorted({t for loader in LOADERS for t in (loader.table, *loader.child_tables())}):
        assert count(conn, table, "load_id = any(%s)", (bad_loads,)) == 0, table
    # nothing else changed: the good registry stayed, and each load's table holds the rows it reports
    assert count(conn, "school_registry") == len(truth["schools"])
    assert sum(r.rows_replaced for r in results) == 0
    for r in results:
        if r.status == "loaded":
            assert count(conn, BY_FEED[r.feed].table, "load_id = %s", (r.load_id,)) == r.rows_loaded, r.file
    text = summary(results, ignored_files(landing))
    assert all(Path(name).name in text for name in bad) and "_truth" in text
