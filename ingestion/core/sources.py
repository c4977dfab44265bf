"""Row-by-row reading of workbooks and CSV extracts, never holding a whole file in memory."""

from __future__ import annotations

import codecs
import csv
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openpyxl

from ingestion.core.errors import FileFormatError

Row = tuple[int, tuple]  # (1-based row number as a spreadsheet shows it, cell values)

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}


@dataclass
class Sheet:
    name: str
    rows: Iterator[Row]


def _xlsx_sheets(path: Path, sheet_pattern: str | None) -> Iterator[Sheet]:
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileFormatError(
            path, f"файл не удалось открыть как книгу Excel (.xlsx): он повреждён или имеет другой формат ({exc})"
        ) from exc
    try:
        names = workbook.sheetnames
        chosen = [n for n in names if sheet_pattern is None or re.search(sheet_pattern, n, re.IGNORECASE)]
        if not chosen:
            raise FileFormatError(
                path, f"в книге нет листа «{sheet_pattern}»; листы в книге: {', '.join(names)}"
            )
        for name in chosen:
            rows = workbook[name].iter_rows(values_only=True)
            yield Sheet(name, ((i, tuple(r)) for i, r in enumerate(rows, start=1)))
    finally:
        workbook.close()


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


def detect_delimiter(text_sample: str) -> str:
    lines = [line for line in text_sample.splitlines() if line.strip()][:10]
    counts = {d: sum(line.count(d) for line in lines) for d in (";", "\t", ",")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ";"


def _csv_rows(path: Path) -> Iterator[Row]:
    with path.open("rb") as raw:
        sample = raw.read(65536)
    if b"\x00" in sample:
        raise FileFormatError(path, "файл не является текстовым CSV (содержит двоичные данные)")
    encoding = detect_encoding(sample)
    delimiter = detect_delimiter(sample.decode(encoding, errors="replace"))
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


def open_sheets(path: Path, sheet_pattern: str | None = None) -> Iterator[Sheet]:
    """The sheets of a file to read: all matching sheets of a workbook, or the one table of a CSV."""
    if not path.exists():
        raise FileFormatError(path, "файл не найден")
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        yield from _xlsx_sheets(path, sheet_pattern)
    elif suffix in CSV_SUFFIXES:
        yield Sheet(path.name, _csv_rows(path))
    elif suffix == ".xls":
        raise FileFormatError(path, "формат .xls (Excel 97–2003) не поддерживается: сохраните файл как .xlsx")
    else:
        raise FileFormatError(path, f"неизвестный формат файла «{suffix}»: ожидается .xlsx или .csv")


def is_blank(cells: tuple) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)
