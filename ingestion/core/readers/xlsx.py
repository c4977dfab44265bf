"""Streaming reader of .xlsx/.xlsm workbooks: the sheet XML is inflated and parsed a megabyte at a time.

calamine reads a whole sheet before it yields the first row (a 200,000-row sheet takes ~400 MB), and
openpyxl's streaming mode is ~10x slower. The sheet XML of an Office Open XML workbook is regular
enough (``<row>`` elements holding ``<c>`` cells, values in ``<v>``, strings shared or inline) to be
cut at row ends and parsed with regular expressions, which keeps memory flat at about half the speed of
calamine. The parts read, and the cell types: ECMA-376 Part 1, §18.3.1 (sheetData), §18.4 (shared
strings), §18.8.30-31 (number formats that make a number a date or a percent).

Cell values: text as ``str``, numbers as ``float`` (as calamine gives them), booleans as ``bool``,
numbers in a date format as ``datetime.date`` (whole days) or ``datetime.datetime``, numbers in a percent
format («0.0%») as shown (0.2 as 20.0: a supplier sees «20,0 %»), error cells as
their text («#DIV/0!», «#N/A») so that typing fails with the value a reader sees, a formula saved without
its value as ``UNCACHED_FORMULA``, empty cells as ``None``.
"""

from __future__ import annotations

import codecs
import html
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from xml.etree import ElementTree
from xml.parsers import expat

from ingestion.core.cells import UNCACHED_FORMULA
from ingestion.core.errors import FileFormatError
from ingestion.core.readers.base import Row, Sheet, choose_sheets

CHUNK_BYTES = 1 << 20
WHAT = "книгу Excel (.xlsx, формат Office Open XML)"
# Failures of a damaged archive or part, whichever step meets them.
BROKEN = (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError, ValueError, IndexError,
          ElementTree.ParseError, expat.ExpatError, UnicodeError, NotImplementedError, LookupError)

# Built-in number formats that show a date or time (ECMA-376 §18.8.30; 27-36 and 50-58 in East Asian locales).
BUILTIN_DATE_FORMATS = {*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)}
_QUOTED_OR_BRACKETED = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.')
_ESCAPED_CHAR = re.compile(r"_x([0-9A-Fa-f]{4})_")


# Built-in percent formats «0%» and «0.00%» (ECMA-376 §18.8.30).
BUILTIN_PERCENT_FORMATS = {9, 10}


def is_percent_format(code: str) -> bool:
    """A custom number format that shows a number times 100 with «%»: a «%» outside quotes (first section)."""
    return "%" in _QUOTED_OR_BRACKETED.sub("", code).split(";")[0]


def as_shown_percent(value: float) -> float:
    """A cell in a percent format as Excel shows it (0.2 as «20 %»), to 10 significant digits so that
    0.2 × 100 is 20, not 20.000000000000004."""
    return float(f"{value * 100:.10g}")


def is_date_format(code: str) -> bool:
    """A custom number format that shows a date: day, month, year, hour or second codes outside quotes."""
    bare = _QUOTED_OR_BRACKETED.sub("", code).split(";")[0].lower()
    return bare != "general" and any(ch in bare for ch in "dmyhs")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attr(element: ElementTree.Element, name: str) -> str | None:
    """An attribute by local name, whatever namespace (transitional or strict OOXML) it is in."""
    for key, value in element.attrib.items():
        if _local(key) == name:
            return value
    return None


def _text(raw: str) -> str:
    if "&" in raw:
        raw = html.unescape(raw)
    if "_x" in raw:  # ST_Xstring escapes, e.g. _x000D_ for a carriage return
        raw = _ESCAPED_CHAR.sub(lambda m: chr(int(m.group(1), 16)), raw)
    return raw


@lru_cache(maxsize=4)
def _patterns(prefix: str) -> dict[str, re.Pattern]:
    """Regular expressions for one namespace prefix of the sheet XML (usually none, «x:» from some writers)."""
    p = re.escape(prefix)
    return {
        "cell_open": f"<{prefix}c ",
        "cell_bare": f"<{prefix}c>",
        "cell_tag": re.compile(rf"<{p}c[\s/>]"),
        "empty_rows": re.compile(rf"(?:\s*<{p}row(?=[\s/>])[^>]*/>)*\s*"),
        "row_open": f"<{prefix}row",
        "row_close": f"</{prefix}row>",
        "row": re.compile(rf"<{p}row(?=[\s/>])([^>]*?)(?:/>|>(.*?)</{p}row>)", re.S),
        # r, s, t in the order Excel and openpyxl write them; anything else lands in the fourth group
        "cell": re.compile(rf'<{p}c(?: r="([A-Z]+)\d+")?(?: s="(\d+)")?(?: t="(\w+)")?((?:\s[^>]*?)?)'
                           rf'(?:/>|><{p}v>([^<]*)</{p}v></{p}c>|>(.*?)</{p}c>)',
                           re.S),
        "key_attr": re.compile(r"(?<![\w:])[rst]\s*="),
        "value": re.compile(rf"<{p}v(?:\s[^>]*)?>(.*?)</{p}v>", re.S),
        "text": re.compile(rf"<{p}t(?:\s[^>]*)?>(.*?)</{p}t>", re.S),
        "phonetic": re.compile(rf"<{p}rPh\b.*?</{p}rPh>", re.S),
        "formula": re.compile(rf"<{p}f[\s/>]"),
        "item": re.compile(rf"<{p}si(?:\s[^>]*)?>(.*?)</{p}si>|<{p}si\s*/>", re.S),
        "attr": re.compile(r"""([\w:]+)\s*=\s*(?:"([^"]*)"|'([^']*)')"""),
    }


_COLUMNS: dict[str, int] = {}


def column_index(letters: str) -> int:
    """0-based column of a cell reference's letters: A -> 0, Z -> 25, AA -> 26."""
    index = _COLUMNS.get(letters)
    if index is None:
        index = 0
        for ch in letters:
            index = index * 26 + ord(ch) - 64
        index -= 1
        if not (letters.isascii() and letters.isalpha() and letters.isupper()) or index > 16383:
            raise ValueError(f"неверная ссылка на ячейку «{letters}»")
        _COLUMNS[letters] = index
    return index


class DamagedPart(ValueError):
    def __init__(self, part: str, problem: str):
        super().__init__(f"часть книги «{part}» повреждена: {problem}")


class Workbook:
    """The parts of an .xlsx needed to read its sheets: names, sheet parts, shared strings, date styles."""

    def __init__(self, path: Path):
        self.path = path
        with zipfile.ZipFile(path) as self.zip:
            self._read_parts()

    def _read_parts(self) -> None:
        self.members = {name.lower(): name for name in self.zip.namelist()}
        main = self._main_part()
        root = self._xml(main)
        self.epoch = datetime(1904, 1, 1) if self._date1904(root) else None
        rels = self._rels(main)
        self.sheets: dict[str, str] = {}  # sheet name -> zip member, in workbook order
        for element in root.iter():
            if _local(element.tag) == "sheet":
                name = _attr(element, "name") or ""
                member, kind = rels.get(_attr(element, "id") or "", ("", ""))
                if not kind:
                    raise DamagedPart(main, f"у листа «{name}» нет ссылки на его часть")
                if kind.endswith("/worksheet"):  # chart and dialog sheets hold no cells
                    if not member:
                        raise DamagedPart(main, f"лист «{name}» указан в книге, но его части нет в архиве")
                    self.sheets[name] = member
        by_type = {kind.rsplit("/", 1)[-1]: member for member, kind in rels.values() if member}
        self.date_styles, self.percent_styles = self._number_styles(by_type.get("styles"))
        self.shared = self._shared_strings(by_type.get("sharedStrings"))

    def _member(self, name: str) -> str:
        return self.members[name.lstrip("/").lower()]

    def _xml(self, name: str) -> ElementTree.Element:
        try:
            member = self._member(name)
        except KeyError:
            raise DamagedPart(name, "этой части нет в архиве") from None
        try:
            return ElementTree.fromstring(self.zip.read(member))
        except ElementTree.ParseError as exc:
            line, column = exc.position
            raise DamagedPart(member, f"XML оборван или неверен (строка {line}, позиция {column})") from exc

    def _main_part(self) -> str:
        if "_rels/.rels" in self.members:
            for rel in self._xml("_rels/.rels"):
                if (rel.get("Type") or "").endswith("/officeDocument"):
                    return rel.get("Target", "").lstrip("/")
        return "xl/workbook.xml"

    def _rels(self, part: str) -> dict[str, tuple[str, str]]:
        """Relationship id -> (zip member of the target, relationship type) for one part."""
        folder, name = posixpath.split(part)
        rels_name = posixpath.join(folder, "_rels", name + ".rels")
        if rels_name.lower() not in self.members:
            return {}
        out = {}
        for rel in self._xml(rels_name):
            target = rel.get("Target", "")
            if target.startswith("/"):
                target = target.lstrip("/")
            else:
                target = posixpath.normpath(posixpath.join(folder, target))
            out[rel.get("Id", "")] = (self.members.get(target.lower(), ""), rel.get("Type", ""))
        return out

    @staticmethod
    def _date1904(root: ElementTree.Element) -> bool:
        for element in root.iter():
            if _local(element.tag) == "workbookPr":
                return (_attr(element, "date1904") or "").lower() in {"1", "true"}
        return False

    def _number_styles(self, member: str | None) -> tuple[frozenset[str], frozenset[str]]:
        """Indexes (as the ``s`` attribute writes them) of cell styles whose number format is a date, and of
        those whose format is a percent (a number shown times 100)."""
        if member is None:
            return frozenset(), frozenset()
        root = self._xml(member)
        custom = {}
        styles: list[str] = []
        for element in root:
            if _local(element.tag) == "numFmts":
                custom = {f.get("numFmtId"): f.get("formatCode", "") for f in element}
            elif _local(element.tag) == "cellXfs":
                styles = [xf.get("numFmtId", "0") for xf in element]
        dates, percents = set(), set()
        for index, format_id in enumerate(styles):
            if format_id in custom:
                if is_date_format(custom[format_id]):
                    dates.add(str(index))
                elif is_percent_format(custom[format_id]):
                    percents.add(str(index))
            elif format_id.isdigit() and int(format_id) in BUILTIN_DATE_FORMATS:
                dates.add(str(index))
            elif format_id.isdigit() and int(format_id) in BUILTIN_PERCENT_FORMATS:
                percents.add(str(index))
        return frozenset(dates), frozenset(percents)

    def _shared_strings(self, member: str | None) -> list[str]:
        """The shared-string table, read in chunks (runs joined, phonetic hints dropped)."""
        if member is None:
            return []
        strings: list[str] = []
        head_seen = False
        prefix = ""
        for text in _chunks(self.zip, member, "si>"):
            if not head_seen:
                found = re.search(r"<([\w.-]+:)?sst\b", text)
                prefix = (found.group(1) or "") if found else ""
                head_seen = True
            patterns = _patterns(prefix)
            for item in patterns["item"].finditer(text):
                body = item.group(1) or ""
                if "rPh" in body:
                    body = patterns["phonetic"].sub("", body)
                strings.append(_text("".join(patterns["text"].findall(body))))
        return strings

    def to_date(self, serial: float) -> date | datetime:
        """An Excel serial day number as a date (whole days) or a date and time (to the millisecond, as Excel)."""
        if self.epoch is not None:
            epoch = self.epoch
        elif serial < 61:  # Excel counts a 29 February 1900 that never was
            epoch = datetime(1899, 12, 31)
        else:
            epoch = datetime(1899, 12, 30)
        milliseconds = round(serial * 86_400_000)
        moment = epoch + timedelta(milliseconds=milliseconds)
        return moment.date() if milliseconds % 86_400_000 == 0 else moment

    def date_or_number(self, serial: float) -> date | datetime | float:
        try:
            return self.to_date(serial)
        except (OverflowError, ValueError):  # Excel shows ##### for such a date; the number is what is left
            return serial

    def rows(self, member: str) -> Iterator[Row]:
        """The rows of one sheet, from an archive opened for this sheet alone (closed when the rows end)."""
        with zipfile.ZipFile(self.path) as archive:
            yield from self._rows(archive, member)

    def _rows(self, archive: zipfile.ZipFile, member: str) -> Iterator[Row]:
        last_row = 0
        prefix = None
        for text in _chunks(archive, member, "row>"):
            if prefix is None:
                found = re.search(r"<([\w.-]+:)?sheetData(?=[\s/>])", text)
                if found is None:
                    continue
                prefix = found.group(1) or ""
                tag_end = text.index(">", found.end())
                if text[tag_end - 1] == "/":  # <sheetData/>: no rows
                    return
                text = text[tag_end + 1:]
            end = text.find(f"</{prefix}sheetData>")
            if end >= 0:
                text = text[:end]
            for number, cells in _parse_rows(self, text, _patterns(prefix), last_row):
                last_row = number
                if cells:
                    yield number, cells
            if end >= 0:
                return


def _chunks(archive: zipfile.ZipFile, member: str, closing: str) -> Iterator[str]:
    """The text of a zipped XML part in pieces that each end just after a ``closing`` tag name.

    expat (C, no handlers: about a quarter of the reading time) checks that the bytes are well-formed
    XML, so that a damaged part is refused rather than read loosely by the regular expressions.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    checker = expat.ParserCreate()
    rest = ""
    with archive.open(member) as handle:
        while True:
            data = handle.read(CHUNK_BYTES)
            checker.Parse(data, not data)
            text = rest + decoder.decode(data, final=not data)
            if not data:
                if text:
                    yield text
                return
            cut = _last_closing(text, closing)
            if cut < 0:
                rest = text
                continue
            rest = text[cut:]
            yield text[:cut]


def _last_closing(text: str, name: str) -> int:
    """The position just after the last closing tag ``</name>`` or ``</prefix:name>`` in ``text``, or -1."""
    end = text.rfind(name)
    while end >= 0:
        start = text.rfind("<", 0, end)
        if start >= 0 and text.startswith("</", start):
            return end + len(name)
        end = text.rfind(name, 0, max(start, 0))
    return -1


def _parse_rows(book: Workbook, text: str, patterns: dict, last_row: int) -> Iterator[Row]:
    """Rows of one piece of sheetData; the common cell forms are handled inline, the rest by ``_value``."""
    cells_of, shared, date_styles = patterns["cell"].findall, book.shared, book.date_styles
    percent_styles = book.percent_styles
    to_date, columns = book.date_or_number, _COLUMNS
    cell_open, cell_bare = patterns["cell_open"], patterns["cell_bare"]
    row_open, row_close, open_length = patterns["row_open"], patterns["row_close"], len(patterns["row_open"])
    for piece in text.split(row_close):  # each piece ends with one row's cells; empty rows may precede it
        start = piece.rfind(row_open)
        while start >= 0 and piece[start + open_length] not in " \t\r\n>/":
            start = piece.rfind(row_open, 0, start)
        if start < 0:
            continue
        first = piece.find(row_open)
        if first != start:  # <row .../> before this one: they count for unnumbered rows
            if not patterns["empty_rows"].fullmatch(piece, first, start):
                raise ValueError(f"после строки {last_row} строка листа не закрыта (нет </row>)")
            for empty in patterns["row"].finditer(piece, first, start):
                last_row = _row_number(empty.group(1), patterns, last_row)
                yield last_row, ()
        tag_end = piece.index(">", start)
        attrs = piece[start + open_length:tag_end]
        last_row = number = _row_number(attrs, patterns, last_row)
        if attrs.endswith("/"):
            yield number, ()
            continue
        body = piece[tag_end + 1:]
        cells: list = []
        found = cells_of(body)
        if (len(found) != body.count(cell_open) + body.count(cell_bare)
                and len(found) != len(patterns["cell_tag"].findall(body))):  # every <c> read, none swallowed
            raise ValueError(f"строка {number} листа не читается: ячейки не закрыты или вложены друг в друга")
        for letters, style, kind, extra, raw, content in found:
            if extra and patterns["key_attr"].search(extra):  # attributes in an unusual order or quoting
                given = _attrs(extra, patterns)
                if not letters and "r" in given:
                    letters = given["r"].rstrip("0123456789")
                    if not letters:
                        raise ValueError(f"в строке {number} ячейка с пустой ссылкой r")
                style, kind = style or given.get("s", ""), kind or given.get("t", "")
            if raw:  # <c ...><v>raw</v></c>: most cells
                if not kind or kind == "n":
                    value = float(raw)
                    if style and style in date_styles:
                        value = to_date(value)
                elif kind == "s":
                    value = shared[int(raw)] or None
                else:
                    value = _value(book, f"<v>{raw}</v>", kind, patterns)
            elif not content:  # <c .../> or <c ...></c>: a styled empty cell
                continue
            elif kind == "inlineStr" and content.startswith("<is><t>") and content.endswith("</t></is>"):
                text_ = content[7:-9]
                value = (_text(text_) or None) if "<" not in text_ else _value(book, content, kind, patterns)
            else:
                value = _value(book, content, kind, patterns, style in date_styles)
            if value is None:
                continue
            if style and type(value) is float and style in percent_styles:  # «20,0 %» in Excel is 20, not 0.2
                value = as_shown_percent(value)
            column = columns.get(letters) if letters else len(cells)  # cells without a reference follow on
            if column is None:
                column = column_index(letters)
            width = len(cells)
            if column == width:
                cells.append(value)
            elif column > width:
                cells.extend([None] * (column - width))
                cells.append(value)
            else:
                cells[column] = value
        yield number, tuple(cells)


def _row_number(attrs: str, patterns: dict, last_row: int) -> int:
    found = attrs.find(' r="')
    if found >= 0:
        return int(attrs[found + 4:attrs.index('"', found + 4)])
    number = _attrs(attrs, patterns).get("r")
    return int(number) if number else last_row + 1


def _attrs(attrs: str, patterns: dict) -> dict[str, str]:
    return {m.group(1): m.group(2) if m.group(2) is not None else m.group(3) for m in patterns["attr"].finditer(attrs)}


def _value(book: Workbook, content: str, kind: str, patterns: dict, is_date: bool = False):
    """The value of one cell from its XML content and its ``t`` (type) attribute ("" for a number)."""
    if kind == "inlineStr":
        if "rPh" in content:
            content = patterns["phonetic"].sub("", content)
        return _text("".join(patterns["text"].findall(content))) or None
    found = patterns["value"].search(content)
    raw = found.group(1) if found else None
    if (not raw and kind in {"", "n", "b", "s", "e", "d"}) or raw is None:
        # no value: a formula saved without its result (written by a script, never recalculated)
        return UNCACHED_FORMULA if patterns["formula"].search(content) else None
    if kind in {"", "n"}:
        number = float(raw)
        return book.date_or_number(number) if is_date else number
    if kind == "s":
        return book.shared[int(raw)] or None
    if kind == "b":
        flag = raw.strip().lower()
        if flag not in {"0", "1", "true", "false"}:
            raise ValueError(f"логическая ячейка со значением «{raw}»")
        return flag in {"1", "true"}
    if kind == "d":
        moment = datetime.fromisoformat(raw.strip().rstrip("Z"))
        return moment if "T" in raw else moment.date()
    if kind not in {"str", "e"}:
        raise ValueError(f"неизвестный тип ячейки t=«{kind}»")
    return _text(raw) or None  # str (a formula's text) or e (an error such as #DIV/0!, shown as it is)


def describe(exc: BaseException) -> str:
    """What broke, in words for the user (the readers' own ValueErrors already speak Russian)."""
    if isinstance(exc, expat.ExpatError):
        return f"XML оборван или неверен (строка {exc.lineno}, позиция {exc.offset})"
    if isinstance(exc, (zlib.error, zipfile.BadZipFile, EOFError)):
        return "сжатые данные архива повреждены (файл недокачан или испорчен)"
    if isinstance(exc, UnicodeError):
        return "текст частей книги не в кодировке UTF-8"
    if isinstance(exc, ValueError) and ("convert string to float" in str(exc) or "for int()" in str(exc)):
        return "в ячейке числового типа или в ссылке записано не число"
    if isinstance(exc, ValueError) and any("а" <= ch <= "я" for ch in str(exc)):
        return str(exc)
    if isinstance(exc, IndexError):
        return "ячейка ссылается на строку, которой нет в таблице общих строк (sharedStrings.xml)"
    if isinstance(exc, LookupError) and "encoding" in str(exc):
        return "в объявлении XML указана неизвестная кодировка"
    if isinstance(exc, KeyError):
        return f"в архиве нет части книги {exc}"
    return f"{type(exc).__name__}: {exc}"


def open_workbook(path: Path) -> Workbook:
    try:
        return Workbook(path)
    except zipfile.BadZipFile as exc:
        raise FileFormatError(path, f"файл не удалось открыть как {WHAT}: это не zip-архив книги или архив "
                                    "оборван (файл повреждён, недокачан или имеет другой формат)") from exc
    except DamagedPart as exc:
        raise FileFormatError(path, f"файл не удалось открыть как {WHAT}: {exc}") from exc
    except BROKEN as exc:
        raise FileFormatError(path, f"файл не удалось открыть как {WHAT}: части книги повреждены "
                                    f"({describe(exc)})") from exc


def xlsx_sheets(path: Path, sheet_pattern: str | None) -> Iterator[Sheet]:
    book = open_workbook(path)
    for name in choose_sheets(path, list(book.sheets), sheet_pattern):
        yield Sheet(name, _guarded(path, name, book.rows(book.sheets[name])))


def _guarded(path: Path, name: str, rows: Iterator[Row]) -> Iterator[Row]:
    """Rows of one sheet; damage met halfway through the sheet is the file's failure, with the row reached."""
    number = 0
    try:
        for number, cells in rows:
            yield number, cells
    except BROKEN as exc:
        reached = f" (последняя прочитанная строка — {number})" if number else ""
        raise FileFormatError(path, f"лист «{name}» повреждён{reached}: файл не удалось дочитать как {WHAT}: "
                                    f"{describe(exc)}") from exc
