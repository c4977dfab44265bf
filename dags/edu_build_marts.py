"""The marts: the feed checks on the new loads, then one ``dbt build`` by astronomer-cosmos.

Scheduled on the raw tables' Assets: any load DAG that changed a raw table starts it. A run that finds no load new
to the checks (an earlier build took them) stops at once; otherwise it waits until no load DAG is running, so that
one build takes everything the loads of the hour bring. Then the feed suites (Great Expectations,
``expectations/``) check the loads that arrived since the last run and block those that fail a blocking check
(``raw_current`` then hides their rows). ``plan_build`` chooses what dbt builds (``warehouse.build_plan``): after
new loads of some feeds only the models downstream of their raw tables (``source:raw.<table>+``) with their tests;
the whole project when it changed since the last successful build, when there was none, or on a run started by
hand. ``dbt_build`` (``warehouse.airflow_dbt``) is one dbt process: every layer (seeds and method parameters,
staging, core dimensions, intermediate models, the mart families) in the order the models need, each model's
tests right after it, on both cores; its log lists every model and test with its status and time. The last task
emits one Asset per mart family; the validation DAG is scheduled on them. A run with blocked loads builds the marts
from the rest and then fails in ``check_blocked``, naming the files.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task

from warehouse import orchestration as names
from warehouse.airflow_common import DEFAULT_ARGS, mart_assets, raw_assets_any

MART_ASSETS = mart_assets()
PLAN_TASK = "plan_build"


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
    @task.short_circuit
    def anything_new(dag_run=None) -> bool:
        """A run started by Asset events that an earlier build already took (no load new to the checks) stops
        here, before any check starts; a run started by hand always builds."""
        from warehouse.airflow_common import unclaimed_loads

        if dag_run.run_type == "manual" or unclaimed_loads():
            return True
        print("Новых загрузок с прошлой сборки нет: сборка не нужна")
        return False

    @task.sensor(poke_interval=2, timeout=3600, mode="poke")
    def wait_for_loads() -> bool:
        """The first Asset event starts the build, but the other loads of the hour may still be running: wait
        until no load DAG runs, so that one build takes everything they bring (one light process, polling)."""
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

        loads = (names.DAG_LOAD_FEDERAL, names.DAG_LOAD_REGIONAL, names.DAG_LOAD_MUNICIPAL, names.DAG_RELOAD)
        return all(RuntimeTaskInstance.get_dr_count(dag_id, states=["queued", "running"]) == 0 for dag_id in loads)

    @task(pool=names.POOL_QC, execution_timeout=timedelta(minutes=30))
    def validate_feeds(run_id=None) -> int:
        """GX feed suites on the loads that arrived since the last run; a load failing a 'block' check is kept out
        of the marts."""
        from warehouse.airflow_common import validate_stage

        return validate_stage("feeds", None, run_id)

    @task.short_circuit(task_id=PLAN_TASK)
    def plan_build(qc_run_id: int, dag_run=None):
        """What dbt builds: the models downstream of the raw tables that got new loads since the last successful
        build, or the whole project (see warehouse.build_plan); nothing, if no model reads those tables."""
        from warehouse.airflow_common import close_run_without_build
        from warehouse.airflow_common import plan_build as make_plan

        plan = make_plan(qc_run_id, manual=dag_run.run_type == "manual")
        print(f"План сборки: {plan['reason']}" + (f"\nВыбор dbt: {plan['select']}" if plan["select"] else ""))
        if not plan["full"] and not plan["select"]:
            close_run_without_build(qc_run_id)
            return False
        return plan

    @task(outlets=MART_ASSETS)
    def publish(qc_run_id: int, plan: dict, outlet_events=None) -> None:
        """The build succeeded: recorded, so that the next one starts from it (warehouse.build_plan), and the marts
        announced: the validation DAG starts on these Assets (their extra names the qc run, so that the mart checks
        join the feed checks of this build)."""
        from warehouse.airflow_common import record_build

        record_build(qc_run_id, plan)
        for asset in MART_ASSETS:
            outlet_events[asset].extra = {"qc_run_id": qc_run_id}

    @task(trigger_rule="all_done")
    def check_blocked(qc_run_id: int) -> None:
        """After the build: the run fails if a check blocked some load, naming the files (the marts were built
        without them)."""
        from warehouse.airflow_common import fail_on_blocked

        fail_on_blocked(qc_run_id)

    from warehouse.airflow_dbt import MartsBuildOperator

    qc_run = validate_feeds()
    anything_new() >> wait_for_loads() >> qc_run
    plan = plan_build(qc_run)
    # the one dbt process takes the dbt pool and is not retried (the next run builds again)
    build = MartsBuildOperator(task_id="dbt_build", pool=names.POOL_DBT, retries=0,
                               execution_timeout=timedelta(hours=1),
                               select=f"{{{{ ti.xcom_pull(task_ids='{PLAN_TASK}')['select'] }}}}",
                               doc_md="dbt build витрин (весь проект или часть после новых загрузок)")
    plan >> build >> publish(qc_run, plan)
    build >> check_blocked(qc_run)


edu_build_marts()
