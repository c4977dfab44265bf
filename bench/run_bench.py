"""The warehouse's benchmark: every stage of one region, measured in one run on one server, against its targets.

    python bench/run_bench.py --schools 160                    # generate a region (demo generator), then measure
    python bench/run_bench.py --landing data/landing           # or take an existing landing folder (never written)
    python bench/run_bench.py --schools 160 --chain --main-job # also the whole chain in a fresh database, main job
    python bench/run_bench.py --landing L --no-dbt --no-validation --memory-rows   # loaders only

Measured, in this order, in a scratch database of the warehouse server (the embedded one unless
``EDU_WAREHOUSE_URL`` is set; dropped at the end unless ``--keep``):

1. generation of the region (``python -m ingestion.demo``), unless ``--landing``;
2. per feed, registry first (``ingestion.feeds.LOADERS``): ``ingestion.run.load_feed`` — wall time, files, rows
   read (main table) and child rows — and, on the same files, the *bare pipeline*: every cell of every sheet read by
   python-calamine (.xlsx/.xls/.ods) or every record by the csv module (.csv, as ``ingestion.core.readers.text``
   reads them), plus a plain ``COPY`` of the rows the load produced (main and child tables exported, then
   COPYed into empty look-alike tables); the ratio loader / bare;
3. the workbook parse rate of python-calamine and of the project's reader (``ingestion.core.sources.open_sheets``)
   over every workbook of the landing;
4. peak memory of one ``VprIndividualLoader`` load as the workbook grows (``--memory-rows``, each load in a fresh
   subprocess: bench/bench_load_memory.py);
5. the feed checks (GX), ``dbt build`` of everything, the mart checks and the analysts' report — the functions the
   DAGs call (``warehouse.airflow_common.validate_stage``, ``build_report``), in the DAGs' order;
6. the incremental build: one corrected ВПР individual-results workbook (two of a pupil's task scores swapped,
   a new name) is loaded
   and ``dbt build --select source:raw.vpr_results+`` runs; its time against the full build;
7. ``--chain``: files → validated marts once more, end to end in a fresh database (``load_all``, feed checks,
   ``dbt build``, mart checks, report); ``--main-job``: ``bash scripts/main.sh`` (minutes; it prints «Готово за N с»).

Writes JSON (``--json-out``, default ``.local/bench/<timestamp>.json``) and a Markdown table (``--md-out``, default
beside the JSON) with every figure and the targets of issue 11 marked met or missed. The machine is shared and
noisy: the ratios, measured side by side in one run, are the figures that matter.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DIR = ROOT / ".local" / "bench"

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

KEY = b"benchmark-pseudonymisation-key-000"
WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}
COPY_SCHEMA = "bench_copy"  # the bare COPY's look-alike tables (not in raw: raw_current would get views of them)
INCREMENTAL_SOURCE = "source:raw.vpr_results+"
TARGETS = {
    "loader_ratio": 1.5,  # each loader within 1.5x of its bare pipeline
    "workbook_rows_per_s": 30_000,  # the project's workbook reader
    "memory_growth_mb": 80,  # load peak, largest workbook minus smallest (bench_load_memory.GROWTH_TARGET_MB)
    "incremental_share": 0.20,  # incremental build after one new file / full build
    "chain_1000_s": 300,  # 1,000-school region, files to validated marts
    "main_job_s": 60,  # the main job on the 160-school demo, after set-up
}


def timed(fn: Callable, *args, **kwargs) -> tuple[object, float]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


# ----------------------------------------------------------------------------------------------- the landing

def generate(out: Path, schools: int, seed: int) -> float:
    """The demo generator in a subprocess (the command a user runs); its wall time."""
    cmd = [sys.executable, "-m", "ingestion.demo", "--out", str(out), "--schools", str(schools), "--seed", str(seed)]
    _, seconds = timed(subprocess.run, cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return seconds


def landing_view(landing: Path, work: Path) -> Path:
    """``work/landing``: the landing folder itself or a link to it. ``load_feed`` archives originals beside the
    landing folder (``landing.parent / "archive"``), so a link keeps a given folder's parent untouched."""
    view = work / "landing"
    if landing.resolve() != view.resolve():
        view.symlink_to(landing.resolve(), target_is_directory=True)
    return view


# ----------------------------------------------------------------------------------------------- the database

def with_database(url: str, database: str) -> str:
    return psycopg.conninfo.make_conninfo(url, dbname=database)


@contextlib.contextmanager
def scratch_database(base: str, keep: bool = False) -> Iterator[str]:
    """A new database on the server; its URL. Dropped afterwards unless ``keep``."""
    name = f"edu_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(with_database(base, "postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        yield with_database(base, name)
    finally:
        if keep:
            print(f"database kept: {name}", file=sys.stderr)
        else:
            with psycopg.connect(with_database(base, "postgres"), autocommit=True) as admin:
                admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@contextlib.contextmanager
def stages_use(url: str) -> Iterator[None]:
    """Every stage's connection (``warehouse_url(conn_id)``) points at ``url`` meanwhile: the DAGs' task bodies run
    unchanged against the scratch database."""
    from warehouse import orchestration

    names = ["EDU_WAREHOUSE_URL", *(f"AIRFLOW_CONN_{c.upper()}" for c in orchestration.CONNECTIONS)]
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(dict.fromkeys(names, url))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def table_rows(conn: psycopg.Connection, table: str, schema: str = "raw") -> int:
    return conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(schema, table))).fetchone()[0]


# ----------------------------------------------------------------------------------------------- bare pipeline

def calamine_read(path: Path) -> tuple[int, int]:
    """Every cell of every sheet through python-calamine: (non-blank rows, non-empty cells)."""
    import python_calamine

    rows = cells = 0
    with python_calamine.CalamineWorkbook.from_path(str(path)) as workbook:
        for name in workbook.sheet_names:
            for record in workbook.get_sheet_by_name(name).to_python(skip_empty_area=False):
                filled = sum(value != "" for value in record)
                rows += filled > 0
                cells += filled
    return rows, cells


def csv_read(path: Path) -> tuple[int, int]:
    """Every record through the csv module, in the encoding and separator the project's reader detects."""
    from ingestion.core.readers.text import SAMPLE_BYTES, detect_delimiter, detect_encoding

    with path.open("rb") as raw:
        sample = raw.read(SAMPLE_BYTES)
    encoding = detect_encoding(sample)
    delimiter = detect_delimiter(sample.decode(encoding, errors="replace"), truncated=len(sample) == SAMPLE_BYTES)
    rows = cells = 0
    with path.open(encoding=encoding, newline="") as handle:
        for record in csv.reader(handle, delimiter=delimiter):
            filled = sum(value != "" for value in record)
            rows += filled > 0
            cells += filled
    return rows, cells


def bare_read(path: Path) -> tuple[int, int]:
    return calamine_read(path) if path.suffix.lower() in WORKBOOK_SUFFIXES else csv_read(path)


def project_read(path: Path) -> tuple[int, int]:
    """Every row of every sheet through the project's reader (``open_sheets``, its defaults)."""
    from ingestion.core.sources import open_sheets

    rows = cells = 0
    for sheet in open_sheets(path):
        for _, values in sheet.rows:
            rows += 1
            cells += sum(value is not None and value != "" for value in values)
    return rows, cells


def read_all(reader: Callable[[Path], tuple[int, int]], paths: list[Path]) -> dict:
    started = time.perf_counter()
    rows = cells = 0
    for path in paths:
        r, c = reader(path)
        rows, cells = rows + r, cells + c
    return {"files": len(paths), "rows": rows, "cells": cells, "seconds": time.perf_counter() - started}


def plain_copy(conn: psycopg.Connection, tables: list[str]) -> tuple[int, float]:
    """Export the raw tables' rows, then time a plain COPY of the same bytes into empty look-alike tables.

    Returns the rows COPYed and the seconds of the COPY alone. The look-alike tables are dropped afterwards.
    """
    conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(COPY_SCHEMA)))
    conn.execute(sql.SQL("create schema {}").format(sql.Identifier(COPY_SCHEMA)))
    payloads = {}
    for table in tables:
        buffer = io.BytesIO()
        # a query, not the table: COPY TO refuses a partitioned table
        with conn.cursor().copy(sql.SQL("copy (select * from raw.{}) to stdout").format(
                sql.Identifier(table))) as copy:
            for block in copy:
                buffer.write(block)
        payloads[table] = buffer.getvalue()
        conn.execute(sql.SQL("create table {} (like raw.{} including defaults)").format(
            sql.Identifier(COPY_SCHEMA, table), sql.Identifier(table)))
    rows = 0
    started = time.perf_counter()
    with conn.transaction():
        for table, payload in payloads.items():
            with conn.cursor().copy(sql.SQL("copy {} from stdin").format(sql.Identifier(COPY_SCHEMA, table))) as copy:
                copy.write(payload)
            rows += payload.count(b"\n")  # one line per row: COPY's text format escapes newlines in values
    seconds = time.perf_counter() - started
    conn.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(COPY_SCHEMA)))
    return rows, seconds


# ----------------------------------------------------------------------------------------------- loads

def measure_feed(conn: psycopg.Connection, loader_class, landing: Path) -> dict:
    """One feed's load through ``load_feed`` and, on the same files, its bare pipeline."""
    from ingestion.run import files_for, load_feed

    paths = files_for(loader_class, landing)
    results, seconds = timed(load_feed, conn, loader_class, landing, KEY)
    rows = sum(r.rows_read for r in results)
    child_rows = sum(table_rows(conn, t) for t in loader_class.child_tables())
    read = read_all(bare_read, paths)
    copied, copy_seconds = plain_copy(conn, [loader_class.table, *loader_class.child_tables()])
    bare = read["seconds"] + copy_seconds
    statuses: dict[str, int] = {}
    for r in results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    return {"feed": loader_class.feed, "files": len(results), "statuses": statuses, "rows_read": rows,
            "rows_loaded": sum(r.rows_loaded for r in results), "child_rows": child_rows, "load_s": seconds,
            "rows_per_s": (rows + child_rows) / seconds if seconds else None,
            "read_s": read["seconds"], "read_rows": read["rows"], "read_cells": read["cells"],
            "copy_rows": copied, "copy_s": copy_seconds, "bare_s": bare,
            "ratio": seconds / bare if bare else None}


def load_feeds(conn: psycopg.Connection, landing: Path, feeds: list[str] | None = None) -> list[dict]:
    from ingestion.feeds import LOADERS

    figures = []
    for loader_class in LOADERS:
        if feeds and loader_class.feed not in feeds:
            continue
        figure = measure_feed(conn, loader_class, landing)
        print(f"  {figure['feed']:<26}{figure['files']:>6} files {figure['load_s']:>7.1f} s  "
              f"bare {figure['bare_s']:>6.1f} s  x{figure['ratio'] or 0:.1f}", file=sys.stderr, flush=True)
        figures.append(figure)
    return figures


def parse_rates(landing: Path) -> dict:
    """Rows and cells per second over every workbook of the landing: python-calamine and the project's reader."""
    from ingestion.feeds import LOADERS
    from ingestion.run import files_for

    paths = sorted({p for loader in LOADERS for p in files_for(loader, landing)
                    if p.suffix.lower() in WORKBOOK_SUFFIXES})
    rates = {}
    for name, reader in (("calamine", calamine_read), ("open_sheets", project_read)):
        figure = read_all(reader, paths)
        seconds = figure["seconds"] or 1e-9
        rates[name] = figure | {"rows_per_s": figure["rows"] / seconds, "cells_per_s": figure["cells"] / seconds}
    return rates


# ----------------------------------------------------------------------------------------------- memory

def memory_growth(base: str, sizes: list[int], folder: Path) -> dict:
    """Peak RSS of one load per workbook size, each in a fresh subprocess (bench/bench_load_memory.py)."""
    from bench import bench_load_memory

    folder.mkdir(parents=True, exist_ok=True)
    runs = bench_load_memory.measure_sizes(base, sizes, ["shared"], folder)
    keep = ("rows", "file_mb", "status", "rows_read", "rows_loaded", "task_rows", "peak_mb", "hwm_mb", "seconds",
            "read_seconds", "copy_seconds")
    runs = [{k: r.get(k) for k in keep} for r in runs]
    growth = max(r["peak_mb"] for r in runs) - min(r["peak_mb"] for r in runs) if len(runs) > 1 else None
    return {"runs": runs, "growth_mb": growth}


# ----------------------------------------------------------------------------------------------- dbt

def dbt_build(url: str, target: Path, select: str | None = None) -> dict:
    """``dbt build`` (all, or ``--select``) through the project's runner, with one private target folder."""
    from warehouse.dbt import run_dbt

    args = ["build", "--quiet", "--target-path", str(target)]
    if select:
        args += ["--select", select]
    ok, seconds = timed(run_dbt, args, url)
    results = target / "run_results.json"
    nodes = len(json.loads(results.read_text())["results"]) if results.is_file() else None
    return {"ok": ok, "seconds": seconds, "select": select, "nodes": nodes}


def dbt_target(work: Path) -> Path:
    """A target folder seeded with the project's partial-parse cache (as warehouse.dbt does), so that parsing
    is as fast as in the DAGs and the project's own target/ is left alone."""
    target = work / "dbt-target"
    target.mkdir(exist_ok=True)
    cache = ROOT / "dbt_project" / "target" / "partial_parse.msgpack"
    if cache.is_file():
        shutil.copy2(cache, target / cache.name)
    return target


TASK_HEADER = re.compile(r"^\d+(\.\d+)?\s*\((\d+)\s*б\)$")  # «5.1 (1б)»: the task and its maximum


def changed_workbook(source: Path, target: Path) -> Path:
    """A copy of a ВПР individual-results workbook in which one pupil's scores of two tasks of the same maximum
    are swapped: a corrected file (other checksum, new name) whose rows stay valid (same primary score and mark)."""
    from openpyxl import load_workbook

    book = load_workbook(source)
    for sheet in book.worksheets:
        header = next((row for row in sheet.iter_rows() if any(c.value == "Первичный балл" for c in row)), None)
        if header is None:
            continue
        maximum = {c.column - 1: TASK_HEADER.match(c.value.strip()).group(2) for c in header
                   if isinstance(c.value, str) and TASK_HEADER.match(c.value.strip())}
        for row in sheet.iter_rows(min_row=header[0].row + 1):
            scores = {i: row[i] for i in maximum if i < len(row) and isinstance(row[i].value, int | float)}
            pair = next(((a, b) for a in scores for b in scores
                         if maximum[a] == maximum[b] and scores[a].value > scores[b].value), None)
            if pair:
                first, second = scores[pair[0]], scores[pair[1]]
                first.value, second.value = second.value, first.value
                book.save(target)
                return target
    raise ValueError(f"{source.name}: no two task scores to swap")


def incremental(conn: psycopg.Connection, url: str, landing: Path, work: Path, target: Path) -> dict:
    """Load one changed ВПР workbook (from its own folder, the landing stays as it is), then build downstream."""
    from ingestion.feeds.vpr_individual import VprIndividualLoader
    from ingestion.run import files_for, load_feed

    source = next(p for p in files_for(VprIndividualLoader, landing) if p.suffix.lower() == ".xlsx")
    extra = work / "extra"
    folder = extra / (VprIndividualLoader.folder or VprIndividualLoader.feed)
    folder.mkdir(parents=True, exist_ok=True)
    changed = changed_workbook(source, folder / f"{source.stem}_исправленный.xlsx")
    results, load_seconds = timed(load_feed, conn, VprIndividualLoader, extra, KEY)
    build = dbt_build(url, target, INCREMENTAL_SOURCE)
    return {"file": changed.name, "load_status": [r.status for r in results], "load_s": load_seconds} | build


# ----------------------------------------------------------------------------------------------- validation

def validate(stage: str, qc_run_id: int | None) -> tuple[int, float]:
    from warehouse.airflow_common import validate_stage

    return timed(validate_stage, stage, qc_run_id, None)


def report(qc_run_id: int) -> float:
    from warehouse.airflow_common import build_report

    _, seconds = timed(build_report, qc_run_id)
    return seconds


def build_and_validate(url: str, target: Path, with_dbt: bool, with_validation: bool) -> dict:
    """The build DAG's and the validation DAG's work, in their order: feed checks, dbt build, mart checks, report."""
    figures: dict = {}
    with stages_use(url), contextlib.redirect_stdout(sys.stderr):  # the checks' own lines stay off the table
        qc_run = None
        if with_validation:
            qc_run, figures["feed_checks_s"] = validate("feeds", None)
        if with_dbt:
            figures["dbt_full"] = dbt_build(url, target)
        if with_validation and with_dbt:
            _, figures["mart_checks_s"] = validate("marts", qc_run)
            figures["report_s"] = report(qc_run)
    return figures


def whole_chain(base: str, landing: Path, work: Path) -> dict:
    """Files to validated marts end to end in a fresh database, as one wall time."""
    from ingestion.run import connect, load_all

    chain = work / "chain"  # a landing view of its own: its archive is filled afresh
    chain.mkdir()
    landing = landing_view(landing, chain)
    with scratch_database(base) as url:
        started = time.perf_counter()
        with connect(url) as conn:
            load_all(conn, landing, key=KEY)
        loaded = time.perf_counter()
        stages = build_and_validate(url, dbt_target(work), True, True)
        return {"load_s": loaded - started, "wall_s": time.perf_counter() - started,
                "dbt_ok": stages["dbt_full"]["ok"]}


def main_job() -> dict:
    """``bash scripts/main.sh``: its wall time and the «Готово за N с» it prints."""
    run, wall = timed(subprocess.run, ["bash", "scripts/main.sh"], cwd=ROOT, capture_output=True, text=True)
    said = re.search(r"Готово за (\d+(?:[.,]\d+)?) с", run.stdout + run.stderr)
    return {"ok": run.returncode == 0, "wall_s": wall,
            "reported_s": float(said.group(1).replace(",", ".")) if said else None}


# ----------------------------------------------------------------------------------------------- the verdicts

def target_rows(result: dict) -> list[dict]:
    """Each target of issue 11 with the measured value: met, missed, or not measured in this run."""
    rows = []

    def add(name: str, target: str, value: float | None, met: bool | None, shown: str) -> None:
        rows.append({"target": name, "limit": target, "value": value, "shown": shown,
                     "verdict": "not measured" if met is None else "met" if met else "missed"})

    for feed in result.get("feeds", []):
        if feed["files"] and feed["ratio"] is not None:
            add(f"loader {feed['feed']} / bare", f"≤ {TARGETS['loader_ratio']}×", feed["ratio"],
                feed["ratio"] <= TARGETS["loader_ratio"], f"{feed['ratio']:.1f}×")
    rate = result.get("parse_rates", {}).get("open_sheets")
    if rate:
        add("workbook reading (open_sheets)", f"≥ {TARGETS['workbook_rows_per_s']:,} rows/s", rate["rows_per_s"],
            rate["rows_per_s"] >= TARGETS["workbook_rows_per_s"], f"{rate['rows_per_s']:,.0f} rows/s")
    growth = (result.get("memory") or {}).get("growth_mb")
    if growth is not None:
        add("load peak memory growth", f"≤ +{TARGETS['memory_growth_mb']} MB", growth,
            growth <= TARGETS["memory_growth_mb"], f"{growth:+.0f} MB")
    full, inc = result.get("dbt_full"), result.get("dbt_incremental")
    if full and inc and full["ok"] and inc["ok"]:
        share = inc["seconds"] / full["seconds"]
        add("incremental build / full build", f"≤ {TARGETS['incremental_share']:.0%}", share,
            share <= TARGETS["incremental_share"], f"{share:.0%}")
    chain = result.get("chain")
    if chain:
        schools = result.get("schools") or 0
        wall = chain.get("wall_s") or chain["stages_s"]
        add(f"files → validated marts ({schools:,} schools)", f"≤ {TARGETS['chain_1000_s']} s at 1,000 schools",
            wall, wall <= TARGETS["chain_1000_s"] if schools >= 1000 else None, f"{wall:.0f} s")
    job = result.get("main_job")
    if job:
        seconds = job["reported_s"] or job["wall_s"]
        add("main job", f"≤ {TARGETS['main_job_s']} s (160 schools)", seconds,
            job["ok"] and seconds <= TARGETS["main_job_s"], f"{seconds:.0f} s" + ("" if job["ok"] else " (failed)"))
    return rows


def _num(value, fmt: str = ",.1f") -> str:
    return "—" if value is None else format(value, fmt)


def _nodes(build: dict | None) -> str:
    return f"{build['nodes']} nodes" if build and build.get("nodes") else "nodes: —"


def markdown(result: dict) -> str:
    """Every figure of the run as Markdown tables."""
    lines = [f"# Benchmark {result['started_at']} — {result['landing_desc']}", ""]
    if result.get("generation_s") is not None:
        lines += [f"Generation: {result['generation_s']:.1f} s.", ""]
    feeds = result.get("feeds", [])
    if feeds:
        lines += ["| feed | files | rows read | child rows | load s | rows/s | read s | COPY rows | COPY s | "
                  "bare s | load / bare |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for f in feeds:
            lines.append(f"| {f['feed']} | {f['files']:,} | {f['rows_read']:,} | {f['child_rows']:,} | "
                         f"{f['load_s']:.2f} | {_num(f['rows_per_s'], ',.0f')} | {f['read_s']:.2f} | "
                         f"{f['copy_rows']:,} | {f['copy_s']:.2f} | {f['bare_s']:.2f} | {_num(f['ratio'])}× |")
        load, bare = sum(f["load_s"] for f in feeds), sum(f["bare_s"] for f in feeds)
        lines += [f"| **all feeds** | {sum(f['files'] for f in feeds):,} | {sum(f['rows_read'] for f in feeds):,} | "
                  f"{sum(f['child_rows'] for f in feeds):,} | {load:.1f} | | | | | {bare:.1f} | "
                  f"{_num(load / bare if bare else None)}× |", ""]
    rates = result.get("parse_rates")
    if rates:
        lines += ["| workbook reader | files | rows | cells | s | rows/s | cells/s |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for name, r in rates.items():
            lines.append(f"| {name} | {r['files']:,} | {r['rows']:,} | {r['cells']:,} | {r['seconds']:.1f} | "
                         f"{r['rows_per_s']:,.0f} | {r['cells_per_s']:,.0f} |")
        lines.append("")
    memory = result.get("memory")
    if memory:
        lines += ["| load of one workbook, rows | file MB | status | peak RSS MB | load s | bare read s + COPY s |",
                  "|---:|---:|---|---:|---:|---:|"]
        for r in memory["runs"]:
            lines.append(f"| {r['rows']:,} | {r['file_mb']:.1f} | {r['status']} | {r['peak_mb']:.0f} | "
                         f"{r['seconds']:.1f} | {r['read_seconds']:.1f} + {r['copy_seconds']:.1f} |")
        lines.append("")
    stages = [("feed checks (GX)", result.get("feed_checks_s")),
              (f"dbt build, full ({_nodes(result.get('dbt_full'))})", (result.get("dbt_full") or {}).get("seconds")),
              ("mart checks (GX)", result.get("mart_checks_s")), ("report", result.get("report_s")),
              ("one changed ВПР file: load", (result.get("dbt_incremental") or {}).get("load_s")),
              (f"dbt build --select {INCREMENTAL_SOURCE} ({_nodes(result.get('dbt_incremental'))})",
               (result.get("dbt_incremental") or {}).get("seconds"))]
    if result.get("chain"):
        stages += [("files → validated marts: sum of the stages", result["chain"]["stages_s"]),
                   ("files → validated marts: end to end (--chain)", result["chain"].get("wall_s"))]
    if result.get("main_job"):
        stages.append(("main job (scripts/main.sh), «Готово за»", result["main_job"]["reported_s"]))
    stages = [(name, s) for name, s in stages if s is not None]
    if stages:
        lines += ["| stage | s |", "|---|---:|"] + [f"| {name} | {s:.1f} |" for name, s in stages] + [""]
    for name in ("dbt_full", "dbt_incremental"):
        if result.get(name) and not result[name]["ok"]:
            lines += [f"(!) {name}: dbt build failed", ""]
    lines += ["| target | limit | measured | verdict |", "|---|---|---:|---|"]
    lines += [f"| {t['target']} | {t['limit']} | {t['shown']} | {t['verdict']} |" for t in result["targets"]]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------- the run

def chain_sum(result: dict) -> float:
    """Files to validated marts as the sum of the stages measured above (loads, checks, full build, report)."""
    parts = [sum(f["load_s"] for f in result.get("feeds", [])), result.get("feed_checks_s"),
             (result.get("dbt_full") or {}).get("seconds"), result.get("mart_checks_s"), result.get("report_s")]
    return sum(p for p in parts if p)


def run(args: argparse.Namespace, work: Path) -> dict:
    from ingestion.run import connect, ensure_schema
    from warehouse.config import warehouse_url

    result: dict = {"started_at": datetime.now().isoformat(timespec="seconds"), "args": {
        k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}
    if args.landing:
        landing = landing_view(args.landing, work)
        result["landing_desc"] = f"landing {args.landing}"
    else:
        landing = work / "landing"
        print(f"generating {args.schools} schools (seed {args.seed})…", file=sys.stderr, flush=True)
        result["generation_s"] = generate(landing, args.schools, args.seed)
        result["landing_desc"] = f"demo region, {args.schools} schools, seed {args.seed}"
    base = warehouse_url()
    with scratch_database(base, args.keep) as url, connect(url) as conn:
        ensure_schema(conn)
        print("loads and their bare pipelines:", file=sys.stderr, flush=True)
        result["feeds"] = load_feeds(conn, landing, args.feed)
        result["schools"] = table_rows(conn, "school_registry")
        print("workbook parse rates…", file=sys.stderr, flush=True)
        result["parse_rates"] = parse_rates(landing)
        if args.memory_rows:
            print("load memory per workbook size…", file=sys.stderr, flush=True)
            result["memory"] = memory_growth(base, args.memory_rows, BENCH_DIR / "workbooks")
        target = dbt_target(work)
        print("feed checks, dbt build, mart checks, report…", file=sys.stderr, flush=True)
        result |= build_and_validate(url, target, not args.no_dbt, not args.no_validation)
        if not args.no_dbt and result["dbt_full"]["ok"]:
            print("incremental build…", file=sys.stderr, flush=True)
            result["dbt_incremental"] = incremental(conn, url, landing, work, target)
    if args.chain:
        print("the whole chain in a fresh database…", file=sys.stderr, flush=True)
        result["chain"] = whole_chain(base, landing, work)
    elif not args.no_dbt and not args.no_validation:
        result["chain"] = {}
    if "chain" in result:
        result["chain"]["stages_s"] = chain_sum(result)
    if args.main_job:
        print("main job (scripts/main.sh)…", file=sys.stderr, flush=True)
        result["main_job"] = main_job()
    result["targets"] = target_rows(result)
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--landing", type=Path, help="an existing landing folder (read, never written)")
    source.add_argument("--schools", type=int, default=160, help="schools of the generated region (default 160)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--feed", nargs="+", help="only these feeds (the registry is needed by the others)")
    parser.add_argument("--memory-rows", type=int, nargs="*", default=[10_000, 100_000],
                        help="workbook sizes for the peak-memory loads (none: skip); default 10000 100000")
    parser.add_argument("--no-dbt", action="store_true", help="skip dbt build (full and incremental)")
    parser.add_argument("--no-validation", action="store_true", help="skip the GX checks and the report")
    parser.add_argument("--chain", action="store_true", help="also files → validated marts end to end")
    parser.add_argument("--main-job", action="store_true", help="also bash scripts/main.sh (minutes)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database and the work folder")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--md-out", type=Path)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    json_out = args.json_out or BENCH_DIR / f"{stamp}.json"
    md_out = args.md_out or json_out.with_suffix(".md")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"run-{stamp}-", dir=BENCH_DIR))
    # the checks' Data Docs, GX state and the report go to the work folder, never over the user's .local ones
    os.environ.setdefault("EDU_REPORT_DIR", str(work / "report"))
    os.environ.setdefault("EDU_GX_DIR", str(work / "gx"))
    os.environ.setdefault("TQDM_DISABLE", "1")  # GX's progress bars
    try:
        result = run(args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    for path in (json_out, md_out):
        path.parent.mkdir(parents=True, exist_ok=True)
    json_out.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    table = markdown(result)
    md_out.write_text(table, encoding="utf-8")
    print(table)
    print(f"JSON: {json_out}\nMarkdown: {md_out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
