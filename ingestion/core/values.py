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

from ingestion.core.cells import UNCACHED_FORMULA

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


def uncached(raw: pd.Series) -> pd.Series:
    """Formula cells saved without a computed value (the readers' sentinel): a bad value, never NULL."""
    return pd.Series([cell is UNCACHED_FORMULA for cell in raw], index=raw.index, dtype=bool)


def parse_text(raw: pd.Series):
    formula = uncached(raw)
    return as_text(raw).mask(formula), formula


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


# Day-first formats of Russian files, ISO, and what Excel or a database export writes beside them.
_DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d", "%d.%m.%y", "%d/%m/%Y", "%d-%m-%Y", "%Y.%m.%d", "%Y/%m/%d", "%d/%m/%y")
_MONTHS = {"январ": 1, "феврал": 2, "март": 3, "апрел": 4, "ма": 5, "июн": 6, "июл": 7, "август": 8,
           "сентябр": 9, "октябр": 10, "ноябр": 11, "декабр": 12}
# «16 апреля 2024», «16 апреля 2024 г.», «1 сентября 2023 года»
_WORD_DATE = re.compile(r"(\d{1,2})\s+([а-яё]+)\s+(\d{4})(?:\s*(?:г\.?|года?))?", re.IGNORECASE)
_SERIAL = re.compile(r"\d{5}(?:[.,]\d+)?")
# Excel's day count: serial 1 is 1900-01-01 and 1900 is (wrongly) a leap year, so from March 1900 on the
# serial counts days from 1899-12-30. Serials outside this range are not taken for dates (1954-10-03 to
# 2119-01-08): a five-digit number in a date column is a date a workbook lost its format for.
EXCEL_EPOCH = dt.date(1899, 12, 30)
SERIAL_RANGE = (20000, 80000)
# The period a date or a school year of these feeds can fall in: ЕГЭ and ВПР history starts in 2009;
# nothing is dated after the end of next year.
FIRST_YEAR = 2009


def last_year() -> int:
    return dt.date.today().year + 1


def date_window() -> tuple[dt.date, dt.date]:
    return dt.date(FIRST_YEAR, 1, 1), dt.date(last_year(), 12, 31)


def _from_serial(number: float) -> dt.date:
    if not SERIAL_RANGE[0] <= number < SERIAL_RANGE[1]:
        raise ValueError(number)
    return EXCEL_EPOCH + dt.timedelta(days=int(number))


def _month(word: str) -> int:
    word = word.lower()
    for stem, month in _MONTHS.items():
        # «мая»/«май» share the stem «ма» with nothing else once longer stems are tried first
        if word.startswith(stem) and (stem != "ма" or word in ("май", "мая")):
            return month
    raise ValueError(word)


def _to_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float | np.integer | np.floating):
        if value != value:  # NaN
            return None
        return _from_serial(float(value))
    text = normalise_text(value)
    if text is None:
        return None
    if _SERIAL.fullmatch(text):
        return _from_serial(float(text.replace(",", ".")))
    words = _WORD_DATE.fullmatch(text)
    if words:
        return dt.date(int(words.group(3)), _month(words.group(2)), int(words.group(1)))
    text = re.split(r"[ T]", text)[0]  # «16.04.2024 10:00», «2024-04-16T00:00:00»
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def parse_date_checked(raw: pd.Series):
    """Dates, the mask of cells that are not dates, and the mask of dates outside ``date_window()``.

    An implausible date is a bad value too (its cell is NA), reported apart so the message can say why.
    """
    first, last = date_window()
    seen: dict = {}  # a file repeats a few dates many times: each distinct cell is parsed once

    def one(cell) -> tuple[dt.date | None, bool, bool]:
        try:
            date = _to_date(cell)
        except (ValueError, OverflowError):
            return None, True, False
        out = date is not None and not first <= date <= last
        return (None if out else date), out, out

    parsed = []
    for cell in raw:  # cells are str, numbers, dates, None or the formula sentinel: all hashable
        result = seen.get(cell)
        if result is None:
            result = seen[cell] = one(cell)
        parsed.append(result)
    values, bad, implausible = zip(*parsed, strict=True) if parsed else ((), (), ())
    return (pd.Series(list(values), index=raw.index, dtype="object"),
            pd.Series(list(bad), index=raw.index, dtype=bool),
            pd.Series(list(implausible), index=raw.index, dtype=bool))


def parse_date(raw: pd.Series):
    value, bad, _ = parse_date_checked(raw)
    return value, bad


def parse_choice(raw: pd.Series, choices: dict[str, str]):
    """Map labels to codes; ``choices`` keys are lower-case labels (``ё`` written as ``е``)."""
    text = as_text(raw)
    key = text.str.lower().str.replace("ё", "е", regex=False).str.replace(r"\s+", " ", regex=True)
    value = key.map(choices).astype("string")
    bad = text.notna() & value.isna()
    return value, bad.fillna(False).astype(bool)


# «2023-2024», «2023/24», «2023–24», with or without «учебный год», «уч. г.», «уч.год», «г.»
_SCHOOL_YEAR = re.compile(
    r"^(\d{4})(?:\s*[-–—/]\s*(\d{2}|\d{4}))?\s*(?:учебн\w*\s*год\w*|уч\.?\s*г(?:од)?\.?|г\.?|год|гг\.?)?$",
    re.IGNORECASE)


def school_year_of(text: str | None) -> int | None:
    """«2023-2024 учебный год», «2023/24 уч. г.», «2023–24» or «2024» → 2024 (the spring year keys the school year)."""
    if text is None:
        return None
    match = _SCHOOL_YEAR.match(re.sub(r"\s+", " ", text.strip()))
    if not match:
        raise ValueError(text)
    first, second = int(match.group(1)), match.group(2)
    if second is None:
        return first
    spring = int(second) if len(second) == 4 else (first // 100) * 100 + int(second)
    if spring != first + 1:
        raise ValueError(text)
    return spring


def parse_school_year_checked(raw: pd.Series):
    """School years keyed by spring, the mask of bad cells, and the mask of years outside 2009 … next year."""
    text = as_text(raw)
    values, bad = [], []
    for cell in text:
        try:
            values.append(school_year_of(None if pd.isna(cell) else cell))
            bad.append(False)
        except ValueError:
            values.append(None)
            bad.append(True)
    value = pd.Series(values, index=raw.index, dtype="Int64")
    implausible = ((value < FIRST_YEAR) | (value > last_year())).fillna(False).astype(bool)
    value[implausible] = pd.NA
    bad = pd.Series(bad, index=raw.index, dtype=bool) | implausible | uncached(raw)
    return value, bad, implausible


def parse_school_year(raw: pd.Series):
    value, bad, _ = parse_school_year_checked(raw)
    return value, bad


# «5», «11», «5А», «11 Б», «5-А», «5 «А»», «10Л» (a letter or none; Latin letters that look Cyrillic too)
CLASS_LABEL = re.compile(r"(?:[1-9]|1[0-2])\s*[-–]?\s*[«\"]?[А-ИК-ЩЭ-ЯЁA-Z]?[»\"]?", re.IGNORECASE)


def parse_class_label(raw: pd.Series):
    """Class labels as written (number cells 5.0 read as «5»); anything else is a bad value."""
    formula = uncached(raw)
    text = as_text(raw).mask(formula)
    ok = text.map(lambda t: pd.isna(t) or CLASS_LABEL.fullmatch(t) is not None).astype(bool)
    return text.mask(~ok), (~ok) | formula


def class_number(labels: pd.Series) -> pd.Series:
    """The grade of a class label («11 Б» → 11)."""
    return pd.to_numeric(labels.str.extract(r"^(\d{1,2})", expand=False), errors="coerce").astype("Int64")
