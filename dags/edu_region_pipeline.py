"""The region's pipeline: make sure there are files, create the raw schema, load every feed, report, build marts.

The registry loads first (every other feed resolves school codes through it); the other feeds then
load as one mapped task each. The report task prints the summary and fails the run if a file failed.
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
    def report(registry: list[dict], feeds: list[list[dict]]) -> dict:
        from ingestion.core.loader import LoadResult
        from ingestion.run import FAILED, summary

        results = [LoadResult(**r) for r in registry] + [LoadResult(**r) for batch in feeds for r in batch]
        text = summary(results)
        print(text)
        failed = [r.message for r in results if r.status in FAILED]
        if failed:
            raise RuntimeError("Не все файлы загружены:\n" + "\n".join(failed))
        return {"files": len(results), "rows_loaded": sum(r.rows_loaded for r in results)}

    @task
    def build_marts() -> None:
        """dbt build: staging, intermediate models and the marts, with their tests."""
        from warehouse.dbt import run_dbt

        if not run_dbt(["build"]):
            raise RuntimeError("dbt build завершился с ошибкой: см. журнал задачи")

    landing = prepare_landing()
    schema = create_schema()
    registry = load_registry(landing)
    schema >> registry
    feeds = load_feed.partial(landing=landing).expand(feed=_other_feeds())
    registry >> feeds
    report(registry, feeds) >> build_marts()


def _other_feeds() -> list[str]:
    from ingestion.feeds import LOADERS, REGISTRY_LOADERS

    return [loader.feed for loader in LOADERS if loader not in REGISTRY_LOADERS]


def _load(loaders, landing: str) -> list[dict]:
    from dataclasses import asdict

    from ingestion.run import connect, load_feed

    results = []
    with connect() as conn:
        for loader in loaders:
            results += [asdict(r) | {"reasons": dict(r.reasons)} for r in load_feed(conn, loader, Path(landing))]
    return results


edu_region_pipeline()
