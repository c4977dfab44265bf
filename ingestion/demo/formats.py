"""Workbooks in the formats other than .xlsx that real files come in: OpenDocument (.ods) and Excel 97–2003 (.xls).

Written byte by byte, deterministically (fixed zip timestamps, no tool whose version could change them):
the project's environment has neither xlwt nor LibreOffice. The demo generator writes its .ods and .xls
variants with these, and so does ``tests/fixtures/real/formats/make_formats.py``.

Cells: None (empty), str, int, float, bool, and ``datetime.date`` / ``datetime.datetime`` (a date cell).
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile
from xml.sax.saxutils import escape

EXCEL_EPOCH = dt.datetime(1899, 12, 30)
ODS_MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"
XLS_MAX_ROWS = 65536  # rows per BIFF8 sheet
XLS_MAX_COLUMNS = 256


def zip_bytes(members: dict[str, str | bytes], stamp: tuple, stored_first: str | None = None) -> bytes:
    """A zip archive with fixed entry timestamps; ``stored_first`` (the ODF mimetype) uncompressed."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_STORED if name == stored_first else zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buf.getvalue()


# --- .ods: OpenDocument content.xml -----------------------------------------------------------------------

ODS_NAMESPACES = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"')
ODS_MANIFEST = ('<?xml version="1.0" encoding="UTF-8"?>'
                '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
                'manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/" manifest:version="1.2" '
                f'manifest:media-type="{ODS_MIMETYPE}"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                "</manifest:manifest>")


def _plain(value):
    """A numpy scalar as the Python value it holds."""
    return value.item() if hasattr(value, "item") and not isinstance(value, str | dt.date) else value


def ods_cell(value) -> str:
    value = _plain(value)
    if value is None or value == "":
        return "<table:table-cell/>"
    if isinstance(value, dt.datetime):
        shown = value.isoformat(timespec="seconds")
        return (f'<table:table-cell office:value-type="date" office:date-value="{shown}">'
                f"<text:p>{shown}</text:p></table:table-cell>")
    if isinstance(value, dt.date):
        return (f'<table:table-cell office:value-type="date" office:date-value="{value.isoformat()}">'
                f"<text:p>{value.isoformat()}</text:p></table:table-cell>")
    if isinstance(value, bool):
        shown = "true" if value else "false"
        return (f'<table:table-cell office:value-type="boolean" office:boolean-value="{shown}">'
                f"<text:p>{shown.upper()}</text:p></table:table-cell>")
    if isinstance(value, int | float):
        return (f'<table:table-cell office:value-type="float" office:value="{value}">'
                f"<text:p>{value}</text:p></table:table-cell>")
    return f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}</text:p></table:table-cell>'


def _ods_table(name: str, rows: list, lead_columns: int) -> str:
    width = lead_columns + max((len(r) for r in rows), default=0)
    lead = f'<table:table-cell table:number-columns-repeated="{lead_columns}"/>' if lead_columns else ""
    xml_rows = []
    for cells in rows:
        if all(c is None or c == "" for c in cells):  # a blank row keeps its place: rows are numbered
            xml_rows.append(f'<table:table-row><table:table-cell table:number-columns-repeated="{max(width, 1)}"/>'
                            "</table:table-row>")
        else:
            xml_rows.append("<table:table-row>" + lead + "".join(ods_cell(c) for c in cells) + "</table:table-row>")
    return (f'<table:table table:name="{escape(name, {chr(34): "&quot;"})}">'
            f'<table:table-column table:number-columns-repeated="{max(width, 1)}"/>'
            + "".join(xml_rows) + "</table:table>")


def ods_bytes(sheets: list, stamp: tuple, lead_columns: int = 0) -> bytes:
    """An .ods of ``sheets`` [(name, rows)]; ``lead_columns`` blank columns before column A's values
    (LibreOffice users often start a table at B2)."""
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODS_NAMESPACES}>'
               "<office:body><office:spreadsheet>"
               + "".join(_ods_table(name, rows, lead_columns) for name, rows in sheets)
               + "</office:spreadsheet></office:body></office:document-content>")
    return zip_bytes({"mimetype": ODS_MIMETYPE, "content.xml": content, "META-INF/manifest.xml": ODS_MANIFEST},
                     stamp, stored_first="mimetype")


# --- .xls: a minimal BIFF8 workbook in a compound file (MS-XLS, MS-CFB) -----------------------------------

MAX_RECORD = 8224  # bytes of a record's payload; the shared-string table goes on in CONTINUE records
XF_GENERAL, XF_DATE = 16, 17
RK_MIN, RK_MAX = -(1 << 29), (1 << 29) - 1  # a 30-bit signed integer fits an RK record


def _record(kind: int, payload: bytes) -> bytes:
    return struct.pack("<HH", kind, len(payload)) + payload


def _unicode(text: str, length_bytes: int = 2) -> bytes:
    """XLUnicodeString (2-byte length) or ShortXLUnicodeString (1-byte): UTF-16LE characters."""
    return struct.pack("<H" if length_bytes == 2 else "<B", len(text)) + b"\x01" + text.encode("utf-16-le")


def _xf(format_id: int) -> bytes:
    return _record(0x00E0, struct.pack("<HHHBBBBIIH", 0, format_id, 0x0001, 0x20, 0, 0, 0, 0, 0, 0x20C0))


def _sst(total: int, unique: list[str]) -> bytes:
    """SST, going on in CONTINUE records when it outgrows one record. A string that does not fit goes on
    in the next record after a new option byte, as Excel splits them (MS-XLS 2.5.293, 2.4.58)."""
    records, payload, kind = [], struct.pack("<II", total, len(unique)), 0x00FC

    def close() -> None:
        nonlocal payload, kind
        records.append(_record(kind, payload))
        payload, kind = b"", 0x003C

    for text in unique:
        if len(payload) + 3 + 2 > MAX_RECORD:  # not even the length, the option byte and one character fit
            close()
        payload += struct.pack("<H", len(text)) + b"\x01"
        rest = text.encode("utf-16-le")
        while len(payload) + len(rest) > MAX_RECORD:
            room = (MAX_RECORD - len(payload)) // 2 * 2
            payload += rest[:room]
            rest = rest[room:]
            close()
            payload = b"\x01"  # the characters go on, still two bytes each
        payload += rest
    records.append(_record(kind, payload))
    return b"".join(records)


def serial(value: dt.date | dt.datetime) -> float:
    """An Excel serial date (1900 system)."""
    moment = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
    return (moment - EXCEL_EPOCH).total_seconds() / 86400


def _cell_record(row: int, col: int, value, sst_index: dict[str, int]) -> bytes:
    value = _plain(value)
    if isinstance(value, str):
        return _record(0x00FD, struct.pack("<HHHI", row, col, XF_GENERAL, sst_index[value]))
    if isinstance(value, bool):  # BOOLERR: a boolean, not an error
        return _record(0x0205, struct.pack("<HHHBB", row, col, XF_GENERAL, int(value), 0))
    if isinstance(value, int) and RK_MIN <= value <= RK_MAX:  # Excel writes whole numbers as RK
        return _record(0x027E, struct.pack("<HHHI", row, col, XF_GENERAL, ((value << 2) | 0x02) & 0xFFFFFFFF))
    if isinstance(value, dt.date):
        return _record(0x0203, struct.pack("<HHHd", row, col, XF_DATE, serial(value)))
    return _record(0x0203, struct.pack("<HHHd", row, col, XF_GENERAL, float(value)))


def _sheet_stream(rows: list, sst_index: dict[str, int]) -> bytes:
    used = [(r, c) for r, cells in enumerate(rows) for c, v in enumerate(cells) if v is not None and v != ""]
    n_rows = max((r for r, _ in used), default=-1) + 1
    n_cols = max((c for _, c in used), default=-1) + 1
    if n_rows > XLS_MAX_ROWS or n_cols > XLS_MAX_COLUMNS:
        raise ValueError(f"a .xls sheet holds at most {XLS_MAX_ROWS} rows and {XLS_MAX_COLUMNS} columns")
    out = [_record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0x0DBB, 0x07CC, 0, 0x06)),
           _record(0x0200, struct.pack("<IIHHH", 0, n_rows, 0, n_cols, 0))]
    out += [_cell_record(r, c, rows[r][c], sst_index) for r, c in used]
    out.append(_record(0x000A, b""))
    return b"".join(out)


def biff8_stream(sheets: list) -> bytes:
    """A workbook stream: globals (code page, date format, cell formats, shared strings), then the sheets."""
    strings = [v for _, rows in sheets for cells in rows for v in cells if isinstance(v, str) and v != ""]
    unique = list(dict.fromkeys(strings))
    sst_index = {text: i for i, text in enumerate(unique)}
    bof = struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0x06)
    globals_head = (_record(0x0809, bof) + _record(0x0042, struct.pack("<H", 1200))  # code page: UTF-16
                    + _record(0x0022, struct.pack("<H", 0))  # 1900 date system
                    + _record(0x041E, struct.pack("<H", 164) + _unicode("DD.MM.YYYY"))
                    + b"".join(_xf(0) for _ in range(16)) + _xf(0) + _xf(164))  # XF 16 general, 17 a date
    globals_tail = _sst(len(strings), unique) + _record(0x000A, b"")
    boundsheet_size = sum(4 + 6 + len(_unicode(name, 1)) for name, _ in sheets)
    offset = len(globals_head) + boundsheet_size + len(globals_tail)
    boundsheets, streams = [], []
    for name, rows in sheets:
        boundsheets.append(_record(0x0085, struct.pack("<IBB", offset, 0, 0) + _unicode(name, 1)))
        streams.append(_sheet_stream(rows, sst_index))
        offset += len(streams[-1])
    return globals_head + b"".join(boundsheets) + globals_tail + b"".join(streams)


def compound_file(stream: bytes) -> bytes:
    """An OLE2 compound file holding one stream «Workbook» (padded past the 4096-byte mini-stream limit).

    Layout: the DIFAT sectors (only past 109 FAT sectors, a stream of about 7 MB), the FAT sectors, the
    stream's sectors, one directory sector."""
    sector = 512
    per_fat, per_difat = sector // 4, sector // 4 - 1
    stream = stream + b"\x00" * (max(4096, -(-len(stream) // sector) * sector) - len(stream))
    data_sectors = len(stream) // sector
    fat_sectors, difat_sectors = 1, 0
    while fat_sectors * per_fat < difat_sectors + fat_sectors + data_sectors + 1:
        fat_sectors += 1
        difat_sectors = max(0, -(-(fat_sectors - 109) // per_difat))
    free, end, fat_mark, difat_mark = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFC
    fat_at = [difat_sectors + i for i in range(fat_sectors)]
    first_data = difat_sectors + fat_sectors
    dir_sector = first_data + data_sectors
    fat = ([difat_mark] * difat_sectors + [fat_mark] * fat_sectors
           + [first_data + i + 1 for i in range(data_sectors - 1)] + [end, end])
    fat += [free] * (fat_sectors * per_fat - len(fat))
    difat = b""
    for k in range(difat_sectors):
        listed = fat_at[109 + k * per_difat: 109 + (k + 1) * per_difat]
        listed += [free] * (per_difat - len(listed))
        difat += struct.pack(f"<{per_fat}I", *listed, k + 1 if k + 1 < difat_sectors else end)
    header_difat = fat_at[:109] + [free] * (109 - min(109, fat_sectors))
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16
              + struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6) + b"\x00" * 6
              + struct.pack("<IIIIIIII", 0, fat_sectors, dir_sector, 0, 4096, end, 0, 0 if difat_sectors else end)
              + struct.pack("<I", difat_sectors) + struct.pack("<109I", *header_difat))
    assert len(header) == sector

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        encoded = (name + "\x00").encode("utf-16-le") if name else b""
        return (encoded.ljust(64, b"\x00") + struct.pack("<HBB", len(encoded), kind, 1)
                + struct.pack("<III", free, free, child) + b"\x00" * 16 + b"\x00" * 4 + b"\x00" * 16
                + struct.pack("<III", start, size, 0))

    directory = (entry("Root Entry", 5, 1, end, 0) + entry("Workbook", 2, free, first_data, len(stream))
                 + entry("", 0, free, 0, 0) * 2)
    return header + difat + struct.pack(f"<{len(fat)}I", *fat) + stream + directory


def xls_bytes(sheets: list) -> bytes:
    """An Excel 97–2003 workbook of ``sheets`` [(name, rows)]."""
    return compound_file(biff8_stream(sheets))
