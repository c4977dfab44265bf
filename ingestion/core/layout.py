"""Finding a feed's table in a sheet: the header row (one row or two), the columns, rows that are not data.

Rules shared by every feed:
- a header cell is folded before matching: a number cell ``2.0`` reads «2», line breaks and NBSP fold
  to one space, ``ё`` to ``е``, case is ignored;
- a header may be split over two rows (a group label merged over its sub-labels);
- when two header cells could be the same column, the exact header wins; if none is exact, the file is
  refused naming both, never guessed;
- a wide form (one set of measure columns per group, e.g. «Понизили (…) %») is read as one long row
  per group, all from the same file row;
- totals and averages rows («Итого», «Всего», «Средние») are context rows, never data;
- a workbook of another report kind is recognised by its name and refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pandas as pd

from ingestion.core.columns import NAME_HEADER, Column, WideColumns, fold
from ingestion.core.errors import LayoutError
from ingestion.core.sources import Row
from ingestion.core.values import normalise_text


@dataclass
class Layout:
    """Where each wanted column stands in a sheet, found from its header row."""

    header_row: int
    fixed: dict[str, int]  # canonical column -> cell index
    labels: dict[str, str]  # canonical column -> header text as found
    wide: list[tuple[WideColumns, int, dict]]  # (spec, cell index, child keys)
    preamble: list[Row]
    sheet: str = ""
    header_texts: list[str] = field(default_factory=list)  # the header row's cells, folded
    # A grouped (wide) form: per long row, the group column's value and the cell each measure is read from.
    fanout: list[tuple[str, dict[str, int | None]]] = field(default_factory=list)
    group_column: str = ""

    def expand(self, chunk: list[Row]) -> list[Row]:
        """File rows as the rows the columns are read from: a grouped form gives one row per group.

        Each long row is the file row with the group's measures put where ``fixed`` reads them, so the
        column indexes stay those of the file (messages and tools that patch a cell see the real column).
        """
        if not self.fanout:
            return chunk
        width = max(self.fixed.values()) + 1
        out = []
        for number, cells in chunk:
            padded = list(cells) + [None] * max(0, width - len(cells))
            for group, picks in self.fanout:
                row = list(padded)
                for name, source in picks.items():
                    row[self.fixed[name]] = padded[source] if source is not None else None
                row[self.fixed[self.group_column]] = group
                out.append((number, tuple(row)))
        return out


@dataclass(frozen=True)
class GroupedColumns:
    """A wide form of a long table: one set of measure columns per group, in the same file row.

    ``groups`` are the patterns a group's headers start with (folded); the group column gets the group's
    header without its measure («Понизили (Отметка < Отметка по журналу)»); ``measures`` maps a long
    column to the pattern of the header's end.
    ``total`` is the value of the group column for a row built from the plain columns (e.g. «Всего»
    from «Кол-во участников (всего)»), or None when the form has no such row.
    """

    group_column: str
    groups: tuple[str, ...]
    measures: dict[str, str]
    total: str | None = None


def header_text(cell: object) -> str:
    """A header cell folded for matching; number cells as a person reads them (``2.0`` → «2»)."""
    if cell is None:
        return ""
    if isinstance(cell, float):
        if cell != cell:
            return ""
        if cell.is_integer():
            cell = int(cell)
    return fold(str(cell))


def header_label(cell: object) -> str:
    """A header cell as shown in messages: one line, numbers without «.0»."""
    text = normalise_text(cell)
    return re.sub(r"\s+", " ", text) if text else ""


class _Ambiguous(Exception):
    """A header row that would match but for a column two cells could be: the Russian problem."""


@dataclass
class _Scan:
    best: tuple[int, list[str]]
    ambiguous: str = ""


class LayoutFinder:
    """Finds the header of a loader's table in the first ``header_scan`` rows of a sheet."""

    def __init__(self, columns: tuple[Column, ...], wide: tuple[WideColumns, ...] = (),
                 grouped: GroupedColumns | None = None, header_scan: int = 30, report: str | None = None,
                 title: str = ""):
        self.columns = columns
        self.wide = wide
        self.grouped = grouped
        self.header_scan = header_scan
        self.report = report  # the report kind expected (REPORT_KINDS), checked against the sheet's own name
        self.title = title
        self.required = [c for c in columns if c.required]

    def find(self, path, rows: Iterable[Row], sheet: str = "") -> tuple[Layout | None, str]:
        """The layout, or None and the Russian reason no header was found.

        An ambiguous header is refused only when no later row (or pair of rows) gives a clean match.
        """
        preamble: list[Row] = []
        scan = _Scan((-1, [c.label or c.name for c in self.required]))
        previous: tuple | None = None
        for number, cells in rows:
            if number > self.header_scan:
                break
            layout = self._try(number, [cells], scan)
            if layout is None and previous is not None:
                layout = self._try(number, [previous, cells], scan)
                if layout is not None:
                    preamble = preamble[:-1]  # the upper header row is not a preamble row
            if layout is not None:
                layout.preamble = preamble
                layout.sheet = sheet
                if self.report:
                    check_report_kind(path, layout, self.report, self.title)
                return layout, ""
            preamble.append((number, cells))
            previous = None if _is_empty(cells) else cells
        if self.report:
            # No header of ours: if the sheet is a report of another kind, that is the reason to give (another
            # sheet of the workbook may still hold ours, so it is not a refusal yet).
            try:
                check_report_kind(path, Layout(0, {}, {}, [], preamble, sheet), self.report, self.title)
            except LayoutError as exc:
                return None, exc.problem
        if scan.ambiguous:
            raise LayoutError(path, scan.ambiguous)
        problem = (f"не найдена строка заголовка в первых {self.header_scan} строках: "
                   f"нет столбцов {', '.join(quoted(m) for m in scan.best[1])}")
        return None, problem

    def _try(self, number: int, header_rows: list[tuple], scan: _Scan) -> Layout | None:
        for cells in _header_variants(header_rows):
            texts = [header_text(c) for c in cells]
            try:
                layout, missing = self._match(number, cells, texts)
            except _Ambiguous as exc:
                scan.ambiguous = scan.ambiguous or str(exc)
                continue
            if layout is not None:
                layout.header_texts = texts
                return layout
            found = len(self.required) - len(missing)
            if found > scan.best[0]:
                scan.best = (found, missing)
        return None

    def _match(self, number: int, cells: tuple, texts: list[str]):
        taken: set[int] = {i for i, t in enumerate(texts) if t and NAME_HEADER.search(t)}
        layout, missing = self._match_columns(number, cells, texts, set(taken), self.columns)
        if layout is None and self.grouped is not None:
            grouped = self._match_grouped(number, cells, texts, set(taken))
            if grouped is not None:
                return grouped, []
        return layout, missing

    def _match_columns(self, number, cells, texts, taken: set[int], columns, optional=frozenset()):
        fixed, labels, missing, ambiguous, wrong_unit = {}, {}, [], [], []
        for column in columns:
            matching = [i for i, t in enumerate(texts) if i not in taken and t and re.search(column.header, t)]
            candidates = [i for i in matching if not wrong_unit_header(column, texts[i])]
            if not candidates:
                if matching:
                    wrong_unit.append((column, matching[0]))
                if column.required and column.name not in optional:
                    missing.append(column.label or column.name)
                continue
            index = _choose(column, candidates, texts)
            if index is None:
                ambiguous.append((column, candidates))
                continue
            taken.add(index)
            fixed[column.name] = index
            labels[column.name] = header_label(cells[index])
        if missing and len(missing) > sum(c.required and c.name not in optional for c, _ in wrong_unit):
            return None, missing
        if wrong_unit:  # the row is the header but for a column in other units: refused, never read as ours
            raise _Ambiguous(f"в строке заголовка {number} " + "; ".join(
                f"столбец {quoted(header_label(cells[index]))} {unit_problem(column)}" for column, index in wrong_unit))
        if ambiguous:
            column, candidates = ambiguous[0]
            names = " и ".join(quoted(header_label(cells[i])) for i in candidates)
            raise _Ambiguous(f"в строке заголовка {number} столбцу {quoted(column.label or column.name)} подходят "
                             f"несколько столбцов: {names}; ни один не назван точно, а угадывать нельзя: "
                             "переименуйте лишний столбец")
        wide = []
        for spec in self.wide:
            for i, text in enumerate(texts):
                if i in taken or not text:
                    continue
                match = re.fullmatch(spec.header, text)
                if match:
                    taken.add(i)
                    wide.append((spec, i, spec.keys(match)))
        for spec in self.wide:
            if sum(1 for s, _, _ in wide if s is spec) < spec.min_columns:
                return None, [spec.value.label or spec.table]
        return Layout(number, fixed, labels, wide, []), []

    def _match_grouped(self, number, cells, texts, taken: set[int]) -> Layout | None:
        spec = self.grouped
        assert spec is not None
        plain = tuple(c for c in self.columns if c.name != spec.group_column)
        # The plain columns first (the organisation, the total count); a measure may be absent from them.
        layout, _ = self._match_columns(number, cells, texts, taken, plain, optional=frozenset(spec.measures))
        if layout is None:
            return None
        taken |= set(layout.fixed.values())
        width = max(len(cells), max(layout.fixed.values(), default=-1) + 1)
        fixed = dict(layout.fixed)
        for name in (spec.group_column, *spec.measures):
            if name not in fixed:
                fixed[name] = width  # read from a cell appended past the file's own
                width += 1
        fanout: list[tuple[str, dict[str, int | None]]] = []
        labels = dict(layout.labels)
        for group_pattern in spec.groups:
            picks: dict[str, int | None] = {}
            for name, measure_pattern in spec.measures.items():
                pattern = rf"^{group_pattern}.*{measure_pattern}$"
                found = [i for i, t in enumerate(texts) if i not in taken and t and re.search(pattern, t)]
                if not found:
                    return None
                if len(found) > 1:
                    names = " и ".join(f"«{header_label(cells[i])}»" for i in found)
                    raise _Ambiguous(f"в строке заголовка {number} одной группе подходят несколько столбцов: "
                                     f"{names}; какой из них нужен, не угадываем")
                taken.add(found[0])
                picks[name] = found[0]
            header = header_label(cells[picks[next(iter(spec.measures))]])
            fanout.append((_group_label(header, spec.measures), picks))
        for name in spec.measures:
            labels.setdefault(name, " / ".join(header_label(cells[p[name]]) for _, p in fanout))
        if spec.total is not None:
            fanout.append((spec.total, {n: layout.fixed.get(n) for n in spec.measures}))
        return Layout(number, fixed, labels, layout.wide, [], fanout=fanout, group_column=spec.group_column)


def _group_label(header: str, measures: dict[str, str]) -> str:
    """«Понизили (Отметка < Отметка по журналу) %» → «Понизили (Отметка < Отметка по журналу)»."""
    for pattern in measures.values():
        cut = re.sub(rf"\s*{pattern}\s*$", "", header, flags=re.IGNORECASE)
        if cut != header:
            return cut
    return header


def quoted(label: str) -> str:
    """A label in «», unless it already stands in them («2» stays «2», not ««2»»)."""
    return label if label.startswith("«") and label.endswith("»") else f"«{label}»"


# Headers that say their unit: shares («%», «доля», «процент») or counts («кол-во», «количество», «число», «чел.»).
PERCENT_HEADER = re.compile(r"%|(?<![а-я])(дол(я|и|ей|ях)|процент\w*)(?![а-я])")
COUNT_HEADER = re.compile(r"(?<![а-я])(кол-?во|количеств\w*|числ[оа]|чел(\.|овек\w*)?)(?![а-я])")


def is_percent_column(column: Column) -> bool:
    return column.kind == "decimal" and column.minimum == 0 and column.maximum == 100


def wrong_unit_header(column: Column, text: str) -> bool:
    """A count column never reads a header of shares, a percent column never one of counts only.

    «Только на «4» и «5», %» holds 30 (%), not 30 pupils: read as a count it would be a wrong number.
    """
    if is_percent_column(column):
        return COUNT_HEADER.search(text) is not None and PERCENT_HEADER.search(text) is None
    if column.kind == "int":
        return PERCENT_HEADER.search(text) is not None
    return False


def unit_problem(column: Column) -> str:
    label = quoted(column.label or column.name)
    if is_percent_column(column):
        return (f"содержит количество, а для столбца {label} ожидаются доли в процентах: "
                "пришлите проценты, а не числа")
    return (f"содержит доли в процентах, а для столбца {label} ожидаются числа (количество): "
            "пришлите числа, а не проценты")


def _choose(column: Column, candidates: list[int], texts: list[str]) -> int | None:
    """One cell for the column: the only candidate, or the only exact one; None when it is ambiguous."""
    if len(candidates) == 1:
        return candidates[0]
    exact = [i for i in candidates if re.fullmatch(column.header, texts[i])
             or (column.label and texts[i] == fold(column.label))]
    return exact[0] if len(exact) == 1 else None


def _is_empty(cells: tuple) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _header_variants(header_rows: list[tuple]) -> Iterator[tuple]:
    """The header as one row; for two rows, the sub-labels alone, then «group label + sub-label».

    In a two-row header a group label stands over the first of its columns (merged cells read as empty
    after the first); a column merged over both rows has its label in the upper row only. Number cells of
    the upper row are not labels (a «Макс. балл» row of maxima right above a header is data, not a header).
    """
    if len(header_rows) == 1:
        yield header_rows[0]
        return
    upper, lower = header_rows
    if _is_empty(upper) or _is_empty(lower):
        return
    width = max(len(upper), len(lower))
    up = [upper[i] if i < len(upper) and isinstance(upper[i], str) else None for i in range(width)]
    low = [lower[i] if i < len(lower) else None for i in range(width)]
    plain, grouped, carried = [], [], None
    for u, d in zip(up, low, strict=True):
        u_text, d_text = header_label(u), header_label(d)
        if u_text:
            carried = u_text
        if not d_text:
            plain.append(u)
            grouped.append(u)
            carried = None if u_text else carried
            continue
        plain.append(d)
        grouped.append(f"{carried} {d_text}" if carried else d)
    yield tuple(plain)
    yield tuple(grouped)


# ----------------------------------------------------------------------------- context rows
# «Средняя школа № 1» is a school: only the averages' own words count
TOTALS = re.compile(r"^(итог\w*|всего|средн(ие|ее|ий\s+(балл|процент|показатель)|яя\s+(отметка|доля)))(\s|:|,|$)",
                    re.IGNORECASE)


def is_totals_label(value: object) -> bool:
    """«Итого», «Всего», «Средние», «Среднее», «Итого по муниципалитету», «Итого по региону»."""
    text = normalise_text(value)
    return bool(text) and TOTALS.match(text.replace("ё", "е")) is not None


def first_filled(cells: tuple) -> object:
    return next((c for c in cells if c is not None and str(c).strip()), None)


# ----------------------------------------------------------------------------- report kinds
# ФИС ОКО report names as they stand in a report-name row or a sheet name (cut at 31 characters).
REPORT_KINDS = {
    "individual": ("Индивидуальные результаты", r"индивидуальн\w*\s+результат"),
    "marks": ("Статистика по отметкам", r"статистика\s+по\s+отметкам"),
    "scores": ("Распределение первичных баллов", r"распределение\s+(первичных\s+)?ба"),
    "journal": ("Сравнение отметок с отметками по журналу", r"сравнение\s+отметок"),
    "tasks": ("Выполнение заданий", r"выполнение\s+заданий"),
}


def report_kinds_named(texts: Iterable[str]) -> set[str]:
    """Which report kinds a sheet names (in its sheet name or the rows above the table)."""
    found = set()
    for text in texts:
        folded = fold(text)
        for kind, (_, pattern) in REPORT_KINDS.items():
            if re.search(pattern, folded):
                found.add(kind)
    return found


def check_report_kind(path, layout: Layout, expected: str, feed_title: str) -> None:
    """Refuse a workbook that names another report kind and not the expected one."""
    texts = [layout.sheet] + [t for _, cells in layout.preamble for c in cells if (t := normalise_text(c))]
    named = report_kinds_named(t for t in texts if isinstance(t, str))
    if named and expected not in named:
        found = ", ".join(f"«{REPORT_KINDS[k][0]}»" for k in sorted(named))
        raise LayoutError(path, f"в файле отчёт {found}, а в этой папке ожидается «{REPORT_KINDS[expected][0]}» "
                                f"({feed_title}): файл не загружен, положите его в папку своего отчёта")


# ----------------------------------------------------------------------------- rows of a grouped form
def whole_source_rows(numbers: pd.Series, reason: pd.Series, problem: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Several rows read from one file row are loaded or quarantined together: the first reason wins."""
    if numbers.is_unique:
        return reason, problem
    first_bad = reason.notna().groupby(numbers).transform("any")
    reason = reason.groupby(numbers).transform(lambda s: s.dropna().iloc[0] if s.notna().any() else pd.NA)
    problem = problem.groupby(numbers).transform(lambda s: s.dropna().iloc[0] if s.notna().any() else pd.NA)
    return reason.where(first_bad).astype("string"), problem.where(first_bad).astype("string")
