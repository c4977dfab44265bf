"""The shared loader on hand-made files: quarantine, idempotency, replacement, privacy, interrupted loads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ingestion.core.ledger import file_checksum
from ingestion.feeds.registry import SchoolRegistryLoader
from ingestion.feeds.vpr_individual import VprIndividualLoader
from tests.builders import vpr_pupil, vpr_rows, write_xlsx
from tests.conftest import TEST_KEY

ROOT = Path(__file__).resolve().parent.parent


def vpr_file(folder: Path, name: str, pupils: list[list]) -> Path:
    return write_xlsx(folder / "vpr_individual" / name, {"Индивидуальные результаты": vpr_rows(pupils)})


PUPILS = [
    vpr_pupil("edu240001", "P-0001", (1, 2, 1), 5),
    vpr_pupil("edu240001", "P-0002", (0, "Х", 1), 3),  # Cyrillic Х: task not done
    vpr_pupil("edu240002", "P-0003", (1, 1, "X"), 4),  # Latin X
    vpr_pupil("edu249999", "P-0004", (1, 0, 0), 3),  # an old login of 24R00003
    vpr_pupil("edu247777", "P-0005", (1, 0, 0), 3),  # not in the registry
    vpr_pupil("edu240002", "P-0006", (1, 1, 1), 7),  # mark outside 2..5
]


def test_school_keys_cover_current_and_old_codes(landing, conn):
    keys = dict(conn.execute("select key_value, registry_code from raw.school_keys").fetchall())
    assert keys["edu240001"] == "24R00001" and keys["240002"] == "24R00002"
    assert keys["edu249999"] == "24R00003" and keys["24r00003"] == "24R00003"


def test_bad_rows_are_quarantined_and_good_rows_load(landing, conn):
    result = VprIndividualLoader(conn, TEST_KEY).load(vpr_file(landing, "v.xlsx", PUPILS))
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (6, 4, 2)
    reasons = dict(conn.execute("select source_row, reason_code from raw.quarantine").fetchall())
    assert sorted(reasons.values()) == ["invalid_value", "unknown_school"]
    messages = [m for (m,) in conn.execute("select message from raw.quarantine order by source_row")]
    assert any("«edu247777» не найден в реестре" in m and "v.xlsx" in m and "строка" in m for m in messages)
    assert any("«Отметка»" in m and "«7»" in m for m in messages)
    loaded = conn.execute("select school_id, mark, year, subject, grade from raw.vpr_results order by source_row")
    assert [r[0] for r in loaded.fetchall()] == ["24R00001", "24R00001", "24R00002", "24R00003"]
    tasks = conn.execute(
        "select task_code, max_points, difficulty, count(*), count(points) from raw.vpr_task_scores "
        "group by 1, 2, 3 order by 1").fetchall()
    assert tasks == [("1", 1, "Б", 4, 4), ("2", 2, "П", 4, 3), ("3К1", 1, "В", 4, 3)]
    ledger = conn.execute("select rows_read, rows_loaded, rows_quarantined, status from raw.load_ledger "
                          "where feed = 'vpr_individual'").fetchone()
    assert ledger == (6, 4, 2, "loaded")


def test_same_file_twice_changes_nothing(landing, conn):
    path = vpr_file(landing, "v.xlsx", PUPILS)
    loader = VprIndividualLoader(conn, TEST_KEY)
    first = loader.load(path)
    before = conn.execute("select count(*), sum(mark) from raw.vpr_results").fetchone()
    second = loader.load(path)
    assert first.status == "loaded" and second.status == "skipped"
    assert conn.execute("select count(*), sum(mark) from raw.vpr_results").fetchone() == before
    assert conn.execute("select count(*) from raw.load_ledger where feed = 'vpr_individual'").fetchone()[0] == 1


def test_corrected_file_replaces_the_partition_in_one_load(landing, conn):
    loader = VprIndividualLoader(conn, TEST_KEY)
    first = loader.load(vpr_file(landing, "v.xlsx", PUPILS[:4]))
    corrected = [*PUPILS[:3], vpr_pupil("edu249999", "P-0004", (1, 0, 0), 2)]
    second = loader.load(vpr_file(landing, "v_corrected.xlsx", corrected))
    assert second.status == "loaded" and second.rows_replaced == 4
    rows = conn.execute("select load_id, mark from raw.vpr_results order by source_row").fetchall()
    assert {r[0] for r in rows} == {second.load_id}
    assert [r[1] for r in rows] == [5, 3, 4, 2]
    assert conn.execute("select count(*) from raw.vpr_task_scores where load_id = %s",
                        (first.load_id,)).fetchone()[0] == 0
    status = conn.execute("select status, superseded_by from raw.load_ledger where load_id = %s",
                          (first.load_id,)).fetchone()
    assert status == ("replaced", second.load_id)


def test_names_and_raw_codes_never_reach_the_database(landing, conn):
    VprIndividualLoader(conn, TEST_KEY).load(vpr_file(landing, "v.xlsx", PUPILS))
    dump = "\n".join(str(r) for r in conn.execute(
        "select string_agg(t::text, ' ') from raw.vpr_results t union all "
        "select string_agg(q::text, ' ') from raw.quarantine q union all "
        "select string_agg(t::text, ' ') from raw.vpr_task_scores t").fetchall())
    assert "Иванов" not in dump and "Иван" not in dump
    for code in ("P-0001", "P-0005", "P-0006"):
        assert code not in dump
    hashes = [h for (h,) in conn.execute("select participant_id from raw.vpr_results")]
    assert all(len(h) == 32 and h.isalnum() for h in hashes) and len(set(hashes)) == 4


def test_unreadable_file_gives_a_russian_error_naming_it(landing, conn):
    broken = landing / "vpr_individual" / "сломанный.xlsx"
    broken.parent.mkdir(exist_ok=True)
    broken.write_bytes(b"this is not a workbook")
    result = VprIndividualLoader(conn, TEST_KEY).load(broken)
    assert result.status == "failed"
    assert "Файл «сломанный.xlsx»" in result.message and "книгу Excel" in result.message
    assert conn.execute("select status, error_message from raw.load_ledger where feed = 'vpr_individual'"
                        ).fetchone() == ("failed", result.message)


def test_missing_header_is_named(landing, conn):
    rows = vpr_rows(PUPILS[:1])
    rows[6] = [h for h in rows[6] if h != "Код участника"]
    result = VprIndividualLoader(conn, TEST_KEY).load(
        write_xlsx(landing / "vpr_individual" / "x.xlsx", {"Индивидуальные результаты": rows}))
    assert result.status == "failed" and "«Код участника»" in result.message


KILL_SCRIPT = """
import sys, time, psycopg
from pathlib import Path
from ingestion.feeds import BY_FEED
feed, path, url, marker = sys.argv[1:5]
def pause(rows_read):
    Path(marker).write_text(str(rows_read))
    time.sleep(120)
with psycopg.connect(url, autocommit=True) as conn:
    BY_FEED[feed](conn, b"test-pseudonymisation-key-0123456789", chunk_rows=1, on_chunk=pause).load(Path(path))
"""


def kill_mid_load(feed: str, path: Path, db_url: str, tmp_path: Path) -> None:
    """Start a load in another process and kill it after its first chunk is copied."""
    marker = tmp_path / f"{feed}.chunk"
    process = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, feed, str(path), db_url, str(marker)],
                               cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert process.poll() is None, "the load ended before its first chunk was copied"
        assert time.monotonic() < deadline, "the load did not reach its first chunk"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


def test_killed_load_leaves_no_rows(landing, conn, db_url, tmp_path):
    path = vpr_file(landing, "v.xlsx", PUPILS[:4])
    kill_mid_load("vpr_individual", path, db_url, tmp_path)
    assert conn.execute("select count(*) from raw.vpr_results").fetchone()[0] == 0
    assert conn.execute("select count(*) from raw.vpr_task_scores").fetchone()[0] == 0
    # the next run sees the abandoned load, marks it, and loads the file in full
    result = VprIndividualLoader(conn, TEST_KEY).load(path)
    assert result.status == "loaded" and result.rows_loaded == 4
    statuses = [s for (s,) in conn.execute("select status from raw.load_ledger where feed = 'vpr_individual' "
                                           "order by load_id")]
    assert statuses == ["interrupted", "loaded"]


def test_original_file_is_archived_under_its_checksum(landing, conn, tmp_path):
    path = vpr_file(landing, "v.xlsx", PUPILS[:2])
    VprIndividualLoader(conn, TEST_KEY, archive_dir=tmp_path / "archive").load(path)
    sha, size, kept = conn.execute("select sha256, size_bytes, archive_path from raw.file_ledger "
                                   "where feed = 'vpr_individual'").fetchone()
    path.unlink()  # the landing copy may be cleaned up; the archive keeps the bytes
    assert Path(kept).name == f"{sha}.xlsx" and file_checksum(Path(kept)) == (sha, size)


def test_a_key_repeated_chunks_later_is_quarantined_and_a_refused_row_claims_no_key(landing, conn):
    rows = [vpr_pupil("edu240001", "P-0001", (9, 0, 0), 2),  # task 1 above its 1 point: refused, key not taken
            vpr_pupil("edu240001", "P-0001", (1, 0, 0), 3),  # the first accepted row of P-0001
            vpr_pupil("edu240002", "P-0002", (0, 0, 0), 2),
            vpr_pupil("edu240001", "P-0001", (0, 0, 0), 2)]  # a repeat, two chunks later
    result = VprIndividualLoader(conn, TEST_KEY, chunk_rows=1).load(vpr_file(landing, "v.xlsx", rows))
    assert (result.rows_loaded, result.rows_quarantined) == (2, 2)
    assert result.reasons == {"invalid_value": 1, "duplicate_row": 1}
    assert conn.execute("select mark from raw.vpr_results order by source_row").fetchall() == [(3,), (2,)]


def test_a_key_repeated_in_one_chunk_is_quarantined(landing, conn):
    twice = [*PUPILS[:2], vpr_pupil("edu240001", "P-0001", (0, 0, 0), 2)]
    result = VprIndividualLoader(conn, TEST_KEY).load(vpr_file(landing, "v.xlsx", twice))
    assert (result.rows_loaded, result.rows_quarantined) == (2, 1)
    assert conn.execute("select reason_code from raw.quarantine").fetchone()[0] == "duplicate_row"
    assert conn.execute("select mark from raw.vpr_results where participant_id = "
                        "(select participant_id from raw.vpr_results order by source_row limit 1)").fetchall() == [(5,)]


def test_a_registry_of_bad_rows_does_not_replace_the_good_one(landing, conn):
    keys_before = conn.execute("select count(*) from raw.school_keys").fetchone()[0]
    header = ["Код ОО (регистр)", "Логин ФИС ОКО", "Код РЦОИ", "Полное наименование", "Муниципалитет", "Тип ОО"]
    bad = write_xlsx(landing / "registry" / "Реестр_новый.xlsx",
                     {"Реестр ОО": [header, ["24R00009", "edu240009", "240009", "МБОУ СШ № 9", None, "СОШ"]]})
    result = SchoolRegistryLoader(conn, TEST_KEY).load(bad)
    assert result.status == "failed" and "прежние данные сохранены" in result.message
    assert conn.execute("select count(*) from raw.school_registry").fetchone()[0] == 3
    assert conn.execute("select count(*) from raw.school_keys").fetchone()[0] == keys_before


def test_a_workbook_with_the_table_on_two_sheets_is_refused(landing, conn):
    rows = vpr_rows(PUPILS[:2])
    path = write_xlsx(landing / "vpr_individual" / "two.xlsx",
                      {"Индивидуальные результаты 5А": rows, "Индивидуальные результаты 5Б": rows})
    result = VprIndividualLoader(conn, TEST_KEY).load(path)
    assert result.status == "failed" and "5А, Индивидуальные результаты 5Б" in result.message
    assert conn.execute("select count(*) from raw.vpr_results").fetchone()[0] == 0


def test_messages_and_row_copies_never_repeat_a_misplaced_name(landing, conn):
    misplaced = vpr_pupil("edu240001", "P-0009", (1, 1, 1), 3)
    misplaced[12] = "Петров Пётр Петрович"  # a name typed into «Отметка»
    coded = vpr_pupil("edu240001", "P-0010", (1, 1, 1), 3)
    coded[12] = "24-000123-0456"  # a participant code typed into «Отметка»
    VprIndividualLoader(conn, TEST_KEY).load(vpr_file(landing, "v.xlsx", [misplaced, coded, PUPILS[0]]))
    stored = " ".join(str(r) for r in conn.execute("select message, row_data::text from raw.quarantine"))
    assert "Петров" not in stored and "24-000123-0456" not in stored
    # both messages hide the cell; the name's row copy shows «[скрыто]», the code's copy leaves it out
    assert stored.count("скрыто") == 3 and '"mark": "[скрыто]"' in stored and "«Отметка»" in stored


def test_a_load_killed_while_replacing_keeps_the_old_rows(landing, conn, db_url, tmp_path):
    first = VprIndividualLoader(conn, TEST_KEY).load(vpr_file(landing, "v.xlsx", PUPILS[:4]))
    corrected = vpr_file(landing, "v2.xlsx", [*PUPILS[:3], vpr_pupil("edu249999", "P-0004", (1, 0, 0), 2)])
    kill_mid_load("vpr_individual", corrected, db_url, tmp_path)
    rows = conn.execute("select load_id, mark from raw.vpr_results order by source_row").fetchall()
    assert rows == [(first.load_id, m) for m in (5, 3, 4, 3)]
