"""Declarative column specifications: how a header is recognised and how its values are typed."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from ingestion.core import values

# Kinds of column and the PostgreSQL type each is stored as.
PG_TYPES = {
    "text": "text",
    "int": "integer",
    "decimal": "numeric",
    "bool": "boolean",
    "date": "date",
    "school_year": "smallint",
    "choice": "text",
    "class": "text",  # a class label as written: «5», «5А», «11 Б»
    "school": "text",  # the code as written; the resolved registry code goes to school_id
    "pupil": "text",  # keyed hash of a participant code
    "teacher": "text",  # keyed hash of a teacher id
}

# Headers that carry personal names (ФИО, «ФИО участника», «Ф.И.О.», Фамилия, Имя, Отчество): their cells are
# never read past the header row.
NAME_HEADER = re.compile(r"ф\.?\s*и\.?\s*о(?![а-яёa-z])|фамили|отчеств|(^|\W)имя(\W|$)", re.IGNORECASE)


def fold(text: str) -> str:
    """Header text folded for matching: lower case, ``ё`` → ``е``, one space, no NBSP."""
    return re.sub(r"\s+", " ", str(text).replace("\xa0", " ").replace("ё", "е").replace("Ё", "Е")).strip().lower()


@dataclass(frozen=True)
class Column:
    name: str  # canonical English identifier
    header: str  # regex matched against the folded header text
    kind: str = "text"
    required: bool = True  # must the header be present
    nullable: bool = True  # may the value be missing
    minimum: float | None = None
    maximum: float | None = None
    choices: dict[str, str] | None = None
    label: str = ""  # Russian name used in messages (defaults to the header found)
    public: bool = False  # text that is never personal (school and municipality names, subjects): kept as read

    @property
    def pg_type(self) -> str:
        return PG_TYPES[self.kind]

    @property
    def is_public(self) -> bool:
        return self.public or self.kind == "school"

    @property
    def personal(self) -> bool:
        return self.kind in ("pupil", "teacher")

    def matches(self, header_text: str) -> bool:
        return re.search(self.header, fold(header_text)) is not None

    def parse(self, raw: pd.Series) -> tuple[pd.Series, pd.Series]:
        if self.kind == "int":
            return values.parse_int(raw, self.minimum, self.maximum)
        if self.kind == "decimal":
            return values.parse_decimal(raw, self.minimum, self.maximum)
        if self.kind == "bool":
            return values.parse_bool(raw)
        if self.kind == "date":
            return values.parse_date(raw)
        if self.kind == "school_year":
            return values.parse_school_year(raw)
        if self.kind == "choice":
            assert self.choices is not None
            return values.parse_choice(raw, self.choices)
        if self.kind == "class":
            return values.parse_class_label(raw)
        return values.parse_text(raw)


@dataclass(frozen=True)
class WideColumns:
    """A run of columns, one per task / score / marker, stored long in a child table.

    ``header`` captures the key of each column; ``keys`` turns the regex match into the child row's
    key columns (e.g. task code and maximum points).
    """

    table: str
    header: str
    key_columns: dict[str, str]  # child key column -> PostgreSQL type
    keys: Callable[[re.Match], dict]
    value: Column  # typing of the cells; its name is the child value column
    extra_rows: dict[str, str] = field(default_factory=dict)  # child column <- a preamble row label regex
    min_columns: int = 1
