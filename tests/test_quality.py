"""The data-quality runner: a failed 'block' expectation blocks the loads it names, and only those; a
corrected file releases the block; results, failures and examples land in qc; analysts read their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion.feeds.vpr_individual import VprIndividualLoader
from quality.validate import run_stage
from tests.builders import vpr_pupil, vpr_rows, write_xlsx
from tests.conftest import TEST_KEY

SUITE = """
suite: raw_vpr_results
title: "ВПР: индивидуальные результаты (тест)"
kind: feed
relation: raw.vpr_results
feed: vpr_individual
expectations:
  - key: journal_mark_range
    type: expect_column_values_to_be_between
    kwargs: {{column: journal_mark, min_value: 3, max_value: 5}}
    policy: {policy}
    description: "Отметка по журналу — от 3 до 5 (правило теста)"
  - key: school_known
    type: unexpected_rows_expectation
    kwargs:
      unexpected_rows_query: >-
        with b as (select * from {{batch}})
        select b.load_id, b.school_id, count(*) as n from b
        where b.school_id not in (select registry_code from raw.school_registry) group by 1, 2
    policy: block
    description: "Код ОО известен реестру"
"""


def suites(tmp_path: Path, policy: str) -> Path:
    folder = tmp_path / f"suites_{policy}"
    folder.mkdir()
    (folder / "raw_vpr_results.yml").write_text(SUITE.format(policy=policy), encoding="utf-8")
    return folder


def vpr_file(landing: Path, name: str, login: str, journal: int) -> Path:
    pupils = [vpr_pupil(login, "P-0001", (1, 1, 1), 5, journal=4),
              vpr_pupil(login, "P-0002", (1, 0, 1), 4, journal=journal)]
    return write_xlsx(landing / "vpr_individual" / name, {"Индивидуальные результаты": vpr_rows(pupils)})


def load(conn, path: Path):
    result = VprIndividualLoader(conn, TEST_KEY).load(path)
    assert result.status == "loaded", result.message
    return result.load_id


def validate(conn, db_url, tmp_path, folder, run_id=None):
    return run_stage(conn, "feeds", tmp_path / "report" / "gx", db_url, run_id, suites_dir=folder)


def status(conn, load_id):
    return conn.execute("select status from raw.load_ledger where load_id = %s", (load_id,)).fetchone()[0]


def test_block_holds_back_only_the_offending_load_and_a_corrected_file_releases_it(conn, db_url, landing, tmp_path):
    good = load(conn, vpr_file(landing, "good.xlsx", "edu240001", journal=4))
    bad = load(conn, vpr_file(landing, "bad.xlsx", "edu240003", journal=2))
    folder = suites(tmp_path, "block")
    run_id, outcomes = validate(conn, db_url, tmp_path, folder)

    assert [(o.suite, o.outcome, o.failed, o.blocked_loads) for o in outcomes] == [
        ("raw_vpr_results", "blocked", ["journal_mark_range"], {bad})]
    assert (status(conn, good), status(conn, bad)) == ("loaded", "blocked")
    # staging reads raw_current: the blocked file's rows are held back, the good file's are there
    assert conn.execute("select array_agg(distinct load_id) from raw_current.vpr_results").fetchone()[0] == [good]
    assert conn.execute("select count(*) from raw.vpr_results where load_id = %s", (bad,)).fetchone()[0] == 2
    municipality, count, examples, file_name = conn.execute(
        "select municipality, unexpected_count, examples, file_name from qc.expectation_failures").fetchone()
    assert (municipality, count, file_name) == ("Эвенкийский муниципальный район", 1, "bad.xlsx")
    assert examples == [{"load_id": bad, "school_id": "24R00003", "source_row": examples[0]["source_row"],
                         "journal_mark": 2}]
    reasons = conn.execute("select reasons from qc.blocked_loads where load_id = %s", (bad,)).fetchone()[0]
    assert "Отметка по журналу — от 3 до 5" in reasons
    results = dict(conn.execute("select expectation_key, success from qc.expectation_results").fetchall())
    assert results == {"journal_mark_range": False, "school_known": True}

    # the same file again changes nothing: still blocked
    assert VprIndividualLoader(conn, TEST_KEY).load(landing / "vpr_individual" / "bad.xlsx").status == "skipped"
    assert status(conn, bad) == "blocked"

    # the corrected file replaces the blocked load's partition, the next run releases the block
    corrected = load(conn, vpr_file(landing, "bad_corrected.xlsx", "edu240003", journal=4))
    assert status(conn, bad) == "replaced"
    run2, outcomes2 = validate(conn, db_url, tmp_path, folder)
    assert run2 == run_id + 1 and [o.outcome for o in outcomes2] == ["passed"]
    released = conn.execute("select released_by_load from qc.blocked_loads where load_id = %s", (bad,)).fetchone()
    assert released == (corrected,)
    assert conn.execute("select array_agg(distinct load_id order by load_id) from raw_current.vpr_results"
                        ).fetchone()[0] == [good, corrected]


def test_warn_records_without_blocking(conn, db_url, landing, tmp_path):
    bad = load(conn, vpr_file(landing, "bad.xlsx", "edu240003", journal=2))
    _, outcomes = validate(conn, db_url, tmp_path, suites(tmp_path, "warn"))
    assert [(o.outcome, o.blocked_loads) for o in outcomes] == [("warned", set())]
    assert status(conn, bad) == "loaded"
    assert conn.execute("select count(*) from qc.blocked_loads").fetchone()[0] == 0
    run_loads = conn.execute("select feed, municipality, status from qc.run_loads where load_id = %s", (bad,))
    assert run_loads.fetchone() == ("vpr_individual", "Эвенкийский муниципальный район", "loaded")


def test_a_run_with_nothing_new_validates_nothing(conn, db_url, landing, tmp_path):
    load(conn, vpr_file(landing, "good.xlsx", "edu240001", journal=4))
    folder = suites(tmp_path, "block")
    validate(conn, db_url, tmp_path, folder)
    run2, outcomes = validate(conn, db_url, tmp_path, folder)
    assert outcomes == []
    assert conn.execute("select count(*) from qc.run_loads where run_id = %s", (run2,)).fetchone()[0] == 0


ANALYST = "edu_analyst_test_nazarovo"


@pytest.fixture
def scopes(conn):
    """What dbt's grant_access creates: the read roles and a municipal analyst scoped to г. Назарово."""
    conn.execute(f"""
        do $$ begin
            if not exists (select 1 from pg_roles where rolname = 'edu_reader') then create role edu_reader; end if;
            if not exists (select 1 from pg_roles where rolname = 'edu_municipal_analyst') then
                create role edu_municipal_analyst; end if;
            if not exists (select 1 from pg_roles where rolname = '{ANALYST}') then create role {ANALYST}; end if;
        end $$;
        grant edu_municipal_analyst to {ANALYST};
        create schema access;
        create view access.analyst_scopes as select '{ANALYST}'::text as role_name, 'г. Назарово'::text as municipality;
        grant usage on schema access to edu_municipal_analyst;
        grant select on access.analyst_scopes to edu_municipal_analyst;
    """)


def test_municipal_analyst_reads_own_qc_rows_only(conn, db_url, landing, tmp_path, scopes):
    from quality import access

    load(conn, vpr_file(landing, "nazarovo.xlsx", "edu240001", journal=2))
    load(conn, vpr_file(landing, "evenki.xlsx", "edu240003", journal=2))
    validate(conn, db_url, tmp_path, suites(tmp_path, "block"))
    conn.execute("insert into raw.quarantine select load_id, 999, 'invalid_value', 'тест', null "
                 "from raw.load_ledger where status = 'blocked'")
    assert access.grant_access(conn)
    every = ("run_loads", "expectation_failures", "blocked_loads", "quarantine_rows")
    def read():
        query = "select count(*), array_remove(array_agg(distinct municipality), null) from qc.{}"
        return {t: (lambda row: (row[0], sorted(row[1])))(conn.execute(query.format(t)).fetchone()) for t in every}

    everything = read()
    assert everything["expectation_failures"] == (2, ["Эвенкийский муниципальный район", "г. Назарово"])
    conn.execute(f"set role {ANALYST}")
    try:
        own = read()
        runs = conn.execute("select count(*) from qc.runs").fetchone()[0]
    finally:
        conn.execute("reset role")
    assert own == {"run_loads": (1, ["г. Назарово"]), "expectation_failures": (1, ["г. Назарово"]),
                   "blocked_loads": (1, ["г. Назарово"]), "quarantine_rows": (1, ["г. Назарово"])}
    assert runs == 1  # region-level tables hold no municipality's rows
    conn.execute("set role edu_reader")
    try:
        reader = {t: conn.execute(f"select count(*) from qc.{t}").fetchone()[0] for t in every}
    finally:
        conn.execute("reset role")
    assert reader == {t: everything[t][0] for t in every}


def test_data_docs_pages_request_nothing_from_the_internet(tmp_path):
    from quality.docs_offline import make_offline

    page = tmp_path / "validations" / "suite" / "page.html"
    page.parent.mkdir(parents=True)
    page.write_text(
        '<html><head><link href="https://cdn.example/b.css" rel="stylesheet"/>'
        '<script src="https://code.example/jq.js"></script><link rel="icon" href="../static/f.ico"/></head>'
        '<body><img src="https://assets.example/logo.png?dataContextId=1"/><a href="https://docs.example">x</a>'
        "<table><tr><td>1</td></tr></table></body></html>", encoding="utf-8")
    assert make_offline(tmp_path) == 1
    text = page.read_text(encoding="utf-8")
    assert "cdn.example" not in text and "code.example" not in text and "assets.example" not in text
    assert '<link rel="stylesheet" href="../../static/gx_offline.css">' in text
    assert (tmp_path / "static" / "gx_offline.css").exists()
    assert "<td>1</td>" in text and "../static/f.ico" in text  # content and local resources stay
    assert make_offline(tmp_path) == 0  # a second pass changes nothing


def test_a_run_stopped_before_its_checks_hands_its_loads_to_the_next(conn, db_url, landing, tmp_path):
    from quality import access, runs

    access.ensure_qc(conn)
    bad = load(conn, vpr_file(landing, "bad.xlsx", "edu240003", journal=2))
    with conn.transaction():
        stopped = runs.start_run(conn)  # e.g. the task was killed before the suites ran
    run_id, outcomes = validate(conn, db_url, tmp_path, suites(tmp_path, "block"))
    assert run_id == stopped + 1 and [o.blocked_loads for o in outcomes] == [{bad}]
    assert conn.execute("select status from qc.runs where run_id = %s", (stopped,)).fetchone() == ("failed",)
    assert conn.execute("select run_id from qc.run_loads where load_id = %s", (bad,)).fetchone() == (run_id,)


MART_SUITE = """
suite: mart_test_shares
title: "Тестовая витрина"
kind: mart
relation: marts.test_shares
expectations:
  - key: share_range
    type: expect_column_values_to_be_between
    kwargs: {column: share, min_value: 0, max_value: 100}
    policy: block
    description: "Доля — от 0 до 100 %"
"""


def test_a_mart_failing_a_blocking_check_is_withheld_from_its_readers(conn, db_url, tmp_path, scopes):
    conn.execute("create schema if not exists marts; create table marts.test_shares (school_id text, "
                 "municipality text, share numeric); insert into marts.test_shares values "
                 "('24R00001', 'г. Назарово', 40), ('24R00003', 'Эвенкийский муниципальный район', 140); "
                 "grant usage on schema marts to edu_reader; grant select on marts.test_shares to edu_reader")
    folder = tmp_path / "mart_suites"
    folder.mkdir()
    (folder / "mart_test_shares.yml").write_text(MART_SUITE, encoding="utf-8")
    run_id, outcomes = run_stage(conn, "marts", tmp_path / "report" / "gx", db_url, suites_dir=folder)
    assert [(o.suite, o.outcome) for o in outcomes] == [("mart_test_shares", "blocked")]
    assert not conn.execute("select has_table_privilege('edu_reader', 'marts.test_shares', 'select')").fetchone()[0]
    failure = conn.execute("select municipality, load_id, unexpected_count, examples from qc.expectation_failures"
                           ).fetchone()
    assert failure == ("Эвенкийский муниципальный район", None, 1,
                       [{"school_id": "24R00003", "municipality": "Эвенкийский муниципальный район", "share": 140}])
    assert conn.execute("select status, finished_at is not null from qc.runs where run_id = %s", (run_id,)
                        ).fetchone() == ("blocked", True)
    assert conn.execute("select relation, reasons from qc.withheld_marts").fetchall() == [
        ("marts.test_shares", "Доля — от 0 до 100 %")]
    from report import build_report

    index = build_report(conn, tmp_path / "site").read_text(encoding="utf-8")
    assert "Витрины, закрытые для чтения" in index and "marts.test_shares" in index
    # the mart is mended (dbt rebuilds it; its run-end grants skip withheld marts): a passing check publishes it
    conn.execute("update marts.test_shares set share = 40")
    _, outcomes = run_stage(conn, "marts", tmp_path / "report" / "gx", db_url, suites_dir=folder)
    assert [o.outcome for o in outcomes] == ["passed"]
    assert conn.execute("select has_table_privilege('edu_reader', 'marts.test_shares', 'select')").fetchone()[0]
    assert conn.execute("select count(*) from qc.withheld_marts").fetchone()[0] == 0
