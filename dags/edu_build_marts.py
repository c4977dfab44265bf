"""The marts: the feed checks on the new loads, then ``dbt build`` by astronomer-cosmos, one task group per layer.

Scheduled on the raw tables' Assets: any load DAG that changed a raw table starts it. First the feed suites
(Great Expectations, ``expectations/``) check the loads that arrived since the last run and block those that fail a
blocking check (``raw_current`` then hides their rows); then dbt builds the layers in the order their models need:
reference (seeds and method parameters), staging, core dimensions, intermediate models, then the mart families;
each group's tests run after all its models (a test whose parents span groups runs in the group of its last
parent: dbt's 'buildable' indirect selection).
Cosmos parses ``dbt_project/target/manifest.json`` (made by ``dbt parse`` when the project is installed), so the
DAG parses in well under a second, and runs each group in the watcher mode: one ``dbt build`` of the group (its
models, then their tests, dbt's own order) and one light task per model that shows the model's own outcome.
The first Asset event of an hour starts the run; it waits until no load DAG is running, and a run that finds
no load new to the checks (an earlier build took them) builds nothing. The last task emits one Asset per mart
family; the validation DAG is scheduled on them. A run with blocked loads
builds the marts from the rest and then fails in ``check_blocked``, naming the files.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task

from warehouse import orchestration as names
from warehouse.airflow_common import DEFAULT_ARGS, mart_assets, raw_assets_any
from warehouse.paths import ROOT

DBT_DIR = ROOT / "dbt_project"
MANIFEST = DBT_DIR / "target" / "manifest.json"

# (group, selection, exclusion): in the order the models need each other (dbt_project/target/manifest.json);
# int_method_parameters (read by a staging model) is built with the seeds.
LAYERS = (
    ("reference", ["resource_type:seed", "int_method_parameters"], []),
    ("staging", ["path:models/staging"], []),
    ("core", ["path:models/marts/core"], []),
    ("intermediate", ["path:models/intermediate"], ["int_method_parameters"]),
    ("facts", ["path:models/marts/facts"], []),
    ("objectivity", ["path:models/marts/objectivity"], []),
    ("results", ["path:models/marts/results"], []),
)
MART_ASSETS = mart_assets()


def _dbt_group(group_id: str, select: list[str], exclude: list[str], last: bool):
    import airflow  # noqa: F401  (cosmos imports airflow's settings; importing airflow first avoids a cycle)
    from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior
    from cosmos.profiles import PostgresUserPasswordProfileMapping

    group = DbtTaskGroup(
        group_id=group_id,
        # the access grants (on-run-end hook) after the last group only, when every schema exists
        project_config=ProjectConfig(dbt_project_path=DBT_DIR, manifest_path=MANIFEST, install_dbt_deps=False,
                                     dbt_vars={"grant_access": last}),
        profile_config=ProfileConfig(
            profile_name="edu_warehouse", target_name="default",
            profile_mapping=PostgresUserPasswordProfileMapping(
                conn_id=names.CONN_TRANSFORMER, profile_args={"schema": "analytics", "threads": 2}),
        ),
        execution_config=ExecutionConfig(execution_mode=ExecutionMode.WATCHER,
                                         invocation_mode=InvocationMode.DBT_RUNNER),
        # the group's tests after all its models, in one `dbt test` (a task per model shows the model's outcome)
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, select=select, exclude=exclude,
                                   test_behavior=TestBehavior.AFTER_ALL, emit_datasets=False),
        # a test runs in the group that builds the last of its parents ('buildable'), not in the first one that
        # selects one of them (dbt's default 'eager' would run a mart's test with the seeds, before the mart)
        # The per-model tasks poke the producer's status (every 5 s) instead of deferring: a deferred task whose
        # trigger fires at once can race the scheduler under load and be marked failed though it succeeded.
        operator_args={"dbt_cmd_flags": ["--indirect-selection", "buildable"], "deferrable": False,
                       "poke_interval": 5},
    )
    for t in group.children.values():
        if getattr(t, "task_id", "").endswith("dbt_producer_watcher"):
            # the group's one dbt process takes the dbt pool and is not retried (the next run builds again)
            t.pool, t.retries = names.POOL_DBT, 0
        elif hasattr(t, "retries"):
            t.retries = 1  # a per-model task only reads the producer's outcome (or runs its one model again)
    return group


@dag(
    dag_id=names.DAG_BUILD,
    schedule=raw_assets_any(),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=2),
    tags=["edu", "dbt", "marts"],
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
)
def edu_build_marts():
    @task(pool=names.POOL_QC, execution_timeout=timedelta(minutes=30))
    def validate_feeds(run_id=None) -> int:
        """GX feed suites on the loads that arrived since the last run; a load failing a 'block' check is kept out
        of the marts."""
        from warehouse.airflow_common import validate_stage

        return validate_stage("feeds", None, run_id)

    @task(outlets=MART_ASSETS)
    def publish(qc_run_id: int, outlet_events=None) -> None:
        """The marts are rebuilt: the validation DAG starts on these Assets (their extra names the qc run, so
        that the mart checks join the feed checks of this build)."""
        for asset in MART_ASSETS:
            outlet_events[asset].extra = {"qc_run_id": qc_run_id}

    @task(trigger_rule="all_done")
    def check_blocked(qc_run_id: int) -> None:
        """After the build: the run fails if a check blocked some load, naming the files (the marts were built
        without them)."""
        from warehouse.airflow_common import fail_on_blocked

        fail_on_blocked(qc_run_id)

    @task.sensor(poke_interval=15, timeout=3600, mode="reschedule")
    def wait_for_loads() -> bool:
        """The first Asset event starts the build, but the other loads of the hour may still be running: wait
        until no load DAG runs, so that one build takes everything they bring."""
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

        loads = (names.DAG_LOAD_FEDERAL, names.DAG_LOAD_REGIONAL, names.DAG_LOAD_MUNICIPAL, names.DAG_RELOAD)
        return all(RuntimeTaskInstance.get_dr_count(dag_id, states=["queued", "running"]) == 0 for dag_id in loads)

    @task.short_circuit
    def anything_new(qc_run_id: int, dag_run=None) -> bool:
        """A run started by Asset events that an earlier build already took (no load new to the checks) builds
        nothing; a run started by hand always builds."""
        from warehouse.airflow_common import close_run_without_build, new_loads

        count = new_loads(qc_run_id)
        print(f"Новых загрузок с прошлой проверки: {count}")
        if count > 0 or dag_run.run_type == "manual":
            return True
        close_run_without_build(qc_run_id)
        return False

    qc_run = validate_feeds()
    wait_for_loads() >> qc_run
    previous = anything_new(qc_run)
    for group_id, select, exclude in LAYERS:
        group = _dbt_group(group_id, select, exclude, last=group_id == LAYERS[-1][0])
        previous >> group
        previous = group
    previous >> publish(qc_run)
    previous >> check_blocked(qc_run)


edu_build_marts()
