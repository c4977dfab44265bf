"""Tests of the demo-region generator (ingestion/demo). Only the last one needs the database."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from openpyxl import load_workbook
from psycopg import sql

from ingestion.core.ledger import file_checksum
from ingestion.core.readers import detect_delimiter, detect_encoding, open_sheets
from ingestion.demo import generate_region
from ingestion.feeds import LOADERS

# The landing folders of docs/feed_layouts.md, written out here on purpose (not imported).
CONTRACT_FEEDS = (
    "registry", "vpr_individual", "vpr_marks", "vpr_scores", "vpr_journal", "vpr_tasks", "vpr_flat_marks",
    "vpr_flat_scores", "objectivity_markers", "gia", "shnor_list", "project500", "risk_profiles", "kdr",
    "social_passport", "performance", "olympiads", "teachers", "vacancies", "support_events",
    "improvement_programmes", "individual_routes",
)
METHODS = ("cut_bunching", "journal_gap", "easy_hard_inversion", "jump_then_fall", "copied_answers")
DEFECT_KINDS = ("unknown_school", "invalid_mark", "invalid_task_string", "negative_count")
N = 20


@pytest.fixture(scope="module")
def region_a(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("a")
    generate_region(out, schools=N, seed=42)
    return out


@pytest.fixture(scope="module")
def region_b(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("b")
    generate_region(out, schools=N, seed=42, workers=1)  # sequential writer must give the same bytes
    return out


@pytest.fixture(scope="module")
def region_c(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("c")
    generate_region(out, schools=N, seed=7)
    return out


@pytest.fixture(scope="module")
def truth(region_a) -> dict:
    return json.loads((region_a / "_truth" / "truth.json").read_text(encoding="utf-8"))


def files_of(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def sheet_rows(path: Path, sheet: int = 0) -> list[tuple]:
    wb = load_workbook(path, read_only=True)
    rows = list(wb.worksheets[sheet].iter_rows(values_only=True))
    wb.close()
    return rows


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    text = raw.decode(detect_encoding(raw[:65536]))
    return list(csv.reader(io.StringIO(text), delimiter=detect_delimiter(text[:65536])))


def rows_of(path: Path) -> list[list]:
    """The first table of any demo file as rows (a blank row as []), numbered as a spreadsheet shows them."""
    if path.suffix in (".csv", ".txt"):
        return read_csv(path)
    if path.suffix == ".xlsx":
        return [list(r) for r in sheet_rows(path)]
    rows: list[list] = []
    for number, cells in next(open_sheets(path)).rows:  # .xls, .ods
        rows += [[] for _ in range(number - 1 - len(rows))] + [list(cells)]
    return rows


def header_index(rows, first: str) -> int:
    return next(i for i, r in enumerate(rows) if r and r[0] == first)


def code_map(root: Path) -> dict[str, str]:
    """Every school code (registry, login, РЦОИ, old login) -> registry code, from the registry feed."""
    path = next((root / "registry").glob("*.xlsx"))
    reg = sheet_rows(path, 0)
    h = header_index(reg, "Код ОО (регистр)")
    out = {}
    for r in reg[h + 1:]:
        if r and r[0]:
            out[r[0]] = out[r[1]] = out[str(r[2])] = r[0]
    reorg = sheet_rows(path, 1)
    for r in reorg[1:]:
        out[r[6]] = r[2]
    return out


# --- determinism -------------------------------------------------------------------------------

def test_same_seed_gives_identical_files(region_a, region_b):
    fa, fb = files_of(region_a), files_of(region_b)
    assert fa == fb
    for rel in fa:
        a, b = (region_a / rel).read_bytes(), (region_b / rel).read_bytes()
        assert a == b, rel  # CSV, JSON and (fixed timestamps) xlsx are byte-identical
    for rel in [f for f in fa if f.endswith(".xlsx")][::97]:
        assert sheet_rows(region_a / rel) == sheet_rows(region_b / rel)


def test_different_seed_differs(region_a, region_c):
    ta = (region_a / "_truth" / "truth.json").read_text(encoding="utf-8")
    tc = (region_c / "_truth" / "truth.json").read_text(encoding="utf-8")
    assert ta != tc
    csvs = [f for f in files_of(region_a) if f.endswith(".csv") and (region_c / f).exists()]
    assert csvs
    assert any((region_a / f).read_bytes() != (region_c / f).read_bytes() for f in csvs)


# --- coverage of the contract ----------------------------------------------------------------

def test_every_contract_feed_has_files(region_a):
    for feed in CONTRACT_FEEDS:
        assert any((region_a / feed).glob("*.*")), f"no file in {feed}/"


def test_truth_lists_every_planted_category(truth):
    schools = truth["schools"]
    assert len(schools) == N
    for flag in ("low_results_persistent", "adverse_context", "resilient", "improving_after_support"):
        assert any(s[flag] for s in schools.values()), flag
    for s in schools.values():
        if s["improving_after_support"]:
            assert s["support_start_year"] in (2024, 2025)
        assert set(s["latent_ability"]) <= {"2023", "2024", "2025", "2026"}
    methods = {e["method"] for s in schools.values() for e in s["inflation"]}
    assert methods == set(METHODS)
    assert {d["kind"] for d in truth["planted_defects"]} == set(DEFECT_KINDS)
    assert {r["kind"] for r in truth["reorganisations"]} >= {"переименование", "присоединение", "смена кода"}
    merged = [r["before"] for r in truth["reorganisations"] if r["kind"] == "присоединение"]
    assert all(schools[c]["status"] == "реорганизована" for c in merged)
    assert set(schools[merged[0]]["latent_ability"]) == {"2023", "2024"}


def test_planted_defects_are_really_in_the_files(region_a, truth):
    codes = code_map(region_a)
    for d in truth["planted_defects"]:
        path = region_a / d["feed"] / d["file"]
        rows = rows_of(path)
        header = rows[header_index_any(rows, below=d["row"] - 1)]  # a protocol has a header per block
        row = rows[d["row"] - 1]  # the number a spreadsheet shows
        hdr = [str(h) if h is not None else "" for h in header]
        if d["kind"] == "invalid_mark":
            assert int(row[hdr.index("Отметка")]) == 7
        elif d["kind"] == "unknown_school":
            code_cols = [i for i, h in enumerate(hdr) if h in ("ОО", "Код ОО", "Логин ОО", "Код ОУ")]
            assert any(str(row[i]) not in codes for i in code_cols)
        elif d["kind"] == "invalid_task_string":
            # flat extract; protocol; protocol with «Задания» merged over «с кратким ответом» below
            s = row[next(i for i, h in enumerate(hdr)
                         if h in ("Задания с кратким ответом", "Ответы в краткой форме", "Задания"))]
            assert re.search(r"[^+\-0-9]", s)
        else:
            assert any(_num(v) is not None and _num(v) < 0 for v in row)


def header_index_any(rows, below: int | None = None) -> int:
    """The header row (the last one above row index ``below``, if given: РЦОИ protocols repeat it per block)."""
    keys = {"ОО", "Год", "Экзамен", "Учебный год", "Дата", "№"}
    found = [i for i, r in enumerate(rows) if r and len(r) > 2 and r[0] in keys and (below is None or i < below)]
    return found[-1] if below is not None else found[0]


def _num(v):
    try:
        return float(str(v).replace(",", "."))
    except ValueError:
        return None


# --- realism of the planted effects --------------------------------------------------------------

@pytest.fixture(scope="module")
def vpr_marks_by_school(region_a) -> dict[str, list[int]]:
    codes = code_map(region_a)
    out: dict[str, list[int]] = {}
    for path in sorted((region_a / "vpr_individual").glob("*.xlsx")):
        rows = sheet_rows(path)
        h = header_index(rows, "ОО")
        im = rows[h].index("Отметка")
        for r in rows[h + 1:]:
            if r and r[0] in codes and r[im] in (2, 3, 4, 5):
                out.setdefault(codes[r[0]], []).append(r[im])
    return out


def test_persistently_low_schools_are_realistically_low(truth, vpr_marks_by_school):
    low = [c for c, s in truth["schools"].items() if s["low_results_persistent"] and c in vpr_marks_by_school]
    assert low, "no persistently low school has individual ВПР files"
    region_mean = np.mean([m for v in vpr_marks_by_school.values() for m in v])
    low_mean = np.mean([m for c in low for m in vpr_marks_by_school[c]])
    assert 0.2 <= region_mean - low_mean <= 1.0, (region_mean, low_mean)
    assert 3.2 <= region_mean <= 4.0


def test_region_mark_distribution_is_plausible(vpr_marks_by_school):
    allm = np.array([m for v in vpr_marks_by_school.values() for m in v])
    shares = [(allm == k).mean() for k in (2, 3, 4, 5)]
    assert 0.04 <= shares[0] <= 0.25 and 0.2 <= shares[1] <= 0.5 and shares[3] <= 0.35, shares


def test_context_correlates_with_latent_ability(region_a, truth):
    # Social passport shares (higher = more adverse) against the generator's latent ability.
    path = sorted((region_a / "social_passport").glob("*"))[1]
    rows = rows_of(path)
    year = int(re.search(r"-(\d{4})", path.name).group(1))
    codes = code_map(region_a)
    xs, ys = [], []
    for r in rows[1:]:
        c = codes[str(r[1])]
        xs.append(np.mean([_num(v) for v in r[4:]]))
        ys.append(truth["schools"][c]["latent_ability"][str(year)])
    r = np.corrcoef(xs, ys)[0, 1]
    assert -0.9 < r < -0.1, r


def test_reports_agree_with_individual_files(region_a):
    """A per-school individual workbook and the «Статистика по отметкам» report count the same pupils."""
    path = next(p for p in sorted((region_a / "vpr_individual").glob("*_edu*.xlsx")))
    rows = sheet_rows(path)
    h = header_index(rows, "ОО")
    data = [r for r in rows[h + 1:] if len(r) > 3 and r[3]]
    login = path.stem.rsplit("_", 1)[1]
    year, subject, grade = re.match(r"ВПР_(\d{4})_(.+)_(\d)кл_", path.name).groups()
    report = region_a / "vpr_marks" / f"ВПР_{year}_{subject}_{grade}кл_Статистика_по_отметкам.xlsx"
    rrows = sheet_rows(report)
    hh = header_index(rrows, "Группы участников")
    row = next(r for r in rrows[hh + 1:] if r[0] and str(r[0]).startswith(login + " "))
    assert row[2] == len(data)
    shares = [_num(v) for v in row[3:7]]
    assert abs(sum(shares) - 100) < 0.1
    labels = [r[0] for r in rrows[hh + 1:]]
    assert labels[0] == "Вся выборка" and labels[1] == "Красноярский край"
    assert {"г. Норильск", "Эвенкийский муниципальный район"} <= set(labels)


def test_gia_rows_are_consistent(region_a):
    path = sorted((region_a / "gia").glob("ЕГЭ_*_1.csv"))[0]
    rows = read_csv(path)
    hdr = rows[0]
    i_s, i_e, i_p = (hdr.index(h) for h in ("Задания с кратким ответом", "Задания с развернутым ответом",
                                              "Первичный балл"))
    i_b, i_ok = hdr.index("Балл"), hdr.index("Преодолен минимальный порог")
    checked = 0
    for r in rows[1:]:
        if re.search(r"[^+\-0-9]", r[i_s]):
            continue  # a planted defect
        short = sum(1 if ch == "+" else 0 if ch == "-" else int(ch) for ch in r[i_s])
        ext = sum(int(a) for a, _ in re.findall(r"(\d+)\((\d+)\)", r[i_e]))
        assert short + ext == int(r[i_p])
        assert (r[i_ok] == "да") == (int(r[i_b]) >= 24)
        checked += 1
    assert checked > 20


def test_gia_protocols_have_blocks_averages_and_two_row_headers(region_a):
    """Among the ГИА files, РЦОИ protocols: a block per exam day under «NN - subject yyyy.mm.dd», a «Средние»
    row under each block, and in some of them the column header in two rows."""
    protocols = sorted((region_a / "gia").glob("Протокол_*.xlsx"))
    assert protocols and sorted((region_a / "gia").glob("[ОЕ]ГЭ_*.*"))  # flat extracts too
    blocks, two_rows = [], 0
    for path in protocols:
        rows = sheet_rows(path)
        heads = [i for i, r in enumerate(rows)
                 if r and r[0] and re.fullmatch(r"\d{2} - .+ \d{4}\.\d{2}\.\d{2}", str(r[0]))]
        assert len(heads) == sum(1 for r in rows if r and r[0] == "Средние") >= 1, path.name
        blocks.append(len(heads))
        two_rows += rows[heads[0] + 1][7] == "Задания"
    assert max(blocks) >= 2  # several exams in one sheet
    assert 0 < two_rows < len(protocols)


def test_pupils_link_across_years(region_a):
    def codes_in(pattern: str, col: str) -> set[str]:
        out = set()
        for p in (region_a / pattern.split("/")[0]).glob(pattern.split("/")[1]):
            rows = sheet_rows(p)
            h = next(i for i, r in enumerate(rows) if r and col in r)
            k = rows[h].index(col)
            out |= {r[k] for r in rows[h + 1:] if r and len(r) > k and r[k]}
        return out

    kdr4 = codes_in("kdr/КДР4_ЧГ_2024_*.xlsx", "Код ученика")
    vpr5 = codes_in("vpr_individual/ВПР_2025_Математика_5кл_*.xlsx", "Код участника")
    assert len(kdr4 & vpr5) >= 10


# --- variations real files have ---------------------------------------------------------------------

def test_variations_present(region_a):
    ind = sorted((region_a / "vpr_individual").glob("*.xlsx"))
    headers, tokens = set(), set()
    for p in ind[:60]:
        rows = sheet_rows(p)
        h = header_index(rows, "ОО")
        headers |= set(rows[h])
        tokens |= {r[-1] for r in rows[h + 1:] if r and isinstance(r[-1], str)}
    assert "ФИО" in headers and "Пол" in headers
    assert {"X", "Х", "-", "—", "нет отметки"} <= tokens  # Latin X, Cyrillic Х, …

    munis_with_files = {p.stem.rsplit("_", 1)[1] for p in ind}
    assert "г. Назарово" in munis_with_files  # per municipality
    assert any(m.startswith("edu") for m in munis_with_files)  # per school
    assert not any("Норильск" in p.name or "Ачинский" in p.name for p in ind)
    for feed in ("vpr_marks", "vpr_journal"):
        assert any("Норильск" in str(r[0]) for r in sheet_rows(next((region_a / feed).glob("*.xlsx"))) if r)

    csvs = sorted(region_a.rglob("*.csv"))
    cp1251_only, bom = 0, 0
    for p in csvs:
        raw = p.read_bytes()
        if raw.startswith(b"\xef\xbb\xbf"):
            bom += 1
            continue
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            cp1251_only += 1
    assert cp1251_only and bom

    gia_headers = set()
    for p in (region_a / "gia").glob("*.csv"):
        gia_headers |= set(read_csv(p)[0])
    assert {"Фамилия", "Имя", "Отчество"} <= gia_headers

    levels = set()
    for p in (region_a / "kdr").glob("КДР4_ЧГ_2024_*.xlsx"):
        rows = sheet_rows(p)
        h = next(i for i, r in enumerate(rows) if r and "Уровень" in r)
        levels |= {r[rows[h].index("Уровень")] for r in rows[h + 1:] if r}
    assert {"недостаточный", "ниже базового"} & levels and len(levels) >= 4

    perf_headers = set()
    for p in (region_a / "performance").iterdir():
        rows = rows_of(p)
        perf_headers |= set(rows[header_index_any(rows)])
    assert {"Код ОО", "Логин ОО", "Обучающихся", "Количество обучающихся"} <= perf_headers

    ind_titles = [sheet_rows(p)[0][0] for p in ind[:3]]
    assert all(re.match(r"ВПР\s+(\d{4})\s+(.+?)\s+(\d+)\s*класс", t) for t in ind_titles)


def test_task_headers_follow_the_contract_pattern(region_a):
    p = sorted((region_a / "vpr_individual").glob("ВПР_*_Русский язык_5кл_*.xlsx"))[0]
    rows = sheet_rows(p)
    hdr = rows[header_index(rows, "ОО")]
    tasks = [h for h in hdr if h and re.match(r"^(\d+(?:[.,]\d+)?(?:[КK]\d+)?)\s*\((\d+)\s*б\)$", h)]
    assert len(tasks) >= 10 and any("К" in t for t in tasks)
    assert hdr[-3:] == ("Первичный балл", "Отметка", "Отметка по журналу")


def test_fast_sheet_writer_matches_plain_openpyxl(monkeypatch):
    from ingestion.demo import writers

    rows = [["ВПР 2024 Математика 5 класс"], [], [None, None, "Б", "В"],
            ["ОО", "Код участника", "1 (1б)", "2 (2б)"], ["edu240117", "24-000017-0001", 1, 2],
            [], ["edu240117 МБОУ СШ № 2 ", "a&b<c>", "12,5", "Х"]]
    fast = writers.xlsx_bytes([("Индивидуальные результаты", rows)])
    monkeypatch.setattr(writers, "FAST_SHEET_XML", False)
    plain = writers.xlsx_bytes([("Индивидуальные результаты", rows)])
    assert [list(r) for r in load_workbook(io.BytesIO(fast)).active.iter_rows(values_only=True)] == \
        [list(r) for r in load_workbook(io.BytesIO(plain)).active.iter_rows(values_only=True)]


def test_planted_low_schools_fill_the_entry_share_of_each_comparison_group(truth):
    """The planted low schools are as many per comparison group as the rule's worst 10 % admits, and every
    ordinary school stays above the planted band, so a perfect measurement would flag exactly them."""
    schools = truth["schools"]
    for group in ("НОШ", "ООШ", "СОШ"):
        members = [s for s in schools.values() if s["comparison_group"] == group and s["status"] != "реорганизована"]
        planted = [s for s in members if s["low_results_persistent"]]
        assert len(planted) <= int(np.ceil(0.10 * len(members))), group
    low = [v for s in schools.values() if s["low_results_persistent"] for v in s["latent_ability"].values()]
    ordinary = [v for s in schools.values()
                if not (s["low_results_persistent"] or s["improving_after_support"])
                for v in s["latent_ability"].values()]
    assert max(low) < min(ordinary)


def test_low_by_ability_lets_a_school_leave_after_two_years_outside_the_exit_share():
    from ingestion.demo.truth import _mark_low_by_ability

    # Ten schools of one group: S is the worst in 2023 and 2024, then 6th of 10 (outside the worst 20 %).
    schools = {f"O{i}": {"comparison_group": "СОШ", "latent_ability": {y: float(i) for y in ("2023", "2024",
                                                                                            "2025", "2026")}}
               for i in range(9)}
    schools["S"] = {"comparison_group": "СОШ",
                    "latent_ability": {"2023": -5.0, "2024": -5.0, "2025": 4.5, "2026": 4.5}}
    _mark_low_by_ability(schools)
    assert schools["S"]["low_by_ability_years"] == [2024, 2025]
    assert schools["S"]["low_by_ability"] is False
    # the worst ordinary school (O0) is worst-but-one in 2023/24 (inside 20 %), the worst in 2025/26
    assert schools["O0"]["low_by_ability_years"] == [2026]


# --- file formats and encodings: the demo of the test session loads every one of them ----------------------

FORMAT_WORDS = ("Год", "год", "Дата")  # a header word of every demo table, to tell single-byte code pages apart


def file_format(path: Path) -> str:
    """A demo file's format told from its bytes alone (not by the project's readers)."""
    raw = path.read_bytes()
    if raw.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "xls"
    if raw.startswith(b"PK"):
        return "ods" if raw[30:38] == b"mimetype" and b"opendocument.spreadsheet" in raw[:100] else "xlsx"
    if raw.startswith(b"\xff\xfe"):
        text, encoding = raw[2:].decode("utf-16-le"), "utf-16"
    elif raw.startswith(b"\xef\xbb\xbf"):
        text, encoding = raw[3:].decode("utf-8"), "utf-8-sig"
    else:
        readable = []
        for candidate in ("utf-8", "cp1251", "cp866", "koi8_r"):
            try:
                decoded = raw.decode(candidate)
            except UnicodeDecodeError:
                continue
            if any(word in decoded for word in FORMAT_WORDS):
                readable.append((candidate, decoded))
        assert len(readable) == 1, (path.name, [c for c, _ in readable])
        encoding, text = readable[0]
    tabs = "\t" in text
    return f"{path.suffix.lstrip('.')}/{encoding}" + ("/tab" if tabs else "")


EXPECTED_FORMATS = {"xlsx", "xls", "ods", "csv/cp1251", "csv/utf-8-sig", "txt/utf-16/tab", "csv/cp866",
                    "csv/koi8_r"}


def test_every_format_and_encoding_occurs_and_loads(demo_landing, demo_db):
    """The session's demo region holds each file format and encoding real suppliers send, and every file of
    the formats other than .xlsx loads its rows: rows read = the rows the generator wrote, and each row
    read is loaded or quarantined. Files are matched by checksum: a byte-identical copy (an empty report of
    another year) is loaded once and skipped after."""
    conn, results = demo_db
    truth = json.loads((demo_landing / "_truth" / "truth.json").read_text(encoding="utf-8"))
    ledger: dict[str, list[tuple[int, int, int]]] = {}
    for sha, read, loaded, quarantined in conn.execute(
            "select f.sha256, l.rows_read, l.rows_loaded, l.rows_quarantined from raw.load_ledger l "
            "join raw.file_ledger f using (file_id) where l.status = 'loaded'"):
        ledger.setdefault(sha, []).append((read, loaded, quarantined))
    folder_of = {loader.feed: loader.folder or loader.feed for loader in LOADERS}
    status = {(folder_of.get(r.feed, r.feed), r.file): r.status for r in results}
    loaded_rows: dict[str, int] = {}
    for path in sorted(demo_landing.glob("*/*.*")):
        if path.parent.name == "_truth":
            continue
        fmt = file_format(path)
        loads = ledger.get(file_checksum(path)[0], [])
        if fmt != "xlsx":
            assert status[(path.parent.name, path.name)] in ("loaded", "skipped"), path.name
            read = sum(r for r, _, _ in loads)
            assert read == truth["files"][f"{path.parent.name}/{path.name}"], path.name
            assert sum(loaded + quarantined for _, loaded, quarantined in loads) == read, path.name
        loaded_rows[fmt] = loaded_rows.get(fmt, 0) + sum(loaded for _, loaded, _ in loads)
    assert set(loaded_rows) == EXPECTED_FORMATS
    assert all(loaded_rows[fmt] > 0 for fmt in EXPECTED_FORMATS), loaded_rows


# (header the generator wrote, column of the raw table) compared, per feed
VALUE_COLUMNS = {
    "support_events": (("Дата", "event_date"), ("Тема", "topic"), ("ОО-участники", "school_codes"),
                       ("Участников", "participants")),
    "individual_routes": (("Год", "year"), ("Обучающихся с ИОМ", "pupils")),
    "social_passport": (("Код ОО", "school_code"), ("Всего обучающихся", "enrolment"),
                        ("Доля с ОВЗ, %", "pct_disability"),
                        ("Доля из семей с безработными родителями, %", "pct_unemployed_parents")),
    "performance": (("Класс", "grade"), ("Период", "period"), ("Пропущено уроков всего", "lessons_missed")),
    "vpr_individual": (("Муниципалитет", "municipality"), ("Класс", "class_label"), ("Вариант", "variant"),
                       ("Первичный балл", "primary_score"), ("Отметка", "mark")),
}


def same_value(written, stored) -> bool:
    """A value the generator wrote and the one the warehouse holds: dates as dates, numbers as numbers
    (a decimal comma in text is a number), text as text."""
    if isinstance(written, str) and re.fullmatch(r"-?\d+(,\d+)?", written):
        written = float(written.replace(",", "."))
    if isinstance(written, int | float) and not isinstance(written, bool):
        return stored is not None and abs(float(stored) - written) < 1e-9
    return stored == written


def test_files_of_every_format_load_the_values_written(demo_landing, demo_db):
    """Cell by cell, the rows loaded from the files in formats other than .xlsx hold what the generator put in
    them: dates in .xls and .ods date cells, number cells, decimal commas in text, text in every encoding."""
    from ingestion.demo.generator import plan_region

    conn, _ = demo_db
    tables = {loader.feed: loader.table for loader in LOADERS}
    compared: dict[str, int] = {}
    for spec in plan_region(schools=20, seed=7).files:  # the session's region (tests/conftest.py)
        path = demo_landing / spec.feed / spec.name
        if spec.feed not in VALUE_COLUMNS or file_format(path) == "xlsx":
            continue
        columns = VALUE_COLUMNS[spec.feed]
        query = sql.SQL("select source_row, {} from raw.{} where load_id in (select l.load_id from raw.load_ledger l "
                        "join raw.file_ledger f using (file_id) where f.sha256 = %s and l.status = 'loaded')").format(
            sql.SQL(", ").join(sql.Identifier(name) for _, name in columns), sql.Identifier(tables[spec.feed]))
        rows = conn.execute(query, (file_checksum(path)[0],)).fetchall()
        header = next(r for r in spec.grid if all(label in r for label, _ in columns))
        for source_row, *stored in rows:
            written = spec.grid[source_row - 1]
            for (label, name), value in zip(columns, stored, strict=True):
                cell = written[header.index(label)]
                assert same_value(cell, value), (spec.name, source_row, name, cell, value)
        compared[file_format(path)] = compared.get(file_format(path), 0) + len(rows)
    assert set(compared) == EXPECTED_FORMATS - {"xlsx"}
    assert all(compared.values()), compared


@pytest.mark.parametrize("suffix", [".xls", ".ods"])
def test_xls_and_ods_writers_give_back_every_cell_through_the_readers(tmp_path, suffix):
    """Text (Cyrillic, longer than one BIFF8 record), whole and negative numbers, fractions, dates and blank
    rows come back from the project's readers where they were written, in each sheet."""
    from ingestion.demo.formats import ods_bytes, xls_bytes

    long_text = "; ".join(f"24R{i:05d}" for i in range(1500))  # 15k characters: the SST goes on in CONTINUE
    first = [["Учебный год", "Код ОО", "Дата", "Доля, %", "Всего"], [],
             ["2023-2024", "edu240117", dt.date(2024, 3, 7), 12.5, -3], ["Ёлкино", long_text, None, 0.0, 7]]
    first += [["2023-2024", f"24R{i:05d}", dt.date(2023, 9, 1) + dt.timedelta(days=i), i / 8, i] for i in range(2000)]
    sheets = [("Лист1", first), ("Второй лист", [[None], ["x", 1]])]
    path = tmp_path / f"book{suffix}"
    path.write_bytes(xls_bytes(sheets) if suffix == ".xls" else ods_bytes(sheets, (2026, 1, 15, 9, 0, 0)))
    for (name, rows), sheet in zip(sheets, open_sheets(path), strict=True):
        assert sheet.name == name
        expected = [(number, list(cells)) for number, cells in enumerate(rows, start=1) if any(cells)]
        got = [(number, list(cells)) for number, cells in sheet.rows]
        assert [n for n, _ in got] == [n for n, _ in expected]
        for (_, want), (_, have) in zip(expected, got, strict=True):
            while want and want[-1] is None:
                want.pop()
            assert len(have) == len(want) and all(
                h == w and (isinstance(w, str) == isinstance(h, str)) for w, h in zip(want, have, strict=True))


# --- profiles: current unchanged, realistic, cut-score change -------------------------------------------------

def current_profile_digest(root: Path) -> dict:
    """Digest of the text files of four feeds and of the truth fields the current profile had before profiles
    existed (keys added since — profile, cut_change, cells — left out)."""
    text_files = sorted(p for feed in ("vpr_flat_scores", "vpr_flat_marks", "gia", "performance")
                        for p in (root / feed).glob("*") if p.suffix in (".csv", ".txt"))
    files = hashlib.sha256()
    for p in text_files:
        files.update(p.name.encode())
        files.update(p.read_bytes())
    doc = json.loads((root / "_truth" / "truth.json").read_text(encoding="utf-8"))
    keep = ("low_results_persistent", "improving_after_support", "support_start_year", "latent_ability",
            "has_individual_vpr_files", "low_by_ability_years", "resilient_by_ability")
    schools = {c: {k: s[k] for k in keep} | {"inflation": [[e["year"], e["method"]] for e in s["inflation"]]}
               for c, s in doc["schools"].items()}
    truth = hashlib.sha256(json.dumps(schools, sort_keys=True, ensure_ascii=False).encode())
    return {"files": files.hexdigest()[:16], "n_files": len(text_files), "truth": truth.hexdigest()[:16]}


def test_current_profile_gives_the_files_it_gave_before_profiles(region_a, truth):
    # computed with the generator of commit c51c595 (before --profile) for 20 schools, seed 42
    assert current_profile_digest(region_a) == {"files": "8241356a70d13e8e", "n_files": 63,
                                                "truth": "19f67765d652d702"}
    assert truth["profile"] == "current" and truth["cut_change"] is None
    for s in truth["schools"].values():
        for e in s["inflation"]:
            assert e["cells"], e  # every planted school-year names the cells it changed
            if e["method"] == "copied_answers":
                assert [c["subject_code"] for c in e["cells"]] == ["math"]


def school_levels(region) -> tuple[np.ndarray, np.ndarray, list]:
    from ingestion.demo.region import comparison_group

    schools = [s for s in region.schools if s.merged_into is None]
    mean = np.array([np.mean([s.latent(y) for y in s.effect]) for s in schools])
    return mean, np.array([comparison_group(s) for s in schools]), schools


def test_realistic_low_schools_are_the_tail_of_one_continuous_distribution():
    from ingestion.demo.region import build_region

    gaps = {}
    for profile in ("current", "realistic"):
        mean, group, schools = school_levels(build_region(400, 42, profile))
        low = np.array([s.low for s in schools])
        ordinary = ~low & ~np.array([s.improving for s in schools]) & (group == "СОШ")
        # how far the lowest ordinary school sits above the highest persistently low one
        gaps[profile] = mean[ordinary].min() - mean[low & (group == "СОШ")].max()
        if profile == "realistic":
            ranked = np.sort(mean)
            tail = ranked[int(0.02 * len(ranked)): int(0.3 * len(ranked))]
            assert np.diff(tail).max() < 0.1  # no hole anywhere in the low tail
            q05, q50, q95 = np.quantile(mean, [0.05, 0.5, 0.95])
            assert q50 - q05 > 1.2 * (q95 - q50)  # the low tail is the heavier one
            per_grade = np.array([s.enrolment / len(s.grades) for s in schools])
            assert (low & (per_grade < 8)).sum() >= 5  # small schools among the low
    assert gaps["current"] > 0.2 and gaps["realistic"] < 0.05, gaps


def test_realistic_profile_is_deterministic_and_keeps_the_current_region_s_schools():
    from ingestion.demo.region import build_region

    a, b, cur = (build_region(60, 3, p) for p in ("realistic", "realistic", "current"))
    plans = [[(s.reg_code, p.year, p.method, p.cells, p.params) for s in r.schools for p in s.plants] for r in (a, b)]
    assert plans[0] == plans[1] and plans[0]
    assert [s.effect for s in a.schools] == [s.effect for s in b.schools]
    # the same schools, codes and reorganisations as the current profile; only abilities and roles differ
    assert [(s.reg_code, s.login, s.type, s.enrolment) for s in a.schools] == \
        [(s.reg_code, s.login, s.type, s.enrolment) for s in cur.schools]
    assert [s.effect for s in a.schools] != [s.effect for s in cur.schools]


@pytest.fixture(scope="module")
def realistic_400():
    """The realistic profile's default region, ВПР simulated with and without its plants (same pupils, same
    honest draws: the plants draw from streams of their own)."""
    from ingestion.demo.pupils import Pupils, simulate_vpr
    from ingestion.demo.realistic import DEFAULT_SCHOOLS, prune_without_effect
    from ingestion.demo.region import build_region
    from ingestion.demo.scales import VPR_GRADES, VPR_SUBJECTS, YEARS

    planted = build_region(DEFAULT_SCHOOLS, 42, "realistic")
    honest = build_region(DEFAULT_SCHOOLS, 42, "realistic")
    for s in honest.schools:
        s.plants = []
    pairs = []
    pp, ph = Pupils(planted, 42), Pupils(honest, 42)
    for year in YEARS:
        for subject in VPR_SUBJECTS:
            for grade in VPR_GRADES:
                pairs.append((simulate_vpr(pp, year, subject, grade), simulate_vpr(ph, year, subject, grade)))
    prune_without_effect(planted)
    return planted, pairs


def test_realistic_default_size_plants_twenty_school_years_of_each_kind(realistic_400):
    region, _ = realistic_400
    years: dict[str, int] = {}
    for s in region.schools:
        for _, method in s.inflation:
            years[method] = years.get(method, 0) + 1
    assert set(years) == set(METHODS) and min(years.values()) >= 20, years
    planted = [s for s in region.schools if s.inflation]
    assert len(planted) <= 0.3 * len(region.schools)
    assert any(s.low for s in planted)  # low schools manipulate too
    assert {s.has_vpr_files for s in planted} == {True, False}
    for s in planted:
        for y, m in s.inflation:
            cells = s.inflation_cells[(y, m)]
            assert len({(c["subject_code"], c["grade"]) for c in cells}) == len(cells)
            if m == "copied_answers":
                assert {c["subject_code"] for c in cells} == {"math"} and all(4 <= c["sharers"] <= 8 for c in cells)
            if m == "jump_then_fall":  # the fall: nothing planted in the next year
                assert y + 1 not in {yy for yy, _ in s.inflation}
    small = [c["n_participants"] for s in planted for (_, m), cells in s.inflation_cells.items() for c in cells
             if m != "copied_answers"]
    assert min(small) < 15  # small schools are among the planted: the power limit stays visible


def test_realistic_manipulation_sizes(realistic_400):
    """Each kind, measured against the same pupils without the plant, has the size of research §2's right
    column, not the current profile's."""
    region, pairs = realistic_400
    by_kind: dict[str, list] = {}
    for a, h in pairs:
        lvl = np.array([t.level for t in a.test.tasks])
        mx = np.array([t.max_points for t in a.test.tasks])
        for si in np.unique(a.school):
            s = region.schools[si]
            cell = {"rus": "Русский язык", "math": "Математика"}
            plants = [m for (y, m), cells in s.inflation_cells.items() if y == a.year
                      and any(cell[c["subject_code"]] == a.subject and c["grade"] == a.grade for c in cells)]
            if not plants:
                continue
            m = a.school == si
            if plants[0] in ("jump_then_fall", "cut_bunching", "journal_gap"):
                assert (a.points[m] >= h.points[m]).all()  # the pupil's own work, only marked or answered up
            ok = m & (a.journal > 0)
            if ok.sum() < 10:
                continue
            pct = [sit.points[m].sum(axis=0) / (mx * m.sum()) * 100 for sit in (a, h)]
            gap = pct[0] - pct[1]
            p = next(p for p in s.plants if p.year == a.year and p.method == plants[0])
            by_kind.setdefault(plants[0] + (f"/{p.params['direction']}" if "direction" in p.params else ""),
                               []).append(((a.mark[ok] > a.journal[ok]).mean(), (a.mark[ok] < a.journal[ok]).mean(),
                                           gap[lvl == "В"].mean() - gap[lvl == "Б"].mean(), gap[lvl == "Б"].mean(),
                                           (a.mark[m] != h.mark[m]).mean(), a.score[m].mean() - h.score[m].mean()))
    k = {kind: np.array(rows).mean(axis=0) for kind, rows in by_kind.items()}
    assert 0.3 <= k["journal_gap/lowered"][1] <= 0.45  # «Понизили» 30–45 % (region ≈ 17 %)
    assert 0.18 <= k["journal_gap/raised"][0] <= 0.32  # «Повысили» 20–30 % (region ≈ 7 %)
    assert 8 <= k["easy_hard_inversion"][2] <= 20 and -7 <= k["easy_hard_inversion"][3] <= -1
    assert k["cut_bunching"][4] < 0.1  # a few works per cell, not a third of the school
    assert 0.5 <= k["jump_then_fall"][5] <= 4  # primary points; current's +0.8 logit gives about twice that
    assert k["copied_answers"][4] < 0.2


@pytest.mark.parametrize("profile", ["current", "realistic"])
def test_cut_change_moves_marks_not_scores(profile):
    """The same region with and without a cut change from 2025: the works of schools that do not manipulate
    that year are the same; from 2025 their marks follow the raised cuts. (Manipulating schools differ: a
    school bunches at the cuts in force. In the current profile the register's noise shares one stream with
    the plants, so it is redrawn; the realistic profile keeps it.)"""
    from ingestion.demo.cut_change import vpr_test
    from ingestion.demo.pupils import Pupils, simulate_vpr
    from ingestion.demo.region import build_region

    base, cut = build_region(24, 5, profile), build_region(24, 5, profile, cut_change_year=2025)
    pb, pc = Pupils(base, 5), Pupils(cut, 5)
    for year in (2024, 2025, 2026):
        for subject, grade in (("Математика", 5), ("Русский язык", 8)):
            b, c = simulate_vpr(pb, year, subject, grade), simulate_vpr(pc, year, subject, grade)
            honest = ~np.isin(b.school, [s.idx for s in base.schools if s.inflation_methods(year)])
            assert honest.mean() > 0.5
            assert (b.score[honest] == c.score[honest]).all()
            if profile == "realistic":
                assert (b.journal[honest] == c.journal[honest]).all()
            if year < 2025:
                assert (b.mark == c.mark).all()
                continue
            shift = np.array(cut.cut_shift[(subject, grade)])
            assert ((shift >= 1) & (shift <= 2)).all()
            cuts = np.array(vpr_test(cut, subject, grade, year).cuts)
            assert (cuts == np.array(b.test.cuts) + shift).all()
            assert (c.mark == 2 + (c.score[:, None] >= cuts).sum(axis=1)).all()
            assert (c.mark[honest] <= b.mark[honest]).all() and (c.mark[honest] < b.mark[honest]).mean() > 0.05


@pytest.fixture(scope="module")
def realistic_cut(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("realistic_cut")
    generate_region(out, schools=24, seed=5, profile="realistic", cut_change_year=2025)
    return out


def test_realistic_region_with_a_cut_change_writes_its_truth_and_scale(realistic_cut):
    truth = json.loads((realistic_cut / "_truth" / "truth.json").read_text(encoding="utf-8"))
    assert truth["profile"] == "realistic"
    change = truth["cut_change"]
    assert change["year"] == 2025 and set(change["shift_points"]) == {"rus", "math"}
    assert all(set(marks) == {"3", "4", "5"} and all(v in (1, 2) for v in marks.values())
               for grades in change["shift_points"].values() for marks in grades.values())
    entries = [e for s in truth["schools"].values() for e in s["inflation"]]
    assert {e["method"] for e in entries} == set(METHODS)
    for e in entries:
        assert e["cells"] and all(c["n_changed"] > 0 for c in e["cells"])
        assert isinstance(e["individual_files"], bool) and "params" in e
    # the scale beside the truth: the seed's format, the old cuts before 2025, the raised ones after
    with (realistic_cut / "_truth" / "vpr_mark_scales.csv").open(encoding="utf-8") as f:
        scale = list(csv.DictReader(f))
    seed_header = (Path(__file__).parent.parent / "dbt_project/seeds/vpr_mark_scales.csv").read_text(
        encoding="utf-8").splitlines()[0]
    assert list(scale[0]) == seed_header.split(",")
    low3 = {(r["valid_from"], r["subject_code"], r["grade"]): int(r["min_primary_score"]) for r in scale
            if r["mark"] == "3"}
    assert low3[("2025", "math", "5")] - low3[("2023", "math", "5")] == change["shift_points"]["math"]["5"]["3"]
    # marks in the individual files follow the raised scale from 2025 on
    codes = 0
    for path in sorted((realistic_cut / "vpr_individual").glob("ВПР_2026_Математика_5кл_*.xlsx")):
        rows = sheet_rows(path)
        h = header_index(rows, "ОО")
        ip, im = rows[h].index("Первичный балл"), rows[h].index("Отметка")
        cuts = [low3[("2025", "math", "5")]] + [int(r["min_primary_score"]) for r in scale if r["valid_from"] == "2025"
                                                 and r["subject_code"] == "math" and r["grade"] == "5"
                                                 and r["mark"] in ("4", "5")]
        for r in rows[h + 1:]:
            if len(r) > im and isinstance(r[ip], int) and r[im] in (2, 3, 4, 5):
                assert r[im] == 2 + sum(r[ip] >= c for c in cuts)
                codes += 1
    assert codes > 20
