"""The region's pipeline: make sure there are files, create the raw schema, load every feed, report, build marts.

The registry loads first (every other feed resolves school codes through it); the other feeds then
load as one mapped task each, and the files no feed reads are recorded as refused. A bad file is that
file's failure, never the run's: every other file loads, the report task prints the summary (files
loaded, failed, refused, skipped by design). The feed suites (Great Expectations, ``expectations/``)
then validate the run's loads and block those that fail a blocking check; the marts are built from the
rest, the mart suites validate them, and the analysts' report is built from the ``qc`` schema. Only then
does the last task, ``check_files``, fail the run if some file failed, was refused or was blocked, so
that the run shows red and its log lists the files to look at.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow.sdk import Param, dag, task

from warehouse.paths import LANDING_DIR


@dag(
    dag_id="edu_region_pipeline",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["edu", "load"],
    default_args={"owner": "data-engineering", "retries": 0},
    params={
        "landing": Param(str(LANDING_DIR), type="string", description="Папка приёма файлов"),
        "demo_schools": Param(160, type="integer", description="Число школ демо-региона, если папка пуста"),
        "demo_seed": Param(42, type="integer", description="Зерно генератора демо-региона"),
    },
    doc_md=__doc__,
)
def edu_region_pipeline():
    @task
    def prepare_landing(params=None) -> str:
        """Generate the demo region when the landing folder holds no files yet."""
        landing = Path(params["landing"])
        if not any(p.is_file() for p in landing.rglob("*") if "_truth" not in p.parts):
            from ingestion.demo import generate_region

            # one process: a task runs beside the supervisor's threads, where forking workers can deadlock
            generate_region(landing, schools=params["demo_schools"], seed=params["demo_seed"], workers=1)
        return str(landing)

    @task
    def create_schema() -> None:
        from ingestion.run import connect, ensure_schema

        with connect() as conn:
            ensure_schema(conn)

    @task
    def load_registry(landing: str) -> list[dict]:
        from ingestion.feeds import REGISTRY_LOADERS

        return _load(REGISTRY_LOADERS, landing)

    @task
    def load_feed(feed: str, landing: str) -> list[dict]:
        from ingestion.feeds import BY_FEED

        return _load([BY_FEED[feed]], landing)

    @task
    def record_unread(landing: str) -> list[dict]:
        """Files no feed reads (unknown format, a folder that is no feed): refused in the ledger."""
        from dataclasses import asdict

        from ingestion.run import connect
        from ingestion.run import record_unread as record

        with connect() as conn:
            return [asdict(r) | {"reasons": dict(r.reasons)} for r in record(conn, Path(landing))]

    @task
    def report(registry: list[dict], feeds: list[list[dict]], unread: list[dict], landing: str) -> dict:
        """Print the run's summary; never fails, so that the marts are built from whatever loaded."""
        from ingestion.run import NOT_LOADED, ignored_files, summary

        results = [_result(r) for r in registry] + [_result(r) for batch in feeds for r in batch]
        results += [_result(r) for r in unread]
        print(summary(results, ignored_files(Path(landing))))
        return {"files": len(results), "rows_loaded": sum(r.rows_loaded for r in results),
                "not_loaded": [r.message for r in results if r.status in NOT_LOADED]}

    @task
    def validate_feeds(outcome: dict, run_id=None, params=None) -> dict:
        """GX feed suites on this run's loads; a load failing a 'block' expectation is kept out of the marts."""
        return outcome | {"qc_run_id": _validate("feeds", None, run_id, params["landing"])}

    @task
    def build_marts(outcome: dict) -> dict:
        """dbt build: staging, intermediate models and the marts, with their tests; passes the report on."""
        from warehouse.dbt import run_dbt

        if not run_dbt(["build"]):
            raise RuntimeError("dbt build завершился с ошибкой: см. журнал задачи")
        return outcome

    @task
    def validate_marts(outcome: dict) -> dict:
        """GX mart suites; a mart failing a 'block' expectation is withheld from BI and analysts."""
        from ingestion.run import blocked_files, connect
        from quality.validate import errored_checks

        _validate("marts", outcome["qc_run_id"])
        with connect() as conn:
            return outcome | {"blocked": blocked_files(conn, outcome["qc_run_id"]),
                              "errored": errored_checks(conn, outcome["qc_run_id"])}

    @task(trigger_rule="all_done")
    def build_report() -> str:
        """The analysts' validation report from the qc schema (also after a failed build: what is known)."""
        from ingestion.run import connect
        from report import build_report as build
        from warehouse.paths import REPORT_DIR

        with connect() as conn:
            index = build(conn, REPORT_DIR)
            if conn.execute("select to_regclass('qc.runs') is not null").fetchone()[0]:
                conn.execute("update qc.runs set report_path = %s where run_id = (select max(run_id) from qc.runs)",
                             (str(index),))
        print(f"Отчёт о проверке данных: {index}")
        return str(index)

    @task
    def check_files(outcome: dict) -> None:
        """After the marts: the run fails if some file was not loaded or was blocked, or a check could not be
        evaluated, naming each one."""
        problems = outcome["not_loaded"] + outcome.get("blocked", [])
        errored = outcome.get("errored", [])
        if problems or errored:
            raise RuntimeError(f"Не загружено или заблокировано проверками файлов: {len(problems)}; проверок, "
                               f"которые не удалось выполнить: {len(errored)} (витрины построены по остальным):\n"
                               + "\n".join(problems + errored))

    landing = prepare_landing()
    schema = create_schema()
    registry = load_registry(landing)
    schema >> registry
    feeds = load_feed.partial(landing=landing).expand(feed=_other_feeds())
    registry >> feeds
    unread = record_unread(landing)
    registry >> unread
    validated = validate_marts(build_marts(validate_feeds(report(registry, feeds, unread, landing))))
    validated >> build_report()
    check_files(validated)


def _other_feeds() -> list[str]:
    from ingestion.feeds import LOADERS, REGISTRY_LOADERS

    return [loader.feed for loader in LOADERS if loader not in REGISTRY_LOADERS]


def _result(fields: dict):
    from collections import Counter

    from ingestion.core.loader import LoadResult

    return LoadResult(**(fields | {"reasons": Counter(fields.get("reasons") or {})}))


def _validate(stage: str, qc_run_id: int | None, airflow_run_id: str | None = None, landing: str | None = None) -> int:
    import logging

    from ingestion.run import connect
    from quality.validate import run_stage
    from warehouse.config import warehouse_url
    from warehouse.paths import REPORT_DIR

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    url = warehouse_url()
    with connect(url) as conn:
        qc_run_id, outcomes = run_stage(conn, stage, REPORT_DIR / "gx", url, qc_run_id,
                                        airflow_run_id, landing)
    for o in outcomes:
        print(f"{o.suite}: {o.outcome}" + (f" — {', '.join(o.failed)}" if o.failed else ""))
    return qc_run_id


def _load(loaders, landing: str) -> list[dict]:
    from dataclasses import asdict

    from ingestion.run import connect, load_feed

    results = []
    with connect() as conn:
        for loader in loaders:
            results += [asdict(r) | {"reasons": dict(r.reasons)} for r in load_feed(conn, loader, Path(landing))]
    return results


edu_region_pipeline()
