"""Keys of the rows accepted so far in one file, for the duplicate-row rule (``FeedLoader.unique``).

A file of 200,000 participants would keep 200,000 tuples of 32-character pseudonyms in a Python set
(about 40 MB, growing with the file). Each key is kept instead as a 128-bit BLAKE2b digest in one sorted
NumPy array (16 bytes a key, 3 MB for 200,000): two different keys share a digest with probability
about n² / 2¹²⁹, i.e. never in practice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
import pandas as pd


def _text(value: object) -> str | None:
    """A key part as text; every missing value (None, NA, NaN) is the same missing part."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return str(value)


def digest(key: tuple) -> bytes:
    return hashlib.blake2b(repr(tuple(_text(v) for v in key)).encode(), digest_size=16).digest()


class SeenKeys:
    def __init__(self) -> None:
        # "S16" drops trailing NUL bytes of a digest; equal digests stay equal, so only the (already
        # negligible) chance that two digests differ in nothing but trailing zero bytes is added.
        self._sorted = np.empty(0, dtype="S16")

    def __len__(self) -> int:
        return len(self._sorted)

    def repeats(self, keys: Iterable[tuple], accepted: np.ndarray) -> np.ndarray:
        """In file order, which rows repeat the key of an earlier accepted row (of this chunk or an earlier
        one); the keys of accepted rows that are not repeats are remembered."""
        accepted = np.asarray(accepted, dtype=bool)
        codes = np.array([digest(key) for key in keys], dtype="S16")
        repeated = np.zeros(len(codes), dtype=bool)
        rows = np.flatnonzero(accepted)
        if rows.size == 0:
            return repeated
        mine = codes[rows]
        earlier = np.isin(mine, self._sorted)
        _, first = np.unique(mine, return_index=True)
        again = np.ones(len(mine), dtype=bool)
        again[first] = False  # the first accepted row of a key in this chunk is no repeat of this chunk
        repeated[rows] = earlier | again
        self._sorted = np.union1d(self._sorted, mine[~repeated[rows]])
        return repeated
