"""DAG integrity: every DAG imports, and has what an operator expects of it (owner, tags, retries, a failure
callback, pools, timeouts); the feed families and Assets agree with the loaders."""

from __future__ import annotations

import pytest

from warehouse import airflow_common, orchestration


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    from warehouse.paths import ROOT

    return DagBag(dag_folder=str(ROOT / "dags"))


DAG_IDS = {orchestration.DAG_LOAD_FEDERAL, orchestration.DAG_LOAD_REGIONAL, orchestration.DAG_LOAD_MUNICIPAL,
           orchestration.DAG_BUILD, orchestration.DAG_VALIDATE, orchestration.DAG_RELOAD}


def test_every_dag_imports_and_nothing_else_is_there(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == DAG_IDS


def test_every_task_has_an_owner_retries_a_timeout_and_the_failure_callback(dagbag):
    for dag in dagbag.dags.values():
        assert dag.tags and "edu" in dag.tags, dag.dag_id
        assert dag.max_active_runs == 1, dag.dag_id
        assert dag.dagrun_timeout is not None, dag.dag_id
        for t in dag.tasks:
            where = f"{dag.dag_id}.{t.task_id}"
            assert t.owner == "data-engineering", where
            callbacks = t.on_failure_callback if isinstance(t.on_failure_callback, list) else [t.on_failure_callback]
            assert airflow_common.record_failure in callbacks, where
            assert t.execution_timeout is not None, where
            # a retried load is safe (idempotent); dbt groups and the final checks are not retried on purpose
            if t.task_id in airflow_common.FEED_TABLES or t.task_id == "create_schema":
                assert t.retries >= 2, where


def test_load_tasks_are_named_after_their_feeds_use_the_pool_and_emit_their_tables(dagbag):
    seen = []
    for dag_id, feeds in airflow_common.FAMILIES.items():
        dag = dagbag.dags[dag_id]
        for feed in feeds:
            t = dag.get_task(feed)
            assert t.pool == orchestration.POOL_LOADS
            assert {a.uri for a in t.outlets} == {orchestration.raw_asset_uri(x) for x in
                                                 airflow_common.FEED_TABLES[feed]}
            seen.append(feed)
    assert sorted(seen) == sorted(airflow_common.FEED_TABLES)  # every feed in exactly one family


def test_the_feed_tables_are_the_loaders_tables():
    from ingestion.feeds import LOADERS

    assert {l.feed: (l.table, *l.child_tables()) for l in LOADERS} == airflow_common.FEED_TABLES  # noqa: E741


def test_the_registry_loads_first_and_the_other_families_wait_for_it(dagbag):
    regional = dagbag.dags[orchestration.DAG_LOAD_REGIONAL]
    assert "registry" in regional.get_task("kdr").upstream_task_ids
    for dag_id in (orchestration.DAG_LOAD_FEDERAL, orchestration.DAG_LOAD_MUNICIPAL):
        dag = dagbag.dags[dag_id]
        for feed in airflow_common.FAMILIES[dag_id]:
            assert "wait_for_registry" in dag.get_task(feed).upstream_task_ids


def test_build_is_scheduled_on_every_raw_table_and_validation_on_the_marts(dagbag):
    build, validate = dagbag.dags[orchestration.DAG_BUILD], dagbag.dags[orchestration.DAG_VALIDATE]
    assert type(build.timetable.asset_condition).__name__ == "AssetAny"  # any raw table starts it
    assert _uris(build.timetable.asset_condition) == {
        orchestration.raw_asset_uri(t) for tables in airflow_common.FEED_TABLES.values() for t in tables}
    published = {a.uri for a in build.get_task("publish").outlets}
    assert published == {orchestration.marts_asset_uri(f) for f in airflow_common.MART_FAMILIES}
    assert _uris(validate.timetable.asset_condition) == published


def _uris(condition) -> set[str]:
    """The URIs of an Asset condition (Asset, AssetAny, AssetAll, nested)."""
    if hasattr(condition, "objects"):
        return set().union(*(_uris(o) for o in condition.objects))
    return {condition.uri}


def test_dbt_runs_in_one_cosmos_build_chosen_by_the_plan_after_the_feed_checks(dagbag):
    from cosmos.operators.local import DbtBuildLocalOperator

    build = dagbag.dags[orchestration.DAG_BUILD]
    dbt = build.get_task("dbt_build")
    assert isinstance(dbt, DbtBuildLocalOperator)  # one `dbt build`: every layer, each model's tests after it
    assert dbt.pool == orchestration.POOL_DBT and dbt.retries == 0
    assert dbt.upstream_task_ids == {"plan_build"} and "plan_build" in dbt.select  # the plan's selection
    assert build.get_task("plan_build").upstream_task_ids == {"validate_feeds"}
    assert build.get_task("validate_feeds").upstream_task_ids == {"wait_for_loads"}
    assert build.get_task("wait_for_loads").upstream_task_ids == {"anything_new"}
    # the marts are announced only after a recorded, successful build; blocked loads are reported after any build
    assert "dbt_build" in build.get_task("publish").upstream_task_ids
    assert "dbt_build" in build.get_task("check_blocked").upstream_task_ids
    assert build.get_task("check_blocked").trigger_rule == "all_done"


def _qc_run(conn, *feeds) -> int:
    run = conn.execute("insert into qc.runs (status) values ('passed') returning run_id").fetchone()[0]
    for feed in feeds:
        load = conn.execute("select coalesce(max(load_id), 0) + 1 from qc.run_loads").fetchone()[0]
        conn.execute("insert into qc.run_loads (load_id, run_id, file_id, feed, file_name, status) "
                     "values (%s, %s, %s, %s, %s, 'loaded')", (load, run, load, feed, f"{feed}.xlsx"))
    return run


def test_the_build_plan_selects_what_the_new_loads_feed_since_the_last_successful_build(conn, tmp_path):
    from quality.access import ensure_qc
    from warehouse import build_plan

    ensure_qc(conn)
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    # project500_schools: read by no model; a source of another name does not count
    (project / "models" / "_sources.yml").write_text(
        "version: 2\nsources:\n  - name: raw\n    tables:\n"
        + "".join(f"      - name: {t}\n" for t in ("vpr_results", "vpr_task_scores", "teachers", "school_registry"))
        + "  - name: qc\n    tables:\n      - name: project500_schools\n")

    def plan(run, manual=False, checksum="A"):
        return build_plan.plan(conn, run, manual, project_dir=project, checksum=checksum)

    first = _qc_run(conn, "teachers")
    assert plan(first).full  # no build yet: everything
    build_plan.record(conn, first, plan(first), checksum="A")
    second = _qc_run(conn, "vpr_individual")
    assert plan(second) == build_plan.Plan(False, "source:raw.vpr_results+ source:raw.vpr_task_scores+",
                                           ("vpr_individual",), plan(second).reason)
    assert plan(second, manual=True).full and plan(second, checksum="B").full  # by hand, or the project changed
    # the build of `second` failed (not recorded): the next one takes its feeds too
    third = _qc_run(conn, "teachers", "project500")
    assert plan(third).select == "source:raw.teachers+ source:raw.vpr_results+ source:raw.vpr_task_scores+"
    build_plan.record(conn, third, plan(third), checksum="A")
    fourth = _qc_run(conn, "project500")
    assert plan(fourth).select == "" and not plan(fourth).full  # no model reads it: nothing to build
    assert build_plan.last_build(conn) == (third, "A")


def test_the_raw_sources_are_the_feed_tables_the_models_read():
    from warehouse import build_plan

    sources = build_plan.raw_sources()
    tables = {t for tables in airflow_common.FEED_TABLES.values() for t in tables}
    assert {"vpr_results", "vpr_task_scores", "school_registry", "teachers"} <= sources
    assert sources - tables == {"file_ledger", "load_ledger", "quarantine", "school_keys"}  # the ledger's


def test_the_project_checksum_changes_with_any_model_file_and_only_with_them(tmp_path):
    from warehouse import build_plan

    (tmp_path / "models" / "marts").mkdir(parents=True)
    (tmp_path / "models" / "marts" / "m.sql").write_text("select 1")
    (tmp_path / "dbt_project.yml").write_text("name: p")
    before = build_plan.project_checksum(tmp_path)
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "manifest.json").write_text("{}")  # an output, not a source
    assert build_plan.project_checksum(tmp_path) == before
    (tmp_path / "models" / "marts" / "m.sql").write_text("select 2")
    changed = build_plan.project_checksum(tmp_path)
    (tmp_path / "models" / "marts" / "m.sql").rename(tmp_path / "models" / "marts" / "n.sql")
    assert len({before, changed, build_plan.project_checksum(tmp_path)}) == 3


def test_the_build_log_lists_every_node_slowest_first():
    from warehouse.airflow_dbt import run_results_table

    lines = run_results_table({"elapsed_time": 12.5, "results": [
        {"unique_id": "model.p.fast", "status": "success", "execution_time": 0.5},
        {"unique_id": "model.p.slow", "status": "success", "execution_time": 9.25},
        {"unique_id": "test.p.t", "status": "fail", "execution_time": 1.0}]})
    assert [line.split()[-1] for line in lines[1:4]] == ["model.p.slow", "test.p.t", "model.p.fast"]
    assert lines[-1] == "Узлов: 3 (fail: 1, success: 2); время dbt: 12.5 с"


def test_no_dag_generates_demo_files():
    from warehouse.paths import ROOT

    for path in (ROOT / "dags").glob("*.py"):
        assert "ingestion.demo" not in path.read_text(encoding="utf-8"), path.name


def test_the_failure_callback_records_the_failed_task_in_qc(db_url, conn, monkeypatch):
    from types import SimpleNamespace

    monkeypatch.setenv("EDU_WAREHOUSE_URL", db_url)
    monkeypatch.delenv(f"AIRFLOW_CONN_{orchestration.CONN_QC.upper()}", raising=False)
    ti = SimpleNamespace(dag_id="edu_load_federal", task_id="vpr_individual", run_id="manual__1", try_number=3)
    airflow_common.record_failure({"ti": ti, "exception": RuntimeError("соединение с хранилищем потеряно")})
    assert conn.execute("select dag_id, task_id, run_id, try_number, error from qc.task_failures").fetchall() == [
        ("edu_load_federal", "vpr_individual", "manual__1", 3, "соединение с хранилищем потеряно")]
    # a callback that cannot reach the warehouse logs and returns: it never hides the task's own error
    monkeypatch.setenv("EDU_WAREHOUSE_URL", "postgresql://nobody@127.0.0.1:1/none")
    airflow_common.record_failure({"ti": ti, "exception": RuntimeError("x")})
