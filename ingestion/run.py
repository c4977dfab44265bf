"""Loading a landing folder: schema, discovery of files per feed, the loads and their summary.

    python -m ingestion.run [--landing data/landing] [--feed vpr_individual ...]
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import psycopg
from psycopg import sql

from ingestion.core import current_views, grants, ledger, parallel, replacements, superseded
from ingestion.core import landing as landing_folder
from ingestion.core.ledger import REASONS
from ingestion.core.loader import FeedLoader, LoadResult
from ingestion.feeds import BY_FEED, LOADERS
from warehouse.config import pseudonym_key, warehouse_url
from warehouse.orchestration import CONN_LOADER
from warehouse.paths import LANDING_DIR

log = logging.getLogger(__name__)
DATA_SUFFIXES = landing_folder.DATA_SUFFIXES
# Statuses of files that need someone's attention: refused (nobody reads it), failed, or every row quarantined.
NOT_LOADED = ("failed", "refused", "rejected")
FAILED = ("failed", "rejected")  # read, but nothing of it loaded


def connect(url: str | None = None) -> psycopg.Connection:
    return psycopg.connect(url or warehouse_url(), autocommit=True)


def ensure_schema(conn: psycopg.Connection) -> None:
    ledger.ensure_ledger(conn)
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s, 0)", (ledger.ADVISORY_NAMESPACE,))
        for loader in LOADERS:
            for statement in loader.ddl():
                conn.execute(statement)
        superseded.ensure_tables(conn)
        current_views.ensure_views(conn)
        grants.grant_stage_access(conn)  # the next stages' access, where the project's roles exist


def feed_folders() -> set[str]:
    return {loader.folder or loader.feed for loader in LOADERS}


def files_for(loader: type[FeedLoader], landing: Path) -> list[Path]:
    """The feed's files in arrival order, so that a corrected file loaded later replaces the earlier one."""
    return landing_folder.feed_files(landing / (loader.folder or loader.feed))


def record_unread(conn: psycopg.Connection, landing: Path) -> list[LoadResult]:
    """Files no feed reads, each refused once in the ledger (by checksum and name), never silently left."""
    results = []
    for unread in landing_folder.scan(landing, feed_folders()).unread:
        with conn.transaction():
            conn.execute("select pg_advisory_xact_lock(%s, hashtext(%s))",
                         (ledger.ADVISORY_NAMESPACE, landing_folder.UNREAD_FEED))
            load_id, new = ledger.record_refused(conn, unread.feed, unread.path, unread.message)
        if new:
            log.warning(unread.message)
        results.append(LoadResult(unread.feed, landing_folder.shown_name(unread.path.name), "refused",
                                  load_id=load_id, message=unread.message))
    return results


def ignored_files(landing: Path) -> list[Path]:
    """Files and folders skipped by design (``_truth``, hidden and temporary ones), for the summary."""
    return landing_folder.scan(landing, feed_folders()).ignored


def load_feed(conn: psycopg.Connection, loader: type[FeedLoader], landing: Path,
              key: bytes | None = None, workers: int | None = None) -> list[LoadResult]:
    """The feed's files in arrival order, typed on every core (ingestion.core.parallel; ``EDU_LOAD_WORKERS``)."""
    # Originals are kept beside the landing folder: data/landing -> data/archive.
    instance = loader(conn, key or pseudonym_key(), archive_dir=landing.parent / "archive")
    results = parallel.load_files(instance, files_for(loader, landing), workers=workers)
    for result in results:
        log.info("%s: %s — %s, прочитано %d, загружено %d, отложено %d", loader.feed, result.file, result.status,
                 result.rows_read, result.rows_loaded, result.rows_quarantined)
    return results


def year_column(loader: type[FeedLoader]) -> str | None:
    """The partition column holding the school year, or None for a snapshot (the registry)."""
    return next((c for c in loader.partition if c.endswith("year")), None)


def reload_school_year(conn: psycopg.Connection, loader: type[FeedLoader], landing: Path, school_year: int,
                       key: bytes | None = None) -> list[LoadResult]:
    """Load again, from the archived originals, the files whose loads hold the feed's rows of one school year.

    The reviewed way to redo a year (after a loader fix or a change of the registry): each new load replaces
    the earlier one's partitions, so reloading twice leaves the same rows, and a later scheduled run skips the
    files by checksum and undoes nothing. A snapshot feed (no school year) is not reloaded.
    """
    column = year_column(loader)
    if column is None:
        return []
    files = conn.execute(
        sql.SQL("""select f.file_name, coalesce(f.archive_path, f.file_path) from raw.file_ledger f
                   join raw.load_ledger l using (file_id)
                   where l.status = 'loaded' and l.load_id in (select distinct load_id from raw.{} where {} = %s)
                   order by l.load_id""").format(sql.Identifier(loader.table), sql.Identifier(column)),
        (school_year,)).fetchall()
    instance = loader(conn, key or pseudonym_key(), archive_dir=landing.parent / "archive")
    results = []
    with tempfile.TemporaryDirectory(prefix="edu-reload-") as tmp:
        for name, stored in files:
            # under its own name again, so that the ledger and the messages name the file the sender sent
            copy = Path(tmp) / name
            shutil.copyfile(stored, copy)
            result = instance.load(copy, force=True)
            log.info("%s: %s — перезагрузка %d года: %s, загружено %d", loader.feed, name, school_year,
                     result.status, result.rows_loaded)
            results.append(result)
    return results


def load_all(conn: psycopg.Connection, landing: Path = LANDING_DIR, feeds: Iterable[str] | None = None,
             key: bytes | None = None) -> list[LoadResult]:
    """Load every chosen feed (the registry first); a failed file is reported, never stops the others.

    With all feeds chosen, the files no feed reads are recorded as refused and returned too.
    """
    ensure_schema(conn)
    chosen = [BY_FEED[f] for f in feeds] if feeds else list(LOADERS)
    results: list[LoadResult] = []
    for loader in chosen:
        results += load_feed(conn, loader, landing, key)
    if not feeds:
        results += record_unread(conn, landing)
    return results


def summary(results: Iterable[LoadResult], ignored: Iterable[Path | str] = ()) -> str:
    """A short Russian summary: files and rows per feed, quarantined rows and why, files not loaded."""
    results = list(results)
    lines = ["Загрузка: файлы и строки по потокам данных",
             f"{'поток':<26}{'файлов':>7}{'пропущ.':>8}{'ошибок':>7}{'отказ':>6}"
             f"{'прочитано':>11}{'загружено':>11}{'отложено':>10}{'заменено':>10}"]
    reasons: Counter = Counter()
    for feed in dict.fromkeys(r.feed for r in results):
        mine = [r for r in results if r.feed == feed]
        lines.append(
            f"{feed:<26}{len(mine):>7}{sum(r.status == 'skipped' for r in mine):>8}"
            f"{sum(r.status in FAILED for r in mine):>7}{sum(r.status == 'refused' for r in mine):>6}"
            f"{sum(r.rows_read for r in mine):>11}{sum(r.rows_loaded for r in mine):>11}"
            f"{sum(r.rows_quarantined for r in mine):>10}{sum(r.rows_replaced for r in mine):>10}")
        for r in mine:
            reasons.update(r.reasons)
    total = (sum(r.rows_read for r in results), sum(r.rows_loaded for r in results),
             sum(r.rows_quarantined for r in results), sum(r.rows_replaced for r in results))
    lines.append(f"{'итого':<26}{len(results):>7}{sum(r.status == 'skipped' for r in results):>8}"
                 f"{sum(r.status in FAILED for r in results):>7}{sum(r.status == 'refused' for r in results):>6}"
                 f"{total[0]:>11}{total[1]:>11}{total[2]:>10}{total[3]:>10}")
    if reasons:
        lines.append("Отложенные строки по причинам:")
        lines += [f"  {code}: {n} — {REASONS.get(code, code)}" for code, n in reasons.most_common()]
    cuts = [replacements.note(r.file, r.rows_replaced, r.rows_loaded,
                              BY_FEED[r.feed].partition_title if r.feed in BY_FEED else None)
            for r in results]
    cuts = [c for c in cuts if c]
    if cuts:
        lines.append(f"Загрузки, заменившие намного больше строк, чем принесли ({len(cuts)}):")
        lines += [f"  {c}" for c in cuts]
    failed = [r for r in results if r.status in FAILED]
    if failed:
        lines.append(f"Файлы, которые не удалось загрузить ({len(failed)}):")
        lines += [f"  {r.message}" for r in failed]
    refused = [r for r in results if r.status == "refused"]
    if refused:
        lines.append(f"Файлы, которые не читает ни один поток данных ({len(refused)}):")
        lines += [f"  {r.message}" for r in refused]
    ignored = [str(p) for p in ignored]
    if ignored:
        shown = ", ".join(ignored[:5]) + (f" и ещё {len(ignored) - 5}" if len(ignored) > 5 else "")
        lines.append(f"Пропущены по правилам (папка {landing_folder.TRUTH_FOLDER}, скрытые и временные файлы): "
                     f"{len(ignored)} — {shown}")
    return "\n".join(lines)


LEDGER_SUMMARY = """
select l.feed, count(distinct l.file_id) as files, sum(l.rows_read) as rows_read,
       sum(l.rows_loaded) as rows_loaded, sum(l.rows_quarantined) as rows_quarantined,
       count(distinct l.file_id) filter (where l.status = 'blocked') as blocked
from raw.load_ledger l
where l.status in ('loaded', 'blocked')
group by l.feed
order by l.feed
"""


# Files whose latest attempt failed, was interrupted or refused, unless something has loaded since in its
# place: a file of the same feed and name (the corrected file), or the same content (moved where it belongs).
OPEN_PROBLEMS = """
select l.status, l.error_message
from (select distinct on (file_id) * from raw.load_ledger order by file_id, load_id desc) l
join raw.file_ledger f using (file_id)
where l.status in ('failed', 'interrupted', 'refused', 'rejected')
  and not exists (select 1 from raw.load_ledger n join raw.file_ledger g using (file_id)
                  where ((g.feed = f.feed and g.file_name = f.file_name) or g.sha256 = f.sha256)
                  and n.load_id > l.load_id and n.status in ('loaded', 'replaced'))
order by l.load_id
"""


def ledger_summary(conn: psycopg.Connection) -> str:
    """The warehouse as it stands: current loads per feed, quarantine reasons, failed files."""
    lines = ["Хранилище: загруженные файлы и строки по потокам данных (заблокированные проверками — в витрины "
             "не попадают)",
             f"{'поток':<26}{'файлов':>7}{'прочитано':>11}{'загружено':>11}{'отложено':>10}{'заблок.':>9}"]
    rows = conn.execute(LEDGER_SUMMARY).fetchall()
    for feed, files, read, loaded, quarantined, blocked in rows:
        lines.append(f"{feed:<26}{files:>7}{read:>11}{loaded:>11}{quarantined:>10}{blocked:>9}")
    lines.append(f"{'итого':<26}{sum(r[1] for r in rows):>7}{sum(r[2] for r in rows):>11}"
                 f"{sum(r[3] for r in rows):>11}{sum(r[4] for r in rows):>10}{sum(r[5] for r in rows):>9}")
    reasons = conn.execute(
        """select q.reason_code, r.description, count(*) from raw.quarantine q
           join raw.load_ledger l using (load_id) join raw.quarantine_reasons r using (reason_code)
           where l.status in ('loaded', 'blocked') group by 1, 2 order by 3 desc""").fetchall()
    if reasons:
        lines.append("Отложенные строки по причинам:")
        lines += [f"  {code}: {n} — {text}" for code, text, n in reasons]
    problems = conn.execute(OPEN_PROBLEMS).fetchall()
    failed = [m for status, m in problems if status != "refused"]
    if failed:
        lines.append(f"Файлы, которые не удалось загрузить ({len(failed)}):")
        lines += [f"  {m}" for m in failed]
    refused = [m for status, m in problems if status == "refused"]
    if refused:
        lines.append(f"Файлы, которые не читает ни один поток данных ({len(refused)}):")
        lines += [f"  {m}" for m in refused]
    if conn.execute("select to_regclass('qc.blocked_loads') is not null").fetchone()[0]:
        blocked = conn.execute("select file_name, reasons from qc.blocked_loads b join raw.load_ledger l "
                               "using (load_id) where l.status = 'blocked' order by load_id").fetchall()
        if blocked:
            lines.append(f"Файлы, заблокированные проверками качества данных ({len(blocked)}):")
            lines += [f"  «{name}»: {reasons}" for name, reasons in blocked]
    return "\n".join(lines)


def blocked_files(conn: psycopg.Connection, qc_run_id: int) -> list[str]:
    """Russian lines naming the files a data-quality run blocked, with the checks that blocked them."""
    return [f"Файл «{name}» ({feed}) заблокирован проверками качества данных: {reasons}"
            for name, feed, reasons in conn.execute(
                "select file_name, feed, reasons from qc.blocked_loads where run_id = %s and released_at is null "
                "order by load_id", (qc_run_id,))]


def main() -> int:
    parser = argparse.ArgumentParser(description="Загрузка файлов из папки приёма в хранилище")
    parser.add_argument("--landing", type=Path, default=LANDING_DIR)
    parser.add_argument("--feed", action="append", choices=sorted(BY_FEED))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with connect(warehouse_url(CONN_LOADER)) as conn:  # on a server: as the loader's role
        results = load_all(conn, args.landing, args.feed)
    print(summary(results, ignored_files(args.landing)))
    # Every file was tried; a non-zero exit tells the caller that some need attention.
    return 1 if any(r.status in NOT_LOADED for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
