"""Rewriting demo files the way a supplier would send a correction: same layout, one row fewer."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl

from ingestion.core.sources import detect_delimiter, detect_encoding, open_sheets
from ingestion.demo.formats import ods_bytes, xls_bytes
from tests.builders import write_xlsx

TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
ZIP_STAMP = (2026, 1, 15, 9, 0, 0)


def _matches(name: str, sheet_pattern: str | None) -> bool:
    return sheet_pattern is None or sheet_pattern.lower() in name.lower()


def _rewrite(source: Path, target: Path, edit, sheet_pattern: str | None) -> Path:
    """A copy of ``source`` in the same format and encoding, its rows passed through ``edit(rows)``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = source.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        raw = source.read_bytes()
        encoding = detect_encoding(raw[:65536])
        text = raw.decode(encoding)
        delimiter = detect_delimiter(text[:65536])
        rows = list(csv.reader(text.splitlines(), delimiter=delimiter))
        edit(rows)
        with target.open("w", encoding=encoding, newline="") as handle:
            csv.writer(handle, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
        return target
    if suffix in (".xls", ".ods"):  # read by the project's reader (calamine), written by the demo's writers
        sheets = []
        for sheet in open_sheets(source):
            rows: list[list] = []
            for number, cells in sheet.rows:
                rows += [[] for _ in range(number - 1 - len(rows))] + [list(cells)]
            if _matches(sheet.name, sheet_pattern):
                edit(rows)
            sheets.append((sheet.name, rows))
        target.write_bytes(xls_bytes(sheets) if suffix == ".xls" else ods_bytes(sheets, ZIP_STAMP))
        return target
    workbook = openpyxl.load_workbook(source, read_only=True, data_only=True)
    sheets = {}
    for name in workbook.sheetnames:
        rows = [list(r) for r in workbook[name].iter_rows(values_only=True)]
        if _matches(name, sheet_pattern):
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
    text = source.suffix.lower() in TEXT_SUFFIXES

    def replace(rows: list) -> None:
        row = rows[row_number - 1]
        row += [None] * (column_index + 1 - len(row))  # readers drop a row's empty cells at its end
        row[column_index] = str(value) if text else value

    return _rewrite(source, target, replace, sheet_pattern)
