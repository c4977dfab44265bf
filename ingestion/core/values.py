"""Typing of cell values as they come in real files.

Every parser takes a pandas Series of raw cells (strings, numbers or dates, depending on the file
format) and returns the typed Series and a mask of cells that could not be typed. Missing-value
tokens («X», «Х», «-», «нет отметки» …) become NA and are not errors.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

MISSING_TOKENS = frozenset({"", "x", "х", "-", "—", "–", "нет отметки", "н/д", "nan", "none", "null"})
TRUE_TOKENS = frozenset({"да", "1", "+", "true", "истина", "есть", "д"})
FALSE_TOKENS = frozenset({"нет", "0", "-", "false", "ложь", "н"})


def normalise_text(value: object) -> str | None:
    """A cell as stripped text, or None when it is empty or a missing-value token."""
    if value is None:
        return None
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        if value.is_integer():
            value = int(value)
    if isinstance(value, dt.datetime):
        value = value.date() if value.time() == dt.time() else value
    text = str(value).replace("\xa0", " ").strip()
    if text.lower() in MISSING_TOKENS:
        return None
    return text


def as_text(raw: pd.Series) -> pd.Series:
    return raw.map(normalise_text).astype("string")


def _numeric(text: pd.Series) -> pd.Series:
    cleaned = text.str.replace(" ", "", regex=False).str.replace(",", ".", regex=False).str.rstrip("%")
    return pd.to_numeric(cleaned, errors="coerce")


def _to_float(raw: pd.Series, minimum: float | None, maximum: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Cells as float64 (NaN for missing) and a mask of cells that are not numbers or out of range.

    Cells that already are numbers (workbooks) or plain numeric strings convert in C; only the rest
    (decimal commas, missing-value tokens, garbage) goes through the text path.
    """
    value = pd.to_numeric(raw.to_numpy(dtype=object), errors="coerce").astype("float64")
    bad = np.zeros(len(value), dtype=bool)
    rest = np.isnan(value) & raw.notna().to_numpy()
    if rest.any():
        text = as_text(raw[rest])
        parsed = _numeric(text).astype("float64").to_numpy()
        value[rest] = parsed
        bad[rest] = (text.notna().to_numpy() & np.isnan(parsed))
    with np.errstate(invalid="ignore"):
        if minimum is not None:
            bad |= value < minimum
        if maximum is not None:
            bad |= value > maximum
    value[bad] = np.nan
    return value, bad


def parse_decimal(raw: pd.Series, minimum: float | None = None, maximum: float | None = None):
    value, bad = _to_float(raw, minimum, maximum)
    return pd.Series(pd.array(value, dtype="Float64"), index=raw.index), pd.Series(bad, index=raw.index)


def parse_int(raw: pd.Series, minimum: float | None = None, maximum: float | None = None):
    value, bad = _to_float(raw, minimum, maximum)
    with np.errstate(invalid="ignore"):
        fractional = ~np.isnan(value) & (value != np.round(value))
    bad |= fractional
    value[fractional] = np.nan
    return pd.Series(pd.array(value, dtype="Float64").astype("Int64"), index=raw.index), pd.Series(bad, index=raw.index)


def _plain_lower(value: object) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace("\xa0", " ").strip().lower()


def parse_bool(raw: pd.Series):
    # «-» means «нет» here, so the yes/no tokens are read before the missing-value tokens.
    text = raw.map(_plain_lower)
    value = pd.Series(pd.NA, index=raw.index, dtype="boolean")
    value[text.isin(TRUE_TOKENS)] = True
    value[text.isin(FALSE_TOKENS)] = False
    missing = text.map(lambda t: pd.isna(t) or t in MISSING_TOKENS).astype(bool)
    bad = value.isna() & ~missing
    return value, bad.fillna(False).astype(bool)


_DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d", "%d.%m.%y", "%d/%m/%Y")


def _to_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = normalise_text(value)
    if text is None:
        return None
    text = text.split(" ")[0]
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def parse_date(raw: pd.Series):
    values, bad = [], []
    for cell in raw:
        try:
            values.append(_to_date(cell))
            bad.append(False)
        except ValueError:
            values.append(None)
            bad.append(True)
    return pd.Series(values, index=raw.index, dtype="object"), pd.Series(bad, index=raw.index)


def parse_choice(raw: pd.Series, choices: dict[str, str]):
    """Map labels to codes; ``choices`` keys are lower-case labels (``ё`` written as ``е``)."""
    text = as_text(raw)
    key = text.str.lower().str.replace("ё", "е", regex=False).str.replace(r"\s+", " ", regex=True)
    value = key.map(choices).astype("string")
    bad = text.notna() & value.isna()
    return value, bad.fillna(False).astype(bool)


_SCHOOL_YEAR = re.compile(r"^(\d{4})\s*[-–—/]\s*(\d{2}|\d{4})$")


def school_year_of(text: str | None) -> int | None:
    """«2023-2024», «2023/24» or «2024» → 2024 (the spring year keys the school year)."""
    if text is None:
        return None
    text = text.strip()
    if text.isdigit() and len(text) == 4:
        return int(text)
    match = _SCHOOL_YEAR.match(text)
    if not match:
        raise ValueError(text)
    first, second = int(match.group(1)), match.group(2)
    spring = int(second) if len(second) == 4 else (first // 100) * 100 + int(second)
    if spring != first + 1:
        raise ValueError(text)
    return spring


def parse_school_year(raw: pd.Series):
    text = as_text(raw)
    values, bad = [], []
    for cell in text:
        try:
            values.append(school_year_of(None if pd.isna(cell) else cell))
            bad.append(False)
        except ValueError:
            values.append(None)
            bad.append(True)
    return pd.Series(values, index=raw.index, dtype="Int64"), pd.Series(bad, index=raw.index)
