"""The whole chain through a real Airflow (API server, scheduler, DAG processor, triggerer; LocalExecutor on the
embedded PostgreSQL): an empty landing loads nothing and says so; the loads of a small demo region start the
Cosmos build by their Assets, the build starts the validation and the report by its Assets; a school year
reloaded twice leaves the marts identical, and a load run afterwards does not undo the reload."""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid

import psycopg
import pytest
from psycopg import sql

from warehouse import orchestration as names

LOADS = (names.DAG_LOAD_REGIONAL, names.DAG_LOAD_FEDERAL, names.DAG_LOAD_MUNICIPAL)
ALL = (*LOADS, names.DAG_BUILD, names.DAG_VALIDATE, names.DAG_RELOAD)
TEST_KEY = "airflow-chain-test-key-0123456789"
RELOAD_YEAR = 2025


@pytest.fixture(scope="module")
def chain(server_url, template_db, tmp_path_factory):
    """A fresh warehouse database, an empty landing folder and a running local Airflow (own metadata DB)."""
    from warehouse.airflow_local import LocalAirflow

    suffix = uuid.uuid4().hex[:8]
    warehouse, metadata = f"edu_chain_{suffix}", f"airflow_chain_{suffix}"
    admin = psycopg.conninfo.make_conninfo(server_url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {} template {}").format(sql.Identifier(warehouse),
                                                                       sql.Identifier(template_db)))
    url = psycopg.conninfo.make_conninfo(server_url, dbname=warehouse)
    home = tmp_path_factory.mktemp("airflow_home")
    local = LocalAirflow.for_embedded(url, metadata_db=metadata, home=home)
    landing = tmp_path_factory.mktemp("chain") / "landing"
    landing.mkdir()
    previous_key = os.environ.get("EDU_PSEUDONYM_KEY")
    os.environ["EDU_PSEUDONYM_KEY"] = TEST_KEY  # inherited by Airflow's processes
    local.prepare()
    local.start()
    try:
        local.wait_for_dags(ALL)
        local.unpause(ALL)
        yield local, url, landing
    finally:
        local.stop()
        # later tests in the session must not inherit this module's key
        if previous_key is None:
            os.environ.pop("EDU_PSEUDONYM_KEY", None)
        else:
            os.environ["EDU_PSEUDONYM_KEY"] = previous_key
        with psycopg.connect(admin, autocommit=True) as conn:
            for name in (warehouse, metadata):
                conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def run_loads(local, landing) -> dict[str, str]:
    runs = {dag_id: local.trigger(dag_id, {"landing": str(landing)}) for dag_id in LOADS}
    local.wait_until_idle(ALL)
    return runs


def marts_digest(url: str) -> dict[str, str]:
    """md5 of every mart's rows, in a fixed order."""
    with psycopg.connect(url) as conn:
        tables = [t for (t,) in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1")]
        out = {}
        for table in tables:
            rows = conn.execute(sql.SQL("select t::text from marts.{} as t order by 1").format(
                sql.Identifier(table))).fetchall()
            out[table] = hashlib.md5("\n".join(r[0] for r in rows).encode()).hexdigest()
        return out


def test_an_empty_landing_loads_nothing_and_says_so(chain):
    local, url, landing = chain
    runs = run_loads(local, landing)
    for dag_id, run_id in runs.items():
        assert local.wait_for_run(dag_id, run_id) == "success", dag_id
        log = local.task_log(dag_id, run_id, "check_files")
        assert "нет файлов" in log and "ничего не загружено" in log, dag_id
    assert local.runs(names.DAG_BUILD) == []  # no Asset event: nothing to build
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from raw.load_ledger").fetchone() == (0,)


def test_loads_start_the_build_and_the_build_starts_the_checks_and_the_report(chain, demo_landing):
    local, url, landing = chain
    shutil.copytree(demo_landing, landing, dirs_exist_ok=True)
    loads = run_loads(local, landing)
    assert all(local.wait_for_run(d, r) == "success" for d, r in loads.items())
    summary = local.run_summary(ALL)
    builds = [(run_type, state) for dag_id, _, run_type, state, _ in summary if dag_id == names.DAG_BUILD]
    checks = [(run_type, state) for dag_id, _, run_type, state, _ in summary if dag_id == names.DAG_VALIDATE]
    # the build ran because of the loads' Asset events, the checks because of the build's: not triggered by hand
    assert builds and all(t == "asset_triggered" for t, _ in builds) and builds[0][1] == "success", builds
    assert checks and all(t == "asset_triggered" for t, _ in checks) and checks[-1][1] == "success", checks
    with psycopg.connect(url) as conn:
        from ingestion.feeds import LOADERS

        loaded = {f for (f,) in conn.execute("select distinct feed from raw.load_ledger where status = 'loaded'")}
        assert loaded == {loader.feed for loader in LOADERS}
        assert conn.execute("select count(*) from marts.mart_school_results").fetchone()[0] > 50
        assert conn.execute("select count(*) from marts.mart_low_results").fetchone()[0] > 0
        # the qc rows of the build's feed checks and the mart checks are one run, and the report names it
        (run_id, status, report), = conn.execute(
            "select run_id, status, report_path from qc.runs where report_path is not null").fetchall()
        stages = {s for (s,) in conn.execute(
            "select distinct s.kind from qc.validations v join (values ('feed'), ('mart')) s (kind) "
            "on v.suite like case s.kind when 'feed' then 'raw_%%' else 'mart_%%' end "
            "where v.run_id = %s", (run_id,))}
        assert status in ("passed", "warned") and report and report.endswith("index.html")
        assert stages == {"feed", "mart"}
        assert conn.execute("select count(*) from qc.task_failures").fetchone() == (0,)
        # a build that found nothing new closed its qc run instead of leaving it open
        assert conn.execute("select count(*) from qc.runs where finished_at is null").fetchone() == (0,)


def test_reloading_a_year_twice_leaves_the_marts_identical_and_a_later_load_does_not_undo_it(chain):
    local, url, landing = chain
    before = marts_digest(url)
    digests, reload_loads = [], []
    for _ in range(2):
        run_id = local.trigger(names.DAG_RELOAD, {"school_year": RELOAD_YEAR, "landing": str(landing)})
        assert local.wait_for_run(names.DAG_RELOAD, run_id) == "success"
        local.wait_until_idle(ALL)
        digests.append(marts_digest(url))
        with psycopg.connect(url) as conn:
            reload_loads.append({r for (r,) in conn.execute(
                "select load_id from raw.load_ledger where status = 'loaded' and started_at >= "
                "(select max(started_at) - interval '1 hour' from raw.load_ledger) and load_id > %s",
                (max(reload_loads[-1]) if reload_loads else 0,))})
    assert reload_loads[0] and reload_loads[1], "the reload loaded nothing"
    assert digests[0] == digests[1] == before
    with psycopg.connect(url) as conn:
        current_vpr = {r for (r,) in conn.execute(
            "select distinct load_id from raw.vpr_results where year = %s", (RELOAD_YEAR,))}
    assert current_vpr <= reload_loads[1]  # the year's rows are the second reload's
    builds_before = len(local.runs(names.DAG_BUILD))
    run_loads(local, landing)  # the scheduled loads: every file already loaded, skipped by checksum
    with psycopg.connect(url) as conn:
        after_vpr = {r for (r,) in conn.execute(
            "select distinct load_id from raw.vpr_results where year = %s", (RELOAD_YEAR,))}
    assert after_vpr == current_vpr
    assert len(local.runs(names.DAG_BUILD)) == builds_before  # nothing new: no Asset event, no rebuild
    assert marts_digest(url) == before
