"""Resolution of any school code (ФИС ОКО login, РЦОИ code, registry code) to the registry code."""

from __future__ import annotations

import pandas as pd
import psycopg


def normalise_code(code: str) -> str:
    return "".join(str(code).split()).lower()


class SchoolResolver:
    """An in-memory map of every known code; the registry is small (thousands of rows)."""

    def __init__(self, mapping: dict[str, str]):
        self._mapping = mapping

    @classmethod
    def from_database(cls, conn: psycopg.Connection) -> SchoolResolver:
        rows = conn.execute("select key_value, registry_code from raw.school_keys").fetchall()
        return cls({normalise_code(k): v for k, v in rows})

    def __len__(self) -> int:
        return len(self._mapping)

    def resolve(self, codes: pd.Series) -> pd.Series:
        return codes.map(lambda c: None if pd.isna(c) else self._mapping.get(normalise_code(c))).astype("string")
