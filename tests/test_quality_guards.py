"""Guards of the quality runner found in review: access to its working objects, loads arriving between the
stages, blocked resends, suites naming no table, expectations that cannot be evaluated."""

from __future__ import annotations

from pathlib import Path

import pytest

from quality import access
from quality.suites import SuiteError
from quality.validate import run_stage
from tests.test_quality import ANALYST, load, status, suites, validate, vpr_file
from tests.test_quality import scopes as scopes  # the fixture

NAZAROVO, EVENKI = "г. Назарово", "Эвенкийский муниципальный район"


def test_batch_views_do_not_hand_raw_pupil_rows_to_the_read_roles(conn, db_url, landing, tmp_path, scopes):
    """The runner's views over raw (owner's rights, pupils' pseudonyms) live in qc_work, granted to nobody."""
    import psycopg

    load(conn, vpr_file(landing, "nazarovo.xlsx", "edu240001", journal=4))
    load(conn, vpr_file(landing, "evenki.xlsx", "edu240003", journal=4))
    validate(conn, db_url, tmp_path, suites(tmp_path, "block"))
    assert access.grant_access(conn)
    assert conn.execute("select count(*) from qc_work.batch_vpr_results").fetchone()[0] == 4  # they do exist
    for role in (ANALYST, "edu_reader", "edu_municipal_analyst"):
        conn.execute(f"set role {role}")
        try:
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute("select count(*) from qc_work.batch_vpr_results")
        finally:
            conn.execute("reset role")
    granted = conn.execute("select array_agg(table_name::text order by table_name) "
                           "from information_schema.table_privileges where grantee = 'edu_reader' "
                           "and table_schema in ('qc', 'qc_work') and privilege_type = 'SELECT'").fetchone()[0]
    assert granted == sorted(["blocked_loads", "expectation_failures", "expectation_results", "feed_volumes",
                              "quarantine_rows", "quarantine_summary", "run_loads", "runs", "task_failures",
                              "validations", "withheld_marts"])


def test_quarantine_view_is_closed_to_analyst_roles_outside_the_scopes(conn, db_url, landing, tmp_path, scopes):
    """qc.quarantine_rows shows *everything* to any role not listed in access.analyst_scopes."""
    load(conn, vpr_file(landing, "nazarovo.xlsx", "edu240001", journal=2))
    load(conn, vpr_file(landing, "evenki.xlsx", "edu240003", journal=2))
    validate(conn, db_url, tmp_path, suites(tmp_path, "block"))
    conn.execute("insert into raw.quarantine select load_id, 999, 'invalid_value', 'тест', null from raw.load_ledger")
    assert access.grant_access(conn)
    # a personal login given the analyst's role (how a DBA "gives logins to people"), or the group role itself,
    # which every analyst may SET ROLE to
    conn.execute("do $$ begin if not exists (select 1 from pg_roles where rolname = 'review_person') then "
                 "create role review_person login; end if; end $$; grant edu_analyst_test_nazarovo to review_person")
    seen = {}
    for role in ("review_person", "edu_municipal_analyst"):
        conn.execute(f"set role {role}")
        try:
            seen[role] = sorted(str(m) for (m,) in conn.execute("select distinct municipality from qc.quarantine_rows"))
        finally:
            conn.execute("reset role")
    assert conn.execute(f"select pg_has_role('{ANALYST}', 'edu_municipal_analyst', 'set')").fetchone()[0]
    assert seen == {"review_person": [NAZAROVO], "edu_municipal_analyst": []}, seen


def test_a_load_arriving_between_the_stages_is_still_validated(conn, db_url, landing, tmp_path):
    """attach_loads() at the marts stage files a new load under a run whose feed suites are done."""
    folder = suites(tmp_path, "block")
    load(conn, vpr_file(landing, "good.xlsx", "edu240001", journal=4))
    run_id, _ = validate(conn, db_url, tmp_path, folder)
    bad = load(conn, vpr_file(landing, "bad.xlsx", "edu240003", journal=2))  # arrives while dbt builds
    no_marts = tmp_path / "no_marts"
    no_marts.mkdir()
    run_stage(conn, "marts", tmp_path / "report" / "gx", db_url, run_id, suites_dir=no_marts)
    validate(conn, db_url, tmp_path, folder)  # the next run
    checked = conn.execute("select count(*) from qc.validations v join qc.run_loads rl using (run_id) "
                           "where rl.load_id = %s and v.kind = 'feed' and v.started_at > "
                           "(select finished_at from raw.load_ledger where load_id = %s)", (bad, bad)).fetchone()[0]
    assert (status(conn, bad), checked) == ("blocked", 1), "the bad load reached raw_current unvalidated"


def test_marts_stage_alone_does_not_swallow_unvalidated_loads(conn, db_url, landing, tmp_path):
    """`python -m quality validate --stage marts` with no open run starts one and attaches every new load."""
    folder = suites(tmp_path, "block")
    bad = load(conn, vpr_file(landing, "bad.xlsx", "edu240003", journal=2))
    no_marts = tmp_path / "no_marts"
    no_marts.mkdir()
    run_stage(conn, "marts", tmp_path / "report" / "gx", db_url, suites_dir=no_marts)
    validate(conn, db_url, tmp_path, folder)
    assert status(conn, bad) == "blocked"


def test_every_offending_load_is_blocked_and_every_row_counted(conn, db_url, landing, tmp_path):
    """Offending rows are grouped by load in PostgreSQL, not read back: every load is found, every row counted."""
    bad = [load(conn, vpr_file(landing, f"bad{i}.xlsx", f"edu24000{i}", journal=2)) for i in (1, 2, 3)]
    validate(conn, db_url, tmp_path, suites(tmp_path, "block"))
    count = conn.execute("select unexpected_count from qc.expectation_results "
                         "where expectation_key = 'journal_mark_range'").fetchone()[0]
    per_load = dict(conn.execute("select load_id, unexpected_count from qc.expectation_failures").fetchall())
    assert ([status(conn, b) for b in bad], count, per_load) == (["blocked"] * 3, 3, dict.fromkeys(bad, 1))


def test_a_suite_naming_a_missing_table_fails_the_run(conn, db_url, landing, tmp_path):
    """validate_suite() returns None (log line only) when the relation does not exist: nothing in qc, exit 0."""
    folder = suites(tmp_path, "block")
    path = folder / "raw_vpr_results.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("raw.vpr_results", "raw.vpr_result"), encoding="utf-8")
    bad = load(conn, vpr_file(landing, "bad.xlsx", "edu240003", journal=2))
    with pytest.raises(SuiteError, match=r"raw_vpr_results\.yml.*нет таблицы raw\.vpr_result"):
        validate(conn, db_url, tmp_path, folder)
    assert conn.execute("select count(*) from qc.runs").fetchone()[0] == 0  # refused before anything started
    assert status(conn, bad) == "loaded"  # and the next run with a mended file will check it


def test_a_blocked_resend_does_not_wipe_the_partition_it_replaces(conn, db_url, landing, tmp_path):
    """A resend replaces its partition at load time; when the checks block it, the rows it replaced (parent and
    child tables) come back from raw_superseded and their load is 'loaded' again; a load that passes makes the
    replacement final."""
    def count(table):
        if table.endswith(".vpr_results"):
            return conn.execute(f"select count(*) from {table} where school_id = '24R00003'").fetchone()[0]
        return conn.execute(f"select count(*) from {table}").fetchone()[0]  # task scores: school 3's only here

    folder = suites(tmp_path, "block")
    good = load(conn, vpr_file(landing, "school3.xlsx", "edu240003", journal=4))
    validate(conn, db_url, tmp_path, folder)
    before = (count("raw_current.vpr_results"), count("raw_current.vpr_task_scores"))
    assert before == (2, 6)  # two pupils, three tasks each
    bad = load(conn, vpr_file(landing, "school3_resent.xlsx", "edu240003", journal=2))
    assert (status(conn, good), count("raw_superseded.vpr_results")) == ("replaced", 2)
    validate(conn, db_url, tmp_path, folder)
    assert status(conn, bad) == "blocked"
    assert status(conn, good) == "loaded", f"good load is {status(conn, good)}"
    assert (count("raw_current.vpr_results"), count("raw_current.vpr_task_scores")) == before
    assert conn.execute("select count(*) from raw_superseded.vpr_results").fetchone()[0] == 0
    assert conn.execute("select count(*) from raw_superseded.vpr_task_scores").fetchone()[0] == 0

    corrected = load(conn, vpr_file(landing, "school3_corrected.xlsx", "edu240003", journal=5))
    validate(conn, db_url, tmp_path, folder)
    assert (status(conn, good), status(conn, bad), status(conn, corrected)) == ("replaced", "replaced", "loaded")
    assert conn.execute("select array_agg(distinct load_id) from raw_current.vpr_results").fetchone()[0] == [corrected]
    # the replacement passed: nothing is kept any more
    assert conn.execute("select count(*) from raw_superseded.vpr_results").fetchone()[0] == 0
    assert conn.execute("select count(*) from raw_superseded.vpr_task_scores").fetchone()[0] == 0


def test_an_erroring_blocking_expectation_is_not_reported_as_zero_rows(conn, db_url, landing, tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    text = (Path(suites(tmp_path, "block")) / "raw_vpr_results.yml").read_text(encoding="utf-8")
    (folder / "raw_vpr_results.yml").write_text(text.replace("from raw.school_registry", "from raw.no_such_table"),
                                                encoding="utf-8")
    good = load(conn, vpr_file(landing, "good.xlsx", "edu240001", journal=4))
    run_id, _ = validate(conn, db_url, tmp_path, folder)
    assert status(conn, good) == "loaded"  # an error does not block: right
    observed, = conn.execute("select observed_value from qc.expectation_results where expectation_key = "
                             "'school_known'").fetchone()
    assert observed.startswith("ошибка выполнения проверки")
    failure = conn.execute("select unexpected_count from qc.expectation_failures "
                           "where expectation_key = 'school_known'").fetchone()
    result = conn.execute("select errored, unexpected_count, success from qc.expectation_results "
                          "where expectation_key = 'school_known'").fetchone()
    outcome = conn.execute("select outcome from qc.validations where run_id = %s", (run_id,)).fetchone()[0]
    assert failure is None  # no offending rows are claimed for a check that never ran
    assert result == (True, None, False)  # unknown, not 0
    assert outcome == "error"
    from quality.validate import errored_checks, run_status

    assert run_status(conn, run_id) == "failed"  # the DAG's last task fails on it
    assert errored_checks(conn, run_id) == [
        "Проверка не выполнена: набор raw_vpr_results, ожидание school_known — Код ОО известен реестру"]
    # the database's error text (which may quote values) stays in the log, not in qc
    assert "no_such_table" not in observed


def test_two_resends_before_a_check_the_last_blocked_leaves_the_last_checked_rows(conn, db_url, landing, tmp_path):
    """Two resends of one partition arrive before any run: the first replaced the checked file, the second the
    first. When the second is blocked, the first comes back but was never checked: it is held back too, and
    the checked file's rows are in force again."""
    folder = suites(tmp_path, "block")
    good = load(conn, vpr_file(landing, "school3.xlsx", "edu240003", journal=4))
    validate(conn, db_url, tmp_path, folder)
    first = load(conn, vpr_file(landing, "school3_v2.xlsx", "edu240003", journal=5))
    second = load(conn, vpr_file(landing, "school3_v3.xlsx", "edu240003", journal=2))
    validate(conn, db_url, tmp_path, folder)
    assert (status(conn, good), status(conn, first), status(conn, second)) == ("loaded", "blocked", "blocked")
    assert conn.execute("select array_agg(distinct load_id) from raw_current.vpr_results").fetchone()[0] == [good]
    reasons = conn.execute("select reasons from qc.blocked_loads where load_id = %s", (first,)).fetchone()[0]
    assert "сам не проверялся" in reasons
    assert conn.execute("select count(*) from raw_superseded.vpr_results").fetchone()[0] == 0


def test_two_resends_before_a_check_the_last_passing_leaves_nothing_kept(conn, db_url, landing, tmp_path):
    """...and when the second passes, the rows both resends replaced are gone for good: none is kept forever."""
    folder = suites(tmp_path, "block")
    good = load(conn, vpr_file(landing, "school3.xlsx", "edu240003", journal=4))
    validate(conn, db_url, tmp_path, folder)
    first = load(conn, vpr_file(landing, "school3_v2.xlsx", "edu240003", journal=5))
    assert conn.execute("select count(*) from raw_superseded.vpr_results").fetchone()[0] == 2
    second = load(conn, vpr_file(landing, "school3_v3.xlsx", "edu240003", journal=3))
    assert conn.execute("select count(*) from raw_superseded.vpr_results").fetchone()[0] == 4
    validate(conn, db_url, tmp_path, folder)
    assert (status(conn, good), status(conn, first), status(conn, second)) == ("replaced", "replaced", "loaded")
    assert conn.execute("select count(*) from raw_superseded.vpr_results").fetchone()[0] == 0
    assert conn.execute("select count(*) from raw_superseded.vpr_task_scores").fetchone()[0] == 0
