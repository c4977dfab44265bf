"""Every feed on the demo region: accounting, idempotency, replacement, interrupted loads, planted defects."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from psycopg import sql

from ingestion.core.ledger import file_checksum
from ingestion.feeds import LOADERS, REGISTRY_LOADERS
from ingestion.run import files_for, load_all, load_feed
from tests.conftest import TEST_KEY
from tests.filetools import without_row
from tests.test_loader_core import kill_mid_load

FEEDS = [loader for loader in LOADERS if loader not in REGISTRY_LOADERS]
EXPECTED_REASON = {"unknown_school": "unknown_school", "invalid_mark": "invalid_value",
                   "invalid_task_string": "invalid_task_string", "negative_count": "invalid_value"}


@pytest.fixture(scope="module")
def demo_db(server_url, template_db, demo_landing):
    """The whole demo region loaded once into its own database."""
    name = f"edu_demo_{uuid.uuid4().hex[:8]}"
    admin_url = psycopg.conninfo.make_conninfo(server_url, dbname="postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name),
                                                                       sql.Identifier(template_db)))
    url = psycopg.conninfo.make_conninfo(server_url, dbname=name)
    with psycopg.connect(url, autocommit=True) as connection:
        results = load_all(connection, demo_landing, key=TEST_KEY)
        yield connection, results
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def truth(demo_landing) -> dict:
    return json.loads((demo_landing / "_truth" / "truth.json").read_text(encoding="utf-8"))


def count(conn, table: str, load_id: int | None = None) -> int:
    query = sql.SQL("select count(*) from raw.{}").format(sql.Identifier(table))
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
    for r in (r for r in mine if r.status == "loaded"):
        assert r.rows_read == r.rows_loaded + r.rows_quarantined
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
