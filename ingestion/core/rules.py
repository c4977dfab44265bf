"""Row and file rules on typed chunks: what a reader of the file sees, or a reason why not.

Cell rules run while a column is typed (``parse_column``: formula cells without a value, implausible
dates and years, names of people). Cross-column and cross-row rules are plain functions over a typed
chunk, called from a feed's ``transform`` with its ``reject(mask, code, text)`` callback. Decisions taken
per file (how shares are written) keep their state in the loader's ``file_state`` dict, so a later chunk
that contradicts an earlier one refuses the whole file (the load's transaction is rolled back).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ingestion.core import values
from ingestion.core.columns import Column
from ingestion.core.errors import LoadError
from ingestion.core.redact import HIDDEN, looks_like_person, shown

SEEDS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"

# Mark shares «2»…«5» of one group are percentages rounded to one or two decimals: four shares rounded to
# one decimal can miss 100 by up to 4 × 0.05 = 0.2 p.p.; published reports also round each share
# independently from already rounded counts, so up to ±1.5 p.p. is rounding, more is an error.
MARK_SHARE_TOLERANCE_PP = 1.5
# A distribution over k primary scores has k shares: each rounded to one decimal is off by up to 0.05 p.p.,
# so its sum may miss 100 by 0.05 × k (a distribution over 0..30: ±1.55 p.p.).
SHARE_ROUNDING_PP = 0.05
# The same shares written as fractions of one («0,12») sum to 1 within the same rounding, scaled.
FRACTION_SUM_TOLERANCE = 0.02
# Counts written where percentages belong sum exactly to the number of participants.
COUNT_SUM_TOLERANCE = 0.5

# Free-text columns that hold names of organisations and places: a person-name pattern is not applied.
ORGANISATION_COLUMNS = frozenset({"school_name", "municipality", "org_name", "full_name", "short_name",
                                  "name_before", "name_after"})

FORMULA_TEXT = ("формула без вычисленного значения: откройте файл в Excel и сохраните его, чтобы в ячейках были "
                "значения, и загрузите снова")

Reject = Callable[[pd.Series, str, object], None]


def _ru(number: float, digits: int = 1) -> str:
    return f"{number:.{digits}f}".replace(".", ",")


def ru_number(number: float) -> str:
    """A number for a message: «4», «4,5» (a decimal comma, no trailing zeros)."""
    return _ru(number, 0) if float(number).is_integer() else f"{number:g}".replace(".", ",")


# ----------------------------------------------------------------------------- cell rules
def parse_column(column: Column, raw: pd.Series, label: str) -> tuple[pd.Series, pd.Series, list]:
    """Typed values, the mask of bad cells and the faults with reasons of their own.

    ``faults`` is a list of ``(mask, reason, text)`` for ``reject``; rows under them are also under
    ``bad`` where the cell has no usable value, so the generic «invalid_value» never hides these reasons
    (the first reason of a row wins, and faults are rejected first).
    """
    faults: list = []
    formula = values.uncached(raw)
    if column.kind == "date":
        value, bad, implausible = values.parse_date_checked(raw)
        first, last = values.date_window()
        faults.append((implausible, "implausible_value", lambda m: raw[m].map(
            lambda cell: f"в столбце «{label}» дата {_date_text(cell)} вне допустимого периода "
                         f"{first:%d.%m.%Y}–{last:%d.%m.%Y}")))
    elif column.kind == "school_year":
        value, bad, implausible = values.parse_school_year_checked(raw)
        faults.append((implausible, "implausible_value", lambda m: raw[m].map(
            lambda cell: f"в столбце «{label}» год {shown(values.normalise_text(cell))} вне допустимого "
                         f"периода {values.FIRST_YEAR}–{values.last_year()}")))
    else:
        value, bad = column.parse(raw)
    bad = bad | formula
    faults.insert(0, (formula, "formula_without_value", f"в столбце «{label}» {FORMULA_TEXT}"))
    if column.kind in ("text", "school", "pupil", "teacher") and column.name not in ORGANISATION_COLUMNS:
        faults.insert(1, (person_names(raw), "personal_data",
                          f"в столбце «{label}» значение похоже на имя человека: персональные данные не "
                          "загружаются, значение скрыто"))
    return value, bad, faults


def _date_text(cell: object) -> str:
    try:
        date = values._to_date(cell)
    except (ValueError, OverflowError):
        date = None
    text = values.normalise_text(cell)
    if date is None or text == date.isoformat():
        return shown(text)
    return f"{shown(text)} ({date:%d.%m.%Y})"


def wide_formulas(raw: pd.Series, labels: list[str], index: pd.Index, reject: Reject) -> None:
    """Formula cells without a value among wide columns (``raw`` row-major, one label per column)."""
    formula = values.uncached(raw).to_numpy()
    if not formula.any():
        return
    cell = np.flatnonzero(formula)
    first = pd.Series(cell, index=cell // len(labels)).groupby(level=0).first()
    texts = pd.Series({index[row]: f"в столбце «{labels[c % len(labels)]}» {FORMULA_TEXT}" for row, c in first.items()})
    reject(pd.Series(index.isin(texts.index), index=index), "formula_without_value", texts.reindex(index))


def person_names(raw: pd.Series) -> pd.Series:
    """Cells that look like a person's name."""
    text = values.as_text(raw)
    # a name has a capital Cyrillic letter and a space or a dot («Петрова А.»): other cells are skipped
    maybe = text.str.contains(r"[А-ЯЁ]", regex=True, na=False) & text.str.contains(r"[\s.]", regex=True, na=False)
    mask = pd.Series(False, index=raw.index)
    if maybe.any():
        mask[maybe] = text[maybe].map(looks_like_person).astype(bool)
    return mask


# ----------------------------------------------------------------------------- shares
def mark_shares(frame: pd.DataFrame, reject: Reject, state: dict, file_name: str,
                shares: Iterable[str] = ("pct_2", "pct_3", "pct_4", "pct_5"), n: str = "n_participants",
                tolerance: float = MARK_SHARE_TOLERANCE_PP) -> pd.DataFrame:
    """Mark shares as percentages: fractions of one converted, counts refused, each group summing to 100
    (``shares_of_100``)."""
    shares = list(shares)
    count = frame[n] if n in frame else pd.Series(pd.NA, index=frame.index, dtype="Float64")
    table = shares_of_100(frame[shares], count, reject, state, file_name, MARK_SHARES, tolerance)
    return frame.assign(**{c: table[c] for c in shares})


@dataclass(frozen=True)
class ShareNames:
    """How messages name a group of shares that sum to 100 % (Russian)."""

    plural: str  # «доли отметок»
    genitive: str  # «долей отметок»
    state_key: str  # where the file's evidence is kept in ``file_state``


MARK_SHARES = ShareNames("доли отметок", "долей отметок", "mark_share_rows")
SCORE_SHARES = ShareNames("доли участников по первичным баллам", "долей участников по первичным баллам",
                          "score_share_rows")


def shares_of_100(table: pd.DataFrame, count: pd.Series, reject: Reject, state: dict, file_name: str,
                  names: ShareNames, tolerance: float) -> pd.DataFrame:
    """Shares of one group (one row of ``table``) as percentages summing to 100; the table, converted.

    How the shares are written is decided per file from every row whose shares are all present: each such
    row sums to 100 (percentages), to 1 (fractions) or to n (counts). Rows where two readings coincide
    (n = 1 or n = 100) decide nothing. A file of fractions is multiplied by 100 with a note on the load;
    counts, or percentages mixed with fractions, refuse the file. Then each group's shares must sum to
    100 within ``tolerance`` percentage points, else the row is quarantined as «inconsistent».
    """
    columns = list(table.columns)
    span = f"«{columns[0]}»–«{columns[-1]}»" if len(columns) > 1 else f"«{columns[0]}»"
    table = table.astype("Float64")
    complete = table.notna().all(axis=1)
    total = table.sum(axis=1, skipna=False)
    positive = (complete & (total > 0)).fillna(False).astype(bool)
    count = count.astype("Float64")
    as_percent = positive & ((total - 100).abs() <= tolerance).fillna(False)
    as_fraction = positive & ((total - 1).abs() <= max(FRACTION_SUM_TOLERANCE, tolerance / 100)).fillna(False)
    as_count = positive & ((total - count).abs() <= COUNT_SUM_TOLERANCE).fillna(False)
    evidence = {"percent": as_percent & ~as_count, "fraction": as_fraction & ~as_count,
                "count": as_count & ~as_percent & ~as_fraction}
    seen: dict = state.setdefault(names.state_key, {})
    for kind, mask in evidence.items():
        if mask.any() and kind not in seen:
            rows = state.get("source_rows")
            seen[kind] = int(rows[mask].iloc[0]) if rows is not None else "?"
    path = Path(file_name)
    if "count" in seen:
        raise LoadError(path, f"в столбцах {names.genitive} записаны количества участников, а не проценты (например, "
                              f"в строке {seen['count']} сумма равна числу участников): пришлите файл с долями в "
                              "процентах")
    if "percent" in seen and "fraction" in seen:
        raise LoadError(path, f"{names.plural} записаны по-разному: в строке {seen['percent']} — в процентах, в строке "
                              f"{seen['fraction']} — долями единицы; файл не загружен, пришлите его с долями в "
                              "процентах во всех строках")
    if "fraction" in seen:
        table = (table * 100).round(8)
        total = total * 100
        note(state, f"{names.plural} в файле записаны долями единицы (сумма по строке 1, а не 100 %): умножены на 100")
    off = positive & ((total - 100).abs() > tolerance).fillna(False)
    allowed = f"{tolerance:.2f}".rstrip("0").rstrip(".").replace(".", ",")  # «1,5», «1,55»
    empty = (complete & (total == 0) & (count > 0)).fillna(False).astype(bool)
    reject(off, "inconsistent", lambda m: total[m].map(
        lambda t: f"сумма {names.genitive} {span} равна {_ru(t)} % вместо 100 % (допуск ±{allowed} п.п.)"))
    reject(empty, "inconsistent", f"все {names.plural} равны нулю, хотя участники есть")
    return table


def score_share_tolerance(shares: int) -> float:
    """Tolerance of a distribution over ``shares`` primary scores: each share rounded to one decimal may be
    off by 0.05 p.p., so the sum by up to 0.05 × k; never stricter than the mark shares' ±1.5 p.p."""
    return max(MARK_SHARE_TOLERANCE_PP, SHARE_ROUNDING_PP * shares)


def score_shares(spec, table: pd.DataFrame, rows: pd.DataFrame, reject: Reject, state: dict,
                 file_name: str) -> pd.DataFrame:
    """A feed's ``check_wide`` for a distribution of primary scores (columns «0»…«max», percent of the
    participants ``n_participants`` of each row)."""
    return shares_of_100(table, rows["n_participants"], reject, state, file_name, SCORE_SHARES,
                         score_share_tolerance(table.shape[1]))


def percent_shares(frame: pd.DataFrame, columns: Iterable[str], state: dict, file_name: str,
                   reject: Reject | None = None) -> pd.DataFrame:
    """Percentage columns, some files written as fractions of one; the frame in percent.

    Decided per row, remembered per file (``state``): a row with a share above 1 is in percent; a row
    whose every present share is at most 1 (one above 0) reads as fractions. A file of such rows only is
    multiplied by 100 with a note. A file with both is refused, naming a row of each, when a row of
    fractions has two or more shares above 0 (a school under 1 % in every group is implausible); a row
    with one share above 0, all at most 1 (a school with 0,5 % disabled pupils and 0 elsewhere), may be
    percent as well as a fraction: in a file otherwise in percent it is quarantined as «inconsistent»
    (kept as percent when the caller gives no ``reject``). Chunks are decided in order: once a chunk was
    converted as fractions, a later row in percent refuses the file (the load's transaction rolls back).
    Each share is already checked to lie within 0–100 by its column.
    """
    columns = list(columns)
    table = frame[columns].astype("Float64")
    if not table.notna().to_numpy().any():
        return frame
    above_one = (table > 1).fillna(False).any(axis=1).astype(bool)
    positives = (table > 0).fillna(False).sum(axis=1)
    low = ~above_one & (positives > 0)  # every present share at most 1
    strong = low & (positives >= 2)
    rows = state.get("source_rows")
    seen: dict = state.setdefault("percent_share_rows", {})
    for kind, mask in (("percent", above_one), ("fraction", strong), ("weak", low & ~strong)):
        if mask.any() and kind not in seen:
            seen[kind] = int(rows[mask].iloc[0]) if rows is not None else "?"
    path = Path(file_name)
    if "percent" in seen and ("fraction" in seen or (state.get("percent_scale") == "fraction" and "weak" in seen)):
        fraction_row = seen.get("fraction", seen.get("weak"))
        raise LoadError(path, f"доли записаны по-разному: в строке {seen['percent']} — в процентах (есть значения "
                              f"больше 1), в строке {fraction_row} — долями единицы (все значения не больше 1); "
                              "файл не загружен, пришлите его с долями в процентах во всех строках")
    if "percent" in seen:
        state["percent_scale"] = "percent"
        if reject is not None and low.any():
            example = seen["percent"]
            reject(low, "inconsistent", f"все доли в строке не больше 1, а в других строках файла (например, в строке "
                                        f"{example}) доли записаны в процентах: неясно, проценты это или доли "
                                        "единицы; проверьте строку и пришлите её в процентах")
        return frame
    if not low.any():
        return frame
    state["percent_scale"] = "fraction"
    note(state, "доли в файле записаны долями единицы (все значения не больше 1): умножены на 100")
    return frame.assign(**{c: (table[c] * 100).round(8) for c in columns})


def note(state: dict, text: str) -> None:
    """A note on the load (what was converted), shown in its message and kept in the ledger."""
    notes = state.setdefault("notes", [])
    if text not in notes:
        notes.append(text)


# ----------------------------------------------------------------------------- counts
def not_above(part: pd.Series, whole: pd.Series, reject: Reject, text: str) -> None:
    """Quarantine rows where a count exceeds its whole (both present): «text (part > whole)»."""
    part, whole = part.astype("Float64"), whole.astype("Float64")  # a column missing from the file is all NA
    mask = (part > whole).fillna(False).astype(bool)
    reject(mask, "inconsistent", lambda m: pd.Series(
        [f"{text} ({int(p)} > {int(w)})" for p, w in zip(part[m], whole[m], strict=True)], index=part[m].index))


# ----------------------------------------------------------------------------- dictionaries
def fold(text: str) -> str:
    """A dictionary key: lower case, «ё» as «е», single spaces, a trailing «(reg24_m002)» code dropped."""
    text = re.sub(r"\s*\([a-z0-9_]+\)\s*$", "", str(text), flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", text.replace("\xa0", " ").replace("ё", "е").replace("Ё", "Е")).strip().lower()


@lru_cache(maxsize=1)
def known_subjects() -> frozenset[str]:
    """Subject names the feeds may use: seed ``subjects`` (names in files and canonical names) and seed
    ``subject_names`` (the school subjects and teaching specialities of municipal reports)."""
    names: set[str] = set()
    for seed, fields in (("subjects.csv", ("source_name", "subject_name")), ("subject_names.csv", ("subject_name",))):
        with (SEEDS / seed).open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                names.update(fold(row[f]) for f in fields if row.get(f))
    return frozenset(names)


def _subject_known(value: str, known: frozenset[str]) -> bool:
    key = fold(value)
    if key in known:
        return True
    parts = [p.strip() for p in re.split(r"[,;/]", key) if p.strip()]
    return len(parts) > 1 and all(p in known for p in parts)


def in_dictionary(series: pd.Series, reject: Reject, label: str, known: frozenset[str] | None,
                  what: str, check: Callable[[str, frozenset[str]], bool] | None = None) -> None:
    """Quarantine values outside a dictionary (``known`` None: no dictionary, nothing checked)."""
    if known is None:
        return
    check = check or (lambda value, names: fold(value) in names)
    distinct = {v: check(v, known) for v in series.dropna().unique()}
    mask = series.map(lambda v: not pd.isna(v) and not distinct[v]).astype(bool)
    reject(mask, "unknown_value", lambda m: series[m].map(
        lambda v: f"в столбце «{label}» значение «{HIDDEN if looks_like_person(v) else v}» нет в справочнике {what}"))


def subjects(series: pd.Series, reject: Reject, label: str = "Предмет") -> None:
    in_dictionary(series, reject, label, known_subjects(),
                  "предметов (dbt_project/seeds/subjects.csv, subject_names.csv)", _subject_known)


def known_municipalities(conn) -> frozenset[str] | None:
    """Municipality names of the loaded registry; None when no registry is loaded (nothing to check against)."""
    names = {fold(m) for (m,) in conn.execute("select distinct municipality from raw.school_registry "
                                              "where municipality is not null")}
    return frozenset(names) or None


def municipalities(series: pd.Series, reject: Reject, known: frozenset[str] | None,
                   label: str = "Муниципалитет") -> None:
    in_dictionary(series, reject, label, known, "муниципалитетов реестра ОО")


def registry_enrolment(conn) -> dict[str, int]:
    """Pupils per school by the registry (registry code → enrolment) where the registry states it."""
    return dict(conn.execute("select registry_code, enrolment from raw.school_registry where enrolment is not null"
                             ).fetchall())


# ----------------------------------------------------------------------------- seeds with maxima
@lru_cache(maxsize=1)
def kdr_group_maxima() -> dict[tuple[str, int], dict[int, float]]:
    """Maximum points of each skill group of each КДР work and school year (seed ``kdr_skill_groups``)."""
    maxima: dict[tuple[str, int], dict[int, float]] = {}
    path = SEEDS / "kdr_skill_groups.csv"
    if not path.exists():
        return maxima
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            for year in range(int(row["valid_from"]), int(row["valid_to"]) + 1):
                maxima.setdefault((row["procedure_code"], year), {})[int(row["skill_group"])] = float(row["max_points"])
    return maxima


def kdr_max_scores() -> dict[tuple[str, int], float]:
    """Maximum primary score of each КДР work and school year: the sum of its skill groups' maxima."""
    return {key: sum(groups.values()) for key, groups in kdr_group_maxima().items()}


def above_maximum(score: pd.Series, maximum: float | None, reject: Reject, label: str) -> None:
    if maximum is None:
        return
    reject((score > maximum).fillna(False).astype(bool), "implausible_value", lambda m: score[m].map(
        lambda s: f"«{label}» {_ru(float(s), 0 if float(s).is_integer() else 1)} больше максимального "
                  f"балла работы ({_ru(maximum, 0)})"))


def year_in_window(year: int, path: Path) -> None:
    """A file-level year (from a title) outside 2009 … next year refuses the file."""
    if not values.FIRST_YEAR <= year <= values.last_year():
        raise LoadError(path, f"год {year} в заголовке вне допустимого периода "
                              f"{values.FIRST_YEAR}–{values.last_year()}")


# ----------------------------------------------------------------------------- the load's outcome
def finish_load(conn, load_id: int, result, state: dict) -> None:
    """Notes on the load into its message and ledger row; a load with rows read and none loaded is 'rejected'."""
    notes = state.get("notes", [])
    if notes:
        result.message = "; ".join(notes)
        conn.execute("update raw.load_ledger set notes = %s where load_id = %s", (result.message, load_id))
    if result.rows_read > 0 and result.rows_loaded == 0:
        top = ", ".join(f"{code} — {n}" for code, n in result.reasons.most_common(3))
        result.status = "rejected"
        result.message = (f"Файл «{result.file}»: ни одна строка не загружена: отложено {result.rows_quarantined} "
                          f"строк из {result.rows_read} (причины: {top}); подробности в raw.quarantine")
        conn.execute("update raw.load_ledger set status = 'rejected', error_message = %s where load_id = %s",
                     (result.message, load_id))
