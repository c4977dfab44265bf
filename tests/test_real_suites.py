"""The feed suites on files in the structures real exports have (tests/fixtures/real), not the demo's.

Every ФИС ОКО and РЦОИ fixture loads after the test registry and goes through the feed checks. They pass,
except one thing the fixtures really hold: in the РЦОИ protocol with several exams, the second pupil's
long-answer string «4(4)2(2)» lists maxima in another order than the work's «2(2)3(4)» — the structure
check names exactly that row and holds that file back.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ingestion.run import load_all
from quality.validate import run_stage
from tests.conftest import TEST_KEY

REAL = Path(__file__).resolve().parent / "fixtures" / "real"
FILES = {
    "vpr_individual": [("fis_oko", "individual_exported.xlsx"), ("fis_oko", "individual_date_cell.xlsx")],
    "vpr_marks": [("fis_oko", "marks_exported.xlsx")],
    "vpr_scores": [("fis_oko", "scores_exported.xlsx")],
    "vpr_tasks": [("fis_oko", "tasks_exported.xlsx")],
    "vpr_journal": [("fis_oko", "journal_wide.xlsx")],
    "objectivity_markers": [("fis_oko", "objectivity_markers.xlsx")],
    "gia": [("rcoi", "Протокол_ЕГЭ_2025_01.csv"), ("rcoi", "Протокол_ЕГЭ_2025_блоки.xlsx"),
            ("rcoi", "Протокол_ОГЭ_2025_двухстрочная_шапка.xlsx")],
}
MISMATCHED = "Протокол_ЕГЭ_2025_блоки.xlsx"


def test_real_format_files_pass_the_feed_suites_but_for_what_they_really_hold(conn, db_url, landing, tmp_path):
    for feed, files in FILES.items():
        (landing / feed).mkdir(exist_ok=True)
        for folder, name in files:
            shutil.copyfile(REAL / folder / name, landing / feed / name)
    loaded = {r.file for r in load_all(conn, landing, key=TEST_KEY) if r.status == "loaded"}
    assert loaded == {name for files in FILES.values() for _, name in files}

    _, outcomes = run_stage(conn, "feeds", tmp_path / "report" / "gx", db_url)
    verdicts = {o.suite: (o.outcome, o.failed) for o in outcomes}
    assert verdicts.pop("raw_gia_results") == ("blocked", ["long_answers_structure"])
    assert {suite: v for suite, v in verdicts.items() if v != ("passed", [])} == {}
    checked = {"raw_vpr_results", "raw_vpr_mark_stats", "raw_vpr_journal_stats", "raw_objectivity_markers"}
    assert checked <= set(verdicts)

    failure = conn.execute("select file_name, unexpected_count, examples from qc.expectation_failures").fetchall()
    school = conn.execute("select school_id from raw.gia_results g join qc.run_loads rl using (load_id) "
                          "where rl.file_name = %s and g.long_answers = '4(4)2(2)'", (MISMATCHED,)).fetchone()[0]
    assert [(f, n, [e["school_id"] for e in ex]) for f, n, ex in failure] == [(MISMATCHED, 1, [school])]
    # the protocol of the same exam that it replaced (loaded before it, in the same run, never checked) comes
    # back with the block, and is held back too: in force stays only what a check has passed
    blocked = dict(conn.execute("select file_name, reasons from qc.blocked_loads"))
    assert set(blocked) == {MISMATCHED, "Протокол_ЕГЭ_2025_01.csv"}
    assert "сам не проверялся" in blocked["Протокол_ЕГЭ_2025_01.csv"]
    assert conn.execute("select count(*) from raw_current.gia_results g join qc.run_loads rl using (load_id) "
                        "where rl.file_name in (%s, 'Протокол_ЕГЭ_2025_01.csv')", (MISMATCHED,)).fetchone()[0] == 0
