"""DAG integrity: every DAG imports, and has what an operator expects of it (owner, tags, retries, a failure
callback, pools, timeouts); the feed families and Assets agree with the loaders."""

from __future__ import annotations

import pytest

from warehouse import airflow_common, orchestration


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    from warehouse.paths import ROOT

    manifest = ROOT / "dbt_project" / "target" / "manifest.json"
    if not manifest.exists():  # the build DAG renders from dbt's manifest, as on a server after `dbt parse`
        from warehouse.dbt import parse_manifest

        parse_manifest()
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


def test_dbt_runs_in_cosmos_task_groups_per_layer_from_the_manifest(dagbag):
    build = dagbag.dags[orchestration.DAG_BUILD]
    groups = {t.task_group.group_id for t in build.tasks if t.task_group and t.task_group.group_id}
    assert {"reference", "staging", "core", "intermediate", "facts", "objectivity", "results"} <= groups
    assert any(t.task_id.startswith("results.mart_low_results") for t in build.tasks)  # a task per model
    producer = build.get_task("results.dbt_producer_watcher")
    assert producer.pool == orchestration.POOL_DBT


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
