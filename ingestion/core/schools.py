"""Resolution of any school code (ФИС ОКО login, РЦОИ code, registry code, ОГРН, ИНН) to the registry code."""

from __future__ import annotations

import re

import pandas as pd
import psycopg

KIND_RU = {"ogrn": "ОГРН", "inn": "ИНН"}
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

    def __init__(self, mapping: dict[str, str], ambiguous: dict[str, tuple[str, str]] | None = None):
        self._mapping = mapping
        self._ambiguous = ambiguous or {}  # key -> (kind, the registry codes sharing it)

    @classmethod
    def from_database(cls, conn: psycopg.Connection) -> SchoolResolver:
        rows = conn.execute("select key_value, registry_code from raw.school_keys").fetchall()
        shared = conn.execute("select key_value, key_kind, registry_codes from raw.school_keys_ambiguous").fetchall()
        return cls({normalise_code(k): v for k, v in rows}, {k: (kind, codes) for k, kind, codes in shared})

    def __len__(self) -> int:
        return len(self._mapping)

    def code_of(self, code: str) -> str | None:
        key = normalise_code(code)
        found = self._mapping.get(key)
        if found is None and len(key) == 9 and key.isdigit():
            found = self._mapping.get("0" + key)  # an ИНН whose leading zero a number cell dropped
        return found

    def unknown_text(self, code: str) -> str:
        """Why a code did not resolve, in Russian, for the quarantine message."""
        key = normalise_code(code)
        shared = self._ambiguous.get(key) or (self._ambiguous.get("0" + key) if len(key) == 9 else None)
        if shared:
            kind, codes = shared
            return (f"{KIND_RU.get(kind, 'код')} «{code}» принадлежит нескольким ОО реестра ({codes}; например, "
                    "головной ОО и её филиалу): укажите код ОО, логин ФИС ОКО или код РЦОИ")
        return f"код ОО «{code}» не найден в реестре ОО"

    def resolve(self, codes: pd.Series) -> pd.Series:
        return codes.map(lambda c: None if pd.isna(c) else self.code_of(c)).astype("string")
