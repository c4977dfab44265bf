"""Patterns and columns several feeds share."""

import re

from ingestion.core.columns import Column, WideColumns
from ingestion.core.values import normalise_text

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
