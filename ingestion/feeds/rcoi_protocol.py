"""РЦОИ protocols: several exams in one sheet, each block under a line naming its subject and date.

A protocol as the regional centre's software prints it::

    Протокол проверки результатов ЕГЭ              <- title: names the exam (or the sheet / file name does)
    24 - Красноярский край                         <- region line
    01 - Русский язык 2025.05.30                   <- block header: subject code, subject, exam date
    №  Код ОО  Код участника  …  Ответы в краткой форме  Первичный балл  Итоговый балл
    1  240001  …
    Средние                                        <- averages, never a participant
    02 - Математика 2025.06.02                     <- the next block, with its own column header
    …

The column header may span two rows under merged group cells («Результат» over «Первичный балл» |
«Отметка»); it is merged into one row here, so the loader's header search sees one row per block.
Rows are streamed: a block is handed on while it is read, never held whole.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ingestion.core.columns import fold
from ingestion.core.sources import Row, is_blank
from ingestion.core.values import normalise_text

# «01 - Русский язык 2025.05.30», «4 – Химия 01.06.2026»
BLOCK_HEADER = re.compile(
    r"(\d{1,2})\s*[-–—]\s*(\S.*?)\s*[,(]?\s*(?:(\d{4})\.(\d{2})\.(\d{2})|(\d{2})\.(\d{2})\.(\d{4}))\)?")
# What a title, sheet name or file name calls the exam.
EXAM_WORDS = (("гвэ-9", "GVE9"), ("гвэ-11", "GVE11"), ("огэ", "OGE"), ("егэ", "EGE"))
# Rows of averages and totals under a block: never a participant («Средние», «Средний балл», «Итого по ОО»).
SUMMARY_ROW = re.compile(r"(средн[а-я]*|итог[оа]?|всего)(?![а-я])")
# A school line between a block's rows («240001 - МБОУ СШ № 1»): context, not a participant.
SCHOOL_LINE = re.compile(r"^\d{4,6}\s*[-–—:]|(?<![а-я])(оо|оу|[мгк]?[бка]?оу|школа|сш|сош|гимназия|лицей)(?![а-я])")


@dataclass(frozen=True)
class BlockHeader:
    row: int
    text: str
    subject_code: int
    subject: str
    exam_date: dt.date


def block_header(cells: tuple) -> BlockHeader | None:
    """The block header in a row: a single text cell «код - предмет дата» (a data row has more cells)."""
    texts = [t for t in (normalise_text(c) for c in cells) if t]
    if len(texts) != 1:
        return None
    match = BLOCK_HEADER.fullmatch(texts[0])
    if match is None:
        return None
    code, subject, y1, m1, d1, d2, m2, y2 = match.groups()
    try:
        date = dt.date(int(y1), int(m1), int(d1)) if y1 else dt.date(int(y2), int(m2), int(d2))
    except ValueError:
        return None
    return BlockHeader(0, texts[0], int(code), subject.strip(" .,"), date)


def exam_named(text: str | None) -> str | None:
    """The exam a title, sheet name or file name names (ОГЭ, ЕГЭ, ГВЭ-9, ГВЭ-11), if exactly one."""
    if not text:
        return None
    folded = fold(text).replace("_", " ")
    found = {code for word, code in EXAM_WORDS if re.search(rf"(?<![а-я]){re.escape(word)}(?![а-я0-9])", folded)}
    return found.pop() if len(found) == 1 else None


def is_summary(cells: tuple) -> bool:
    """A row of averages or totals: its first filled cell is a word such as «Средние», «Итого», «Всего»."""
    first = next((t for t in (normalise_text(c) for c in cells) if t), None)
    return first is not None and SUMMARY_ROW.match(fold(first)) is not None


def is_school_line(cells: tuple) -> bool:
    """A line naming a school between the rows of a block: one filled cell, a code and a name of a school.

    Only a table with its own school column is read, so such a line is context; any other lone cell is
    left to the loader (a row with nothing but one value is quarantined, never dropped).
    """
    texts = [t for t in (normalise_text(c) for c in cells) if t]
    return len(texts) == 1 and SCHOOL_LINE.search(fold(texts[0])) is not None


def _is_subheader(top: tuple, below: tuple, key_index: int) -> bool:
    """Whether ``below`` continues the header ``top`` (the lower row of a two-row header).

    A data row always has a participant code; the lower header row has nothing under that column, and
    only words elsewhere.
    """
    if is_blank(below) or (key_index < len(below) and normalise_text(below[key_index]) is not None):
        return False
    texts = [normalise_text(c) for c in below]
    filled = [t for t in texts if t]
    return all(isinstance(c, str) or c is None for c in below) and all(
        re.search(r"[а-яёa-z]", t, re.IGNORECASE) and not re.search(r"\d", t) for t in filled)


def merge_header(top: tuple, below: tuple) -> tuple:
    """One header row from two: a lower label under a merged group cell stands for its column.

    A lower text starting in lower case continues the group's phrase («Задания» over «с кратким
    ответом»); a capitalised one is a label of its own («Результат» over «Первичный балл»).
    """
    width = max(len(top), len(below))
    top_texts = [normalise_text(top[i]) if i < len(top) else None for i in range(width)]
    low_texts = [normalise_text(below[i]) if i < len(below) else None for i in range(width)]
    merged: list = []
    group = None  # the group cell spreading over the empty top cells to its right
    for i in range(width):
        own, low = top_texts[i], low_texts[i]
        if own is not None:
            group = own
        elif low is None:
            group = None  # a gap ends a merged span
        head = own if own is not None else group
        if low is None:
            merged.append(own)
        elif head is None or not low[:1].islower():
            merged.append(low)
        else:
            merged.append(f"{head} {low}")
    return tuple(merged)


def with_merged_header(rows: Iterator[Row], is_header: Callable[[tuple], int | None]) -> Iterator[Row]:
    """The rows with the first header row merged with a lower header row below it, if there is one.

    ``is_header(cells)`` gives the index of the participant-code column of a header row, else None.
    """
    rows = iter(rows)
    for number, cells in rows:
        key = is_header(cells)
        if key is None:
            yield number, cells
            continue
        below = next(rows, None)
        if below is not None and _is_subheader(cells, below[1], key):
            yield number, merge_header(cells, below[1])
        else:
            yield number, cells
            if below is not None:
                yield below
        yield from rows
        return


class Blocks:
    """A sheet split at its block headers; ``lead`` holds the rows above the first one (title, region).

    ``scan`` rows at most are looked at for a first block header: a sheet without one in them is one
    plain table, passed on as it is.
    """

    def __init__(self, rows: Iterator[Row], scan: int):
        self._rows = iter(rows)
        self.lead: list[Row] = []
        self._next: BlockHeader | None = None
        for number, cells in self._rows:
            head = block_header(cells)
            if head is not None:
                self._next = _at(head, number)
                break
            self.lead.append((number, cells))
            if number >= scan:
                break

    @property
    def plain(self) -> bool:
        return self._next is None

    def plain_rows(self) -> Iterator[Row]:
        yield from self.lead
        yield from self._rows

    def __iter__(self) -> Iterator[tuple[BlockHeader, Iterator[Row]]]:
        while self._next is not None:
            head, self._next = self._next, None
            body = self._body()
            yield head, body
            for _ in body:  # whatever the loader left of this block (none when it read the block through)
                pass

    def _body(self) -> Iterator[Row]:
        for number, cells in self._rows:
            head = block_header(cells)
            if head is not None:
                self._next = _at(head, number)
                return
            yield number, cells


def _at(head: BlockHeader, row: int) -> BlockHeader:
    return BlockHeader(row, head.text, head.subject_code, head.subject, head.exam_date)
