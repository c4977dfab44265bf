"""Row-by-row reading of workbooks and CSV extracts, never holding a whole file in memory."""

from __future__ import annotations

import codecs
import csv
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import python_calamine

from ingestion.core.errors import FileFormatError

Row = tuple[int, tuple]  # (1-based row number as a spreadsheet shows it, cell values)

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}


@dataclass
class Sheet:
    name: str
    rows: Iterator[Row]


# Workbooks up to this size are read with calamine (Rust; ~10x faster than openpyxl), which holds one sheet's
# cells in memory at a time; larger workbooks stream row by row through openpyxl's read-only mode.
CALAMINE_MAX_BYTES = 32 * 1024 * 1024


def _choose_sheets(path: Path, names: list[str], sheet_pattern: str | None) -> list[str]:
    chosen = [n for n in names if sheet_pattern is None or re.search(sheet_pattern, n, re.IGNORECASE)]
    if not chosen:
        raise FileFormatError(path, f"в книге нет листа «{sheet_pattern}»; листы в книге: {', '.join(names)}")
    return chosen


def _calamine_sheets(path: Path, sheet_pattern: str | None) -> Iterator[Sheet]:
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    except (python_calamine.CalamineError, OSError, ValueError) as exc:
        raise FileFormatError(
            path, f"файл не удалось открыть как книгу Excel (.xlsx): он повреждён или имеет другой формат ({exc})"
        ) from exc
    with workbook:
        for name in _choose_sheets(path, workbook.sheet_names, sheet_pattern):
            sheet = workbook.get_sheet_by_name(name)
            first_row = sheet.start[0] if sheet.start else 0  # calamine's range starts at the first used row
            yield Sheet(name, ((first_row + i, tuple(r)) for i, r in enumerate(sheet.iter_rows(), start=1)))


def _openpyxl_sheets(path: Path, sheet_pattern: str | None) -> Iterator[Sheet]:
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileFormatError(
            path, f"файл не удалось открыть как книгу Excel (.xlsx): он повреждён или имеет другой формат ({exc})"
        ) from exc
    try:
        for name in _choose_sheets(path, workbook.sheetnames, sheet_pattern):
            rows = workbook[name].iter_rows(values_only=True)
            yield Sheet(name, ((i, tuple(r)) for i, r in enumerate(rows, start=1)))
    finally:
        workbook.close()


def _xlsx_sheets(path: Path, sheet_pattern: str | None, streaming: bool | None = None) -> Iterator[Sheet]:
    if streaming is None:
        streaming = path.stat().st_size > CALAMINE_MAX_BYTES
    return _openpyxl_sheets(path, sheet_pattern) if streaming else _calamine_sheets(path, sheet_pattern)


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) or cp1251, the two encodings regional extracts come in."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    cut = sample.rfind(b"\n")
    head = sample if cut < 0 else sample[: cut + 1]
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1251"


def detect_delimiter(text_sample: str, truncated: bool = False) -> str:
    """The separator that splits the sample's lines into the most rows of one consistent width.

    Counting characters is not enough: a `;` file may have commas inside quoted lists of school codes.
    """
    lines = [line for line in text_sample.splitlines() if line.strip()][:50]
    if truncated and len(lines) > 1:
        lines = lines[:-1]  # the sample cut the last line short
    best, best_score = ";", (0, 0)
    for delimiter in (";", "\t", ","):
        widths = Counter(len(record) for record in csv.reader(lines, delimiter=delimiter))
        width, rows = max(widths.items(), key=lambda item: (item[1], item[0]))
        score = (rows, width) if width > 1 else (0, 0)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _csv_rows(path: Path) -> Iterator[Row]:
    with path.open("rb") as raw:
        sample = raw.read(65536)
    if b"\x00" in sample:
        raise FileFormatError(path, "файл не является текстовым CSV (содержит двоичные данные)")
    encoding = detect_encoding(sample)
    delimiter = detect_delimiter(sample.decode(encoding, errors="replace"), truncated=len(sample) == 65536)
    with path.open("r", encoding=encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            for number, record in enumerate(reader, start=1):
                yield number, tuple(record)
        except UnicodeDecodeError as exc:
            raise FileFormatError(
                path, f"не удалось прочитать текст в кодировке {encoding} (строка около {reader.line_num})"
            ) from exc
        except csv.Error as exc:
            raise FileFormatError(path, f"ошибка разбора CSV в строке {reader.line_num}: {exc}") from exc


def open_sheets(path: Path, sheet_pattern: str | None = None, streaming: bool | None = None) -> Iterator[Sheet]:
    """The sheets of a file to read: all matching sheets of a workbook, or the one table of a CSV."""
    if not path.exists():
        raise FileFormatError(path, "файл не найден")
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        yield from _xlsx_sheets(path, sheet_pattern, streaming)
    elif suffix in CSV_SUFFIXES:
        yield Sheet(path.name, _csv_rows(path))
    elif suffix == ".xls":
        raise FileFormatError(path, "формат .xls (Excel 97–2003) не поддерживается: сохраните файл как .xlsx")
    else:
        raise FileFormatError(path, f"неизвестный формат файла «{suffix}»: ожидается .xlsx или .csv")


def is_blank(cells: tuple) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)
