"""Writing the demo files reproducibly (.xlsx, .xls, .ods, delimited text), and the small layout variations
real files have.

Formats and encodings as municipalities and the federal systems send them: .xlsx mostly; .xls (Excel
97–2003) and .ods (LibreOffice) workbooks; CSV in cp1251, UTF-8 with BOM, and rarely cp866 or KOI8-R;
Excel's «Текст Юникод» (.txt, UTF-16 LE with BOM, tab-separated). A ``datetime.date`` in a row is a date
cell in .xls and .ods, and the text «dd.mm.yyyy» in .xlsx and text files.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import multiprocessing as mp
import os
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from .formats import XLS_MAX_ROWS, ods_bytes, xls_bytes

FIXED_DT = dt.datetime(2026, 1, 15, 9, 0, 0)
ZIP_DT = (2026, 1, 15, 9, 0, 0)
MISSING_TOKENS = ("X", "Х", "-", "—", "нет отметки")
# True: openpyxl builds the workbook, the cells are serialised here (same XML, ~10x faster without lxml).
# False: plain openpyxl ws.append for every row (reference path; identical cell values).
FAST_SHEET_XML = True


@dataclass
class FileSpec:
    feed: str
    name: str
    kind: str  # "xlsx", "xls", "ods" (workbooks) or "csv" (any delimited text)
    sheets: list = field(default_factory=list)  # workbooks: [(sheet name, rows)]
    rows: list = field(default_factory=list)  # csv rows
    encoding: str = "utf-8-sig"  # "utf-16": Excel's «Текст Юникод», little-endian with a BOM
    sep: str = ";"
    data_rows: int = 0

    @property
    def size(self) -> int:
        return sum(len(r) for _, r in self.sheets) + len(self.rows)

    @property
    def grid(self) -> list:
        """The rows of the file's (first) table, to plant defects in."""
        return self.rows if self.kind == "csv" else self.sheets[0][1]


# How a feed may save a file: (file kind, extension, encoding, separator) per format name.
FORMATS = {
    "xlsx": ("xlsx", ".xlsx", None, None),
    "xls": ("xls", ".xls", None, None),
    "ods": ("ods", ".ods", None, None),
    "csv1251": ("csv", ".csv", "cp1251", ";"),
    "csv_utf8": ("csv", ".csv", "utf-8-sig", ";"),
    "csv866": ("csv", ".csv", "cp866", ";"),
    "csv_koi8": ("csv", ".csv", "koi8_r", ";"),
    "txt_utf16": ("csv", ".txt", "utf-16", "\t"),
}


def file_spec(feed: str, stem: str, fmt: str, sheet: str, rows: list, data_rows: int) -> FileSpec:
    """One table saved in format ``fmt`` (a key of FORMATS); a table too long for one .xls sheet as .xlsx."""
    if fmt == "xls" and len(rows) > XLS_MAX_ROWS:
        fmt = "xlsx"
    kind, suffix, encoding, sep = FORMATS[fmt]
    if kind == "csv":
        return FileSpec(feed, stem + suffix, kind, rows=rows, encoding=encoding, sep=sep, data_rows=data_rows)
    return FileSpec(feed, stem + suffix, kind, [(sheet, rows)], data_rows=data_rows)


def pct(x: float, digits: int = 2) -> str:
    """A percentage as the exports print it: decimal comma."""
    return f"{x:.{digits}f}".replace(".", ",")


def blank_rows_inside(rows: list, rng: np.random.Generator, k: int = 1) -> list:
    """Insert k empty rows at random places inside the data part (never first or last)."""
    rows = list(rows)
    for _ in range(k):
        if len(rows) > 3:
            rows.insert(int(rng.integers(1, len(rows) - 1)), [])
    return rows


_COLS = [get_column_letter(i) for i in range(1, 400)]
_ESC = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})


def _sheet_data(rows: list) -> str:
    """<sheetData> in the form openpyxl's write-only mode emits (inline strings, t="n" numbers).

    openpyxl's own per-cell writer runs at ~100k cells/s without lxml; this keeps the workbook
    skeleton from openpyxl and serialises only the cells, ~10x faster, same XML."""
    out = ["<sheetData>"]
    for i, row in enumerate(rows, start=1):
        cells = []
        for j, v in enumerate(row):
            if v is None or v == "":
                continue
            ref = f"{_COLS[j]}{i}"
            if isinstance(v, dt.date):
                v = _text_date(v)
            if isinstance(v, str):
                sp = ' xml:space="preserve"' if v != v.strip() else ""
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t{sp}>{v.translate(_ESC)}</t></is></c>')
            elif isinstance(v, bool | np.bool_):
                cells.append(f'<c r="{ref}" t="b"><v>{int(v)}</v></c>')
            else:
                cells.append(f'<c r="{ref}" t="n"><v>{v}</v></c>')
        out.append(f'<row r="{i}">{"".join(cells)}</row>' if cells else f'<row r="{i}" />')
    out.append("</sheetData>")
    return "".join(out)


def _text_date(v):
    """A date as the text «dd.mm.yyyy»: .xlsx and text files here carry no date cells."""
    return v.strftime("%d.%m.%Y") if isinstance(v, dt.date) else v


def xlsx_bytes(sheets: list) -> bytes:
    wb = Workbook(write_only=True)
    wb.properties.creator = "ФИС ОКО / ЦОКО (демо)"
    wb.properties.created = FIXED_DT
    for title, rows in sheets:
        ws = wb.create_sheet(title=title)
        if not FAST_SHEET_XML:
            for r in rows:
                ws.append([_text_date(v) for v in r])
    buf = io.BytesIO()
    archive = zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED)
    wb.properties.modified = FIXED_DT  # openpyxl's save_workbook would stamp "now"
    ExcelWriter(wb, archive).save()
    # Put the cells into openpyxl's empty sheets and rewrite the zip with fixed entry timestamps,
    # so that the same content gives the same bytes.
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    sheet_xml = {f"xl/worksheets/sheet{k}.xml": rows for k, (_, rows) in enumerate(sheets, start=1)}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if FAST_SHEET_XML and info.filename in sheet_xml:
                empty = b"<sheetData></sheetData>"
                assert empty in data, "unexpected openpyxl sheet layout"
                data = data.replace(empty, _sheet_data(sheet_xml[info.filename]).encode("utf-8"))
            zi = zipfile.ZipInfo(info.filename, date_time=ZIP_DT)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, data)
    return out.getvalue()


def csv_bytes(rows: list, encoding: str, sep: str) -> bytes:
    """Delimited text; every character must exist in ``encoding`` (a file never holds a «?» for a letter)."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator="\r\n")
    for r in rows:
        w.writerow(["" if v is None else _text_date(v) for v in r])
    if encoding == "utf-16":  # as Excel saves «Текст Юникод», whatever the platform's byte order
        return codecs.BOM_UTF16_LE + buf.getvalue().encode("utf-16-le")
    return buf.getvalue().encode(encoding)


def file_bytes(spec: FileSpec) -> bytes:
    if spec.kind == "xlsx":
        return xlsx_bytes(spec.sheets)
    if spec.kind == "xls":
        return xls_bytes(spec.sheets)
    if spec.kind == "ods":
        return ods_bytes(spec.sheets, ZIP_DT)
    return csv_bytes(spec.rows, spec.encoding, spec.sep)


def _write_one(spec: FileSpec, out_dir: Path) -> None:
    path = out_dir / spec.feed / spec.name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(file_bytes(spec))


_JOBS: list = []
_OUT: Path | None = None


def _job(i: int) -> int:
    _write_one(_JOBS[i], _OUT)
    return i


def write_all(files: list[FileSpec], out_dir: Path, workers: int | None = None) -> None:
    """Write every file; with 2+ workers in a forked pool (the payload is inherited, not pickled)."""
    global _JOBS, _OUT
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    # Forking a process that runs other threads (an Airflow task's supervisor, for one) can deadlock on a
    # lock held by another thread at fork time: only a single-threaded process forks.
    can_fork = ("fork" in mp.get_all_start_methods() and not mp.current_process().daemon
                and threading.active_count() == 1)
    if workers <= 1 or not can_fork or len(files) < 20:
        for f in files:
            _write_one(f, out_dir)
        return
    order = sorted(range(len(files)), key=lambda i: -files[i].size)
    _JOBS, _OUT = files, out_dir
    try:
        with mp.get_context("fork").Pool(workers) as pool:
            for _ in pool.imap_unordered(_job, order, chunksize=4):
                pass
    finally:
        _JOBS, _OUT = [], None


class Rotator:
    """Cycles through variants per key so that every variant occurs as soon as enough files exist."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def pick(self, key: str, options):
        i = self.counts.get(key, 0)
        self.counts[key] = i + 1
        return options[i % len(options)]
