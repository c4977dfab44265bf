"""Many files of one feed on every core: worker processes read and type them, this process writes them in order.

Reading a workbook and typing its rows is pure Python and most of a load's time; writing is COPY and a
few statements. So the files of a run are typed in a pool of worker processes (no connection there) while
this process registers them, writes each one's typed rows and completes its load, in arrival order and one
transaction per file, exactly as ``FeedLoader.load`` does: a later file still replaces an earlier one's
partitions, a failed file still leaves nothing behind and never stops the others, and every file has its
own ledger row. What a worker needs from the warehouse (the registry's codes, municipalities, enrolment)
is read once, when the run begins (``RegistryView.frozen``).

Files larger than ``PARALLEL_MAX_BYTES`` are read here, streamed chunk by chunk as ever, so that memory
stays flat in file size; a worker's typed rows of a small file are held until that file's turn, at most
``IN_FLIGHT_BYTES`` of files at a time. A snapshot feed (one file replaces the whole table), a run of a few
files or ``workers`` < 2 loads file by file, still with the lock and the registry's values taken once.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ingestion.core import ledger
from ingestion.core.batch_typing import FileRows, NotBatchable, read_rows, type_together
from ingestion.core.errors import LoadError
from ingestion.core.loader import FeedLoader, LoadResult, ParsedFailure, TypedChunk, internal_error_text
from ingestion.core.registry_view import RegistryView
from ingestion.core.tracebacks import code_traceback

log = logging.getLogger(__name__)

PARALLEL_MAX_BYTES = 1 << 20  # larger files stream in the main process (a school's ВПР workbook: ~30 KB)
# Bytes of files handed to workers and not yet written: their typed rows are held in memory meanwhile (about
# ten times the bytes of a compressed workbook), so this bounds a run's memory whatever the files.
IN_FLIGHT_BYTES = 16 << 20
# Below this, starting the workers (a Python with pandas each, ~2 s on two cores) costs more than it saves
# (bench/run_bench.py: feeds of 20-40 files of the 160-school demo load faster file by file).
MIN_FILES = 64
BATCH_FILES = 32  # small files handed to a worker at a time (typed together where the feed allows it)


def default_workers() -> int:
    """``EDU_LOAD_WORKERS``, else one per core (at most 4: the writer is one process)."""
    configured = os.environ.get("EDU_LOAD_WORKERS")
    if configured:
        return max(0, int(configured))
    return min(4, os.cpu_count() or 1)


@dataclass
class Parsed:
    """What a worker returns for one file: the counters, the typed chunks, the file's rule state."""
    result: LoadResult
    chunks: list[TypedChunk] = field(default_factory=list)
    file_state: dict = field(default_factory=dict)
    failure: tuple[str, str] | None = None  # (Russian message, traceback text)


_worker: FeedLoader | None = None


def _start_worker(loader_class: type[FeedLoader], key: bytes, registry: RegistryView, chunk_rows: int) -> None:
    global _worker
    _worker = loader_class(None, key, chunk_rows=chunk_rows)
    _worker.registry = registry
    _worker.resolver = registry.resolver if _worker.resolves_schools else None


def _parse(path: Path, load_id: int) -> Parsed:
    loader = _worker
    loader.file_state = {}
    result = LoadResult(loader.feed, path.name, "loaded")
    chunks: list[TypedChunk] = []
    try:
        loader._copy_file(path, result, chunks.append)
    except LoadError as exc:
        return Parsed(result, failure=(str(exc), ""))
    except Exception as exc:  # this file fails, as it would in FeedLoader.complete
        return Parsed(result, failure=(internal_error_text(path, exc), code_traceback(exc)))
    state = {k: v for k, v in loader.file_state.items() if k != "source_rows"}  # the last chunk's rows: not needed
    return Parsed(result, _encoded(loader, chunks, load_id), state)


def _encoded(loader: FeedLoader, chunks: list[TypedChunk], load_id: int) -> list[TypedChunk]:
    """The chunks as COPY input, made here rather than in the writing process (which is the one that waits)."""
    return [TypedChunk(_NO_ROWS, {}, chunk.quarantine, loader.encode(chunk, load_id)) for chunk in chunks]


_NO_ROWS = pd.DataFrame()


def _parse_batch(files: list[tuple[Path, int]]) -> list[Parsed]:
    """Several small files (path, load id): typed together where the feed allows it (batch_typing), else one
    by one."""
    loader = _worker
    if not loader.batch_typing or len(files) < 2:
        return [_parse(*f) for f in files]
    parsed: dict[int, Parsed] = {}
    readable: list[tuple[int, FileRows]] = []
    for i, (path, load_id) in enumerate(files):
        try:
            readable.append((i, read_rows(loader, path)))
        except NotBatchable:
            parsed[i] = _parse(path, load_id)
        except Exception:  # the file's own failure, with its message, as typing it alone reports it
            parsed[i] = _parse(path, load_id)
    try:
        typed = type_together(loader, [f for _, f in readable])
    except NotBatchable:
        typed = None
    except Exception as exc:  # whatever it was, each file typed alone says which one and why
        log.warning("%s: файлы пакета разбираются по одному (%s)\n%s", loader.feed, type(exc).__name__,
                    code_traceback(exc))
        typed = None
    for position, (i, file) in enumerate(readable):
        load_id = files[i][1]
        if typed is None:
            parsed[i] = _parse(file.path, load_id)
        else:
            result, chunks = typed[position]
            parsed[i] = Parsed(result, _encoded(loader, chunks, load_id), {})
    return [parsed[i] for i in range(len(files))]


def _write(loader: FeedLoader, parsed: Parsed, load_id: int, result: LoadResult) -> None:
    """The ``fill`` of ``FeedLoader.complete`` for a file a worker typed."""
    if parsed.failure:
        raise ParsedFailure(*parsed.failure)
    loader.file_state = parsed.file_state
    for typed in parsed.chunks:
        loader.write_typed(typed, load_id)
    result.rows_read, result.rows_loaded = parsed.result.rows_read, parsed.result.rows_loaded
    result.rows_quarantined, result.reasons = parsed.result.rows_quarantined, parsed.result.reasons


def load_files(loader: FeedLoader, paths: Iterable[Path], force: bool = False,
               workers: int | None = None) -> list[LoadResult]:
    """Load the files in order (see the module's docstring); one result per file, in the same order."""
    paths = [Path(p) for p in paths]
    workers = default_workers() if workers is None else workers
    if not loader.partition:  # a snapshot (the registry itself): each file on its own
        return [loader.load(p, force) for p in paths]
    conn = loader.conn
    ledger.mark_interrupted(conn)
    loader.lock_feed()
    try:
        if workers < 2 or len(paths) < MIN_FILES:
            # file by file here, with the run's set-up once: the lock, the registry (read when first needed)
            registry = RegistryView(conn)
            return [loader.load_here(p, force, registry) for p in paths]
        registry = RegistryView(conn).frozen()
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_start_worker,
                                 initargs=(type(loader), loader.key, registry, loader.chunk_rows)) as pool:
            # batches small enough that every worker gets several, large enough to type many files at once
            size = max(1, min(BATCH_FILES, len(paths) // (4 * workers)))
            return _run(loader, paths, force, pool, registry, size, workers)
    finally:
        if not conn.broken:
            conn.execute("select pg_advisory_unlock_all()")


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None  # a vanished or unreadable file: FeedLoader.load records it


@dataclass
class _Entry:
    path: Path
    sha: str | None
    registered: int | LoadResult | None  # a load id, an early result, or None: load it here at its turn
    batch: Future | None = None  # the worker's typed files, this one at ``position``
    position: int = 0
    size: int = 0  # bytes, while a worker holds it


def _run(loader: FeedLoader, paths: list[Path], force: bool, pool: ProcessPoolExecutor, registry: RegistryView,
         batch_files: int, workers: int) -> list[LoadResult]:
    window = (workers + 1) * batch_files  # files registered ahead of the one being written
    held = 0  # bytes of the files with the workers
    results: list[LoadResult] = []
    pending: deque[_Entry] = deque()
    in_flight: set[str] = set()  # checksums registered in this run and not yet completed
    upcoming = iter(paths)
    broken = False

    def register_ahead() -> None:
        """Register files up to the window, in arrival order (so load ids follow the files), and hand the
        small ones to the workers ``batch_files`` at a time."""
        batch: list[_Entry] = []

        def send() -> None:
            if batch:
                future = pool.submit(_parse_batch, [(e.path, e.registered) for e in batch])
                for position, entry in enumerate(batch):
                    entry.batch, entry.position = future, position
                batch.clear()

        nonlocal held
        while len(pending) < window and held < IN_FLIGHT_BYTES:
            path = next(upcoming, None)
            if path is None:
                break
            checksum = _checksum(path)
            sha = checksum[0] if checksum else None
            if sha is None or sha in in_flight:
                # unreadable, or the same content as a file still on its way: its turn decides (skipped once
                # the first is loaded, as in a run file by file)
                pending.append(_Entry(path, sha, None))
                continue
            entry = _Entry(path, sha, loader.register(path, force, checksum))  # the file read once here
            pending.append(entry)
            if isinstance(entry.registered, LoadResult):
                continue
            in_flight.add(sha)
            size = _size(path)
            if size is not None and size <= PARALLEL_MAX_BYTES and not broken:
                entry.size = size
                held += size
                batch.append(entry)  # a large file is read here at its turn, streamed chunk by chunk
                if len(batch) == batch_files:
                    send()
        send()

    register_ahead()
    while pending:
        entry = pending.popleft()
        if isinstance(entry.registered, LoadResult):
            results.append(entry.registered)
        elif entry.registered is None:
            results.append(loader.load_here(entry.path, force, registry))
        else:
            parsed = None
            if entry.batch is not None and not broken:
                try:
                    parsed = entry.batch.result()[entry.position]
                except BrokenProcessPool:  # a worker died (e.g. killed): the rest is read here
                    log.warning("процесс чтения файлов завершился аварийно: остальные файлы читаются по одному")
                    broken = True
            results.append(_complete(loader, entry.path, entry.registered, parsed, registry))
            in_flight.discard(entry.sha)
            held -= entry.size
        if len(pending) <= window // 2:
            register_ahead()
    return results


def _complete(loader: FeedLoader, path: Path, load_id: int, parsed: Parsed | None,
              registry: RegistryView) -> LoadResult:
    loader.registry = registry
    try:
        if parsed is None:  # a large file, or the pool broke: read and type it here
            return loader.complete(path, load_id, lambda result: loader._copy_file(
                path, result, lambda typed: loader.write_typed(typed, load_id)))
        loader.file_name = path.name
        return loader.complete(path, load_id, lambda result: _write(loader, parsed, load_id, result))
    finally:
        loader.release(load_id)


def _checksum(path: Path) -> tuple[str, int] | None:
    try:
        return ledger.file_checksum(path)
    except OSError:
        return None
