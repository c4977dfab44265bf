"""Reading files as they come: both workbook readers agree; encodings and unreadable files."""

from __future__ import annotations

import pytest

from ingestion.core.errors import FileFormatError
from ingestion.core.sources import detect_encoding, open_sheets
from ingestion.core.values import normalise_text


def rows_of(path, streaming: bool) -> list[tuple]:
    """Non-blank rows, cells normalised, trailing empty cells dropped (calamine pads to the sheet width)."""
    out = []
    for sheet in open_sheets(path, streaming=streaming):
        for number, cells in sheet.rows:
            values = [normalise_text(c) for c in cells]
            while values and values[-1] is None:
                values.pop()
            if values:
                out.append((sheet.name, number, tuple(values)))
    return out


@pytest.mark.parametrize("feed", ["registry", "vpr_individual", "vpr_journal", "kdr", "teachers"])
def test_calamine_and_streaming_openpyxl_read_the_same_rows(demo_landing, feed):
    path = sorted((demo_landing / feed).glob("*.xlsx"))[0]
    fast, streamed = rows_of(path, streaming=False), rows_of(path, streaming=True)
    assert fast == streamed
    assert len(fast) > 3


def test_demo_csvs_come_in_both_encodings(demo_landing):
    encodings = {detect_encoding(p.read_bytes()[:65536]) for p in demo_landing.rglob("*.csv")}
    assert {"cp1251", "utf-8-sig"} <= encodings


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("old.xls", b"\xd0\xcf\x11\xe0 old excel", "формат .xls"),
    ("report.pdf", b"%PDF-1.4", "неизвестный формат файла «.pdf»"),
    ("binary.csv", b"\x00\x01\x02\x03", "не является текстовым CSV"),
    ("broken.xlsx", b"PK\x03\x04 truncated zip", "не удалось открыть как книгу Excel"),
])
def test_unreadable_files_get_a_russian_message_naming_them(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FileFormatError) as error:
        for sheet in open_sheets(path):
            list(sheet.rows)
    assert str(error.value).startswith(f"Файл «{name}»: ")
    assert expected in str(error.value)
