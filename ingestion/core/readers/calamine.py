"""Whole-sheet reading through calamine (Rust): .xls (Excel 97–2003) and .ods, and .xlsx on request.

calamine loads one sheet at a time into memory; .xls sheets hold at most 65,536 rows, so that is
bounded. Its cell values differ from the streaming .xlsx reader in two ways this module cannot undo:
an error cell («#DIV/0!») and a formula saved without its value both come as empty cells. Empty cells
come as ``""`` from calamine and are given here as ``None``, as the other readers give them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import python_calamine

from ingestion.core.errors import FileFormatError
from ingestion.core.readers.base import Row, Sheet, choose_sheets

WHAT = {
    "xls": "книгу Excel 97–2003 (.xls)",
    "ods": "таблицу OpenDocument (.ods)",
    "xlsx": "книгу Excel (.xlsx)",
}
BROKEN = (python_calamine.CalamineError, OSError, ValueError, EOFError)


def _is_broken(exc: BaseException) -> bool:
    """An error of calamine on a damaged file, including a Rust panic (pyo3's PanicException is a BaseException)."""
    return isinstance(exc, BROKEN) or type(exc).__name__ == "PanicException"


def calamine_sheets(path: Path, sheet_pattern: str | None, kind: str) -> Iterator[Sheet]:
    """Sheets of a workbook whose format (``kind``: xls, ods, xlsx) was recognised from its first bytes."""
    try:
        with path.open("rb") as handle:
            workbook = python_calamine.CalamineWorkbook.from_filelike(handle)
    except BaseException as exc:
        if not _is_broken(exc):
            raise
        raise FileFormatError(path, f"файл не удалось открыть как {WHAT[kind]}: он повреждён, защищён паролем "
                                    f"или имеет другой формат ({exc})") from exc
    with workbook:
        for name in choose_sheets(path, workbook.sheet_names, sheet_pattern):
            try:
                sheet = workbook.get_sheet_by_name(name)
            except BaseException as exc:
                if not _is_broken(exc):
                    raise
                raise FileFormatError(path, f"лист «{name}» не удалось прочитать как {WHAT[kind]}: "
                                            f"он повреждён ({exc})") from exc
            yield Sheet(name, _rows(sheet))


def _rows(sheet: python_calamine.CalamineSheet) -> Iterator[Row]:
    """Rows numbered as a spreadsheet shows them, cells from column A.

    calamine's ``iter_rows`` starts at the sheet's first row (row 1, even when it is blank) but at its
    first used column; the columns before it are put back as empty cells.
    """
    lead = (None,) * (sheet.start[1] if sheet.start else 0)
    for number, cells in enumerate(sheet.iter_rows(), start=1):
        values = [None if c == "" else c for c in cells]
        while values and values[-1] is None:
            values.pop()
        if values:
            yield number, lead + tuple(values)
