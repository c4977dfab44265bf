"""Patterns and columns several feeds share."""

import datetime as dt
import re

import pandas as pd

from ingestion.core.columns import Column, WideColumns
from ingestion.core.values import normalise_text, parse_date

# «ВПР 2024 Математика 5 класс», «ВПР 2024. Математика. 5 класс»
VPR_TITLE = re.compile(r"ВПР\s+(\d{4})\.?\s+(.+?)\.?\s+(\d+)\s*класс", re.IGNORECASE)
# «1 (2б)», «9.1 (1б)», «5К1 (1б)» (headers are folded to lower case before matching)
TASK_CODE = r"\d+(?:[.,]\d+)?(?:[кk]\d+)?"


def task_code(text: str) -> str:
    """One spelling of a task code: dot for comma, Cyrillic capital К for a criterion."""
    return text.replace(",", ".").upper().replace("K", "К")


def find_title(rows, pattern: re.Pattern) -> re.Match | None:
    for _, cells in rows:
        for cell in cells:
            text = normalise_text(cell)
            if text:
                match = pattern.search(text)
                if match:
                    return match
    return None


def label_value(rows, label: str) -> str | None:
    """The value next to a label cell in the rows above a header («Дата | 16.04.2024»)."""
    for _, cells in rows:
        texts = [normalise_text(c) for c in cells]
        for i, text in enumerate(texts):
            if text and re.match(label, text, re.IGNORECASE):
                following = [t for t in texts[i + 1:] if t]
                return following[0] if following else None
    return None


def percent(name: str, header: str, **kw) -> Column:
    return Column(name, header, "decimal", minimum=0, maximum=100, **kw)


def count(name: str, header: str, **kw) -> Column:
    return Column(name, header, "int", minimum=0, maximum=100_000_000, **kw)


YEAR = Column("year", r"^(учебный )?год$", "school_year", nullable=False, label="Год")


def school(header: str = r"^(код|логин) оо|^код оу|^логин$", label: str = "Код ОО") -> Column:
    return Column("school_code", header, "school", nullable=False, label=label)


def score_distribution(table: str) -> WideColumns:
    """Columns «0», «1», … «max»: percent of participants at each primary score."""
    return WideColumns(
        table=table, header=r"(\d+)", key_columns={"score": "integer"},
        keys=lambda m: {"score": int(m.group(1))},
        value=percent("pct", "", label="доля участников с баллом"), min_columns=2,
    )


def label_cell(rows, label: str) -> object:
    """The raw cell next to a label cell above a header («Дата: | 45397»), as the reader gave it.

    A value written into the label's own cell after a colon («Дата: 16.04.2024») is taken from there.
    """
    for _, cells in rows:
        texts = [normalise_text(c) for c in cells]
        for i, text in enumerate(texts):
            if text and re.match(label, text, re.IGNORECASE):
                inline = re.match(rf"(?:{label})[^:]*:\s*(\S.*)$", text, re.IGNORECASE)
                if inline:
                    return inline.group(1)
                return next((c for c, t in zip(cells[i + 1:], texts[i + 1:], strict=True) if t), None)
    return None


EXCEL_EPOCH = dt.date(1899, 12, 30)  # Excel's day 0 in the 1900 date system (its 1900 leap-year bug included)
SERIAL_DAYS = (20000, 80000)  # 1954 … 2119: a bare number in this range beside «Дата» is a serial date


def excel_date(value: object) -> dt.date | None:
    """A date cell, an Excel serial number (45397 → 2024-04-15) or a «16.04.2024» text; None if neither."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = normalise_text(value)
    if text is None:
        return None
    number = text.replace(",", ".")
    if re.fullmatch(r"\d{5}(\.0+)?", number) and SERIAL_DAYS[0] <= float(number) <= SERIAL_DAYS[1]:
        return EXCEL_EPOCH + dt.timedelta(days=int(float(number)))
    value, bad = parse_date(pd.Series([text], dtype="object"))
    return None if bad.iloc[0] else value.iloc[0]
