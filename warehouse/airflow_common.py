"""What the DAGs share: default task arguments, the raw tables' Assets, the failure callback and the task bodies.

Kept out of ``dags/`` so that the DAG processor parses only DAG files, and importable without Airflow's scheduler.
Heavy imports (pandas, GX, dbt) happen inside the functions, at run time, so that parsing a DAG stays fast.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from airflow.sdk import Asset, AssetAny

from warehouse import orchestration as names

log = logging.getLogger(__name__)

# Raw tables per feed (main table first). Kept here, not read from ingestion.feeds at parse time, so the DAG files
# do not import pandas; tests/test_dag_integrity.py checks it matches the loaders.
FEED_TABLES: dict[str, tuple[str, ...]] = {
    "registry_reorganisations": ("school_reorganisations",),
    "registry": ("school_registry",),
    "vpr_individual": ("vpr_results", "vpr_task_scores"),
    "vpr_marks": ("vpr_mark_stats",),
    "vpr_scores": ("vpr_score_stats", "vpr_score_stat_points"),
    "vpr_journal": ("vpr_journal_stats",),
    "vpr_tasks": ("vpr_task_stats", "vpr_task_stat_values"),
    "vpr_flat_marks": ("vpr_flat_marks",),
    "vpr_flat_scores": ("vpr_flat_scores", "vpr_flat_score_points"),
    "objectivity_markers": ("objectivity_markers", "objectivity_marker_values"),
    "gia": ("gia_results",),
    "shnor_list": ("shnor_list",),
    "project500": ("project500_schools",),
    "risk_profiles": ("project500_risk_profiles",),
    "kdr": ("kdr_results", "kdr_skill_scores"),
    "social_passport": ("social_passport",),
    "performance": ("performance",),
    "olympiads": ("olympiads",),
    "teachers": ("teachers",),
    "vacancies": ("vacancies",),
    "support_events": ("support_events", "support_event_schools"),
    "improvement_programmes": ("improvement_programmes",),
    "individual_routes": ("individual_routes",),
}
# Feed families, as the authorities receive them (../shared/domain/feeds.md): the registry loads first in its
# family, every other feed resolves school codes through it.
FAMILIES: dict[str, tuple[str, ...]] = {
    names.DAG_LOAD_FEDERAL: ("vpr_individual", "vpr_marks", "vpr_scores", "vpr_journal", "vpr_tasks",
                             "vpr_flat_marks", "vpr_flat_scores", "objectivity_markers", "gia", "shnor_list",
                             "project500", "risk_profiles"),
    names.DAG_LOAD_REGIONAL: ("registry_reorganisations", "registry", "kdr", "social_passport"),
    names.DAG_LOAD_MUNICIPAL: ("performance", "olympiads", "teachers", "vacancies", "support_events",
                               "improvement_programmes", "individual_routes"),
}
REGISTRY_FEEDS = ("registry_reorganisations", "registry")

RAW_ASSETS: dict[str, Asset] = {
    table: Asset(uri=names.raw_asset_uri(table), name=f"raw.{table}")
    for tables in FEED_TABLES.values() for table in tables
}


def raw_assets_any() -> AssetAny:
    return AssetAny(*RAW_ASSETS.values())


def feed_assets(feed: str) -> list[Asset]:
    return [RAW_ASSETS[table] for table in FEED_TABLES[feed]]


def record_failure(context) -> None:
    """on_failure_callback: the failed task in qc.task_failures, so that the analysts' report and BI see it.
    Never raises: a callback that fails hides the task's own error."""
    try:
        from ingestion.run import connect
        from quality.access import ensure_qc
        from warehouse.config import warehouse_url

        ti = context["ti"]
        error = str(context.get("exception") or "")[:2000]
        with connect(warehouse_url(names.CONN_QC)) as conn:
            ensure_qc(conn)
            conn.execute(
                "insert into qc.task_failures (dag_id, task_id, run_id, try_number, error) values (%s, %s, %s, %s, %s)",
                (ti.dag_id, ti.task_id, ti.run_id, ti.try_number, error))
    except Exception:  # logged: the task's own failure is what matters
        log.exception("Не удалось записать сбой задачи в qc.task_failures")


DEFAULT_ARGS = {
    "owner": "data-engineering",
    # Loads are idempotent (a file already loaded is skipped by checksum; a failed load leaves no rows), so a
    # retry after a lost connection or a killed worker is safe.
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "execution_timeout": timedelta(hours=1),
    "on_failure_callback": record_failure,
}


# ----------------------------------------------------------------------------------------------- task bodies

def load_feed(feed: str, landing: str, school_year: int | None = None) -> list[dict]:
    """Load the feed's new files (or, with school_year, reload that year's files); the results as dicts."""
    from dataclasses import asdict

    from ingestion.feeds import BY_FEED
    from ingestion.run import connect, reload_school_year
    from ingestion.run import load_feed as load
    from warehouse.config import warehouse_url

    with connect(warehouse_url(names.CONN_LOADER)) as conn:
        if school_year is None:
            results = load(conn, BY_FEED[feed], Path(landing))
        else:
            results = reload_school_year(conn, BY_FEED[feed], Path(landing), school_year)
    return [asdict(r) | {"reasons": dict(r.reasons)} for r in results]


def validate_stage(stage: str, qc_run_id: int | None, airflow_run_id: str | None = None,
                   landing: str | None = None) -> int:
    from ingestion.run import connect
    from quality.validate import run_stage
    from warehouse.config import warehouse_url
    from warehouse.paths import REPORT_DIR

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    url = warehouse_url(names.CONN_QC)
    with connect(url) as conn:
        qc_run_id, outcomes = run_stage(conn, stage, REPORT_DIR / "gx", url, qc_run_id, airflow_run_id, landing)
    for o in outcomes:
        print(f"{o.suite}: {o.outcome}" + (f" — {', '.join(o.failed)}" if o.failed else ""))
    return qc_run_id


def fail_on_blocked(qc_run_id: int) -> None:
    from ingestion.run import blocked_files, connect
    from warehouse.config import warehouse_url

    with connect(warehouse_url(names.CONN_QC)) as conn:
        blocked = blocked_files(conn, qc_run_id)
    if blocked:
        raise RuntimeError(f"Заблокировано проверками качества данных файлов: {len(blocked)} (витрины построены "
                           "без них):\n" + "\n".join(blocked))


def family_summary(feeds, since, landing: str) -> tuple[str, list[str]]:
    """A Russian summary of one load run of a family, from the ledger (loads started since `since`), and the
    lines naming the files that need attention (failed, every row quarantined, refused)."""
    from ingestion.core import landing as landing_folder
    from ingestion.feeds import BY_FEED
    from ingestion.run import NOT_LOADED, connect, files_for
    from warehouse.config import warehouse_url

    present = {feed: len(files_for(BY_FEED[feed], Path(landing))) for feed in feeds}
    with connect(warehouse_url(names.CONN_LOADER)) as conn:
        rows = conn.execute(
            """select l.feed, f.file_name, l.status, coalesce(l.rows_read, 0), coalesce(l.rows_loaded, 0),
                      coalesce(l.rows_quarantined, 0), l.error_message
               from raw.load_ledger l join raw.file_ledger f using (file_id)
               where (l.feed = any(%s) or l.feed = %s) and l.started_at >= %s order by l.load_id""",
            (list(feeds), landing_folder.UNREAD_FEED, since)).fetchall()
    if not any(present.values()) and not rows:
        return (f"В папке приёма {landing} нет файлов потоков {', '.join(feeds)}: ничего не загружено", [])
    lines = [f"{'поток':<26}{'файлов в папке':>15}{'загружено':>10}{'ошибок':>8}{'строк':>10}{'отложено':>10}"]
    for feed in feeds:
        mine = [r for r in rows if r[0] == feed]
        lines.append(f"{feed:<26}{present[feed]:>15}{sum(r[2] == 'loaded' for r in mine):>10}"
                     f"{sum(r[2] in NOT_LOADED for r in mine):>8}{sum(r[4] for r in mine):>10}"
                     f"{sum(r[5] for r in mine):>10}")
    new = sum(r[0] != landing_folder.UNREAD_FEED for r in rows)
    lines.append(f"Новых загрузок в этом запуске: {new}; остальные файлы уже были загружены (та же контрольная сумма)")
    problems = [f"«{name}» ({feed}): {status} — {message or ''}".rstrip(" —")
                for feed, name, status, _, _, _, message in rows if status in NOT_LOADED]
    return "\n".join(lines), problems


MART_FAMILIES = ("core", "facts", "objectivity", "results")


def mart_assets() -> list[Asset]:
    return [Asset(uri=names.marts_asset_uri(family), name=f"marts.{family}") for family in MART_FAMILIES]


def qc_run_of(triggering_asset_events) -> int | None:
    """The qc run of the build that emitted the triggering Asset events (their extra), or None: then the mart
    checks start a run of their own."""
    runs = [event.extra.get("qc_run_id") for events in (triggering_asset_events or {}).values() for event in events
            if event.extra and event.extra.get("qc_run_id") is not None]
    return max(runs) if runs else None


def build_report(qc_run_id: int | None = None) -> str:
    """The analysts' report; its path is recorded on the qc run it was built after (default: the latest)."""
    from ingestion.run import connect
    from report import build_report as build
    from warehouse.config import warehouse_url
    from warehouse.paths import REPORT_DIR

    with connect(warehouse_url(names.CONN_QC)) as conn:
        index = build(conn, REPORT_DIR)
        if conn.execute("select to_regclass('qc.runs') is not null").fetchone()[0]:
            conn.execute("update qc.runs set report_path = %s where run_id = coalesce(%s, (select max(run_id) "
                         "from qc.runs))", (str(index), qc_run_id))
    print(f"Отчёт о проверке данных: {index}")
    return str(index)


def fail_on_errored(qc_run_id: int) -> None:
    from ingestion.run import connect
    from quality.validate import errored_checks
    from warehouse.config import warehouse_url

    with connect(warehouse_url(names.CONN_QC)) as conn:
        errored = errored_checks(conn, qc_run_id)
    if errored:
        raise RuntimeError(f"Проверок, которые не удалось выполнить: {len(errored)}:\n" + "\n".join(errored))


def unclaimed_loads() -> bool:
    """Whether a build has anything to take: a finished load no qc run has claimed, or a qc run that stopped
    before its feed checks (its loads go to the next run). One query, before any check starts."""
    from ingestion.run import connect
    from warehouse.config import warehouse_url

    with connect(warehouse_url(names.CONN_QC)) as conn:
        if conn.execute("select to_regclass('raw.load_ledger') is null").fetchone()[0]:
            return False
        if conn.execute("select to_regclass('qc.run_loads') is null").fetchone()[0]:
            return conn.execute("select exists (select 1 from raw.load_ledger where status <> 'running')").fetchone()[0]
        return conn.execute(
            """select exists (select 1 from raw.load_ledger l where l.status <> 'running'
                                and not exists (select 1 from qc.run_loads r where r.load_id = l.load_id))
                      or exists (select 1 from qc.runs where finished_at is null and feeds_checked_at is null)"""
        ).fetchone()[0]


def new_loads(qc_run_id: int) -> int:
    """Loads the qc run claimed: those finished since the previous run's feed checks."""
    from ingestion.run import connect
    from warehouse.config import warehouse_url

    with connect(warehouse_url(names.CONN_QC)) as conn:
        return conn.execute("select count(*) from qc.run_loads where run_id = %s", (qc_run_id,)).fetchone()[0]


def plan_build(qc_run_id: int, manual: bool) -> dict:
    """What this build runs (warehouse.build_plan), as a dict for XCom."""
    from ingestion.run import connect
    from warehouse import build_plan
    from warehouse.config import warehouse_url

    with connect(warehouse_url(names.CONN_QC)) as conn:
        return build_plan.plan(conn, qc_run_id, manual).as_dict()


def record_build(qc_run_id: int, plan: dict) -> None:
    from ingestion.run import connect
    from warehouse import build_plan
    from warehouse.config import warehouse_url

    built = build_plan.Plan(plan["full"], plan["select"], tuple(plan["feeds"]), plan["reason"])
    with connect(warehouse_url(names.CONN_QC)) as conn, conn.transaction():
        build_plan.record(conn, qc_run_id, built)


def close_run_without_build(qc_run_id: int) -> None:
    """A build that takes nothing new ends its qc run with the feed checks' outcome (no mart checks follow):
    left open, the next run would count it as failed."""
    from ingestion.run import connect
    from quality import runs
    from quality.validate import run_status
    from warehouse.config import warehouse_url

    with connect(warehouse_url(names.CONN_QC)) as conn, conn.transaction():
        runs.finish_run(conn, qc_run_id, run_status(conn, qc_run_id), None)


def registry_loaded() -> bool:
    from ingestion.run import connect
    from warehouse.config import warehouse_url

    with connect(warehouse_url(names.CONN_LOADER)) as conn:
        if conn.execute("select to_regclass('raw.school_registry')").fetchone()[0] is None:
            return False
        return conn.execute("select exists (select 1 from raw.school_registry)").fetchone()[0]


def family_has_files(feeds, landing: str) -> bool:
    from ingestion.feeds import BY_FEED
    from ingestion.run import files_for

    return any(files_for(BY_FEED[feed], Path(landing)) for feed in feeds)
