"""Reload one school year: the reviewed way to redo a past year after a loader fix or a change of the registry.

Started by hand with the Param ``school_year`` (and, optionally, the feeds to reload). For every feed whose rows
carry a school year, the files whose current loads hold that year's rows are loaded again from their archived
originals; each new load replaces the earlier one partition by partition, exactly as a corrected file would.
Reloading the same year twice leaves the same rows, and the scheduled load DAGs skip those files by checksum,
so a later run does not undo the reload. The feeds' Assets are emitted, so the marts are rebuilt and checked.
The registry (a snapshot, no school year) is never reloaded here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, dag, task

from warehouse import orchestration as names
from warehouse.airflow_common import DEFAULT_ARGS, FAMILIES, REGISTRY_FEEDS, feed_assets
from warehouse.paths import LANDING_DIR

FEEDS = [feed for feeds in FAMILIES.values() for feed in feeds if feed not in REGISTRY_FEEDS]


@dag(
    dag_id=names.DAG_RELOAD,
    description="Перезагрузка одного учебного года из архива исходных файлов",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=3),
    tags=["edu", "load", "reload"],
    default_args=DEFAULT_ARGS,
    params={
        "school_year": Param(type="integer", minimum=2000, maximum=2100,
                             description="Учебный год (по году весны: 2025 — это 2024/2025 учебный год)"),
        "feeds": Param(FEEDS, type="array", items={"type": "string", "enum": FEEDS},
                       description="Потоки данных для перезагрузки (по умолчанию все, кроме реестра ОО)"),
        "landing": Param(str(LANDING_DIR), type="string", description="Папка приёма файлов (архив — рядом с ней)"),
    },
    doc_md=__doc__,
)
def edu_reload_school_year():
    def feed_task(feed: str):
        @task(task_id=feed, pool=names.POOL_LOADS, outlets=feed_assets(feed),
              execution_timeout=timedelta(hours=1), doc_md=f"Перезагрузка учебного года: поток {feed}")
        def reload(params=None) -> list[dict]:
            from airflow.sdk.exceptions import AirflowSkipException

            from warehouse.airflow_common import load_feed

            if feed not in params["feeds"]:
                raise AirflowSkipException(f"Поток {feed} не выбран для перезагрузки")
            results = load_feed(feed, params["landing"], school_year=int(params["school_year"]))
            for r in results:
                print(f"{r['file']}: {r['status']}, загружено {r['rows_loaded']}, заменено {r['rows_replaced']}")
            if not any(r["status"] == "loaded" for r in results):
                raise AirflowSkipException(f"Поток {feed}: файлов {params['school_year']} года в хранилище нет"
                                           if not results else f"Поток {feed}: ни один файл не перезагружен")
            return results

        return reload()

    @task(trigger_rule="all_done", retries=0)
    def check_files(params=None, dag_run=None) -> None:
        from warehouse.airflow_common import family_summary

        text, problems = family_summary(params["feeds"], dag_run.start_date, params["landing"])
        print(text)
        if problems:
            raise RuntimeError(f"Не перезагружено файлов: {len(problems)}:\n" + "\n".join(problems))

    done = check_files()
    for feed in FEEDS:
        feed_task(feed) >> done


edu_reload_school_year()
