"""The shared loader: header matching, typing, quarantine, COPY and partition replacement.

A feed module declares its columns and, where its layout needs it, overrides a hook. One file is
loaded in one transaction: rows are streamed in chunks with COPY into the target table, the rows of
earlier loads for the same partitions are deleted, and the ledger row is completed, all committed
together. A killed or failed load therefore leaves no rows behind.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from ingestion.core import ledger, raw_tables, replacements, rules, superseded
from ingestion.core.columns import Column, WideColumns
from ingestion.core.errors import LayoutError, LoadError
from ingestion.core.layout import GroupedColumns, Layout, LayoutFinder, whole_source_rows
from ingestion.core.pseudonym import Pseudonymiser
from ingestion.core.redact import displayable, shown
from ingestion.core.registry_view import RegistryView
from ingestion.core.seen_keys import SeenKeys
from ingestion.core.sources import Row, Sheet, is_blank, open_sheets
from ingestion.core.tracebacks import code_traceback
from ingestion.core.values import normalise_text
from warehouse import locks

log = logging.getLogger(__name__)

KIND_RU = {
    "int": "целым числом",
    "decimal": "числом",
    "bool": "значением да/нет",
    "date": "датой",
    "school_year": "учебным годом",
    "choice": "одним из допустимых значений",
    "class": "обозначением класса (например, «5», «5А», «11 Б»)",
}


@dataclass
class LoadResult:
    feed: str
    file: str
    status: str  # loaded | skipped | failed | rejected (rows read, none loaded)
    load_id: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_replaced: int = 0
    reasons: Counter = field(default_factory=Counter)
    message: str = ""


# A load's commit does not wait for its WAL to reach the disk. A crash can lose the last loads committed
# (at most ~3 × wal_writer_delay), never a part of one: each is one transaction, and a lost load leaves its
# file unrecorded, so the next run loads it again. The data of the warehouse is never inconsistent
# (PostgreSQL documentation, «Asynchronous Commit»). Ten to a hundred times fewer waits on small files.
ASYNC_COMMIT = "set local synchronous_commit = off"
# In a batch of files typed together, a row's number is file index × BATCH_ROW_SPAN + its row in its file;
# BATCH_FILE is the column that keeps a file's keys apart (batch_typing.py).
BATCH_ROW_SPAN = 10_000_000
BATCH_FILE = "_batch_file"


@dataclass
class TypedChunk:
    """One chunk of a file, typed: rows to load (``source_row``, no ``load_id`` yet), child tables' rows and
    quarantined rows as (source_row, reason, message, row_data)."""
    rows: pd.DataFrame
    children: dict[str, pd.DataFrame]
    quarantine: list[tuple]
    # The rows as COPY input, (table, columns, CSV text), when a worker encoded them (its load id known)
    payloads: list[tuple[str, list[str], str]] | None = None


class ParsedFailure(Exception):
    """A file that failed while a worker process read it: the Russian message and the traceback text."""

    def __init__(self, message: str, trace: str = ""):
        super().__init__(message)
        self.message, self.trace = message, trace


def internal_error_text(path: Path, exc: BaseException) -> str:
    return (f"Файл «{path.name}»: внутренняя ошибка загрузчика ({type(exc).__name__}); файл не загружен, "
            "прежние данные сохранены")


class FeedLoader:
    feed: ClassVar[str]
    title: ClassVar[str]  # Russian name of the feed, for summaries
    table: ClassVar[str]
    columns: ClassVar[tuple[Column, ...]]
    wide: ClassVar[tuple[WideColumns, ...]] = ()
    grouped: ClassVar[GroupedColumns | None] = None  # a wide form of the same long table (ingestion.core.layout)
    report: ClassVar[str | None] = None  # a ФИС ОКО report kind: a workbook naming another kind is refused
    partition: ClassVar[tuple[str, ...]] = ()  # empty: every load replaces the whole table (a snapshot)
    unique: ClassVar[tuple[str, ...]] = ()  # a repeated key inside one file is quarantined
    sheet: ClassVar[str | None] = None
    header_scan: ClassVar[int] = 30
    # Columns added by ``preamble``/``transform``: name -> PostgreSQL type.
    extra_columns: ClassVar[dict[str, str]] = {}
    # The folder the feed's files land in (defaults to the feed code).
    folder: ClassVar[str | None] = None
    # What one partition is, in Russian, for the note on a load far smaller than what it replaced.
    partition_title: ClassVar[str | None] = None
    # A snapshot that may legitimately be empty (it still never wipes rows loaded before).
    empty_snapshot_allowed: ClassVar[bool] = False
    # Small files of the feed may be typed many at a time (ingestion.core.batch_typing): the feed's hooks
    # read only the typed frame (no per-file instance state, no file_state), so rows of several files mix.
    batch_typing: ClassVar[bool] = False

    def __init__(self, conn: psycopg.Connection, key: bytes, *, chunk_rows: int = 10000,
                 on_chunk: Callable[[int], None] | None = None, archive_dir: Path | None = None):
        self.conn = conn
        self.archive_dir = archive_dir  # where original files are kept; None keeps them only in landing
        self.key = key  # for worker processes that type files of a run (ingestion.core.parallel)
        self.pseudonymiser = Pseudonymiser(key)
        # rows typed and COPYed at a time: one chunk's frames are most of a load's memory (bench_load_memory.py)
        self.chunk_rows = chunk_rows
        self.on_chunk = on_chunk  # called after each chunk is copied (used to test interrupted loads)
        self.file_state: dict = {}  # per-file decisions of the row rules (rules.py), and notes on the load
        self.registry = RegistryView(conn)  # what a file is checked against (the loaded registry)
        self.batch_names: list[str] | None = None  # the files of a batch typed together (batch_typing.py)
        self._missing_header_problem = ""

    # ----------------------------------------------------------------- hooks for feed modules
    def preamble(self, path: Path, rows: list[Row], layout: Layout) -> dict:
        """File-level values taken from the rows above the header (title, labels)."""
        return {}

    def blocks(self, path: Path, sheet: Sheet) -> Iterator[tuple[dict, Iterator[Row]]]:
        """The tables of a sheet, each with values that hold for all its rows (e.g. an exam named in a line
        above it); the loader finds each one's header in its rows. Most sheets are one table."""
        yield {}, sheet.rows

    def skip_row(self, cells: tuple) -> bool:
        """Context rows between data rows (e.g. a school line) that are not data."""
        return False

    def transform(self, frame: pd.DataFrame, reject: Callable[[pd.Series, str, str], None]) -> pd.DataFrame:
        """Feed-specific derivations and checks on a typed chunk; ``reject(mask, reason, problem)``."""
        return frame

    def check_wide(self, spec: WideColumns, table: pd.DataFrame, rows: pd.DataFrame,
                   reject: Callable[[pd.Series, str, str], None]) -> pd.DataFrame | None:
        """Checks across one row's wide values (``table``: one row per source row, one column per wide
        column, labelled by its key; ``rows``: the typed chunk); return the table converted, or None."""
        return None

    def child_frames(self, frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """Extra child tables built from a typed chunk (beyond the wide columns)."""
        return {}

    def after_load(self, load_id: int) -> None:
        """Work inside the load's transaction once all rows are in (e.g. rebuild key maps)."""

    @classmethod
    def ddl(cls) -> list[str]:
        """CREATE statements of the feed's tables (idempotent)."""
        return _ddl_for(cls)

    # ----------------------------------------------------------------- the load
    @classmethod
    def school_code_column(cls) -> str | None:
        """The column whose code is resolved to ``school_id`` (a feed may derive it in ``transform``)."""
        return next((c.name for c in cls.columns if c.kind == "school"), None)

    @property
    def resolves_schools(self) -> bool:
        return self.school_code_column() is not None

    def load(self, path: Path, force: bool = False) -> LoadResult:
        """Load one file. Whatever goes wrong inside it is this file's failure, never the run's.

        The failure is recorded in the ledger (status 'failed', a Russian message naming the file) and
        returned; only a lost database connection is raised, since no later file could load either.
        `force` loads a file already loaded again (a reviewed reload of a school year, ingestion.run): its new
        load replaces the earlier one's rows partition by partition, like a corrected file would.
        """
        ledger.mark_interrupted(self.conn)
        self.lock_feed()
        try:
            return self.load_here(Path(path), force)
        finally:
            if not self.conn.broken:
                self.conn.execute("select pg_advisory_unlock_all()")

    def load_here(self, path: Path, force: bool = False, registry: RegistryView | None = None) -> LoadResult:
        """One file read, typed and written in this process (the caller holds the feed's lock)."""
        registered = self.register(path, force)
        if isinstance(registered, LoadResult):
            return registered
        self.registry = registry or RegistryView(self.conn)  # by default read as this file needs it
        try:
            return self.complete(path, registered, lambda result: self._copy_file(
                path, result, lambda typed: self._write_streamed(typed, registered, result)))
        finally:
            self.release(registered)

    def release(self, load_id: int) -> None:
        if not self.conn.broken:
            self.conn.execute("select pg_advisory_unlock(%s, %s)", (ledger.ADVISORY_NAMESPACE, load_id))

    def lock_feed(self) -> None:
        # One load per feed at a time (held until the end of this load or run): the "already loaded" check and
        # the partition replacement then cannot interleave with another run's.
        self.conn.execute("select pg_advisory_lock(%s, hashtext(%s))", (ledger.ADVISORY_NAMESPACE, self.feed))

    def register(self, path: Path, force: bool = False,
                 checksum: tuple[str, int] | None = None) -> int | LoadResult:
        """The file in the ledger and its load started ('running'); a LoadResult when it is not to be loaded."""
        try:
            with self.conn.transaction():
                self.conn.execute(ASYNC_COMMIT)
                record = ledger.register_file(self.conn, self.feed, path, self.archive_dir, checksum)
                if record.already_loaded and not force:
                    return LoadResult(self.feed, path.name, "skipped",
                                      message="файл с той же контрольной суммой уже загружен")
                load_id = ledger.start_load(self.conn, record.file_id, self.feed)
                # Held until this load ends: a live lock tells other runs the 'running' load is not stale.
                self.conn.execute("select pg_advisory_lock(%s, %s)", (ledger.ADVISORY_NAMESPACE, load_id))
                return load_id
        except (LoadError, OSError) as exc:  # vanished, unreadable, or changing while archived
            return self._fail_unregistered(path, exc)

    def complete(self, path: Path, load_id: int, fill: Callable[[LoadResult], None]) -> LoadResult:
        """The load's rows (``fill`` writes them), partition replacement and ledger row, in one transaction."""
        result = LoadResult(self.feed, path.name, "loaded", load_id=load_id)
        try:
            with self.conn.transaction():
                self.conn.execute(ASYNC_COMMIT)
                try:  # waits for a running dbt build (warehouse.locks)
                    locks.share_with_loads(self.conn)
                except psycopg.errors.LockNotAvailable as exc:  # the caller's lock_timeout ran out
                    raise LoadError(path, "хранилище занято построением витрин (dbt build): файл не загружен, "
                                          "загрузите его после окончания построения") from exc
                self.resolver = self.registry.resolver if self.resolves_schools else None
                fill(result)
                self._check_snapshot(path, result)
                result.rows_replaced = self._replace_partitions(load_id)
                self.after_load(load_id)
                self.conn.execute(
                    """update raw.load_ledger set status = 'loaded', finished_at = now(), rows_read = %s,
                       rows_loaded = %s, rows_quarantined = %s, rows_replaced = %s where load_id = %s""",
                    (result.rows_read, result.rows_loaded, result.rows_quarantined, result.rows_replaced,
                     load_id),
                )
                if cut := replacements.note(path.name, result.rows_replaced, result.rows_loaded,
                                            self.partition_title):
                    self.file_state.setdefault("notes", []).append(cut)  # far smaller than what it replaced
                # notes on conversions; rows read and none loaded: 'rejected', not 'loaded'
                rules.finish_load(self.conn, load_id, result, self.file_state)
        except ParsedFailure as exc:  # the file failed in a worker process (ingestion.core.parallel)
            self._fail(result, exc.message, trace=exc.trace)
        except LoadError as exc:
            self._fail(result, str(exc))
        except Exception as exc:  # a reader or a rule met something unforeseen: this file fails, not the run
            if self.conn.broken:
                raise
            self._fail(result, internal_error_text(path, exc), exc)
        return result

    def _check_snapshot(self, path: Path, result: LoadResult) -> None:
        """A snapshot (e.g. the registry) replaces everything: refuse one with no rows or mostly bad rows.

        A feed whose snapshot may legitimately be empty (``empty_snapshot_allowed``, e.g. the list of
        reorganisations of a region that has had none) may load an empty file, but only while nothing is
        loaded yet: an empty file never wipes rows loaded before.
        """
        if self.partition:
            return
        if result.rows_read == 0:
            earlier = self.conn.execute(sql.SQL("select count(*) from raw.{} where load_id <> %s").format(
                sql.Identifier(self.table)), (result.load_id,)).fetchone()[0]
            if self.empty_snapshot_allowed and earlier == 0:
                return
            kept = f"прежние данные сохранены (строк: {earlier})" if earlier else "справочник по-прежнему пуст"
            raise LoadError(path, f"в таблице «{self.title}» нет ни одной строки данных: файл заменяет весь "
                                  f"справочник целиком, поэтому он не загружен, {kept}")
        if result.rows_loaded == 0 or result.rows_quarantined > result.rows_loaded:
            raise LoadError(path, f"отложено {result.rows_quarantined} строк из {result.rows_read}: файл заменяет "
                                  "весь справочник целиком, поэтому он не загружен, прежние данные сохранены")

    def _fail(self, result: LoadResult, message: str, exc: BaseException | None = None, trace: str = "") -> None:
        with self.conn.transaction():
            ledger.fail_load(self.conn, result.load_id, message)
        result.status, result.message = "failed", message
        result.rows_loaded = result.rows_quarantined = result.rows_replaced = 0
        result.reasons = Counter()
        trace = code_traceback(exc) if exc is not None else trace
        if trace:
            log.error("%s\n%s", message, trace)
        else:
            log.error(message)

    def _fail_unregistered(self, path: Path, exc: Exception) -> LoadResult:
        """A file that could not be registered (it vanished, cannot be read, or changed while archived)."""
        if isinstance(exc, LoadError):
            message = str(exc)
        elif isinstance(exc, FileNotFoundError):
            message = f"Файл «{path.name}»: файл исчез из папки приёма до загрузки; файл не загружен"
        elif isinstance(exc, PermissionError):
            message = f"Файл «{path.name}»: нет прав на чтение файла; файл не загружен"
        else:
            message = f"Файл «{path.name}»: файл не удалось прочитать ({type(exc).__name__}); файл не загружен"
        with self.conn.transaction():
            load_id = ledger.record_failed_file(self.conn, self.feed, path, message)
        log.error(message)
        return LoadResult(self.feed, path.name, "failed", load_id=load_id, message=message)

    def _copy_file(self, path: Path, result: LoadResult, sink: Callable[[TypedChunk], None]) -> None:
        """Read the file, type it chunk by chunk and hand each typed chunk to ``sink`` (COPY, or a worker's list)."""
        for layout, rows in self.tables(path):
            for chunk in self._chunks(rows):
                sink(self._type_chunk(chunk, layout, result))

    def tables(self, path: Path) -> Iterator[tuple[Layout, Iterator[Row]]]:
        """The file's table(s) with their layout and data rows; ``constants`` hold the current table's values."""
        found: list[str] = []
        for sheet in open_sheets(path, self.sheet):
            for block, rows in self.blocks(path, sheet):
                layout = self._find_layout(path, rows, sheet.name)
                if layout is None:
                    continue
                if sheet.name not in found:
                    found.append(sheet.name)
                    self.seen_keys = SeenKeys()  # compact: its memory must not grow much with the file
                    self.file_state = {}
                if len(found) > 1:  # row numbers are per sheet: one file, one table
                    raise LayoutError(path, f"таблица «{self.title}» есть на нескольких листах ({', '.join(found)}): "
                                            "пришлите каждый лист отдельным файлом")
                self.constants = {**self.preamble(path, layout.preamble, layout), **block}
                self.file_name = path.name
                yield layout, rows
        if not found:
            raise LayoutError(path, self._missing_header_problem)

    def _write_streamed(self, typed: TypedChunk, load_id: int, result: LoadResult) -> None:
        self.write_typed(typed, load_id)
        if self.on_chunk:
            self.on_chunk(result.rows_read)

    def write_typed(self, typed: TypedChunk, load_id: int) -> None:
        """COPY one typed chunk: quarantined rows, the main table's rows and the child tables' rows."""
        if typed.quarantine:
            with self.conn.cursor().copy(
                "copy raw.quarantine (load_id, source_row, reason_code, message, row_data) from stdin"
            ) as copy:
                for row in typed.quarantine:
                    copy.write_row((load_id, *row))
        for table, columns, text in typed.payloads or self.encode(typed, load_id):
            statement = sql.SQL("copy raw.{} ({}) from stdin with (format csv)").format(
                sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
            with self.conn.cursor().copy(statement) as copy:
                copy.write(text)

    def encode(self, typed: TypedChunk, load_id: int) -> list[tuple[str, list[str], str]]:
        """The chunk's rows as COPY input: (table, columns, CSV text) per table with rows."""
        payloads = []
        for table, frame, columns in [(self.table, typed.rows, self._table_columns()),
                                      *[(t, f, [*f.columns, "load_id"]) for t, f in typed.children.items()]]:
            if frame.empty:
                continue
            buffer = io.StringIO()
            frame.assign(load_id=load_id).reindex(columns=columns).to_csv(buffer, index=False, header=False)
            payloads.append((table, columns, buffer.getvalue()))
        return payloads

    def _find_layout(self, path: Path, rows: Iterator[Row], sheet: str = "") -> Layout | None:
        finder = LayoutFinder(self.columns, self.wide, self.grouped, self.header_scan, self.report, self.title)
        layout, self._missing_header_problem = finder.find(path, rows, sheet)
        return layout

    def _chunks(self, rows: Iterator[Row]) -> Iterator[list[Row]]:
        chunk: list[Row] = []
        for number, cells in rows:
            if is_blank(cells) or self.skip_row(cells):
                continue
            chunk.append((number, cells))
            if len(chunk) >= self.chunk_rows:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    # ----------------------------------------------------------------- one chunk
    def _type_chunk(self, chunk: list[Row], layout: Layout, result: LoadResult) -> TypedChunk:
        chunk = layout.expand(chunk)  # a grouped (wide) form: one row per group, each with its file row's number
        numbers = pd.Series([n for n, _ in chunk], dtype="int64")
        raw = pd.DataFrame(
            {name: [cells[i] if i < len(cells) else None for _, cells in chunk] for name, i in layout.fixed.items()},
            index=numbers.index, dtype="object",
        )
        reason = pd.Series(pd.NA, index=raw.index, dtype="string")
        problem = pd.Series(pd.NA, index=raw.index, dtype="string")
        self.file_state["source_rows"] = numbers  # for the row rules' messages

        def reject(mask: pd.Series, code: str, text: str | pd.Series | Callable[[pd.Series], pd.Series]) -> None:
            """Quarantine rows under ``mask`` (the first reason found wins); ``text`` may be computed lazily."""
            mask = mask.fillna(False).astype(bool) & reason.isna()
            if not mask.any():
                return
            reason[mask] = code
            if callable(text):
                text = text(mask)
            problem[mask] = text[mask] if isinstance(text, pd.Series) else text

        typed = pd.DataFrame(index=raw.index)
        for column in self.columns:
            label = layout.labels.get(column.name, column.label or column.name)
            if column.name not in raw:
                typed[column.name] = pd.Series(pd.NA, index=raw.index, dtype="object")
                if not column.nullable:
                    reject(pd.Series(True, index=raw.index), "missing_value", f"нет столбца «{label}»")
                continue
            value, bad, faults = rules.parse_column(column, raw[column.name], label)
            for mask, code, text in faults:  # formula cells, implausible dates and years, names: own reasons
                reject(mask, code, text)
            if bad.any():
                shown = raw[column.name].map(normalise_text)
                texts = (f"в столбце «{label}» значение не является {KIND_RU.get(column.kind, 'допустимым')}"
                         if column.personal else
                         lambda m, sh=shown, lb=label, k=column: sh[m].map(lambda v: _invalid_text(lb, v, k)))
                reject(bad, "invalid_value", texts)
            if not column.nullable:
                reject(value.isna() & ~bad, "missing_value", f"не заполнен столбец «{label}»")
            if column.personal:
                value = self.pseudonymiser.series(column.kind, value)
            typed[column.name] = value
        for name, constant in self.constants.items():
            typed[name] = constant
        wide_frames = self._wide_frames(chunk, layout, typed, reject)
        typed = self.transform(typed, reject)
        if self.resolver is not None:
            codes = typed[self.school_code_column()]
            typed["school_id"] = self.resolver.resolve(codes)
            reject(codes.notna() & typed["school_id"].isna(), "unknown_school",
                   lambda m: codes[m].map(self.resolver.unknown_text))
        if self.unique:
            # In file order: a key seen in an earlier accepted row (this chunk or before) is a repeat.
            keys = (*self.unique, BATCH_FILE) if BATCH_FILE in typed else self.unique  # per file in a batch
            repeated = self.seen_keys.repeats(zip(*(typed[c] for c in keys), strict=True),
                                              reason.isna().to_numpy())
            reject(pd.Series(repeated, index=typed.index), "duplicate_row",
                   "строка с тем же ключом уже встречалась в этом файле выше")

        reason, problem = whole_source_rows(numbers, reason, problem)  # counts and quarantine are per file row
        bad_rows = reason.notna()
        first = bad_rows & ~numbers.duplicated()
        result.rows_read += numbers.nunique()
        good = typed[~bad_rows]
        result.rows_loaded += numbers[~bad_rows].nunique()
        quarantine = []
        if bad_rows.any():
            quarantine = self._quarantine_rows(numbers[first], reason[first], problem[first], raw[first], typed[first])
            result.rows_quarantined += int(first.sum())
            result.reasons.update(reason[first].tolist())
        good = good.assign(source_row=numbers[~bad_rows])
        children = {table: frame[frame["source_row"].isin(good["source_row"])]
                    for table, frame in {**wide_frames, **self.child_frames(good)}.items()}
        return TypedChunk(good, children, quarantine)

    def _wide_frames(self, chunk, layout: Layout, typed, reject) -> dict[str, pd.DataFrame]:
        """Wide columns (tasks, scores, markers) as long child rows; all cells of a spec typed at once."""
        frames: dict[str, list[pd.DataFrame]] = {}
        extras = self._wide_extras(layout)
        n = len(chunk)
        for spec in self.wide:
            columns = [(i, keys) for s, i, keys in layout.wide if s is spec]
            if not columns:
                continue
            width = len(columns)
            raw = pd.Series([cells[i] if i < len(cells) else None for _, cells in chunk for i, _ in columns],
                            dtype="object")  # row-major: row 0's columns, then row 1's …
            value, bad = spec.value.parse(raw)
            rules.wide_formulas(raw, [f"{spec.value.label or 'значение'} {'/'.join(map(str, keys.values()))}"
                                      for _, keys in columns], typed.index, reject)
            if "max_points" in columns[0][1]:  # points above the task's maximum are not a valid score
                maxima = np.tile([keys["max_points"] for _, keys in columns], n)
                bad = bad | (value > maxima).fillna(False).astype(bool)
            if bad.any():
                cell = np.flatnonzero(bad.to_numpy())
                first = pd.Series(cell, index=cell // width).groupby(level=0).first()
                label = spec.value.label or "значение"
                texts = {row: f"{label} {'/'.join(map(str, columns[c % width][1].values()))}: "
                              f"недопустимое значение {shown(normalise_text(raw.iloc[c]), spec.value)}"
                         for row, c in first.items()}
                mask = pd.Series(typed.index.isin(list(texts)), index=typed.index)
                reject(mask, "invalid_value", pd.Series(texts).reindex(typed.index))
            value = self._checked_wide(spec, value, columns, typed, reject)
            frame = pd.DataFrame({"source_row": np.repeat([number for number, _ in chunk], width),
                                  spec.value.name: value.array})
            for key in columns[0][1]:
                frame[key] = np.tile([keys[key] for _, keys in columns], n)
            for key in spec.extra_rows:
                frame[key] = np.tile([extras.get(i, {}).get(key) for i, _ in columns], n)
            frames.setdefault(spec.table, []).append(frame)
        return {t: pd.concat(parts, ignore_index=True) for t, parts in frames.items()}

    def _checked_wide(self, spec: WideColumns, value: pd.Series, columns: list, typed, reject) -> pd.Series:
        """``check_wide`` on the values pivoted per source row; the row-major values it converted, if any."""
        width = len(columns)
        labels = [keys[next(iter(keys))] if len(keys) == 1 else tuple(keys.values()) for _, keys in columns]
        table = pd.DataFrame({label: value.iloc[j::width].array for j, label in enumerate(labels)},
                             index=typed.index)
        checked = self.check_wide(spec, table, typed, reject)
        if checked is None:
            return value
        return pd.Series(pd.array(checked.to_numpy(dtype="float64", na_value=np.nan).ravel(), dtype=value.dtype))

    def _wide_extras(self, layout: Layout) -> dict[int, dict]:
        """Values for wide columns read from rows above the header (difficulty, maximum points)."""
        extras: dict[int, dict] = {}
        for spec in self.wide:
            indexes = [i for s, i, _ in layout.wide if s is spec]
            for column, pattern in spec.extra_rows.items():
                for _, cells in layout.preamble:
                    picked = {i: normalise_text(cells[i]) if i < len(cells) else None for i in indexes}
                    present = [v for v in picked.values() if v is not None]
                    if present and all(re.fullmatch(pattern, v, re.IGNORECASE) for v in present):
                        for i, v in picked.items():
                            extras.setdefault(i, {})[column] = v
        return extras

    def _quarantine_rows(self, numbers, reasons, problems, raw, typed) -> list[tuple]:
        """Quarantined rows as (source_row, reason, message, row_data) for raw.quarantine."""
        by_name = {c.name: c for c in self.columns}
        personal = [c.name for c in self.columns if c.personal]
        rows = []
        for idx in numbers.index:
            # only what cannot be personal is copied; the rest is left in the archived original file
            data = {k: displayable(normalise_text(v), by_name[k]) for k, v in raw.loc[idx].items()
                    if k not in personal}
            for name in personal:
                data[name] = None if pd.isna(typed.at[idx, name]) else str(typed.at[idx, name])
            file_name, row = self.row_origin(int(numbers[idx]))
            message = f"Файл «{file_name}», строка {row}: {problems[idx]}"
            rows.append((int(numbers[idx]), reasons[idx], message, json.dumps(data, ensure_ascii=False)))
        return rows

    def row_origin(self, number: int) -> tuple[str, int]:
        """The file and row a row number stands for (in a batch of files it also encodes the file)."""
        if self.batch_names is None:
            return self.file_name, number
        return self.batch_names[number // BATCH_ROW_SPAN], number % BATCH_ROW_SPAN

    def _table_columns(self) -> list[str]:
        names = ["load_id", "source_row", *[c.name for c in self.columns]]
        names += [n for n in self.extra_columns if n not in names]
        if self.resolves_schools and "school_id" not in names:
            names.append("school_id")
        return names

    # ----------------------------------------------------------------- partitions
    def _replace_partitions(self, load_id: int) -> int:
        """Delete the rows of earlier loads in the partitions this load covers; return how many."""
        table = sql.Identifier(self.table)
        delete = sql.SQL("delete from raw.{} t where t.load_id <> %s{} returning t.*")
        if self.partition:
            columns = sql.SQL(", ").join(sql.Identifier(c) for c in self.partition)
            partitions = self.conn.execute(sql.SQL("select distinct {} from raw.{} where load_id = %s").format(
                columns, table), (load_id,)).fetchall()
            # One statement per partition: each is an index lookup, where a join over all of them would
            # make the planner scan the whole table on every load.
            condition = sql.SQL("").join(sql.SQL(" and t.{} = %s").format(sql.Identifier(c)) for c in self.partition)
            earlier = sql.SQL("select exists (select 1 from raw.{} t where t.load_id <> %s{})").format(table, condition)
            if not any(self.conn.execute(earlier, (load_id, *partition)).fetchone()[0] for partition in partitions):
                return 0  # a new partition (most loads): nothing to replace
        self.conn.execute("create temp table doomed (load_id bigint, source_row integer) on commit drop")
        # The replaced rows are kept in raw_superseded until this load passes its checks (ingestion.core.superseded)
        if self.partition:
            table_columns = raw_tables.columns(self.conn, "raw", self.table)  # once, not per partition
            for partition in partitions:
                superseded.keep_deleted(self.conn, self.table, table_columns, delete.format(table, condition),
                                        (load_id, *partition), load_id, into="doomed")
        else:
            superseded.keep_deleted(self.conn, self.table, raw_tables.columns(self.conn, "raw", self.table),
                                    delete.format(table, sql.SQL("")), (load_id,), load_id, into="doomed")
        replaced = self.conn.execute("select count(distinct (load_id, source_row)) from doomed").fetchone()[0]
        if replaced == 0:
            self.conn.execute("drop table doomed")
            return 0
        # Without statistics the planner guesses a temp table's size and may scan the whole child table.
        self.conn.execute("analyze doomed")
        for child in self.child_tables():
            superseded.keep_deleted(self.conn, child, raw_tables.columns(self.conn, "raw", child), sql.SQL(
                "delete from raw.{} c using doomed d where c.load_id = d.load_id and c.source_row = d.source_row "
                "returning c.*").format(sql.Identifier(child)), (), load_id)
        # Earlier loads with nothing left are marked replaced by this one.
        self.conn.execute(sql.SQL(
            "update raw.load_ledger l set status = 'replaced', superseded_by = %(load)s "
            "where l.load_id in (select distinct load_id from doomed) "
            "and not exists (select 1 from raw.{} t where t.load_id = l.load_id)").format(table), {"load": load_id})
        self.conn.execute("drop table doomed")
        return replaced

    @classmethod
    def child_tables(cls) -> list[str]:
        return sorted({w.table for w in cls.wide} | set(cls.child_table_ddl()))

    @classmethod
    def child_table_ddl(cls) -> dict[str, dict[str, str]]:
        """Child tables filled by ``child_frames``: table -> column -> PostgreSQL type."""
        return {}


def _number(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:g}"


def _invalid_text(label: str, value: str | None, column: Column) -> str:
    """Why a value was refused: not of the column's type, or outside its range."""
    numeric = None
    if column.kind in ("int", "decimal") and value is not None:
        try:
            numeric = float(value.replace(",", ".").replace(" ", ""))
        except ValueError:
            numeric = None
    if numeric is not None and (column.kind == "decimal" or numeric.is_integer()):
        low = "" if column.minimum is None else f" от {_number(column.minimum)}"
        high = "" if column.maximum is None else f" до {_number(column.maximum)}"
        return f"в столбце «{label}» значение {shown(value, column)} вне допустимого диапазона{low}{high}"
    return f"в столбце «{label}» значение {shown(value, column)} не является {KIND_RU.get(column.kind, 'допустимым')}"


def _ddl_for(cls: type[FeedLoader]) -> list[str]:
    columns = [f"{c.name} {c.pg_type}" for c in cls.columns]
    columns += [f"{n} {t}" for n, t in cls.extra_columns.items()]
    if cls.school_code_column() is not None:
        columns.append("school_id text")
    statements = [
        f"create table if not exists raw.{cls.table} (load_id bigint not null references raw.load_ledger,"
        f" source_row integer not null, {', '.join(columns)}, primary key (load_id, source_row))"
    ]
    if cls.partition:
        statements.append(
            f"create index if not exists {cls.table}_partition on raw.{cls.table} ({', '.join(cls.partition)})")
    children: dict[str, dict[str, str]] = {}
    for spec in cls.wide:
        child = children.setdefault(spec.table, {})
        child.update(spec.key_columns)
        child.update({c: "text" for c in spec.extra_rows})
        child[spec.value.name] = spec.value.pg_type
    children.update(cls.child_table_ddl())
    for table, cols in children.items():
        body = ", ".join(f"{n} {t}" for n, t in cols.items())
        statements.append(
            f"create table if not exists raw.{table} (load_id bigint not null, source_row integer not null, {body})")
        statements.append(f"create index if not exists {table}_row on raw.{table} (load_id, source_row)")
    return statements
