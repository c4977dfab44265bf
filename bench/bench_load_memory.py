"""Peak memory and speed of a whole load of a workbook, against its number of rows.

    python bench/bench_load_memory.py                      # 10,000 and 200,000 rows, Excel's shared strings
    python bench/bench_load_memory.py --strings inline shared --rows 10000 50000
    python bench/bench_load_memory.py --keep /tmp/wb       # keep (and reuse) the generated workbooks

The workbooks are bench_memory.py's «Индивидуальные результаты» (written by its generator). Each is loaded
through ``VprIndividualLoader`` into a scratch database of the warehouse server (the embedded one unless
``EDU_WAREHOUSE_URL`` is set), copied from a template in which a registry of every school of the
workbook is loaded, so that each school code resolves. Each load runs in a fresh subprocess, which
reports its peak RSS (``ru_maxrss`` and VmHWM), wall and CPU time (of the loader only: the server's work
is in the wall time). A second fresh subprocess then does the bare work of the same run: it reads the
file with the same reader and COPYs the rows the load produced (main and child table, exported
beforehand) into empty tables of the same structure; the load's wall time is reported against it.
The target (issue 7): the 200,000-row peak stays within the 10,000-row peak plus a small constant
(at most +80 MB).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bench_memory  # noqa: E402
from bench.run_bench import KEY, plain_copy  # noqa: E402
from ingestion.feeds.vpr_individual import VprIndividualLoader  # noqa: E402

GROWTH_TARGET_MB = 80


def _url(base: str, database: str) -> str:
    return psycopg.conninfo.make_conninfo(base, dbname=database)


def registry_schools(rows: int) -> list[tuple]:
    """Every school of a ``rows``-row workbook, as ``tests.builders.SCHOOLS`` rows (logins as the generator's)."""
    count = -(-rows // bench_memory.PUPILS_PER_SCHOOL)
    return [(f"24B{school:05d}", f"edu24{school:04d}", f"24{school:04d}", f"МБОУ СШ № {school}",
             f"Район {school % 40}") for school in range(count)]


def template_database(base: str, rows: int, folder: Path) -> str:
    """A scratch database with the raw schema and a registry of the schools of the largest workbook."""
    from ingestion.feeds.registry import ReorganisationLoader, SchoolRegistryLoader
    from ingestion.run import ensure_schema
    from tests.builders import registry_file

    name = f"edu_bench_tpl_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_url(base, "postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    path = registry_file(folder, registry_schools(rows))
    with psycopg.connect(_url(base, name), autocommit=True) as conn:
        ensure_schema(conn)
        for loader in (ReorganisationLoader, SchoolRegistryLoader):
            result = loader(conn, KEY).load(path)
            if result.status != "loaded":
                raise SystemExit(f"registry not loaded: {result.message}")
    return name


def load(path: Path, url: str) -> dict:
    """Load the workbook (in this process) and report the outcome, times and the peak RSS."""
    with psycopg.connect(url, autocommit=True) as conn:
        started, cpu = time.perf_counter(), time.process_time()
        result = VprIndividualLoader(conn, KEY).load(path)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        tasks = conn.execute("select count(*) from raw.vpr_task_scores").fetchone()[0]
    return {"status": result.status, "message": result.message, "rows_read": result.rows_read,
            "rows_loaded": result.rows_loaded, "rows_quarantined": result.rows_quarantined, "task_rows": tasks,
            "seconds": seconds, "cpu": cpu, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "hwm_mb": bench_memory.high_water_mb()}


def bare(path: Path, url: str) -> dict:
    """The bare work of the same run: read the file with the same reader, COPY the rows the load produced."""
    read = bench_memory.read(path, "streaming")
    with psycopg.connect(url, autocommit=True) as conn:
        rows, copy_seconds = plain_copy(conn, [VprIndividualLoader.table, *VprIndividualLoader.child_tables()])
    return {"read_seconds": read["seconds"], "copy_rows": rows, "copy_seconds": copy_seconds}


def child(mode: str, path: Path, url: str) -> dict:
    out = subprocess.run([sys.executable, __file__, f"--{mode}", str(path), "--url", url],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def baseline(url: str) -> float:
    """Peak RSS of a subprocess that imports the loader and connects, and loads nothing."""
    code = (f"import resource, sys; sys.path.insert(0, {str(ROOT)!r}); import psycopg; "
            "import ingestion.feeds.vpr_individual; "
            f"psycopg.connect({url!r}).close(); print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    return float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)


def workbook(folder: Path, rows: int, strings: str) -> Path:
    """bench_memory's «Индивидуальные результаты» workbook of ``rows`` rows (written once, then reused)."""
    inline = folder / f"individual_{rows}.xlsx"
    shared = folder / f"individual_{rows}_shared.xlsx"
    if not shared.exists():  # bench_memory's generator, in a subprocess (this one stays small)
        subprocess.run([sys.executable, bench_memory.__file__, "--write", str(rows), str(inline), str(shared)],
                       check=True)
    return shared if strings == "shared" else inline


def measure_sizes(base: str, sizes: list[int], strings: list[str], folder: Path) -> list[dict]:
    """One fresh-subprocess load and one bare run per (size, strings), each in its own scratch database."""
    template = template_database(base, max(sizes), folder / "registry_landing")
    results = []
    try:
        for rows in sizes:
            for kind in strings:
                book = workbook(folder, rows, kind)
                name = f"edu_bench_{uuid.uuid4().hex[:8]}"
                with psycopg.connect(_url(base, "postgres"), autocommit=True) as admin:
                    admin.execute(sql.SQL("create database {} template {}").format(
                        sql.Identifier(name), sql.Identifier(template)))
                try:
                    loaded = child("load", book, _url(base, name))
                    work = child("bare", book, _url(base, name))
                finally:
                    with psycopg.connect(_url(base, "postgres"), autocommit=True) as admin:
                        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
                results.append(loaded | work | {"rows": rows, "strings": kind,
                                                "file_mb": book.stat().st_size / 2**20})
    finally:
        with psycopg.connect(_url(base, "postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(template)))
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 200_000])
    parser.add_argument("--strings", nargs="+", choices=["inline", "shared"], default=["shared"],
                        help="the workbook as openpyxl writes it (inline) or as Excel saves it (shared)")
    parser.add_argument("--keep", type=Path, help="folder for the workbooks (reused when present)")
    parser.add_argument("--load", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--bare", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        print(json.dumps(load(args.load, args.url)))
        return 0
    if args.bare:
        print(json.dumps(bare(args.bare, args.url)))
        return 0

    from warehouse.config import warehouse_url

    base = warehouse_url()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench_load_memory_"))
    try:
        print(f"Interpreter and loader imported, connected, nothing loaded: {baseline(_url(base, 'postgres')):.0f} "
              "MB peak RSS\n")
        results = measure_sizes(base, args.rows, args.strings, folder)
        print("| rows | strings | file, MB | status | peak RSS (ru_maxrss), MB | VmHWM, MB | wall s | CPU s | "
              "rows/s (wall) | bare: read s + COPY s | load / bare |")
        print("|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in results:
            bare_seconds = r["read_seconds"] + r["copy_seconds"]
            status = f"{r['status']} {r['rows_loaded']:,}/{r['rows_read']:,}"
            print(f"| {r['rows']:,} | {r['strings']} | {r['file_mb']:.1f} | {status} | {r['peak_mb']:.0f} | "
                  f"{r['hwm_mb'] or 0:.0f} | {r['seconds']:.1f} | {r['cpu']:.1f} | "
                  f"{r['rows_read'] / r['seconds']:,.0f} | {r['read_seconds']:.1f} + {r['copy_seconds']:.1f} | "
                  f"{r['seconds'] / bare_seconds:.1f} |")
            if r["rows_loaded"] != r["rows"]:
                print(f"  (!) {r['rows_loaded']} rows loaded of {r['rows']}: {r['message']}")
        small, large = min(args.rows), max(args.rows)
        if small != large:
            peaks = {(r["rows"], r["strings"]): r["peak_mb"] for r in results}
            for strings in args.strings:
                growth = peaks[(large, strings)] - peaks[(small, strings)]
                print(f"\n{strings} strings: load peak growth from {small:,} to {large:,} rows: {growth:+.0f} MB "
                      f"(target: at most +{GROWTH_TARGET_MB} MB)")
    finally:
        if not args.keep:
            for path in sorted(folder.rglob("*"), reverse=True):
                path.rmdir() if path.is_dir() else path.unlink()
            folder.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
