"""Keyed hashing of pupil and teacher identifiers.

The same code gives the same pseudonym in every feed and year (so pupils link across years), but
without the key, which lives outside the warehouse, the code cannot be recovered by hashing guesses.
"""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd


class Pseudonymiser:
    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("Ключ псевдонимизации слишком короткий: нужно не менее 16 байт")
        self._key = key

    def token(self, kind: str, code: str) -> str:
        normalised = "".join(code.split()).upper()
        digest = hmac.new(self._key, f"{kind}:{normalised}".encode(), hashlib.sha256).hexdigest()
        return digest[:32]

    def series(self, kind: str, codes: pd.Series) -> pd.Series:
        return codes.map(lambda c: None if pd.isna(c) else self.token(kind, str(c))).astype("string")
