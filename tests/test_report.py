"""The analysts' validation report: built from a hand-made qc schema, read as text and in headless Chromium."""

from __future__ import annotations

import json
import re
import time
from html import unescape
from pathlib import Path

import pytest

from report import build_report
from report.build import slugify
from tests import browser

SCHEMA = Path(__file__).resolve().parent.parent / "quality" / "schema.sql"
NAZ, EVK, NOR = "г. Назарово", "Эвенкийский муниципальный район", "г. Норильск"
BLOCKED_FILE = "ВПР_Эвенкийский_2024.xlsx"
BLOCK_REASON = "Отметка за ВПР — от 2 до 5"
WARN_TEXT = "Число участников КДР в муниципалитете — не меньше половины прошлого года"
SECRET = "PUPIL-SECRET-7731"   # a pupil code a careless suite might return: must never reach the page

QC_CONTENT = f"""
insert into qc.runs (run_id, landing, started_at, finished_at, status, gx_docs_path) values
  (1, 'data/landing', '2026-11-20 09:00+00', '2026-11-20 09:05+00', 'blocked', 'gx/index.html'),
  (2, 'data/landing', '2026-11-27 09:00+00', '2026-11-27 09:04+00', 'warned', 'gx/index.html');
insert into qc.run_loads (load_id, run_id, file_id, feed, file_name, status, municipality, school_year,
                          rows_read, rows_loaded, rows_quarantined, error_message) values
  (101, 1, 11, 'vpr_individual', 'ВПР_Назарово_2024.xlsx', 'loaded', '{NAZ}', 2024, 500, 480, 20, null),
  (102, 1, 12, 'vpr_individual', '{BLOCKED_FILE}', 'loaded', '{EVK}', 2024, 300, 300, 0, null),
  (103, 1, 13, 'kdr', 'КДР4_Норильск_2024.xlsx', 'loaded', '{NOR}', 2024, 200, 195, 5, null),
  (104, 1, 14, 'objectivity_markers', 'markers_2024.csv', 'loaded', null, 2024, null, null, null, null),
  (105, 1, 15, 'teachers', 'Педагоги_Назарово.xlsx', 'failed', '{NAZ}', null, 0, 0, 0,
   'Не найдена строка заголовка таблицы'),
  (201, 2, 21, 'vpr_individual', 'ВПР_Эвенкийский_2024_исправленный.xlsx', 'loaded', '{EVK}', 2024,
   300, 298, 2, null),
  (202, 2, 22, 'gia', 'ОГЭ_Норильск_2024.csv', 'loaded', '{NOR}', 2024, 150, 150, 0, null);
insert into qc.validations (validation_id, run_id, suite, suite_title, kind, relation, feed, batch, loads, rows,
                            success, outcome, started_at, finished_at, gx_result_path) values
  (1, 1, 'raw_vpr_results', 'ВПР: индивидуальные результаты', 'feed', 'raw.vpr_results', 'vpr_individual',
   'загрузки прогона 1: 2 файла', 2, 780, false, 'blocked', '2026-11-20 09:01+00', '2026-11-20 09:02+00',
   'gx/validations/raw_vpr_results/1.html'),
  (2, 1, 'raw_kdr_results', 'КДР: краевые диагностические работы', 'feed', 'raw.kdr_results', 'kdr',
   'загрузки прогона 1: 1 файл', 1, 195, false, 'warned', '2026-11-20 09:02+00', '2026-11-20 09:03+00',
   'gx/validations/raw_kdr_results/2.html'),
  (3, 1, 'mart_school_results', 'Витрина: результаты школ', 'mart', 'marts.school_results', null,
   'витрина целиком', null, 1200, true, 'passed', '2026-11-20 09:03+00', '2026-11-20 09:04+00', null),
  (4, 2, 'raw_vpr_results', 'ВПР: индивидуальные результаты', 'feed', 'raw.vpr_results', 'vpr_individual',
   'загрузки прогона 2: 1 файл', 1, 298, true, 'passed', '2026-11-27 09:01+00', '2026-11-27 09:02+00', null),
  (5, 2, 'raw_gia_results', 'ГИА (ОГЭ, ЕГЭ): результаты участников', 'feed', 'raw.gia_results', 'gia',
   'загрузки прогона 2: 1 файл', 1, 150, false, 'warned', '2026-11-27 09:02+00', '2026-11-27 09:03+00', null);
insert into qc.expectation_results (validation_id, expectation_key, expectation_type, description, policy, success,
                                    observed_value, unexpected_count, element_count) values
  (1, 'mark_range', 'expect_column_values_to_be_between', '{BLOCK_REASON}', 'block', false, '7', 7, 780),
  (1, 'school_known', 'unexpected_rows_expectation', 'Код ОО есть в реестре', 'block', true, '0', 0, 780),
  (2, 'participants_vs_previous_year', 'unexpected_rows_expectation', '{WARN_TEXT}', 'warn', false,
   '1', 1, 3),
  (3, 'shares_sum_100', 'unexpected_rows_expectation', 'Доли отметок в ячейке дают 100', 'block', true, '0', 0, 1200),
  (4, 'mark_range', 'expect_column_values_to_be_between', '{BLOCK_REASON}', 'block', true, '0', 0, 298),
  (5, 'score_range', 'expect_column_values_to_be_between', 'Тестовый балл ЕГЭ — от 0 до 100', 'warn', false,
   null, null, 150);
insert into qc.expectation_failures (validation_id, expectation_key, municipality, load_id, file_name,
                                     unexpected_count, examples) values
  (1, 'mark_range', '{EVK}', 102, '{BLOCKED_FILE}', 7,
   '[{{"school_id": "0401001", "n": 4, "participant_id": "{SECRET}"}}, {{"school_id": "0401002", "n": 3}}]'),
  (2, 'participants_vs_previous_year', '{NOR}', 103, 'КДР4_Норильск_2024.xlsx', 1,
   '[{{"municipality": "{NOR}", "n": 1}}]'),
  (5, 'score_range', '{NOR}', 202, 'ОГЭ_Норильск_2024.csv', 2, '[{{"school_id": "0301005"}}]');
insert into qc.blocked_loads (load_id, run_id, validation_id, feed, file_name, municipality, reasons, blocked_at,
                              released_at, released_by_load) values
  (102, 1, 1, 'vpr_individual', '{BLOCKED_FILE}', '{EVK}', '{BLOCK_REASON}', '2026-11-20 09:02+00',
   '2026-11-27 09:02+00', 201);
insert into qc.quarantine_summary (run_id, feed, municipality, reason_code, reason, rows, examples) values
  (1, 'vpr_individual', '{NAZ}', 'unknown_school', 'код ОО не найден в реестре ОО', 20,
   '[{{"row": 15, "file": "ВПР_Назарово_2024.xlsx", "message": "код ОО 0999999 не найден"}}]'),
  (1, 'kdr', '{NOR}', 'invalid_value', 'значение не соответствует типу или допустимому диапазону', 5,
   '[{{"row": 7, "file": "КДР4_Норильск_2024.xlsx", "message": "балл «сто» не число"}}]'),
  (2, 'vpr_individual', '{EVK}', 'missing_value', 'не заполнено обязательное значение', 2, '[]');
insert into qc.feed_volumes (run_id, feed, relation, school_year, municipality, schools, participants, rows) values
  (1, 'vpr_individual', 'raw.vpr_results', 2023, '{NAZ}', 10, 950, 2400),
  (1, 'vpr_individual', 'raw.vpr_results', 2024, '{NAZ}', 10, 480, 1200),
  (1, 'vpr_individual', 'raw.vpr_results', 2023, '{EVK}', 8, 310, 800),
  (1, 'vpr_individual', 'raw.vpr_results', 2023, '{NOR}', 30, 2800, 7000),
  (1, 'teachers', 'raw.teachers', 2024, '{NAZ}', 10, null, 340),
  (2, 'vpr_individual', 'raw.vpr_results', 2023, '{NAZ}', 10, 950, 2400),
  (2, 'vpr_individual', 'raw.vpr_results', 2024, '{NAZ}', 10, 480, 1200),
  (2, 'vpr_individual', 'raw.vpr_results', 2023, '{EVK}', 8, 310, 800),
  (2, 'vpr_individual', 'raw.vpr_results', 2024, '{EVK}', 8, 298, 780),
  (2, 'vpr_individual', 'raw.vpr_results', 2023, '{NOR}', 30, 2800, 7000),
  (2, 'teachers', 'raw.teachers', 2024, '{NAZ}', 10, null, 340),
  (2, 'gia', 'raw.gia_results', 2024, '{NOR}', 12, 150, 150),
  (2, 'objectivity_markers', 'raw.objectivity_markers', null, null, 3, null, 3);
"""


def text_of(path: Path) -> str:
    """The page as a reader sees it: tags dropped, entities decoded, whitespace collapsed."""
    html = path.read_text(encoding="utf-8")
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).replace("\u00a0", " ")


def glance(path: Path) -> dict[str, str]:
    """The at-a-glance figures of a page (dl.glance: dt → dd), first block only."""
    html = path.read_text(encoding="utf-8")
    block = re.search(r'<dl class="glance">(.*?)</dl>', html, re.S).group(1)
    pairs = re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", block, re.S)
    return {unescape(dt): re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", dd))).replace("\u00a0", " ").strip()
            for dt, dd in pairs}


@pytest.fixture
def site(conn, tmp_path) -> Path:
    conn.execute(SCHEMA.read_text(encoding="utf-8"))
    conn.execute(QC_CONTENT)
    out = tmp_path / "report"
    (out / "gx" / "validations" / "raw_vpr_results").mkdir(parents=True)
    (out / "gx" / "index.html").write_text("<html><body><h1>Data Docs</h1></body></html>")
    (out / "gx" / "validations" / "raw_vpr_results" / "1.html").write_text("<html><body>GX</body></html>")
    started = time.monotonic()
    index = build_report(conn, out)
    assert time.monotonic() - started < 15
    assert index == out / "index.html"
    return out


def muni_page(site: Path, name: str | None) -> Path:
    mapping = json.loads((site / "municipalities.json").read_text(encoding="utf-8"))
    slug = next(s for s, n in mapping.items() if n == (name or "регион / не определён"))
    assert re.fullmatch(r"[a-z0-9-]+", slug)
    return site / f"municipality-{slug}.html"


def test_pages_and_slugs(site):
    names = sorted(p.name for p in site.glob("*.html"))
    assert {"index.html", "run-1.html", "run-2.html", "trends.html", "objectivity.html"} <= set(names)
    assert slugify(NAZ) == "g-nazarovo" and slugify(EVK) == "evenkiyskiy-munitsipalnyy-rayon"
    assert len([n for n in names if n.startswith("municipality-")]) == 4   # three and the region
    for page in site.glob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert SECRET not in html, page.name
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), f"{page.name} links off the machine"
        assert "На какой вопрос отвечает страница" in html, page.name


def test_run_page_counts_blocks_and_failures(site):
    run1 = text_of(site / "run-1.html")
    assert glance(site / "run-1.html") == {
        "Файлов поступило": "5", "Загружено файлов": "3", "Не загружено (ошибка, отказ)": "1",
        "Заблокировано файлов": "1", "Предупреждений": "1",
        # the markers file's row counts are unknown: the sums say so instead of counting them as zero
        "Строк прочитано": "1 000 (без данных: 1 из 5)", "Строк загружено": "975 (без данных: 1 из 5)",
        "Строк отложено (карантин)": "25 (без данных: 1 из 5) (2,5 %)"}
    assert BLOCKED_FILE in run1 and BLOCK_REASON in run1 and WARN_TEXT in run1
    assert "блокирует загрузку" in run1 and "предупреждение" in run1
    assert "0401001" in run1 and "0401002" in run1            # school keys of the examples
    assert "код ОО не найден в реестре ОО" in run1 and "код ОО 0999999 не найден" in run1
    assert "Не найдена строка заголовка таблицы" in run1
    html = (site / "run-1.html").read_text(encoding="utf-8")
    for load_id in (101, 102, 103, 104, 105):
        assert f'id="load-{load_id}"' in html
    assert 'href="gx/validations/raw_vpr_results/1.html"' in html       # the GX page that exists
    assert "Страница Data Docs GX: не построена" in html                 # the one that does not
    # released by the corrected file of run 2, with a link to its ledger row
    assert "ВПР_Эвенкийский_2024_исправленный.xlsx" in run1 and 'href="run-2.html#load-201"' in html
    # per municipality: the region row for the markers file, unknown rows not shown as zero
    assert "регион / не определён" in run1
    assert re.search(r"markers_2024\.csv .*? регион / не определён 2023/24 загружен нет данных нет данных нет данных",
                     run1)


def test_municipality_pages_hold_their_own_rows_only(site):
    evk, naz, nor = (text_of(muni_page(site, m)) for m in (EVK, NAZ, NOR))
    assert BLOCKED_FILE in evk and BLOCK_REASON in evk and "0401001" in evk
    assert 'href="run-1.html#load-102"' in muni_page(site, EVK).read_text(encoding="utf-8")
    for other in (naz, nor):
        assert BLOCKED_FILE not in other and BLOCK_REASON not in other and "0401001" not in other
    assert WARN_TEXT in nor and WARN_TEXT not in naz and WARN_TEXT not in evk
    assert "ВПР_Назарово_2024.xlsx" in naz and "ВПР_Назарово_2024.xlsx" not in nor
    assert "код ОО 0999999 не найден" in naz and "код ОО 0999999 не найден" not in evk
    # run 2 brought nothing of theirs: the page details run 1 first (500 read, 20 quarantined)
    assert glance(muni_page(site, NAZ))["Строк отложено (карантин)"] == "20 (4,0 %)"
    region = text_of(muni_page(site, None))
    assert "markers_2024.csv" in region and BLOCKED_FILE not in region


def test_index_trends_and_unknowns(site):
    index = text_of(site / "index.html")
    assert "Последний прогон: №2" in index and "есть предупреждения" in index
    assert 'href="gx/index.html"' in (site / "index.html").read_text(encoding="utf-8")
    assert "Действующие блокировки" in index and "Заблокированных файлов нет" in index   # released in run 2
    trends = text_of(site / "trends.html")
    # teachers carry no pupils: participants are unknown, never 0; schools are known
    assert re.search(r"Педагоги .*? г\. Назарово нет данных 10 ", trends)
    assert "2,5 %" in trends                                   # run 1 quarantine rate: 25 of 1000
    assert "2023/24" in trends and "2022/23" in trends
    assert "регион / не определён" in trends and "не определён" in trends   # null municipality and school year
    assert len(list((site / "charts").glob("*.svg"))) >= 3
    objectivity = text_of(site / "objectivity.html")
    assert "Объективность результатов" in objectivity and "следующем выпуске" in objectivity


def test_no_qc_rows_still_builds(conn, tmp_path):
    index = build_report(conn, tmp_path / "no-schema")      # before the first validation: no qc schema at all
    assert "Прогонов проверки ещё не было" in text_of(index)
    conn.execute(SCHEMA.read_text(encoding="utf-8"))
    index = build_report(conn, tmp_path / "empty")
    assert "Прогонов проверки ещё не было" in text_of(index)
    assert "Data Docs GX: не построены" in text_of(index)
    assert text_of(tmp_path / "empty" / "trends.html").count("нет данных") >= 1


def test_report_in_headless_chromium(site):
    if browser.chromium_path() is None:
        pytest.fail(browser.INSTALL_HINT)
    started = time.monotonic()
    facts = browser.check_site(site, screenshot_page="run-1.html")    # raises on any request off the machine
    assert time.monotonic() - started < 30
    shot = site / "screenshots" / "run.png"
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    cyrillic = re.compile(r"[А-Яа-яЁё]")
    for name, fact in facts.items():
        assert fact["h1"] and all(cyrillic.search(h) for h in fact["h1"] + fact["h2"]), name
        assert all(u.startswith(("file:", "data:")) for u in fact["requests"]), (name, fact["requests"])
        assert fact["width"] <= 1300, f"{name} scrolls sideways ({fact['width']} px)"
    run1 = facts["run-1.html"]
    assert run1["h1"][0].startswith("Прогон проверки №1")
    assert {"По потокам данных", "По муниципалитетам", "Заблокированные файлы",
            "Нарушенные ожидания"} <= set(run1["h2"])
    assert run1["tables"] and all(n > 0 for n in run1["tables"]), run1["tables"]
    trends = facts["trends.html"]
    assert len(trends["images"]) >= 3 and all(i["width"] > 0 for i in trends["images"])
    assert any(r.endswith(".svg") for r in trends["requests"])
    assert any(r.endswith("report.css") for r in trends["requests"])


def test_report_without_javascript(site):
    """The site uses no script at all; with scripts disabled the pages read the same."""
    if browser.chromium_path() is None:
        pytest.fail(browser.INSTALL_HINT)
    for page in site.glob("*.html"):
        assert "<script" not in page.read_text(encoding="utf-8"), page.name
    with browser.Browser() as chromium:
        page = chromium.open(site / "run-1.html", javascript=False)
        assert page.evaluate("document.querySelector('h1').textContent").startswith("Прогон проверки №1")
        assert page.evaluate("document.querySelectorAll('table.data tbody tr').length") > 5
        assert page.evaluate("getComputedStyle(document.querySelector('header.site')).backgroundColor") != \
            "rgba(0, 0, 0, 0)"   # the stylesheet applied
        # printed on A4 with the print styles (navigation hidden): a few pages
        pdf = page.pdf(site / "screenshots" / "run.pdf").read_bytes()
        pages = len(re.findall(rb"/Type\s*/Page(?![a-z])", pdf))
        assert pdf.startswith(b"%PDF") and 1 <= pages <= 8, pages
