"""The benchmark's own logic (bench/run_bench.py) on a tiny landing: what it counts and how it judges the targets.

No timing is asserted: the speed targets are the benchmark's business, not the test suite's.
"""

from __future__ import annotations

import shutil

import python_calamine

from bench import run_bench
from ingestion.core.ledger import file_checksum
from ingestion.feeds import REGISTRY_LOADERS
from ingestion.feeds.vpr_individual import VprIndividualLoader
from ingestion.run import files_for


def _tiny_landing(demo_landing, tmp_path, individual_files: int = 3):
    """The demo region's registry and a few ВПР individual-results workbooks."""
    landing = tmp_path / "landing"
    shutil.copytree(demo_landing / "registry", landing / "registry")
    folder = landing / VprIndividualLoader.feed
    folder.mkdir()
    books = [p for p in files_for(VprIndividualLoader, demo_landing) if p.suffix == ".xlsx"][:individual_files]
    for book in books:
        shutil.copy2(book, folder / book.name)
    return landing


def test_a_feed_is_measured_against_a_copy_of_exactly_the_rows_it_loaded(conn, demo_landing, tmp_path):
    landing = _tiny_landing(demo_landing, tmp_path)
    for loader in REGISTRY_LOADERS:
        run_bench.measure_feed(conn, loader, landing)
    figure = run_bench.measure_feed(conn, VprIndividualLoader, landing)

    pupils = run_bench.table_rows(conn, VprIndividualLoader.table)
    tasks = run_bench.table_rows(conn, "vpr_task_scores")
    assert figure["files"] == 3 and figure["statuses"] == {"loaded": 3}
    assert pupils > 0 and tasks > pupils
    assert figure["child_rows"] == tasks
    assert figure["copy_rows"] == pupils + tasks  # the bare COPY copied every row the load produced, no more
    assert figure["rows_read"] == pupils
    # the bare read went through every file: at least a header row besides each pupil's row
    assert figure["read_rows"] > pupils
    assert figure["ratio"] == figure["load_s"] / (figure["read_s"] + figure["copy_s"])
    # the look-alike tables are gone afterwards
    assert conn.execute("select to_regnamespace(%s)", (run_bench.COPY_SCHEMA,)).fetchone()[0] is None


def test_the_corrected_workbook_swaps_two_scores_of_one_pupil(demo_landing, tmp_path):
    source = next(p for p in files_for(VprIndividualLoader, demo_landing) if p.suffix == ".xlsx")
    changed = run_bench.changed_workbook(source, tmp_path / "changed.xlsx")

    def cells(path):
        with python_calamine.CalamineWorkbook.from_path(str(path)) as book:
            return [row for name in book.sheet_names for row in book.get_sheet_by_name(name).to_python()]

    before, after = cells(source), cells(changed)
    assert file_checksum(changed)[0] != file_checksum(source)[0]
    assert len(before) == len(after)
    rows = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert len(rows) == 1  # one pupil
    b, a = rows[0]
    changed_cells = [i for i, (x, y) in enumerate(zip(b, a, strict=True)) if x != y]
    assert len(changed_cells) == 2
    i, j = changed_cells
    assert (a[i], a[j]) == (b[j], b[i])  # swapped: the primary score and the mark stay right
    assert sum(v for v in a if isinstance(v, float)) == sum(v for v in b if isinstance(v, float))


def test_the_table_marks_each_target_met_or_missed():
    feed = {"files": 10, "rows_read": 100, "child_rows": 900, "load_s": 3.0, "rows_per_s": 333.0, "read_s": 0.5,
            "copy_rows": 1000, "copy_s": 0.5, "bare_s": 1.0, "statuses": {"loaded": 10}}
    result = {
        "started_at": "2026-12-01T00:00:00", "landing_desc": "test", "schools": 160,
        "feeds": [feed | {"feed": "slow_feed", "ratio": 3.0}, feed | {"feed": "fast_feed", "ratio": 1.2}],
        "parse_rates": {"open_sheets": {"files": 1, "rows": 10, "cells": 100, "seconds": 1.0, "rows_per_s": 45_000,
                                        "cells_per_s": 450_000}},
        "dbt_full": {"ok": True, "seconds": 100.0, "nodes": 300},
        "dbt_incremental": {"ok": True, "seconds": 35.0, "load_s": 0.1, "nodes": 120},
        "chain": {"stages_s": 250.0}, "main_job": {"ok": True, "wall_s": 70.0, "reported_s": 58.0},
    }
    result["targets"] = run_bench.target_rows(result)
    verdicts = {t["target"]: t["verdict"] for t in result["targets"]}

    assert verdicts == {
        "loader slow_feed / bare": "missed",
        "loader fast_feed / bare": "met",
        "workbook reading (open_sheets)": "met",
        "incremental build / full build": "missed",  # 35 % of the full build
        "files → validated marts (160 schools)": "not measured",  # the target is for 1,000 schools
        "main job": "met",  # «Готово за 58 с»
    }
    table = run_bench.markdown(result)
    assert "| loader slow_feed / bare | ≤ 1.5× | 3.0× | missed |" in table
    assert "| incremental build / full build | ≤ 20% | 35% | missed |" in table
    assert "| **all feeds** | 20 | 200 | 1,800 | 6.0 | | | | | 2.0 | 3.0× |" in table
