"""Loads of the landing folder, one DAG per feed family: federal, regional, municipal.

Each DAG looks into the landing folder on its schedule (``EDU_LOAD_SCHEDULE``, hourly by default) and loads the
new files of its feeds, one task per feed, named after it. A file already loaded (same checksum) is skipped, a
failed load leaves no rows, so a retry or a second run changes nothing. A feed task that loaded something emits
the Assets of the raw tables it changed, and the marts DAG (``edu_build_marts``) starts on them; a feed with
nothing new ends *skipped* and emits nothing. In the regional DAG the school registry loads first (the other
feeds resolve school codes through it) and the files no feed reads are recorded as refused. The last task,
``check_files``, prints the family's summary and fails the run if some file failed or was refused, naming each.
An empty landing folder loads nothing and says so; no DAG ever writes files into it.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import Param, dag, task

from warehouse import orchestration as names
from warehouse.airflow_common import DEFAULT_ARGS, FAMILIES, REGISTRY_FEEDS, feed_assets
from warehouse.paths import LANDING_DIR

# a cron expression or preset; "none": started only by hand or by the main job
SCHEDULE = os.environ.get("EDU_LOAD_SCHEDULE", "@hourly")
SCHEDULE = None if SCHEDULE.strip().lower() in ("", "none") else SCHEDULE
TITLES = {names.DAG_LOAD_FEDERAL: "федеральные потоки (ФИС ОКО, РЦОИ, списки ШНОР и «500+»)",
          names.DAG_LOAD_REGIONAL: "региональные потоки (реестр ОО, КДР, социальный паспорт)",
          names.DAG_LOAD_MUNICIPAL: "муниципальные потоки (успеваемость, олимпиады, кадры, меры поддержки)"}


def load_dag(dag_id: str, feeds: tuple[str, ...]):
    @dag(
        dag_id=dag_id,
        description=f"Загрузка: {TITLES[dag_id]}",
        schedule=SCHEDULE,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,  # with the per-feed locks in the warehouse: two loads of one partition never overlap
        dagrun_timeout=timedelta(hours=3),
        tags=["edu", "load", dag_id.removeprefix("edu_load_")],
        default_args=DEFAULT_ARGS,
        params={"landing": Param(str(LANDING_DIR), type="string", description="Папка приёма файлов")},
        doc_md=__doc__,
    )
    def family():
        @task(retries=3)
        def create_schema() -> None:
            """The raw schema and the ledger (idempotent)."""
            from ingestion.run import connect, ensure_schema
            from warehouse.config import warehouse_url

            with connect(warehouse_url(names.CONN_LOADER)) as conn:
                ensure_schema(conn)

        def feed_task(feed: str):
            # none_failed: a feed before it that had nothing new (skipped) does not stop it
            @task(task_id=feed, pool=names.POOL_LOADS, outlets=feed_assets(feed), trigger_rule="none_failed",
                  execution_timeout=timedelta(hours=1), doc_md=f"Загрузка новых файлов потока {feed}")
            def load(params=None) -> list[dict]:
                from airflow.sdk.exceptions import AirflowSkipException

                from warehouse.airflow_common import load_feed

                results = load_feed(feed, params["landing"])
                for r in results:
                    print(f"{r['file']}: {r['status']}, прочитано {r['rows_read']}, загружено {r['rows_loaded']}, "
                          f"отложено {r['rows_quarantined']}" + (f" — {r['message']}" if r.get("message") else ""))
                if not any(r["status"] == "loaded" for r in results):
                    # nothing changed in the warehouse: no Asset event, the marts are not rebuilt for it
                    raise AirflowSkipException(f"Новых файлов потока {feed} нет" if not results else
                                               f"Поток {feed}: ни один файл не загружен (см. check_files)")
                return results

            return load()

        @task(trigger_rule="none_failed")
        def record_unread(params=None) -> None:
            """Files no feed reads (unknown format, a folder that is no feed): refused in the ledger."""
            from pathlib import Path

            from ingestion.run import connect
            from ingestion.run import record_unread as record
            from warehouse.config import warehouse_url

            with connect(warehouse_url(names.CONN_LOADER)) as conn:
                for r in record(conn, Path(params["landing"])):
                    print(r.message)

        @task(trigger_rule="all_done", retries=0)
        def check_files(params=None, dag_run=None) -> None:
            """The family's summary of this run, from the ledger; fails if a file failed or was refused."""
            from warehouse.airflow_common import family_summary

            text, problems = family_summary(feeds, dag_run.start_date, params["landing"])
            print(text)
            if problems:
                raise RuntimeError(f"Не загружено файлов: {len(problems)}:\n" + "\n".join(problems))

        @task.sensor(poke_interval=2, timeout=3600, mode="poke")
        def wait_for_registry(params=None) -> bool:
            """School codes resolve through the registry: until it is loaded (the regional DAG), rows would be
            quarantined as unknown schools, so wait for it — unless there is nothing to load. Usually loaded long
            ago (the first poke passes); on a first load it waits in one light process, polling every 2 s."""
            from warehouse.airflow_common import family_has_files, registry_loaded

            return registry_loaded() or not family_has_files(feeds, params["landing"])

        schema = create_schema()
        first = [f for f in feeds if f in REGISTRY_FEEDS]
        previous = schema
        if not first:
            previous = wait_for_registry()
            schema >> previous
        for feed in first:  # the registry (and its reorganisations) before the feeds that resolve through it
            current = feed_task(feed)
            previous >> current
            previous = current
        others = [feed_task(f) for f in feeds if f not in REGISTRY_FEEDS]
        for t in others:
            previous >> t
        done = check_files()
        if first:
            unread = record_unread()
            previous >> unread >> done
        for t in [previous, *others]:
            t >> done

    return family()


for _dag_id, _feeds in FAMILIES.items():
    globals()[_dag_id] = load_dag(_dag_id, _feeds)
