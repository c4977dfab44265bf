"""What every reader yields: sheets of numbered rows, and the choice of sheets by name."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ingestion.core.errors import FileFormatError

Row = tuple[int, tuple]  # (1-based row number as a spreadsheet shows it, cell values from column A on)

# Excel cuts sheet names at 31 characters («МА 10 Индивидуальные результат»); a pattern cut by that limit
# still names the sheet when the name ends with the pattern's first characters (at least this many).
SHEET_NAME_LIMIT = 31
MIN_CUT_MATCH = 6
REGEX_SPECIALS = set(".^$*+?{}[]\\|()")


@dataclass
class Sheet:
    name: str
    rows: Iterator[Row]


def _matches_cut_name(name: str, pattern: str) -> bool:
    """The pattern, a plain text, runs past the end of a name Excel cut at 31 characters."""
    if len(name) < SHEET_NAME_LIMIT or any(ch in pattern for ch in REGEX_SPECIALS):
        return False
    folded, literal = name.casefold().rstrip(), pattern.casefold()
    return any(folded.endswith(literal[:size]) for size in range(len(literal) - 1, MIN_CUT_MATCH - 1, -1))


def choose_sheets(path: Path, names: list[str], sheet_pattern: str | None) -> list[str]:
    """The sheets whose names match ``sheet_pattern`` (a regular expression, case-insensitive); all if None."""
    if sheet_pattern is None:
        chosen = list(names)
    else:
        chosen = [n for n in names if re.search(sheet_pattern, n, re.IGNORECASE)]
        chosen = chosen or [n for n in names if _matches_cut_name(n, sheet_pattern)]
    if not names:
        raise FileFormatError(path, "в книге нет ни одного листа с ячейками")
    if not chosen:
        listed = ", ".join(f"«{n}»" for n in names) or "нет ни одного листа"
        raise FileFormatError(path, f"в книге нет листа «{sheet_pattern}»; листы в книге: {listed}")
    return chosen


def is_blank(cells: tuple) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)
