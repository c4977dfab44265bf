"""Reading files as they come: formats, encodings, cell types, and the files that must be refused."""

from __future__ import annotations

import datetime as dt
import random
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from ingestion.core.cells import UNCACHED_FORMULA
from ingestion.core.errors import FileFormatError
from ingestion.core.readers import xlsx as xlsx_reader
from ingestion.core.readers.text import detect_encoding as detect_text_encoding
from ingestion.core.sources import detect_delimiter, detect_encoding, open_sheets
from ingestion.core.values import normalise_text
from tests.builders import write_xlsx

FORMATS = Path(__file__).parent / "fixtures" / "real" / "formats"


def read(path: Path, **kwargs) -> dict[int, tuple]:
    """Row number -> cells of the first (only) sheet."""
    sheets = list(open_sheets(path, **kwargs))
    return dict(sheets[0].rows)


def refusal(path: Path, **kwargs) -> str:
    with pytest.raises(FileFormatError) as error:
        for sheet in open_sheets(path, **kwargs):
            list(sheet.rows)
    message = str(error.value)
    assert message.startswith(f"Файл «{path.name}»: ")
    return message


def rows_of(path, streaming: bool) -> list[tuple]:
    """Non-blank rows, cells normalised, trailing empty cells dropped."""
    out = []
    for sheet in open_sheets(path, streaming=streaming):
        for number, cells in sheet.rows:
            values = [normalise_text(c) for c in cells]
            while values and values[-1] is None:
                values.pop()
            if values:
                out.append((sheet.name, number, tuple(values)))
    return out


# --- text files ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "encoding", "delimiter"), [
    ("contingent_utf8.csv", "utf-8", ";"),
    ("contingent_utf8_bom.csv", "utf-8-sig", ";"),
    ("contingent_cp1251.csv", "cp1251", ";"),
    ("contingent_utf16.txt", "utf-16", "\t"),
    ("contingent_cp866.csv", "cp866", ";"),
    ("contingent_koi8r.csv", "koi8_r", ";"),
])
def test_each_text_encoding_reads_the_same_table(name, encoding, delimiter):
    path = FORMATS / name
    raw = path.read_bytes()
    assert detect_encoding(raw) == encoding
    assert detect_delimiter(raw.decode(encoding)) == delimiter
    rows = read(path)
    assert sorted(rows) == [1, 2, 3, 4, 5]
    assert rows[1] == ("Код ОО", "Наименование ОО", "Всего обучающихся", "Доля с ОВЗ, %")
    assert rows[3] == ("240002", "МКОУ Туринская СШ", "87", "12,6")
    assert rows[4] == ("240003", "МАОУ Гимназия 2 п. Ёлкино", "1043", "0,8")
    assert rows[5] == ("240004", "Филиал МБОУ Шушенская СШ; д. Щетинкино", "45", "0,0")


SHORT_RUSSIAN = [
    "Код ОО;Наименование ОО;Всего обучающихся;Доля с ОВЗ, %\r\n240001;МБОУ СШ 1;512;3,5\r\n",
    "КОД ОО;НАИМЕНОВАНИЕ;МУНИЦИПАЛИТЕТ\r\n1;МБОУ СОШ;ЕНИСЕЙСКИЙ РАЙОН\r\n",  # capitals only
    "ОО;Предмет;Балл\r\n240001;Математика;5\r\n",
    "Муниципалитет\r\nг. Норильск\r\n",
    "Класс;Отметка;Пол\r\n5А;4;Ж\r\n5Б;3;М\r\n",
    "Дата;Экзамен\r\n03.06.2026;Обществознание\r\n",
]


@pytest.mark.parametrize("codec", ["cp1251", "cp866", "koi8_r"])
@pytest.mark.parametrize("text", SHORT_RUSSIAN)
def test_single_byte_cyrillic_is_told_apart_on_short_files(codec, text):
    assert detect_text_encoding(text.encode(codec)) == codec


def test_utf16_without_bom_is_recognised_by_its_zero_bytes():
    text = "Код ОО\tВсего\r\n240001\t512\r\n240002\t87\r\n"
    assert detect_encoding(text.encode("utf-16-le")) == "utf-16-le"
    assert detect_encoding(text.encode("utf-16-be")) == "utf-16-be"


def test_utf8_cut_inside_a_character_by_the_sample_is_still_utf8():
    sample = "Код;Наименование\r\n1;Школа\r\n".encode() * 10
    assert detect_encoding(sample[:-1]) == "utf-8"  # the last «а» cut in half


@pytest.mark.parametrize("name", ["empty.csv", "whitespace_only.csv"])
def test_an_empty_text_file_is_refused_as_empty(name):
    assert "файл пуст" in refusal(FORMATS / name)


def test_a_nul_byte_refuses_the_file_naming_the_line_and_encoding():
    message = refusal(FORMATS / "nul_byte.csv")
    assert "NUL" in message and "в строке 3" in message and "cp1251" in message


@pytest.mark.parametrize(("workbook", "kind"), [
    ("formulas_without_values.xlsx", "формат .xlsx или .ods — zip-архив"),
    ("contingent.ods", "формат .xlsx или .ods — zip-архив"),
    ("contingent.xls", "формат Excel 97–2003 .xls"),
])
def test_a_workbook_renamed_to_csv_is_refused_as_a_workbook_not_as_binary_text(tmp_path, workbook, kind):
    renamed = tmp_path / "results.csv"
    shutil.copy(FORMATS / workbook, renamed)
    assert refusal(renamed) == (f"Файл «results.csv»: файл — книга Excel ({kind}), а не текст: сохраните его "
                                "с расширением .xlsx (или .xls/.ods)")


def test_a_nul_byte_past_the_sample_is_found_while_streaming(tmp_path):
    line = "240001;МБОУ СШ 1 г. Назарово;512;3,5\r\n"
    lines = 70_000 // len(line.encode("cp1251")) + 10  # past the 64 KB the encoding is detected from
    path = tmp_path / "late_nul.csv"
    path.write_bytes(("Код ОО;Наименование ОО;Всего;Доля\r\n" + line * lines + "240002;Ш\x00кола;1;0\r\n")
                     .encode("cp1251"))
    message = refusal(path)
    assert f"в строке {lines + 2}" in message and "NUL" in message and "cp1251" in message


def test_bytes_of_another_encoding_past_the_sample_name_the_encoding_tried(tmp_path):
    line = "240001;МБОУ СШ 1;512;3,5\r\n"
    path = tmp_path / "mixed.csv"
    path.write_bytes(("Код;Наименование;Всего;Доля\r\n" + line * 4000).encode("utf-8")
                     + "240002;Школа;1;0\r\n".encode("cp1251"))
    message = refusal(path)
    assert "в кодировке utf-8" in message


def test_utf8_with_a_stray_byte_is_refused_as_utf8_not_read_as_cp1251(tmp_path):
    path = tmp_path / "pasted.csv"
    rows = "".join(f"24000{i};МБОУ СШ {i} г. Назарово;512;3,5\r\n" for i in range(10))
    stray = "240099;Школа;1;0\r\n".encode("cp1251")
    path.write_bytes(("Код ОО;Наименование ОО;Всего;Доля\r\n" + rows).encode() + stray)
    assert detect_encoding(path.read_bytes()) == "utf-8"
    assert "в кодировке utf-8" in refusal(path)


def test_demo_csvs_come_in_both_encodings(demo_landing):
    encodings = {detect_encoding(p.read_bytes()[:65536]) for p in demo_landing.rglob("*.csv")}
    assert {"cp1251", "utf-8-sig"} <= encodings


# --- workbooks: .xls and .ods through calamine ------------------------------------------------------------

def test_xls_reads_with_numbers_dates_and_row_numbers_of_the_sheet():
    rows = read(FORMATS / "contingent.xls")
    assert sorted(rows) == [1, 2, 4, 5, 6, 7, 8]
    assert rows[2] == ("Дата:", dt.date(2026, 9, 1))
    assert rows[4] == ("Код ОО", "Наименование ОО", "Всего обучающихся", "Доля с ОВЗ, %")
    assert rows[5] == ("240001", "МБОУ СШ 1 г. Назарово", 512, 3.5)
    assert rows[7][1:] == ("МАОУ Гимназия 2 п. Ёлкино", 1043, 0.8)
    assert isinstance(rows[5][3], float)


def test_ods_keeps_the_blank_first_row_and_column():
    sheets = list(open_sheets(FORMATS / "contingent.ods", "континг"))
    assert [s.name for s in sheets] == ["Контингент"]
    rows = dict(sheets[0].rows)
    assert sorted(rows) == [2, 3, 5, 6, 7, 8, 9]
    assert rows[2] == (None, "Контингент ОО на 01.09.2026")
    assert rows[3] == (None, "Дата:", dt.date(2026, 9, 1))
    assert rows[6] == (None, 240001.0, "МБОУ СШ 1 г. Назарово", 512.0, 3.5)
    assert rows[9] == (None, 240004.0, "Филиал МБОУ Шушенская СШ; д. Щетинкино", 45.0, 0.0)


def test_a_workbook_is_read_by_what_it_is_not_by_its_name(tmp_path):
    disguised = tmp_path / "protocol.xls"
    shutil.copy(FORMATS / "formulas_without_values.xlsx", disguised)  # an .xlsx saved under .xls
    assert read(disguised)[4][0] == "Код ОО"
    web_page = tmp_path / "report.xls"
    web_page.write_bytes("<html><body><table><tr><td>Код ОО</td></tr></table></body></html>".encode())
    assert "веб-страница (HTML)" in refusal(web_page)
    junk = tmp_path / "old.xls"
    junk.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)  # an OLE2 signature, nothing inside
    assert "не удалось открыть как книгу Excel 97–2003 (.xls)" in refusal(junk)


# --- workbooks: .xlsx cell types and formulas -------------------------------------------------------------

def test_xlsx_cells_by_type_and_formulas_saved_without_values():
    rows = read(FORMATS / "formulas_without_values.xlsx")
    assert sorted(rows) == [1, 2, 4, 5, 6, 7, 8, 9, 10, 11]
    assert rows[2] == ("Дата:", dt.date(2026, 9, 1))
    assert rows[5] == (240001.0, "МБОУ СШ 1 г. Назарово", 512.0, 3.5)  # D5 is 0.035 in a percent style: «3,5 %»
    assert rows[9] == (None, "Итого", UNCACHED_FORMULA, 4.225)  # C9 has no value, D9 its cached one (percent)
    assert rows[10] == (None, "Проверка", "#DIV/0!", True)
    assert rows[11] == (None, UNCACHED_FORMULA, dt.datetime(2026, 9, 1, 12, 0))
    assert type(rows[2][1]) is dt.date and type(rows[11][2]) is dt.datetime


def test_calamine_loses_error_cells_and_formulas_without_values():
    """Why .xlsx is read by the streaming reader: calamine gives both as empty cells (and a percent-styled
    cell as the stored fraction, 0.035 for «3,5 %»: it does not expose number formats)."""
    rows = read(FORMATS / "formulas_without_values.xlsx", streaming=False)
    assert rows[9] == (None, "Итого", None, 0.04225)
    assert rows[10] == (None, "Проверка", None, True)
    assert rows[5] == (240001.0, "МБОУ СШ 1 г. Назарово", 512.0, 0.035)


def test_xlsx_cells_in_a_percent_format_are_read_as_shown(tmp_path):
    """Excel shows 0.2 in «0.0%» as «20,0 %»: the supplier's figure is 20; calamine gives 0.2."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Доля, %", 0.2, 0.125, 0.2, 0.3, 0.07])
    for column, code in zip("BCDEF", ["0.0%", "0%", "0.00%", '0.0" %"', '0.0"%";-0.0"%"'], strict=True):
        sheet[f"{column}1"].number_format = code  # «0%» and «0.00%» are the built-in formats 9 and 10
    path = tmp_path / "percent.xlsx"
    workbook.save(path)
    rows = read(path)
    # a «%» in quotes is text: «0.0" %"» shows 0.3 as «0,3 %»
    assert rows[1] == ("Доля, %", 20.0, 12.5, 20.0, 0.3, 0.07)
    assert read(path, streaming=False)[1][1] == 0.2
    assert xlsx_reader.is_percent_format("0.0%") and not xlsx_reader.is_percent_format('0" %"')


def sheet_workbook(tmp_path: Path, sheet_xml: str, name: str = "book.xlsx") -> Path:
    """The formulas fixture with its sheet XML replaced (shared strings 0.. stay those of the fixture)."""
    path = tmp_path / name
    with zipfile.ZipFile(FORMATS / "formulas_without_values.xlsx") as source, zipfile.ZipFile(path, "w") as target:
        for item in source.namelist():
            data = source.read(item)
            if item == "xl/worksheets/sheet1.xml":
                data = sheet_xml.encode()
            target.writestr(item, data)
    return path


def test_xlsx_written_with_a_namespace_prefix_odd_attribute_order_and_no_references(tmp_path):
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    sheet = (f'<?xml version="1.0"?><x:worksheet xmlns:x="{ns}"><x:sheetData>'
             '<x:row r="3"><x:c r="B3" t="s"><x:v>2</x:v></x:c><x:c t="n" r="C3"><x:v>7</x:v></x:c></x:row>'
             '<x:row><x:c t="inlineStr"><x:is><x:r><x:t>При</x:t></x:r><x:r><x:t xml:space="preserve">мер </x:t>'
             '</x:r></x:is></x:c><x:c><x:v>1.5</x:v></x:c><x:c s="1" ><x:v>46266</x:v></x:c></x:row>'
             '<x:row r="6" spans="1:3"><x:c r=\'C6\' t="str"><x:f>A1</x:f><x:v>a &amp; b</x:v></x:c></x:row>'
             "</x:sheetData></x:worksheet>")
    rows = read(sheet_workbook(tmp_path, sheet))
    assert rows == {3: (None, "Код ОО", 7.0), 4: ("Пример ", 1.5, dt.date(2026, 9, 1)), 6: (None, None, "a & b")}


def test_an_xlsx_row_that_does_not_close_refuses_the_file_naming_the_row(tmp_path):
    sheet = ('<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
             '<row r="2"><c r="A2"><v>2</v><c r="B2"><v>3</v></c></row></sheetData></worksheet>')
    message = refusal(sheet_workbook(tmp_path, sheet))
    assert "лист «Контингент» повреждён" in message and "XML оборван или неверен (строка 1" in message


def test_damage_deep_in_a_sheet_is_refused_after_the_rows_before_it(tmp_path, monkeypatch):
    rows = "".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c><c r="B{n}" t="s"><v>2</v></c></row>'
                   for n in range(1, 3001))
    damaged = rows.replace('<row r="2500"><c r="A2500"><v>2500</v>', '<row r="2500"><c r="A2500"><v>2500</c>')
    path = sheet_workbook(tmp_path, f"<worksheet><sheetData>{damaged}</sheetData></worksheet>")
    monkeypatch.setattr(xlsx_reader, "CHUNK_BYTES", 4096)
    message = refusal(path)
    reached = int(message.split("последняя прочитанная строка — ")[1].split(")")[0])
    assert 2000 < reached < 2500 and "XML оборван или неверен" in message


def test_a_well_formed_sheet_with_impossible_cells_is_refused(tmp_path):
    for cell, problem in [('<c r="Ж2"><v>1</v></c>', "неверная ссылка на ячейку"),
                          ('<c r="A2" t="b"><v>0.5</v></c>', "логическая ячейка"),
                          ('<c r="A2" t="q"><v>1</v></c>', "неизвестный тип ячейки"),
                          ('<c r="A2"><v>один</v></c>', "записано не число")]:
        sheet = (f'<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row><row r="2">{cell}</row>'
                 "</sheetData></worksheet>")
        assert problem in refusal(sheet_workbook(tmp_path, sheet))


@pytest.mark.parametrize("source", ["formulas_without_values.xlsx", "contingent.xls", "contingent.ods"])
def test_damaged_workbooks_raise_only_file_format_errors(tmp_path, source):
    """Bytes flipped, cut or inserted at random (fixed seeds): each file reads or is refused, nothing else."""
    original = (FORMATS / source).read_bytes()
    rnd = random.Random(source)
    outcomes = set()
    for attempt in range(60):
        data = bytearray(original)
        for _ in range(rnd.randint(1, 4)):
            position = rnd.randrange(len(data))
            if rnd.random() < 0.6:
                data[position] = rnd.randrange(256)
            else:
                del data[position:position + rnd.randint(1, 40)]
        path = tmp_path / f"damaged_{attempt}{Path(source).suffix}"
        path.write_bytes(bytes(data))
        try:
            for sheet in open_sheets(path):
                list(sheet.rows)
            outcomes.add("read")
        except FileFormatError:
            outcomes.add("refused")
    assert "refused" in outcomes


def test_a_sheet_whose_part_is_missing_from_the_archive_is_refused(tmp_path):
    path = tmp_path / "no_sheet.xlsx"
    with zipfile.ZipFile(FORMATS / "formulas_without_values.xlsx") as source, zipfile.ZipFile(path, "w") as target:
        for item in source.namelist():
            if item != "xl/worksheets/sheet1.xml":
                target.writestr(item, source.read(item))
    assert "лист «Контингент» указан в книге, но его части нет в архиве" in refusal(path)


@pytest.mark.parametrize(("name", "expected"), [
    ("truncated.xlsx", "это не zip-архив книги или архив оборван"),
    ("malformed_xml.xlsx", "часть книги «xl/workbook.xml» повреждена: XML оборван или неверен"),
    ("text_renamed.xlsx", "на самом деле текстовый (похож на CSV)"),
])
def test_broken_workbooks_are_refused_saying_what_was_tried(name, expected):
    message = refusal(FORMATS / name)
    assert expected in message
    if name != "text_renamed.xlsx":
        assert "Excel (.xlsx" in message


@pytest.mark.parametrize("streaming", [True, False])
def test_a_missing_file_and_an_unknown_extension_are_refused(tmp_path, streaming):
    assert "файл не найден" in refusal(tmp_path / "absent.xlsx", streaming=streaming)
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    message = refusal(pdf, streaming=streaming)
    assert "неизвестный формат файла «.pdf»" in message
    for suffix in (".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".txt", ".tsv"):
        assert suffix in message


# --- the streaming .xlsx reader against calamine ----------------------------------------------------------

def mixed_workbook(path: Path) -> Path:
    """openpyxl (shared strings, styles): a blank first two rows and columns, sparse rows, gaps, dates."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Индивидуальные результаты"
    sheet["C3"] = "ВПР 2026 Математика 5 класс"
    sheet["C4"], sheet["D4"] = "Дата:", dt.date(2026, 4, 16)
    for col, text in enumerate(["ОО", "Код участника", "Класс", "1", "2", "Балл", "Дата рождения"], start=3):
        sheet.cell(6, col, text)
    for i in range(40):
        row = 7 + i * 3  # sparse: two empty rows between rows
        sheet.cell(row, 3, f"edu24{i:04d}")
        sheet.cell(row, 4, 40000 + i)
        if i % 4:
            sheet.cell(row, 5, f"5{'АБВ'[i % 3]}")  # an empty cell in the middle of some rows
        sheet.cell(row, 6, i % 2)
        sheet.cell(row, 7, 0.5 * i)
        sheet.cell(row, 8, i % 7 == 0)
        sheet.cell(row, 9, dt.datetime(2014, 1 + i % 12, 1 + i % 28, 9 if i % 5 == 0 else 0, 30 if i % 5 == 0 else 0))
    sheet.cell(200, 30, "далеко")  # a lone cell far right and down
    workbook.create_sheet("Пустой")
    workbook.save(path)
    return path


def test_streaming_and_calamine_read_the_same_cells(tmp_path):
    path = mixed_workbook(tmp_path / "mixed.xlsx")
    streamed = [(s.name, list(s.rows)) for s in open_sheets(path, streaming=True)]
    whole = [(s.name, list(s.rows)) for s in open_sheets(path, streaming=False)]
    assert streamed == whole
    rows = dict(streamed[0][1])
    assert rows[3] == (None, None, "ВПР 2026 Математика 5 класс")
    assert rows[4] == (None, None, "Дата:", dt.date(2026, 4, 16))
    assert rows[7] == (None, None, "edu240000", 40000.0, None, 0.0, 0.0, True, dt.datetime(2014, 1, 1, 9, 30))
    assert rows[10][4] == "5Б" and rows[10][8] == dt.date(2014, 2, 2)
    assert rows[200] == (None,) * 29 + ("далеко",)
    assert 8 not in rows and 9 not in rows
    assert streamed[1] == ("Пустой", [])


def test_streaming_rows_do_not_depend_on_where_the_chunks_are_cut(tmp_path, monkeypatch):
    path = mixed_workbook(tmp_path / "mixed.xlsx")
    whole = [list(s.rows) for s in open_sheets(path, streaming=False)]
    monkeypatch.setattr(xlsx_reader, "CHUNK_BYTES", 97)  # cuts inside tags, cells and UTF-8 characters
    assert [list(s.rows) for s in open_sheets(path)] == whole


@pytest.mark.parametrize("feed", ["registry", "vpr_individual", "vpr_journal", "kdr", "teachers"])
def test_calamine_and_streaming_read_the_same_rows_of_demo_files(demo_landing, feed):
    path = sorted((demo_landing / feed).glob("*.xlsx"))[0]
    fast, streamed = rows_of(path, streaming=False), rows_of(path, streaming=True)
    assert fast == streamed
    assert len(fast) > 3


# --- sheets by name ---------------------------------------------------------------------------------------

def test_sheet_names_cut_at_31_characters_still_match_the_pattern(tmp_path):
    cut = "ИСТ 11 Индивидуальные результаты"[:31]
    path = write_xlsx(tmp_path / "vpr.xlsx", {"Титул": [["ВПР"]], cut: [["Код"]], "Сравнение отметок": [["x"]]})
    assert len(cut) == 31 and not cut.endswith("ы")
    assert [s.name for s in open_sheets(path, "индивидуальные результаты")] == [cut]
    assert [s.name for s in open_sheets(path, "индивидуальн")] == [cut]
    message = refusal(path, sheet_pattern="аналитика")
    assert "нет листа «аналитика»" in message and "«Титул»" in message
