"""The region's pipeline: make sure there are files, create the raw schema, load every feed, report, build marts.

The registry loads first (every other feed resolves school codes through it); the other feeds then
load as one mapped task each, and the files no feed reads are recorded as refused. A bad file is that
file's failure, never the run's: every other file loads, the report task prints the summary (files
loaded, failed, refused, skipped by design) and the marts are built from what loaded. Only then does the
last task, ``check_files``, fail the run if some file failed or was refused, so that the run shows red
and its log lists the files to look at.
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
    def build_marts(outcome: dict) -> dict:
        """dbt build: staging, intermediate models and the marts, with their tests; passes the report on."""
        from warehouse.dbt import run_dbt

        if not run_dbt(["build"]):
            raise RuntimeError("dbt build завершился с ошибкой: см. журнал задачи")
        return outcome

    @task
    def check_files(outcome: dict) -> None:
        """After the marts: the run fails if some file was not loaded, naming each one."""
        if outcome["not_loaded"]:
            raise RuntimeError(f"Не загружено файлов: {len(outcome['not_loaded'])} (витрины построены по "
                               "остальным):\n" + "\n".join(outcome["not_loaded"]))

    landing = prepare_landing()
    schema = create_schema()
    registry = load_registry(landing)
    schema >> registry
    feeds = load_feed.partial(landing=landing).expand(feed=_other_feeds())
    registry >> feeds
    unread = record_unread(landing)
    registry >> unread
    check_files(build_marts(report(registry, feeds, unread, landing)))


def _other_feeds() -> list[str]:
    from ingestion.feeds import LOADERS, REGISTRY_LOADERS

    return [loader.feed for loader in LOADERS if loader not in REGISTRY_LOADERS]


def _result(fields: dict):
    from collections import Counter

    from ingestion.core.loader import LoadResult

    return LoadResult(**(fields | {"reasons": Counter(fields.get("reasons") or {})}))


def _load(loaders, landing: str) -> list[dict]:
    from dataclasses import asdict

    from ingestion.run import connect, load_feed

    results = []
    with connect() as conn:
        for loader in loaders:
            results += [asdict(r) | {"reasons": dict(r.reasons)} for r in load_feed(conn, loader, Path(landing))]
    return results


edu_region_pipeline()
