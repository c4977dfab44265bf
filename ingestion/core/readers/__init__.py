"""File readers: each file becomes sheets of numbered rows, or a FileFormatError with a Russian message.

A workbook's format is told by its first bytes, not only its name: ФИС ОКО and РЦОИ exports named
.xls are often .xlsx inside, or a web page; each is read by what it is, or refused saying what it is.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

from ingestion.core.errors import FileFormatError
from ingestion.core.readers.base import Row, Sheet, choose_sheets, is_blank
from ingestion.core.readers.calamine import calamine_sheets
from ingestion.core.readers.text import csv_rows, detect_delimiter, detect_encoding
from ingestion.core.readers.xlsx import BROKEN, xlsx_sheets

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Row",
    "Sheet",
    "choose_sheets",
    "detect_delimiter",
    "detect_encoding",
    "is_blank",
    "open_sheets",
]

TEXT_SUFFIXES = {".csv", ".txt", ".tsv"}
WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}
SUPPORTED_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".txt", ".tsv")

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


def _workbook_kind(path: Path) -> str:
    """xlsx, xls or ods from the file's content; a FileFormatError naming what the file is otherwise."""
    with path.open("rb") as handle:
        head = handle.read(512)
    suffix = path.suffix.lower()
    if not head:
        raise FileFormatError(path, "файл пуст")
    if head.startswith(OLE2_MAGIC):
        return "xls"  # an encrypted .xlsx is an OLE2 file too; calamine then says it cannot read it
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as archive:
                if "mimetype" in archive.namelist() and archive.read("mimetype").startswith(ODS_MIMETYPE):
                    return "ods"
        except BROKEN:
            pass  # the reader of the format the name promises says what is damaged
        return "ods" if suffix == ".ods" else "xlsx"
    sniff = head.lstrip().lower()
    if sniff.startswith((b"<html", b"<!doctype html", b"<table")) or b"<html" in sniff:
        raise FileFormatError(path, f"файл с расширением {suffix} на самом деле веб-страница (HTML), а не книга "
                                    "Excel: откройте его в Excel и сохраните как .xlsx")
    if sniff.startswith(b"<?xml"):
        raise FileFormatError(path, f"файл с расширением {suffix} на самом деле XML (например, «Таблица XML "
                                    "2003»), а не книга Excel: сохраните его как .xlsx")
    if b"\x00" not in head and _textual(head):
        raise FileFormatError(path, f"файл с расширением {suffix} на самом деле текстовый (похож на CSV), а не "
                                    "книга: переименуйте его в .csv или сохраните в Excel как .xlsx")
    expected = {"xls": "Excel 97–2003 (.xls)", "ods": "OpenDocument (.ods)"}.get(suffix.lstrip("."),
                                                                               "Excel (.xlsx, zip-архив)")
    raise FileFormatError(path, f"файл не удалось открыть как книгу {expected}: его начало не похоже ни на "
                                "книгу Excel, ни на таблицу OpenDocument (файл повреждён или имеет другой формат)")


def _textual(head: bytes) -> bool:
    """Bytes that read as lines of text in one of the encodings text extracts come in."""
    text = head.decode(detect_encoding(head), errors="replace")
    return "\n" in text and all(ch.isprintable() or ch in "\r\n\t" for ch in text)


def open_sheets(path: Path, sheet_pattern: str | None = None, streaming: bool | None = None) -> Iterator[Sheet]:
    """The sheets of a file to read: all matching sheets of a workbook, or the one table of a text file.

    ``streaming`` concerns .xlsx only: None or True reads rows as the sheet XML is inflated (flat
    memory); False reads the whole sheet through calamine (which loses error cells and formulas saved
    without a value). .xls and .ods are always read whole by calamine.
    """
    path = Path(path)
    if not path.exists():
        raise FileFormatError(path, "файл не найден")
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        yield Sheet(path.name, csv_rows(path))
    elif suffix in WORKBOOK_SUFFIXES:
        kind = _workbook_kind(path)
        if kind == "xlsx" and streaming is not False:
            yield from xlsx_sheets(path, sheet_pattern)
        else:
            yield from calamine_sheets(path, sheet_pattern, kind)
    else:
        shown = f"«{suffix}»" if suffix else "без расширения"
        raise FileFormatError(path, f"неизвестный формат файла {shown}: читаются {', '.join(SUPPORTED_SUFFIXES)}")
