"""Every feed on the demo region: accounting, idempotency, replacement, interrupted loads, planted defects."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from psycopg import sql

from ingestion.core.ledger import file_checksum
from ingestion.core.sources import detect_encoding, open_sheets
from ingestion.feeds import LOADERS, REGISTRY_LOADERS
from ingestion.run import files_for, load_all, load_feed
from tests.conftest import TEST_KEY
from tests.filetools import with_cell, without_row
from tests.test_loader_core import kill_mid_load

FEEDS = [loader for loader in LOADERS if loader not in REGISTRY_LOADERS]
EXPECTED_REASON = {"unknown_school": "unknown_school", "invalid_mark": "invalid_value",
                   "invalid_task_string": "invalid_task_string", "negative_count": "invalid_value"}


@pytest.fixture(scope="module")
def truth(demo_landing) -> dict:
    return json.loads((demo_landing / "_truth" / "truth.json").read_text(encoding="utf-8"))


def count(conn, table: str, load_id: int | None = None) -> int:
    """File rows in a table (a grouped form stores several rows for one file row); loads in the ledger."""
    rows = sql.SQL("*" if table == "load_ledger" else "distinct (load_id, source_row)")
    query = sql.SQL("select count({}) from raw.{}").format(rows, sql.Identifier(table))
    if load_id is None:
        return conn.execute(query).fetchone()[0]
    return conn.execute(query + sql.SQL(" where load_id = %s"), (load_id,)).fetchone()[0]


def test_no_demo_file_fails(demo_db):
    _, results = demo_db
    assert [r.message for r in results if r.status == "failed"] == []
    # identical files (e.g. empty reports of two years) load once; the copies are skipped by checksum
    assert {r.status for r in results} <= {"loaded", "skipped"}


@pytest.mark.parametrize("loader", LOADERS, ids=lambda loader: loader.feed)
def test_every_row_is_loaded_or_quarantined(demo_db, loader):
    conn, results = demo_db
    mine = [r for r in results if r.feed == loader.feed]
    assert mine, f"no demo file for {loader.feed}"
    assert sum(r.rows_loaded for r in mine) > 0
    # what is in the tables, counted independently of the loader's own counters
    for r in (r for r in mine if r.status == "loaded"):
        assert count(conn, loader.table, r.load_id) == r.rows_loaded
        assert count(conn, "quarantine", r.load_id) == r.rows_quarantined
    ledger = conn.execute("select sum(rows_read), sum(rows_loaded), sum(rows_quarantined) from raw.load_ledger "
                          "where feed = %s", (loader.feed,)).fetchone()
    assert ledger == (sum(r.rows_read for r in mine), sum(r.rows_loaded for r in mine),
                      sum(r.rows_quarantined for r in mine))


def test_rows_read_match_the_data_rows_the_generator_wrote(demo_db, truth, demo_landing):
    """The generator's manifest counts the data rows it wrote into each file, independently of the loaders.

    Files are matched by checksum: a byte-identical copy (an empty report of another year) is loaded once.
    """
    conn, _ = demo_db
    read = {(sha, feed): rows for sha, feed, rows in conn.execute(
        "select f.sha256, l.feed, l.rows_read from raw.load_ledger l join raw.file_ledger f using (file_id) "
        "where l.status = 'loaded'")}
    for relative, rows in truth["files"].items():
        folder = relative.split("/", 1)[0]
        sha, _ = file_checksum(demo_landing / relative)
        feeds = [loader.feed for loader in LOADERS if (loader.folder or loader.feed) == folder]
        assert sum(read[(sha, feed)] for feed in feeds) == rows, relative


def test_planted_defects_and_only_they_are_quarantined(demo_db, truth):
    conn, _ = demo_db
    quarantined = {(file_name, row): reason for file_name, row, reason in conn.execute(
        "select f.file_name, q.source_row, q.reason_code from raw.quarantine q "
        "join raw.load_ledger l using (load_id) join raw.file_ledger f using (file_id)")}
    planted = {(d["file"].split("/")[-1], d["row"]): EXPECTED_REASON[d["kind"]] for d in truth["planted_defects"]}
    assert quarantined == planted


def test_loading_everything_again_changes_nothing(demo_db, demo_landing):
    conn, _ = demo_db
    tables = sorted({t for loader in LOADERS for t in (loader.table, *loader.child_tables())})
    before = {t: count(conn, t) for t in tables}
    ledger_before = count(conn, "load_ledger")
    again = load_all(conn, demo_landing, key=TEST_KEY)
    assert {r.status for r in again} == {"skipped"}
    assert {t: count(conn, t) for t in tables} == before
    assert count(conn, "load_ledger") == ledger_before


def load_registry(conn, landing) -> None:
    for loader in REGISTRY_LOADERS:
        assert all(r.status == "loaded" for r in load_feed(conn, loader, landing, TEST_KEY))


@pytest.mark.parametrize("loader", FEEDS, ids=lambda loader: loader.feed)
def test_corrected_file_replaces_the_partitions_it_covers(loader, conn, demo_landing, tmp_path):
    load_registry(conn, demo_landing)
    original = max(files_for(loader, demo_landing), key=lambda p: p.stat().st_size)
    first = loader(conn, TEST_KEY).load(original)
    assert first.status == "loaded" and first.rows_loaded >= 2
    partition = sql.SQL(", ").join([sql.Identifier(c) for c in loader.partition] or [sql.SQL("1")])
    # Prefer a row whose partition keeps other rows: the corrected file then still covers every partition.
    shared, row = conn.execute(sql.SQL(
        "select count(*) over (partition by {p}) > 1, source_row from raw.{t} where load_id = %s "
        "order by 1 desc, source_row desc limit 1").format(t=sql.Identifier(loader.table), p=partition),
        (first.load_id,)).fetchone()
    corrected = without_row(original, tmp_path / "corrected" / original.name, row, loader.sheet)
    second = loader(conn, TEST_KEY).load(corrected)
    assert second.status == "loaded"
    assert second.rows_loaded == first.rows_loaded - 1
    kept = 0 if shared else 1  # a partition the corrected file no longer covers keeps its old row
    assert second.rows_replaced == first.rows_loaded - kept
    assert count(conn, loader.table) == second.rows_loaded + kept
    assert count(conn, loader.table, first.load_id) == kept
    if kept:
        assert conn.execute(sql.SQL("select source_row from raw.{} where load_id = %s").format(
            sql.Identifier(loader.table)), (first.load_id,)).fetchone()[0] == row
    else:
        for child in loader.child_tables():
            assert count(conn, child, first.load_id) == 0
    status = conn.execute("select status from raw.load_ledger where load_id = %s", (first.load_id,)).fetchone()[0]
    assert status == ("loaded" if kept else "replaced")


@pytest.mark.parametrize("loader", FEEDS, ids=lambda loader: loader.feed)
def test_killed_load_leaves_no_rows_of_its_batch(loader, conn, db_url, demo_landing, tmp_path):
    load_registry(conn, demo_landing)
    path = files_for(loader, demo_landing)[0]
    kill_mid_load(loader.feed, path, db_url, tmp_path)
    tables = [loader.table, *loader.child_tables()]
    assert {t: count(conn, t) for t in tables} == dict.fromkeys(tables, 0)
    assert count(conn, "quarantine") == 0
    result = loader(conn, TEST_KEY).load(path)
    assert result.status == "loaded" and result.rows_loaded > 0


PARTICIPANT_CODE = re.compile(r"\b24-\d{6}-\d{4}\b|\bT-\d{6}\b")
PATRONYMIC = re.compile(r"\b[А-ЯЁ][а-яё]+(?:вич|вна|ична)\b")


def file_cells(landing) -> Iterator[str]:
    for path in landing.rglob("*"):
        if path.suffix in (".csv", ".txt"):
            raw = path.read_bytes()
            yield raw.decode(detect_encoding(raw[:65536]))
        elif path.suffix in (".xlsx", ".xls", ".ods"):
            for sheet in open_sheets(path):
                for _, cells in sheet.rows:
                    yield " ".join(str(c) for c in cells if c not in (None, ""))


def test_names_and_raw_codes_never_reach_the_database(demo_db, demo_landing):
    conn, _ = demo_db
    # the demo files do carry names and raw codes…
    in_files = {"codes": set(), "names": set()}
    for text in file_cells(demo_landing):
        in_files["codes"].update(PARTICIPANT_CODE.findall(text))
        in_files["names"].update(PATRONYMIC.findall(text))
    assert len(in_files["codes"]) > 1000 and len(in_files["names"]) > 20
    # …and none of them is anywhere in the warehouse, quarantine and ledgers included
    tables = [t for (t,) in conn.execute(
        "select table_name from information_schema.tables where table_schema = 'raw' order by 1")]
    found = {"codes": set(), "names": set()}
    for table in tables:
        with conn.cursor().copy(sql.SQL("copy raw.{} to stdout").format(sql.Identifier(table))) as copy:
            text = b"".join(bytes(block) for block in copy).decode()
        found["codes"].update(PARTICIPANT_CODE.findall(text))
        found["names"].update(PATRONYMIC.findall(text))
    assert found == {"codes": set(), "names": set()}
    hashed = [h for (h,) in conn.execute("select participant_id from raw.vpr_results union all "
                                         "select teacher_id from raw.teachers")]
    assert hashed and all(re.fullmatch(r"[0-9a-f]{32}", h) for h in hashed)


def header_offset(rows: list[tuple]) -> int:
    """Rows above the header: the first of the widest rows among the first fifteen."""
    filled = [sum(c not in (None, "") for c in cells) for cells in rows[:15]]
    return filled.index(max(filled))


VARIANTS = {
    "name columns (ФИО / Фамилия)": lambda path, rows: any(
        str(c).strip() in ("ФИО", "Фамилия") for cells in rows[:12] for c in cells),
    "Cyrillic Х for missing": lambda path, rows: any(c == "Х" for cells in rows for c in cells),
    "Latin X for missing": lambda path, rows: any(c == "X" for cells in rows for c in cells),
    "decimal commas": lambda path, rows: any(isinstance(c, str) and re.fullmatch(r"\d+,\d+", c)
                                             for cells in rows for c in cells),
    "cp1251 CSV": lambda path, rows: path.suffix == ".csv" and detect_encoding(path.read_bytes()[:65536]) == "cp1251",
    "UTF-8 CSV with BOM": lambda path, rows: path.suffix == ".csv" and path.read_bytes()[:3] == b"\xef\xbb\xbf",
    "header on the first row": lambda path, rows: header_offset(rows) == 0,
    "header below title rows": lambda path, rows: header_offset(rows) >= 2,
    "blank rows inside the data": lambda path, rows: any(
        all(c in (None, "") for c in cells) for cells in rows[header_offset(rows) + 1:-1]),
}


def test_layout_variants_occur_and_load(demo_db, demo_landing):
    conn, _ = demo_db
    loaded = {sha: rows for sha, rows in conn.execute(
        "select f.sha256, sum(l.rows_loaded) from raw.load_ledger l join raw.file_ledger f using (file_id) "
        "where l.status = 'loaded' group by 1")}
    seen: dict[str, set[str]] = {name: set() for name in VARIANTS}
    for path in sorted(demo_landing.glob("*/*.*")):
        if path.parent.name == "_truth":
            continue
        rows = [cells for sheet in open_sheets(path) for _, cells in sheet.rows]
        sha, _ = file_checksum(path)
        for name, present in VARIANTS.items():
            if present(path, rows) and loaded.get(sha, 0) > 0:
                seen[name].add(path.parent.name)
    assert {name: bool(feeds) for name, feeds in seen.items()} == dict.fromkeys(VARIANTS, True)
    assert {"vpr_individual", "teachers", "kdr", "gia"} <= seen["name columns (ФИО / Фамилия)"]
    assert "vpr_individual" in seen["Cyrillic Х for missing"] & seen["Latin X for missing"]


TYPED = ("int", "decimal", "date", "school_year", "choice", "bool")


@pytest.mark.parametrize("loader", FEEDS, ids=lambda loader: loader.feed)
def test_a_bad_value_quarantines_its_row_and_the_others_load(loader, conn, demo_landing, tmp_path):
    load_registry(conn, demo_landing)
    original = max(files_for(loader, demo_landing), key=lambda p: p.stat().st_size)
    instance = loader(conn, TEST_KEY)
    sheet = next(open_sheets(original, loader.sheet))
    rows = list(sheet.rows)
    layout = instance._find_layout(original, iter(rows))
    column = next(c for c in loader.columns if c.kind in TYPED and c.name in layout.fixed)
    index = layout.fixed[column.name]
    clean = instance.load(original)
    # the last loaded row with a value in that column
    row = conn.execute(sql.SQL("select max(source_row) from raw.{} where load_id = %s and {} is not null").format(
        sql.Identifier(loader.table), sql.Identifier(column.name)), (clean.load_id,)).fetchone()[0]
    spoiled = with_cell(original, tmp_path / "spoiled" / original.name, row, index, "??", loader.sheet)
    result = instance.load(spoiled)
    assert result.status == "loaded"
    assert result.rows_read == clean.rows_read
    assert (result.rows_loaded, result.rows_quarantined) == (clean.rows_loaded - 1, clean.rows_quarantined + 1)
    reason, message = conn.execute("select reason_code, message from raw.quarantine where load_id = %s "
                                   "and source_row = %s", (result.load_id, row)).fetchone()
    assert reason == "invalid_value"
    assert f"Файл «{original.name}», строка {row}: " in message and "«??»" in message
    assert layout.labels[column.name] in message


@pytest.mark.parametrize("loader", LOADERS, ids=lambda loader: loader.feed)
def test_an_unreadable_file_fails_with_a_russian_message(loader, conn, tmp_path):
    path = tmp_path / (loader.folder or loader.feed) / "испорченный.xlsx"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    result = loader(conn, TEST_KEY).load(path)
    assert result.status == "failed"
    assert result.message.startswith("Файл «испорченный.xlsx»: файл не удалось открыть как книгу Excel")
    assert conn.execute(sql.SQL("select count(*) from raw.{}").format(sql.Identifier(loader.table))).fetchone()[0] == 0
