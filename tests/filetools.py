"""Rewriting demo files the way a supplier would send a correction: same layout, one row fewer."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl

from ingestion.core.sources import detect_delimiter, detect_encoding
from tests.builders import write_xlsx


def without_row(source: Path, target: Path, row_number: int, sheet_pattern: str | None = None) -> Path:
    """A copy of ``source`` with the row ``row_number`` (as a spreadsheet shows it) removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.suffix.lower() == ".csv":
        raw = source.read_bytes()
        encoding = detect_encoding(raw[:65536])
        text = raw.decode(encoding)
        delimiter = detect_delimiter(text[:65536])
        rows = list(csv.reader(text.splitlines(), delimiter=delimiter))
        del rows[row_number - 1]
        with target.open("w", encoding=encoding, newline="") as handle:
            csv.writer(handle, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
        return target
    workbook = openpyxl.load_workbook(source, read_only=True, data_only=True)
    sheets = {}
    for name in workbook.sheetnames:
        rows = [list(r) for r in workbook[name].iter_rows(values_only=True)]
        if sheet_pattern is None or sheet_pattern.lower() in name.lower():
            del rows[row_number - 1]
        sheets[name] = rows
    workbook.close()
    return write_xlsx(target, sheets)


def with_cell(source: Path, target: Path, row_number: int, column_index: int, value: object,
              sheet_pattern: str | None = None) -> Path:
    """A copy of ``source`` with one cell (row as a spreadsheet shows it, 0-based column) replaced."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.suffix.lower() == ".csv":
        raw = source.read_bytes()
        encoding = detect_encoding(raw[:65536])
        text = raw.decode(encoding)
        delimiter = detect_delimiter(text[:65536])
        rows = list(csv.reader(text.splitlines(), delimiter=delimiter))
        rows[row_number - 1][column_index] = str(value)
        with target.open("w", encoding=encoding, newline="") as handle:
            csv.writer(handle, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
        return target
    workbook = openpyxl.load_workbook(source, read_only=True, data_only=True)
    sheets = {}
    for name in workbook.sheetnames:
        rows = [list(r) for r in workbook[name].iter_rows(values_only=True)]
        if sheet_pattern is None or sheet_pattern.lower() in name.lower():
            rows[row_number - 1][column_index] = value
        sheets[name] = rows
    workbook.close()
    return write_xlsx(target, sheets)
