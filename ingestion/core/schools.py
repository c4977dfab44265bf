"""Resolution of any school code (ФИС ОКО login, РЦОИ code, registry code, ОГРН, ИНН) to the registry code."""

from __future__ import annotations

import re

import pandas as pd
import psycopg

# A number cell read as text: «1022401000000.0».
_NUMBER_CELL = re.compile(r"(\d+)\.0+")


def normalise_code(code: str) -> str:
    """One spelling of a code: no spaces, lower case, a number cell's «.0» dropped."""
    text = "".join(str(code).split()).lower()
    match = _NUMBER_CELL.fullmatch(text)
    return match.group(1) if match else text


class SchoolResolver:
    """An in-memory map of every known code; the registry is small (thousands of rows).

    ОГРН and ИНН shared by several schools (a branch and its head) are not in the map (see
    ``ingestion.feeds.registry``): a row carrying one stays unresolved rather than going to either school.
    """

    def __init__(self, mapping: dict[str, str]):
        self._mapping = mapping

    @classmethod
    def from_database(cls, conn: psycopg.Connection) -> SchoolResolver:
        rows = conn.execute("select key_value, registry_code from raw.school_keys").fetchall()
        return cls({normalise_code(k): v for k, v in rows})

    def __len__(self) -> int:
        return len(self._mapping)

    def code_of(self, code: str) -> str | None:
        key = normalise_code(code)
        found = self._mapping.get(key)
        if found is None and len(key) == 9 and key.isdigit():
            found = self._mapping.get("0" + key)  # an ИНН whose leading zero a number cell dropped
        return found

    def resolve(self, codes: pd.Series) -> pd.Series:
        return codes.map(lambda c: None if pd.isna(c) else self.code_of(c)).astype("string")
