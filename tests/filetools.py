"""Rewriting demo files the way a supplier would send a correction: same layout, one row fewer."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl

from ingestion.core.sources import detect_delimiter, detect_encoding
from tests.builders import write_xlsx


def _rewrite(source: Path, target: Path, edit, sheet_pattern: str | None) -> Path:
    """A copy of ``source`` in the same format and encoding, its rows passed through ``edit(rows)``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.suffix.lower() == ".csv":
        raw = source.read_bytes()
        encoding = detect_encoding(raw[:65536])
        text = raw.decode(encoding)
        delimiter = detect_delimiter(text[:65536])
        rows = list(csv.reader(text.splitlines(), delimiter=delimiter))
        edit(rows)
        with target.open("w", encoding=encoding, newline="") as handle:
            csv.writer(handle, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
        return target
    workbook = openpyxl.load_workbook(source, read_only=True, data_only=True)
    sheets = {}
    for name in workbook.sheetnames:
        rows = [list(r) for r in workbook[name].iter_rows(values_only=True)]
        if sheet_pattern is None or sheet_pattern.lower() in name.lower():
            edit(rows)
        sheets[name] = rows
    workbook.close()
    return write_xlsx(target, sheets)


def without_row(source: Path, target: Path, row_number: int, sheet_pattern: str | None = None) -> Path:
    """A copy of ``source`` with the row ``row_number`` (as a spreadsheet shows it) removed."""

    def drop(rows: list) -> None:
        del rows[row_number - 1]

    return _rewrite(source, target, drop, sheet_pattern)


def with_cell(source: Path, target: Path, row_number: int, column_index: int, value: object,
              sheet_pattern: str | None = None) -> Path:
    """A copy of ``source`` with one cell (row as a spreadsheet shows it, 0-based column) replaced."""

    def replace(rows: list) -> None:
        rows[row_number - 1][column_index] = value if source.suffix.lower() != ".csv" else str(value)

    return _rewrite(source, target, replace, sheet_pattern)
