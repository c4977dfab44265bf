"""Typing the rows of many small files of one feed together, then splitting them back per file.

A ВПР individual workbook holds a few dozen pupils; typing its rows alone costs far more in pandas'
per-call overhead than in work. Files whose tables have the same layout (the same columns in the same
places, e.g. every school's workbook of one subject, grade and year) are typed as one frame: each row's
number becomes file index × ``BATCH_ROW_SPAN`` + its row number, so that the rules that group rows by
number, the duplicate-key rule (with the file as part of the key) and the quarantine messages still see
one file's rows apart from another's; the file's own values (title, date) become columns of its rows.
The typed rows are then split back per file, each with its own counts, and each file is written and
completed on its own as ever (``ingestion.core.parallel``).

Only feeds whose hooks read nothing but the typed frame opt in (``FeedLoader.batch_typing``). A file with
more than one table, a rule that keeps per-file state, or anything unforeseen while typing a batch sends
its files back to be typed one by one, so a batch never changes what a file loads.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ingestion.core.layout import Layout
from ingestion.core.loader import BATCH_FILE, BATCH_ROW_SPAN, FeedLoader, LoadResult, TypedChunk
from ingestion.core.seen_keys import SeenKeys
from ingestion.core.sources import Row


@dataclass
class FileRows:
    """One file read and its header found: its layout, its table's values and its data rows."""
    path: Path
    layout: Layout
    constants: dict
    rows: list[Row] = field(default_factory=list)


class NotBatchable(Exception):
    """This file is typed on its own (e.g. it holds more than one table)."""


def read_rows(loader: FeedLoader, path: Path) -> FileRows:
    """The file's one table and its data rows (context rows dropped); LoadError as a load would raise it."""
    tables = []
    for layout, rows in loader.tables(path):
        tables.append(FileRows(path, layout, dict(loader.constants),
                               [row for chunk in loader._chunks(rows) for row in chunk]))
        if len(tables) > 1:
            raise NotBatchable(path)
    return tables[0]


def _canonical(layout: Layout, extras: dict) -> tuple[tuple, list[int] | None]:
    """What files typed together must share, and where each of a file's cells goes in the shared layout.

    Files with the same columns, labels and wide keys are typed together even where their columns stand in
    other places: each row's cells are put in one order (the fixed columns by name, then the wide ones).
    A grouped (wide) form is read from its own places, so such files must share the places too.
    """
    wide = tuple((id(spec), tuple(keys.items()), tuple(sorted(extras.get(index, {}).items())))
                 for spec, index, keys in layout.wide)
    shared = (tuple(sorted(layout.labels.items())), wide)
    if layout.fanout:
        return (*shared, tuple(layout.fixed.items()), tuple(i for _, i, _ in layout.wide), repr(layout.fanout),
                layout.group_column), None
    order = [layout.fixed[name] for name in sorted(layout.fixed)] + [index for _, index, _ in layout.wide]
    return (*shared, tuple(sorted(layout.fixed))), order


def _shared_layout(layout: Layout, order: list[int] | None) -> Layout:
    if order is None:
        return layout
    fixed = {name: j for j, name in enumerate(sorted(layout.fixed))}
    wide = [(spec, len(fixed) + k, keys) for k, (spec, _, keys) in enumerate(layout.wide)]
    # the rows above the header only for the wide columns' values there (difficulty), in the same order
    preamble = [(number, _reordered(cells, order)) for number, cells in layout.preamble]
    return replace(layout, fixed=fixed, wide=wide, preamble=preamble)


def _reordered(cells: tuple, order: list[int]) -> tuple:
    width = len(cells)
    return tuple(cells[i] if i < width else None for i in order)


def type_together(loader: FeedLoader, files: list[FileRows]) -> list[tuple[LoadResult, list[TypedChunk]]]:
    """Each file's counts and typed chunks, the same as typing it alone would give; raises on anything else."""
    out: list[tuple[LoadResult, list[TypedChunk]] | None] = [None] * len(files)
    groups: dict[tuple, list[tuple[int, list[int] | None]]] = {}
    for i, file in enumerate(files):
        key, order = _canonical(file.layout, loader._wide_extras(file.layout))
        groups.setdefault(key, []).append((i, order))
    loader.batch_names = [f.path.name for f in files]
    try:
        for members in groups.values():
            for i, result, typed in _type_group(loader, files, members):
                out[i] = (result, typed)
    finally:
        loader.batch_names = None
    return out


def _type_group(loader: FeedLoader, files: list[FileRows], members: list[tuple[int, list[int] | None]]):
    first, first_order = members[0]
    layout = _shared_layout(files[first].layout, first_order)
    rows = [(i * BATCH_ROW_SPAN + number, cells if order is None else _reordered(cells, order))
            for i, order in members for number, cells in files[i].rows]
    loader.seen_keys, loader.file_state = SeenKeys(), {}
    names = list(dict.fromkeys(k for i, _ in members for k in files[i].constants))
    chunks: list[TypedChunk] = []
    scratch = LoadResult(loader.feed, "", "loaded")
    for start in range(0, len(rows), loader.chunk_rows):
        piece = rows[start:start + loader.chunk_rows]
        owner = [number // BATCH_ROW_SPAN for number, _ in piece]
        loader.constants = {name: _per_row([files[i].constants.get(name) for i in owner]) for name in names}
        loader.constants[BATCH_FILE] = np.array(owner)
        chunks.append(loader._type_chunk(piece, layout, scratch))
    if set(loader.file_state) - {"source_rows"}:  # a rule kept per-file state: not for a batch
        raise NotBatchable(files[first].path)
    for i, _ in members:
        result = LoadResult(loader.feed, files[i].path.name, "loaded")
        typed = [_file_part(chunk, i, result) for chunk in chunks]
        result.rows_read = result.rows_loaded + result.rows_quarantined
        yield i, result, [t for t in typed if not t.rows.empty or t.quarantine]


def _per_row(values: list) -> object:
    """A file value for each row; one scalar when every row has the same (the dtype a single file gives)."""
    first = values[0]
    if all(v is first or v == first for v in values):
        return first
    return np.array(values, dtype=object)


def _file_part(chunk: TypedChunk, i: int, result: LoadResult) -> TypedChunk:
    low, high = i * BATCH_ROW_SPAN, (i + 1) * BATCH_ROW_SPAN

    def mine(frame: pd.DataFrame) -> pd.DataFrame:
        part = frame[(frame["source_row"] >= low) & (frame["source_row"] < high)]
        return part.assign(source_row=part["source_row"] - low).drop(columns=BATCH_FILE, errors="ignore")

    rows = mine(chunk.rows)
    quarantine = [(number - low, *rest) for number, *rest in chunk.quarantine if low <= number < high]
    result.rows_loaded += rows["source_row"].nunique()
    result.rows_quarantined += len(quarantine)
    result.reasons.update(Counter(reason for _, reason, _, _ in quarantine))
    return TypedChunk(rows, {table: mine(frame) for table, frame in chunk.children.items()}, quarantine)
