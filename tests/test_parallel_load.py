"""Files typed in worker processes load exactly as they do one by one (ingestion.core.parallel).

One landing folder of ВПР individual workbooks from the demo region, with what a real run meets: the same
file sent twice under another name, a corrected file replacing an earlier one of the same school in the
same run, a damaged workbook, and files large enough to be read in the main process. It is loaded file
by file into one database and with two workers into another; raw rows, quarantine and ledger must match.
"""

from __future__ import annotations

import os
import shutil

import psycopg
import pytest
from psycopg import sql

from ingestion.core import parallel
from ingestion.feeds import BY_FEED
from ingestion.run import files_for, load_feed
from tests.conftest import TEST_KEY
from tests.filetools import with_cell

FEED = BY_FEED["vpr_individual"]
TABLES = [FEED.table, *FEED.child_tables(), "quarantine"]


@pytest.fixture(scope="module")
def tricky_landing(demo_landing, tmp_path_factory):
    landing = tmp_path_factory.mktemp("parallel_landing")
    shutil.copytree(demo_landing / "registry", landing / "registry")
    folder = landing / FEED.feed
    folder.mkdir()
    originals = sorted((demo_landing / FEED.feed).iterdir())[:24]
    for i, source in enumerate(originals):
        target = shutil.copy2(source, folder / source.name)
        os.utime(target, (1_700_000_000 + i * 10, 1_700_000_000 + i * 10))
    first = folder / originals[0].name
    # the same bytes under another name, arriving later: skipped as already loaded
    twin = shutil.copy2(first, folder / f"copy_{first.name}")
    os.utime(twin, (1_700_000_005, 1_700_000_005))
    # a correction of the second file (one primary score changed), arriving later: replaces it in the same run
    second = folder / originals[1].name
    corrected = with_cell(second, folder / f"corrected_{second.name}", *_score_cell(second), 0)
    os.utime(corrected, (1_700_000_015, 1_700_000_015))
    damaged = folder / "broken.xlsx"
    damaged.write_bytes(b"PK\x03\x04 not really a workbook")
    os.utime(damaged, (1_700_000_025, 1_700_000_025))
    return landing


def _score_cell(path):
    """(row, column) of the first participant's «Первичный балл» cell (a number below the header)."""
    from ingestion.core.sources import open_sheets

    column = None
    for sheet in open_sheets(path, FEED.sheet):
        for number, cells in sheet.rows:
            labels = [str(c).strip().lower() if c is not None else "" for c in cells]
            if column is None and any(label.startswith("первичный балл") for label in labels):
                column = next(i for i, label in enumerate(labels) if label.startswith("первичный балл"))
            elif column is not None and column < len(cells) and isinstance(cells[column], int | float):
                return number, column
    raise AssertionError(f"no participant in {path}")


def _typed_alone(loader, path):
    """One file typed on its own, as a load file by file types it: its counts and typed chunks."""
    from ingestion.core.loader import LoadResult

    result, chunks = LoadResult(FEED.feed, path.name, "loaded"), []
    loader.file_state = {}
    loader._copy_file(path, result, chunks.append)
    return result, chunks


def _load(server_url, template_db, landing, workers):
    name = f"edu_par_{workers}_{os.getpid()}"
    admin = psycopg.conninfo.make_conninfo(server_url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name),
                                                                     sql.Identifier(template_db)))
    url = psycopg.conninfo.make_conninfo(server_url, dbname=name)
    with psycopg.connect(url, autocommit=True) as conn:
        for loader in (BY_FEED["registry_reorganisations"], BY_FEED["registry"]):
            load_feed(conn, loader, landing, TEST_KEY, workers=0)
        results = load_feed(conn, FEED, landing, TEST_KEY, workers=workers)
        tables = {t: conn.execute(sql.SQL("select (t.*)::text from raw.{} t order by 1").format(
            sql.Identifier(t))).fetchall() for t in TABLES}
        ledger = conn.execute(
            "select f.file_name, l.status, l.rows_read, l.rows_loaded, l.rows_quarantined, l.rows_replaced, "
            "l.superseded_by, l.error_message, l.notes from raw.load_ledger l join raw.file_ledger f "
            "using (file_id) where l.feed = %s order by l.load_id", (FEED.feed,)).fetchall()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))
    return results, tables, ledger


def test_two_workers_load_what_one_by_one_loads(server_url, template_db, tricky_landing, monkeypatch):
    files = files_for(FEED, tricky_landing)
    # the three largest workbooks are read in the main process, between files typed by workers
    sizes = sorted(p.stat().st_size for p in files)
    monkeypatch.setattr(parallel, "PARALLEL_MAX_BYTES", sizes[-4])
    monkeypatch.setattr(parallel, "MIN_FILES", 8)  # a small landing, in several batches
    one_by_one = _load(server_url, template_db, tricky_landing, workers=0)
    typed_by_workers, complete = [], parallel._complete

    def counting(loader, path, load_id, parsed, registry):
        typed_by_workers.append(parsed is not None)
        return complete(loader, path, load_id, parsed, registry)

    monkeypatch.setattr(parallel, "_complete", counting)
    two = _load(server_url, template_db, tricky_landing, workers=2)
    # 26 files started a load (the twin is skipped): 3 large ones read here, the rest typed by the workers
    assert typed_by_workers.count(True) == 23 and typed_by_workers.count(False) == 3

    results, tables, ledger = two
    assert [(r.file, r.status) for r in results] == [(r.file, r.status) for r in one_by_one[0]]
    assert tables == one_by_one[1]
    assert ledger == one_by_one[2]

    by_file = {r.file: r for r in results}
    assert len(results) == len(files) == 27
    assert by_file[f"copy_{files[0].name}"].status == "skipped"
    broken = by_file["broken.xlsx"]
    assert broken.status == "failed" and "broken.xlsx" in broken.message
    second = next(r for name, r in by_file.items() if name.startswith("corrected_"))
    original = by_file[second.file.removeprefix("corrected_")]
    assert second.status == "loaded" and second.rows_replaced == original.rows_loaded > 0
    statuses = {row[0]: row[1] for row in ledger}
    assert statuses[original.file] == "replaced"
    assert sum(r.rows_loaded for r in results) > 0 and len(tables[FEED.table]) == sum(
        r.rows_loaded for r in results) - original.rows_loaded


def test_files_typed_together_give_what_each_file_typed_alone_gives(conn, tricky_landing):
    import json

    import pandas as pd

    from ingestion.core import batch_typing
    from ingestion.core.registry_view import RegistryView

    for loader in (BY_FEED["registry_reorganisations"], BY_FEED["registry"]):
        load_feed(conn, loader, tricky_landing, TEST_KEY, workers=0)
    parallel._start_worker(FEED, TEST_KEY, RegistryView(conn).frozen(), 10000)
    worker = parallel._worker
    files = [p for p in files_for(FEED, tricky_landing) if p.name != "broken.xlsx"]
    alone = [_typed_alone(worker, p) for p in files]
    read = [batch_typing.read_rows(worker, p) for p in files]
    groups = {batch_typing._canonical(f.layout, worker._wide_extras(f.layout))[0] for f in read}
    assert len(groups) < len(files) / 2  # most files share their group with others
    together = batch_typing.type_together(worker, read)
    def frame(chunks, table=None):
        parts = [c.rows if table is None else c.children[table] for c in chunks]
        return pd.concat(parts).reset_index(drop=True).astype(str) if parts else None

    def quarantined(chunks):
        return [(*q[:3], json.loads(q[3])) for c in chunks for q in c.quarantine]

    def copy_input(chunks):  # what a worker hands to the writing process, per table
        texts = {}
        for chunk in parallel._encoded(worker, chunks, 1):
            for table, columns, text in chunk.payloads:
                texts.setdefault((table, tuple(columns)), []).append(text)
        return {key: "".join(parts) for key, parts in texts.items()}

    assert sum(single.rows_quarantined for single, _ in alone) > 0  # the comparison covers quarantined rows too
    for (single, single_chunks), (result, chunks) in zip(alone, together, strict=True):
        counts = ("rows_read", "rows_loaded", "rows_quarantined", "reasons")
        assert [getattr(result, c) for c in counts] == [getattr(single, c) for c in counts], result.file
        assert quarantined(chunks) == quarantined(single_chunks)
        expected = frame(single_chunks)
        pd.testing.assert_frame_equal(frame(chunks)[expected.columns], expected)
        for table in FEED.child_tables():
            expected = frame(single_chunks, table)
            pd.testing.assert_frame_equal(frame(chunks, table)[expected.columns], expected)
        assert copy_input(chunks) == copy_input(single_chunks)
