"""Loading a landing folder: schema, discovery of files per feed, the loads and their summary.

    python -m ingestion.run [--landing data/landing] [--feed vpr_individual ...]
"""

from __future__ import annotations

import argparse
import logging
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import psycopg

from ingestion.core import ledger
from ingestion.core.ledger import REASONS
from ingestion.core.loader import FeedLoader, LoadResult
from ingestion.feeds import BY_FEED, LOADERS
from warehouse.config import pseudonym_key, warehouse_url
from warehouse.paths import LANDING_DIR

log = logging.getLogger(__name__)
DATA_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".csv", ".txt", ".tsv"}


def connect(url: str | None = None) -> psycopg.Connection:
    return psycopg.connect(url or warehouse_url(), autocommit=True)


def ensure_schema(conn: psycopg.Connection) -> None:
    ledger.ensure_ledger(conn)
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s, 0)", (ledger.ADVISORY_NAMESPACE,))
        for loader in LOADERS:
            for statement in loader.ddl():
                conn.execute(statement)


def files_for(loader: type[FeedLoader], landing: Path) -> list[Path]:
    """The feed's files in arrival order, so that a corrected file loaded later replaces the earlier one."""
    folder = landing / (loader.folder or loader.feed)
    if not folder.is_dir():
        return []
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in DATA_SUFFIXES
             and not p.name.startswith(("~$", "."))]
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


def load_feed(conn: psycopg.Connection, loader: type[FeedLoader], landing: Path,
              key: bytes | None = None) -> list[LoadResult]:
    # Originals are kept beside the landing folder: data/landing -> data/archive.
    instance = loader(conn, key or pseudonym_key(), archive_dir=landing.parent / "archive")
    results = []
    for path in files_for(loader, landing):
        result = instance.load(path)
        log.info("%s: %s — %s, прочитано %d, загружено %d, отложено %d", loader.feed, path.name, result.status,
                 result.rows_read, result.rows_loaded, result.rows_quarantined)
        results.append(result)
    return results


def load_all(conn: psycopg.Connection, landing: Path = LANDING_DIR, feeds: Iterable[str] | None = None,
             key: bytes | None = None) -> list[LoadResult]:
    ensure_schema(conn)
    chosen = [BY_FEED[f] for f in feeds] if feeds else list(LOADERS)
    results: list[LoadResult] = []
    for loader in chosen:
        results += load_feed(conn, loader, landing, key)
    return results


# A file refused, and one whose rows were all quarantined: both count as not loaded.
FAILED = ("failed", "rejected")


def summary(results: Iterable[LoadResult]) -> str:
    """A short Russian summary: files and rows per feed, quarantined rows and why."""
    results = list(results)
    lines = ["Загрузка: файлы и строки по потокам данных",
             f"{'поток':<26}{'файлов':>7}{'пропущ.':>8}{'ошибок':>7}{'прочитано':>11}{'загружено':>11}{'отложено':>10}"]
    reasons: Counter = Counter()
    for feed in dict.fromkeys(r.feed for r in results):
        mine = [r for r in results if r.feed == feed]
        lines.append(
            f"{feed:<26}{len(mine):>7}{sum(r.status == 'skipped' for r in mine):>8}"
            f"{sum(r.status in FAILED for r in mine):>7}{sum(r.rows_read for r in mine):>11}"
            f"{sum(r.rows_loaded for r in mine):>11}{sum(r.rows_quarantined for r in mine):>10}")
        for r in mine:
            reasons.update(r.reasons)
    total = (sum(r.rows_read for r in results), sum(r.rows_loaded for r in results),
             sum(r.rows_quarantined for r in results))
    lines.append(f"{'итого':<26}{len(results):>7}{'':>8}{'':>7}{total[0]:>11}{total[1]:>11}{total[2]:>10}")
    if reasons:
        lines.append("Отложенные строки по причинам:")
        lines += [f"  {code}: {n} — {REASONS[code]}" for code, n in reasons.most_common()]
    failed = [r for r in results if r.status in FAILED]
    if failed:
        lines.append("Файлы, которые не удалось загрузить:")
        lines += [f"  {r.message}" for r in failed]
    return "\n".join(lines)


LEDGER_SUMMARY = """
select l.feed, count(distinct l.file_id) as files, sum(l.rows_read) as rows_read,
       sum(l.rows_loaded) as rows_loaded, sum(l.rows_quarantined) as rows_quarantined
from raw.load_ledger l
where l.status = 'loaded'
group by l.feed
order by l.feed
"""


def ledger_summary(conn: psycopg.Connection) -> str:
    """The warehouse as it stands: current loads per feed, quarantine reasons, failed files."""
    lines = ["Хранилище: загруженные файлы и строки по потокам данных",
             f"{'поток':<26}{'файлов':>7}{'прочитано':>11}{'загружено':>11}{'отложено':>10}"]
    rows = conn.execute(LEDGER_SUMMARY).fetchall()
    for feed, files, read, loaded, quarantined in rows:
        lines.append(f"{feed:<26}{files:>7}{read:>11}{loaded:>11}{quarantined:>10}")
    lines.append(f"{'итого':<26}{sum(r[1] for r in rows):>7}{sum(r[2] for r in rows):>11}"
                 f"{sum(r[3] for r in rows):>11}{sum(r[4] for r in rows):>10}")
    reasons = conn.execute(
        """select q.reason_code, r.description, count(*) from raw.quarantine q
           join raw.load_ledger l using (load_id) join raw.quarantine_reasons r using (reason_code)
           where l.status = 'loaded' group by 1, 2 order by 3 desc""").fetchall()
    if reasons:
        lines.append("Отложенные строки по причинам:")
        lines += [f"  {code}: {n} — {text}" for code, text, n in reasons]
    failed = conn.execute(
        """select l.error_message from raw.load_ledger l where l.status in ('failed', 'interrupted', 'rejected')
           and not exists (select 1 from raw.load_ledger n where n.file_id = l.file_id and n.status = 'loaded')
           order by l.load_id""").fetchall()
    if failed:
        lines.append("Файлы, которые не удалось загрузить:")
        lines += [f"  {m}" for (m,) in failed]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description="Загрузка файлов из папки приёма в хранилище")
    parser.add_argument("--landing", type=Path, default=LANDING_DIR)
    parser.add_argument("--feed", action="append", choices=sorted(BY_FEED))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with connect() as conn:
        results = load_all(conn, args.landing, args.feed)
    print(summary(results))
    return 1 if any(r.status in FAILED for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
