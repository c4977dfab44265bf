"""Peak memory and speed of reading a workbook, against its number of rows.

    python bench/bench_memory.py                      # 10,000 and 200,000 rows, both readers
    python bench/bench_memory.py --rows 10000 50000   # other sizes
    python bench/bench_memory.py --keep /tmp/wb       # keep (and reuse) the generated workbooks

Writes ФИС ОКО-like «Индивидуальные результаты» workbooks (26 columns: school, municipality, school
name, participant code, class, variant, sex, a name column, 15 task scores, primary score, mark, journal
mark; school lines between schools) with openpyxl's write-only mode, then reads each in a fresh
subprocess through ``open_sheets`` and reports the subprocess's peak RSS (``ru_maxrss``) and rows per
CPU second (CPU, not wall time: the machine may be shared). Readers: ``streaming`` (the default for
.xlsx) and ``calamine`` (the whole sheet at once).
Each workbook is read twice: as openpyxl writes it (inline strings) and as Excel saves it (a shared-string
table, which for 200,000 distinct names is the part of the reader's memory that grows with the file).
The target (issue 7): the 200,000-row peak stays within the 10,000-row peak + 60 MB, and streaming is
within about 2x of calamine's speed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TASKS = 15
HEADER = (["ОО", "Муниципалитет", "Название ОО", "Код участника", "Класс", "Вариант", "Пол", "ФИО"]
          + [f"{i} ({1 + i % 2}б)" for i in range(1, TASKS + 1)] + ["Первичный балл", "Отметка", "Отметка по журналу"])
PUPILS_PER_SCHOOL = 50


def write_workbook(path: Path, rows: int, seed: int = 7) -> Path:
    from openpyxl import Workbook

    rnd = random.Random(seed)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("РУ 4 Индивидуальные результаты")
    for line in (["Индивидуальные результаты участников"], [], ["ВПР 2026 Русский язык 4 класс"],
                 ["Предмет:", "Русский язык"], ["Дата:", "16.04.2026"], [],
                 ["Уровень сложности задания"] + [None] * 7 + ["Б"] * TASKS, HEADER):
        sheet.append(line)
    for i in range(rows):
        school = i // PUPILS_PER_SCHOOL
        login = f"edu24{school:04d}"
        if i % PUPILS_PER_SCHOOL == 0:
            sheet.append([f"МБОУ СШ № {school}({login}) | Кол-во участников: {PUPILS_PER_SCHOOL}"])
        tasks = [rnd.randint(0, 1 + i % 2) if rnd.random() > 0.05 else None for i in range(1, TASKS + 1)]  # ≤ «i (Nб)»
        score = sum(t or 0 for t in tasks)
        sheet.append([login, f"Район {school % 40}(reg24_m{school % 40:03d})", f"МБОУ СШ № {school}", 40000 + i,
                      1 + i % 3, 1 + i % 2, "М" if i % 2 else "Ж", f"Участник {i}", *tasks, score,
                      2 + min(3, score // 6), 2 + (i % 4)])
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def to_shared_strings(source: Path, target: Path) -> Path:
    """The same workbook with its text in a shared-string table, as Excel saves it (openpyxl's write-only
    mode writes inline strings): the table of 200,000 distinct names is the part that grows with the file."""
    import re
    import zipfile

    inline = re.compile(r'<c r="([A-Z]+\d+)"([^>]*?) t="inlineStr"><is><t>([^<]*)</t></is></c>')
    strings: dict[str, int] = {}

    def shared(match: re.Match) -> str:
        index = strings.setdefault(match.group(3), len(strings))
        return f'<c r="{match.group(1)}"{match.group(2)} t="s"><v>{index}</v></c>'

    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for name in src.namelist():
            data = src.read(name).decode()
            if name == "xl/worksheets/sheet1.xml":
                data = inline.sub(shared, data)
            elif name == "xl/_rels/workbook.xml.rels":
                data = data.replace("</Relationships>", '<Relationship Id="rIdSst" Type="http://schemas.openxmlformats'
                                    '.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
                                    "</Relationships>")
            elif name == "[Content_Types].xml":
                data = data.replace("</Types>", '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                    'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
            out.writestr(name, data)
        table = "".join(f"<si><t>{text}</t></si>" for text in strings)
        out.writestr("xl/sharedStrings.xml", '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.'
                     f'openxmlformats.org/spreadsheetml/2006/main" uniqueCount="{len(strings)}">{table}</sst>')
    return target


def read(path: Path, reader: str) -> dict:
    """Read every row (in this process) and report rows, seconds and the peak RSS."""
    from ingestion.core.sources import open_sheets

    started, cpu = time.perf_counter(), time.process_time()
    rows = cells = 0
    for sheet in open_sheets(path, streaming=reader == "streaming"):
        for _, values in sheet.rows:
            rows += 1
            cells += len(values)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"rows": rows, "cells": cells, "seconds": seconds, "cpu": cpu,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "hwm_mb": high_water_mb()}


def high_water_mb() -> float | None:
    """Linux's VmHWM: the peak RSS of this program alone (ru_maxrss may keep a larger parent's peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def measure(path: Path, reader: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--read", str(path), "--reader", reader],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def baseline() -> float:
    """Peak RSS of a subprocess that imports the readers and reads nothing."""
    code = (f"import resource, sys; sys.path.insert(0, {str(ROOT)!r}); import ingestion.core.sources; "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    return float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 200_000])
    parser.add_argument("--readers", nargs="+", default=["streaming", "calamine"])
    parser.add_argument("--keep", type=Path, help="folder for the workbooks (reused when present)")
    parser.add_argument("--read", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--reader", default="streaming", help=argparse.SUPPRESS)
    parser.add_argument("--write", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read:
        print(json.dumps(read(args.read, args.reader)))
        return 0
    if args.write:
        rows, inline, shared = args.write
        to_shared_strings(write_workbook(Path(inline), int(rows)), Path(shared))
        return 0

    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench_memory_"))
    results = {}
    print(f"Interpreter and readers imported, nothing read: {baseline():.0f} MB peak RSS\n")
    print("| rows | strings | file, MB | reader | peak RSS (ru_maxrss), MB | VmHWM, MB | wall s | CPU s | "
          "rows per CPU s |")
    print("|---:|---|---:|---|---:|---:|---:|---:|---:|")
    for rows in args.rows:
        path = folder / f"individual_{rows}.xlsx"
        shared = folder / f"individual_{rows}_shared.xlsx"
        if not shared.exists():  # written by a subprocess, so that this one stays small for the ones it starts
            subprocess.run([sys.executable, __file__, "--write", str(rows), str(path), str(shared)], check=True)
        for (strings, book), reader in itertools.product((("inline", path), ("shared", shared)), args.readers):
            result = measure(book, reader)
            results[(rows, strings, reader)] = result
            print(f"| {rows:,} | {strings} | {book.stat().st_size / 2**20:.1f} | {reader} | {result['peak_mb']:.0f} | "
                  f"{result['hwm_mb'] or 0:.0f} | {result['seconds']:.2f} | {result['cpu']:.2f} | "
                  f"{result['rows'] / result['cpu']:,.0f} |", flush=True)
    small, large = min(args.rows), max(args.rows)
    if "streaming" in args.readers and small != large:
        for strings in ("inline", "shared"):
            growth = (results[(large, strings, "streaming")]["peak_mb"]
                      - results[(small, strings, "streaming")]["peak_mb"])
            print(f"\n{strings} strings: streaming peak growth from {small:,} to {large:,} rows: {growth:+.0f} MB "
                  "(target: at most +60 MB)")
            if "calamine" in args.readers:
                ratio = results[(large, strings, "streaming")]["cpu"] / results[(large, strings, "calamine")]["cpu"]
                print(f"{strings} strings: streaming CPU time / calamine CPU time at {large:,} rows: {ratio:.2f} "
                      "(target: about 2 or less)")
    if not args.keep:
        for path in folder.glob("*.xlsx"):
            path.unlink()
        folder.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
