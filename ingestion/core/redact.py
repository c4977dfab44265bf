"""What a quarantine message or row copy may repeat from a rejected cell.

A misplaced name or participant code can land in any column, so a cell is repeated only when it cannot
be personal: public text (school names, subjects, school codes), short numbers and dates, short
symbol strings («??», «-11»), and lower-case vocabulary in choice columns («высший»).
"""

from __future__ import annotations

import re

from ingestion.core.columns import Column

NUMBER = re.compile(r"-?\d{1,8}(?:[.,]\d+)?%?")
DATE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}")
WORD_RUN = re.compile(r"[^\W\d_]{2,}")
VOCABULARY = re.compile(r"[а-яёa-z]+(?: [а-яёa-z]+)?")


def displayable(value: str | None, column: Column | None = None) -> str | None:
    if value is None:
        return None
    if column is not None and column.is_public:
        return value
    if NUMBER.fullmatch(value) or DATE.fullmatch(value):
        return value
    if len(value) <= 8 and not WORD_RUN.search(value):
        return value
    if column is not None and column.kind in ("choice", "bool") and len(value) <= 25 and VOCABULARY.fullmatch(value):
        return value
    return None


def shown(value: str | None, column: Column | None = None) -> str:
    """The value in guillemets for a message, or a note that it is hidden."""
    safe = displayable(value, column)
    if safe is not None:
        return f"«{safe}»"
    return "(пусто)" if value is None else f"(скрыто, {len(value)} симв.)"
