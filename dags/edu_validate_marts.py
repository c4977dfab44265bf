"""After every build of the marts: the mart checks, then the analysts' validation report.

Scheduled on the mart families' Assets that ``edu_build_marts`` emits. The mart suites (Great Expectations)
check what dbt built; a mart failing a blocking check is withheld from BI and the analysts until a check
passes. The report (``report/``, in Russian, offline) is rebuilt from the ``qc`` schema, and the dbt
documentation beside it. ``check_checks`` fails the run if some check could not be evaluated.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task

from warehouse import orchestration as names
from warehouse.airflow_common import DEFAULT_ARGS, mart_assets

MART_ASSETS = mart_assets()


@dag(
    dag_id=names.DAG_VALIDATE,
    schedule=MART_ASSETS,  # all families: they are emitted together by one build
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=1),
    tags=["edu", "quality", "report"],
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
)
def edu_validate_marts():
    @task(pool=names.POOL_QC, execution_timeout=timedelta(minutes=30))
    def validate_marts(triggering_asset_events=None) -> int:
        """GX mart suites, in the qc run of the build's feed checks (named by the Asset event)."""
        from warehouse.airflow_common import qc_run_of, validate_stage

        return validate_stage("marts", qc_run_of(triggering_asset_events))

    @task(trigger_rule="all_done", execution_timeout=timedelta(minutes=30))
    def build_report(qc_run_id: int | None = None) -> str:
        """The analysts' validation report from the qc schema (also after a failed check: what is known)."""
        from warehouse.airflow_common import build_report as build

        return build(qc_run_id)

    @task(execution_timeout=timedelta(minutes=20))
    def build_dbt_docs() -> str:
        """dbt docs of the warehouse (descriptions, lineage, exposures) beside the report, served with it."""
        from warehouse import orchestration
        from warehouse.config import warehouse_url
        from warehouse.dbt import build_docs

        return str(build_docs(warehouse_url(orchestration.CONN_TRANSFORMER)))

    @task(retries=0)
    def check_checks(qc_run_id: int) -> None:
        """Fails the run if an expectation could not be evaluated, naming it."""
        from warehouse.airflow_common import fail_on_errored

        fail_on_errored(qc_run_id)

    qc_run = validate_marts()
    build_report(qc_run)
    qc_run >> build_dbt_docs()
    check_checks(qc_run)


edu_validate_marts()
