"""The raw schema's bookkeeping: files, loads, quarantined rows, school keys."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from ingestion.core.errors import LoadError
from ingestion.core.grants import ensure_schema_exists
from ingestion.core.landing import shown_name

# Reason codes of quarantined rows, with the Russian text analysts read.
REASONS = {
    "invalid_value": "значение не соответствует типу или допустимому диапазону",
    "missing_value": "не заполнено обязательное значение",
    "unknown_school": "код ОО не найден в реестре ОО",
    "invalid_task_string": "строка результатов по заданиям не разбирается",
    "inconsistent": "значения в строке противоречат друг другу",
    "duplicate_row": "повтор строки с тем же ключом в файле",
    "formula_without_value": "формула без вычисленного значения: файл сохранён без пересчёта",
    "implausible_value": "значение неправдоподобно: дата или год вне допустимого периода, балл выше максимума",
    "unknown_value": "значение не из справочника (предметы, муниципалитеты реестра)",
    "personal_data": "в ячейке похоже на имя человека: персональные данные не загружаются",
}

ADVISORY_NAMESPACE = 4242

LEDGER_DDL = """
create table if not exists raw.file_ledger (
    file_id bigserial primary key,
    feed text not null,
    file_name text not null,
    file_path text not null,
    sha256 text not null,
    size_bytes bigint not null,
    arrived_at timestamptz not null,
    registered_at timestamptz not null default now(),
    unique (feed, sha256, file_name)
);

create table if not exists raw.load_ledger (
    load_id bigserial primary key,
    file_id bigint not null references raw.file_ledger (file_id),
    feed text not null,
    status text not null check (status in ('running', 'loaded', 'failed', 'interrupted', 'replaced', 'refused')),
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    rows_read integer,
    rows_loaded integer,
    rows_quarantined integer,
    rows_replaced integer,
    superseded_by bigint,
    error_message text,
    host text,
    pid integer
);

create table if not exists raw.quarantine_reasons (
    reason_code text primary key,
    description text not null
);

create table if not exists raw.quarantine (
    load_id bigint not null references raw.load_ledger (load_id),
    source_row integer not null,
    reason_code text not null references raw.quarantine_reasons (reason_code),
    message text not null,
    row_data jsonb,
    primary key (load_id, source_row)
);

create table if not exists raw.school_keys (
    key_value text primary key,
    key_kind text not null,
    registry_code text not null,
    load_id bigint not null
);

alter table raw.file_ledger add column if not exists archive_path text;
-- 0.1 kept one ledger row per checksum; now one per checksum and file name.
alter table raw.file_ledger drop constraint if exists file_ledger_feed_sha256_key;
create unique index if not exists file_ledger_feed_sha256_file_name_key
    on raw.file_ledger (feed, sha256, file_name);

-- 'refused': a file no feed reads (unknown format, a folder that is no feed), recorded once by checksum.
-- 'rejected': a load whose rows were all quarantined; notes say what was converted.
-- 'blocked': loaded, but a data-quality check with policy 'block' failed (quality/, qc.blocked_loads):
-- its rows stay in raw and are kept out of staging (schema raw_current) until a later load replaces them.
do $$
begin
    if not exists (select 1 from pg_constraint where conrelid = 'raw.load_ledger'::regclass
                   and conname = 'load_ledger_status_check' and pg_get_constraintdef(oid) like '%blocked%') then
        alter table raw.load_ledger drop constraint if exists load_ledger_status_check;
        alter table raw.load_ledger add constraint load_ledger_status_check
            check (status in ('running', 'loaded', 'failed', 'interrupted', 'replaced', 'refused', 'rejected',
                              'blocked'));
    end if;
end
$$;
alter table raw.load_ledger add column if not exists notes text;

comment on table raw.file_ledger is 'Журнал поступивших файлов: контрольная сумма, размер, время поступления';
comment on table raw.load_ledger is 'Журнал загрузок: прочитано, загружено и отложено строк по каждой загрузке файла';
comment on table raw.quarantine is 'Отложенные (карантинные) строки с кодом причины и сообщением на русском языке';
comment on table raw.school_keys is
    'Все известные коды ОО (логин ФИС ОКО, код РЦОИ, код реестра, ОГРН, ИНН) и код ОО по реестру';

create table if not exists raw.school_keys_ambiguous (
    key_value text primary key,
    key_kind text not null,
    registry_codes text not null,
    load_id bigint not null
);
comment on table raw.school_keys_ambiguous is
    'ОГРН и ИНН, общие для нескольких ОО реестра (головная ОО и филиалы): по ним ОО не определяется';
"""


def ensure_ledger(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s, 0)", (ADVISORY_NAMESPACE,))
        ensure_schema_exists(conn, "raw")
        conn.execute(LEDGER_DDL)
        with conn.cursor() as cur:
            cur.executemany(
                "insert into raw.quarantine_reasons values (%s, %s) "
                "on conflict (reason_code) do update set description = excluded.description",
                list(REASONS.items()),
            )


def file_checksum(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


@dataclass
class FileRecord:
    file_id: int
    sha256: str
    already_loaded: bool


def archive(path: Path, archive_dir: Path, feed: str, sha256: str) -> Path:
    """Keep the original file, content-addressed, so a load can be traced back to the exact bytes.

    A copy, not a hard link: a landing file overwritten in place must not change the archive. Originals
    hold names, so the archive is its owner's only: folders 700, files 600 (older copies are tightened).
    """
    target = archive_dir / feed / f"{sha256}{path.suffix.lower()}"
    for folder in (archive_dir, target.parent):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(0o700)
    if not target.exists():
        partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
        with path.open("rb") as source, os.fdopen(
                os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as copy:
            os.fchmod(copy.fileno(), 0o600)  # a partial file left by a killed run may be older and wider
            shutil.copyfileobj(source, copy, 1 << 20)
        if file_checksum(partial)[0] != sha256:
            partial.unlink()
            raise LoadError(path, "файл изменился во время чтения: загрузите его ещё раз, когда запись закончится")
        partial.replace(target)
    target.chmod(0o600)
    return target


def register_file(conn: psycopg.Connection, feed: str, path: Path, archive_dir: Path | None = None,
                  checksum: tuple[str, int] | None = None) -> FileRecord:
    """The file's ledger row; ``checksum`` (sha256, size) when the caller has just read it (not read again)."""
    sha256, size = checksum or file_checksum(path)
    arrived = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    kept = archive(path, archive_dir, feed, sha256) if archive_dir is not None else None
    row = conn.execute(
        """
        insert into raw.file_ledger (feed, file_name, file_path, sha256, size_bytes, arrived_at, archive_path)
        values (%s, %s, %s, %s, %s, %s, %s)
        on conflict (feed, sha256, file_name) do update set archive_path = coalesce(excluded.archive_path,
                                                                                   raw.file_ledger.archive_path)
        returning file_id
        """,
        (feed, path.name, str(path), sha256, size, arrived, str(kept) if kept else None),
    ).fetchone()
    file_id = row[0]
    # The same content under any name counts as the same file (e.g. two identical empty reports); a blocked
    # file sent again stays blocked: only a corrected file (other content) replaces it.
    loaded = conn.execute(
        "select exists (select 1 from raw.load_ledger l join raw.file_ledger f using (file_id) "
        "where f.feed = %s and f.sha256 = %s and l.status in ('loaded', 'replaced', 'blocked'))",
        (feed, sha256),
    ).fetchone()[0]
    return FileRecord(file_id, sha256, loaded)


def start_load(conn: psycopg.Connection, file_id: int, feed: str) -> int:
    return conn.execute(
        "insert into raw.load_ledger (file_id, feed, status, host, pid) values (%s, %s, 'running', %s, %s) "
        "returning load_id",
        (file_id, feed, socket.gethostname(), os.getpid()),
    ).fetchone()[0]


def mark_interrupted(conn: psycopg.Connection) -> int:
    """Loads left 'running' by a killed process: nobody holds their advisory lock any more."""
    with conn.transaction():
        cur = conn.execute(
            """
            update raw.load_ledger
            set status = 'interrupted', finished_at = now(),
                error_message = 'Загрузка прервана: процесс завершился, не закончив её; данные не записаны'
            where status = 'running' and pg_try_advisory_xact_lock(%s, load_id::integer)
            """,
            (ADVISORY_NAMESPACE,),
        )
        return cur.rowcount


def fail_load(conn: psycopg.Connection, load_id: int, message: str) -> None:
    conn.execute(
        "update raw.load_ledger set status = 'failed', finished_at = now(), error_message = %s where load_id = %s",
        (message, load_id),
    )


# A file that could not even be read for its checksum is still recorded, under this marker.
UNREADABLE = "unreadable"


def _file_row(conn: psycopg.Connection, feed: str, path: Path) -> int:
    """The file's ledger row without archiving it (a file that is not loaded is not kept)."""
    try:
        sha256, size = file_checksum(path)
        arrived = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    except OSError:
        sha256, size, arrived = UNREADABLE, 0, datetime.now(tz=UTC)
    return conn.execute(
        """
        insert into raw.file_ledger (feed, file_name, file_path, sha256, size_bytes, arrived_at)
        values (%s, %s, %s, %s, %s, %s)
        on conflict (feed, sha256, file_name) do update set feed = excluded.feed  -- a no-op, for returning
        returning file_id
        """,
        (feed, shown_name(path.name), shown_name(path), sha256, size, arrived),
    ).fetchone()[0]


def record_failed_file(conn: psycopg.Connection, feed: str, path: Path, message: str) -> int:
    """A failed load of a file that could not be registered the usual way (unreadable, vanished, changing)."""
    file_id = _file_row(conn, feed, path)
    load_id = start_load(conn, file_id, feed)
    fail_load(conn, load_id, message)
    return load_id


def record_refused(conn: psycopg.Connection, feed: str, path: Path, message: str) -> tuple[int, bool]:
    """A file no feed reads: one 'refused' load per file (checksum and name); True when recorded just now."""
    file_id = _file_row(conn, feed, path)
    earlier = conn.execute(
        "select load_id from raw.load_ledger where file_id = %s and status = 'refused' order by load_id limit 1",
        (file_id,),
    ).fetchone()
    if earlier:
        return earlier[0], False
    load_id = conn.execute(
        "insert into raw.load_ledger (file_id, feed, status, finished_at, error_message, host, pid) "
        "values (%s, %s, 'refused', now(), %s, %s, %s) returning load_id",
        (file_id, feed, message, socket.gethostname(), os.getpid()),
    ).fetchone()[0]
    return load_id, True
