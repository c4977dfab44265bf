"""CSV and other delimited text: encoding, separator, rows; unreadable text is the file's failure.

Encodings met in regional extracts: UTF-8 with or without BOM; cp1251 (Excel «CSV (разделители —
запятые)» on Russian Windows); UTF-16 with BOM, tab-separated (Excel «Текст Юникод»); cp866 (DOS
programs, old exam-centre exports) and KOI8-R (old Unix mail and servers). A BOM decides; then strict
UTF-8; then the single-byte Cyrillic encodings are told apart by how Russian the decoded letters are
(short files of a header and a few rows defeat general detectors: charset-normalizer labels such
cp866 as cp1125 and KOI8-R as Hebrew cp1255). charset-normalizer is asked only when no Cyrillic
decoding reads as Russian.
"""

from __future__ import annotations

import codecs
import csv
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import charset_normalizer

from ingestion.core.errors import FileFormatError
from ingestion.core.readers.base import Row

SAMPLE_BYTES = 65536
# A workbook renamed to .csv: its first bytes say what it is (read as text it is only NUL bytes and noise).
WORKBOOK_MAGIC = (
    (b"PK\x03\x04", "формат .xlsx или .ods — zip-архив"),
    (b"\xd0\xcf\x11\xe0", "формат Excel 97–2003 .xls"),
)
CYRILLIC_SINGLE_BYTE = ("cp1251", "cp866", "koi8_r")

# Relative frequency (%) of letters in Russian text (the common textbook table, from the Russian National
# Corpus counts); a wrong code page turns Russian into rare letters, pseudo-graphics or odd capitals.
LETTER_FREQUENCY = {
    "о": 10.97, "е": 8.45, "а": 8.01, "и": 7.35, "н": 6.70, "т": 6.26, "с": 5.47, "р": 4.73, "в": 4.54,
    "л": 4.40, "к": 3.49, "м": 3.21, "д": 2.98, "п": 2.81, "у": 2.62, "я": 2.01, "ы": 1.90, "ь": 1.74,
    "г": 1.70, "з": 1.65, "б": 1.59, "ч": 1.44, "й": 1.21, "х": 0.97, "ж": 0.94, "ш": 0.73, "ю": 0.64,
    "ц": 0.48, "щ": 0.36, "э": 0.32, "ф": 0.26, "ъ": 0.04, "ё": 0.04,
}
LETTER_SCORE = {letter: math.log(share / 100) for letter, share in LETTER_FREQUENCY.items()}
NOT_A_LETTER = math.log(1e-5)  # a non-ASCII character that is not a Russian letter (box drawing, Ё in koi8…)
CAPITAL_AFTER_SMALL = math.log(1e-3)  # «пРИВЕТ»: the case pattern of cp1251 read as KOI8-R and back


def russian_score(text: str) -> float:
    """Log-likelihood-like score of ``text`` being Russian; only non-ASCII characters count."""
    score = 0.0
    previous = ""
    for ch in text:
        if ch < "\x80":
            previous = ch
            continue
        low = ch.lower()
        letter = LETTER_SCORE.get(low)
        if letter is None:
            score += NOT_A_LETTER
        else:
            score += letter
            if ch != low and previous in LETTER_SCORE:
                score += CAPITAL_AFTER_SMALL
        previous = ch
    return score


def _russian_share(text: str) -> float:
    wide = [ch for ch in text if ch >= "\x80"]
    return sum(ch.lower() in LETTER_SCORE for ch in wide) / len(wide) if wide else 0.0


def _looks_utf16(sample: bytes) -> str | None:
    """UTF-16 without a BOM: ASCII-range characters leave a NUL in every other byte."""
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _mostly_utf8(sample: bytes) -> bool:
    """UTF-8 text with a few bytes of another encoding (a line pasted from a cp1251 file).

    Read as a single-byte encoding it would turn every Russian letter into two wrong ones, so it is read
    as UTF-8 and refused where the foreign bytes are. cp1251 text almost never forms valid two-byte UTF-8
    (a capital letter followed by a quote or dash byte), so twenty valid characters decide.
    """
    text = sample.decode("utf-8", errors="replace")
    damaged = text.count("\ufffd")
    valid = sum(ch >= "\x80" for ch in text) - damaged
    return valid >= 20 and damaged <= valid / 4


def detect_encoding(sample: bytes) -> str:
    """The encoding of a text file from its first bytes (a Python codec name)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # the codec reads the BOM and its byte order
    wide = _looks_utf16(sample)
    if wide:
        return wide
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"  # the sample cut a character in two
        if _mostly_utf8(sample):
            return "utf-8"  # a few foreign bytes in UTF-8 text: read as UTF-8, refused where they are
    decoded = {name: sample.decode(name, errors="replace") for name in CYRILLIC_SINGLE_BYTE}
    best = max(CYRILLIC_SINGLE_BYTE, key=lambda name: russian_score(decoded[name]))
    if _russian_share(decoded[best]) >= 0.5:
        return best
    guess = charset_normalizer.from_bytes(sample).best()
    return codecs.lookup(guess.encoding).name if guess is not None else best


def detect_delimiter(text_sample: str, truncated: bool = False) -> str:
    """The separator that splits the sample's lines into the most rows of one consistent width.

    Counting characters is not enough: a `;` file may have commas inside quoted lists of school codes.
    """
    lines = [line for line in text_sample.splitlines() if line.strip()][:50]
    if truncated and len(lines) > 1:
        lines = lines[:-1]  # the sample cut the last line short
    best, best_score = ";", (0, 0)
    for delimiter in (";", "\t", ","):
        widths = Counter(len(record) for record in csv.reader(lines, delimiter=delimiter))
        width, rows = max(widths.items(), key=lambda item: (item[1], item[0]))
        score = (rows, width) if width > 1 else (0, 0)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _nul_free(path: Path, handle, encoding: str) -> Iterator[str]:
    """The lines of ``handle``; a NUL character (binary data, not text) anywhere refuses the file."""
    for number, line in enumerate(handle, start=1):
        if "\x00" in line:
            raise FileFormatError(path, f"файл не является текстовым CSV: в строке {number} двоичные данные "
                                        f"(нулевой байт NUL) при чтении в кодировке {encoding}")
        yield line


def csv_rows(path: Path) -> Iterator[Row]:
    with path.open("rb") as raw:
        sample = raw.read(SAMPLE_BYTES)
    for magic, kind in WORKBOOK_MAGIC:
        if sample.startswith(magic):
            raise FileFormatError(path, f"файл — книга Excel ({kind}), а не текст: сохраните его с расширением "
                                        ".xlsx (или .xls/.ods)")
    encoding = detect_encoding(sample)
    text = sample.decode(encoding, errors="replace")
    if not text.strip():
        raise FileFormatError(path, "файл пуст" if not sample else "файл пуст: в нём одни пробелы и переводы строк")
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise FileFormatError(path, f"файл не является текстовым CSV: в строке {line} двоичные данные "
                                    f"(нулевой байт NUL) при чтении в кодировке {encoding}")
    delimiter = detect_delimiter(text, truncated=len(sample) == SAMPLE_BYTES)
    with path.open("r", encoding=encoding, newline="") as handle:
        reader = csv.reader(_nul_free(path, handle, encoding), delimiter=delimiter)
        try:
            for number, record in enumerate(reader, start=1):
                yield number, tuple(record)
        except UnicodeError as exc:
            raise FileFormatError(
                path, f"не удалось прочитать текст в кодировке {encoding} (строка около {reader.line_num + 1}): "
                      "в файле байты другой кодировки"
            ) from exc
        except csv.Error as exc:
            raise FileFormatError(path, f"ошибка разбора CSV в строке {reader.line_num}: {exc}") from exc
