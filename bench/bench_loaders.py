"""Loader throughput against a plain COPY of the same rows into the same server, in one run.

    python bench/bench_loaders.py --schools 160          # generates a region into a temp folder
    python bench/bench_loaders.py --landing data/landing # or uses an existing landing folder

Every feed is loaded into a scratch database; for the feed with the most rows, its rows (the main
table and its child tables) are exported and COPYed again into empty tables of the same structure.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingestion.feeds import LOADERS  # noqa: E402
from ingestion.run import ensure_schema, files_for  # noqa: E402
from warehouse.config import warehouse_url  # noqa: E402

KEY = b"benchmark-pseudonymisation-key-000"


def plain_copy(conn: psycopg.Connection, tables: list[str]) -> tuple[int, float]:
    """Export the tables' rows, then time COPY of the same bytes into empty look-alike tables."""
    payloads = {}
    for table in tables:
        buffer = io.BytesIO()
        with conn.cursor().copy(sql.SQL("copy raw.{} to stdout").format(sql.Identifier(table))) as copy:
            for block in copy:
                buffer.write(block)
        payloads[table] = buffer.getvalue()
        conn.execute(sql.SQL("create table raw.{} (like raw.{} including defaults)").format(
            sql.Identifier(f"bench_{table}"), sql.Identifier(table)))
    rows = 0
    started = time.perf_counter()
    with conn.transaction():
        for table, payload in payloads.items():
            with conn.cursor().copy(sql.SQL("copy raw.{} from stdin").format(
                    sql.Identifier(f"bench_{table}"))) as copy:
                copy.write(payload)
            rows += payload.count(b"\n")
    return rows, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--landing", type=Path)
    parser.add_argument("--schools", type=int, default=160)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    landing = args.landing
    if landing is None:
        from ingestion.demo import generate_region

        landing = Path(tempfile.mkdtemp(prefix="bench_landing_"))
        started = time.perf_counter()
        generate_region(landing, schools=args.schools, seed=args.seed)
        print(f"generated {args.schools} schools in {time.perf_counter() - started:.1f} s into {landing}")

    base = warehouse_url()
    name = f"edu_bench_{uuid.uuid4().hex[:8]}"
    admin_url = psycopg.conninfo.make_conninfo(base, dbname="postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        with psycopg.connect(psycopg.conninfo.make_conninfo(base, dbname=name), autocommit=True) as conn:
            ensure_schema(conn)
            timings = []
            for loader_class in LOADERS:
                loader = loader_class(conn, KEY)
                started = time.perf_counter()
                results = [loader.load(p) for p in files_for(loader_class, landing)]
                elapsed = time.perf_counter() - started
                read = sum(r.rows_read for r in results)
                child_rows = sum(conn.execute(sql.SQL("select count(*) from raw.{}").format(
                    sql.Identifier(t))).fetchone()[0] for t in loader_class.child_tables())
                timings.append((loader_class, len(results), read, child_rows, elapsed))
            print(f"{'feed':<26}{'files':>6}{'rows':>10}{'child rows':>12}{'seconds':>9}{'rows/s':>10}")
            for cls, files, read, child, elapsed in timings:
                print(f"{cls.feed:<26}{files:>6}{read:>10}{child:>12}{elapsed:>9.2f}{read / max(elapsed, 1e-9):>10.0f}")
            cls, files, read, child, elapsed = max(timings, key=lambda t: t[2] + t[3])
            rows, copy_seconds = plain_copy(conn, [cls.table, *cls.child_tables()])
            print(f"\nlargest feed: {cls.feed}: {read + child} rows (main + child tables) loaded in {elapsed:.2f} s "
                  f"= {(read + child) / elapsed:.0f} rows/s from the files")
            print(f"plain COPY of the same {rows} rows into the same server: {copy_seconds:.2f} s "
                  f"= {rows / copy_seconds:.0f} rows/s; loader/COPY time ratio {elapsed / copy_seconds:.1f}")
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
