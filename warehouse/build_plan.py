"""Which part of the dbt project a build of the marts runs: all of it, or only what the new loads feed.

A build after new loads of a few feeds runs the models downstream of those feeds' raw tables
(``dbt build --select source:raw.<table>+``) and their tests; everything else in the marts is unchanged since the
last successful build, so rebuilding it would change nothing. A full build runs when there is no successful build
to start from, when the dbt project changed since that build (models, macros, seeds, tests: a checksum of its
files), or when the build was started by hand. Each successful build is recorded in ``qc.dbt_builds`` of the
warehouse it built, so the state belongs to the warehouse, not to the machine that ran dbt.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg
import yaml

from warehouse.airflow_common import FEED_TABLES
from warehouse.paths import ROOT

DBT_DIR = ROOT / "dbt_project"
# what the models are made of; target/, logs/ and installed packages are outputs, not sources
PROJECT_PARTS = ("models", "macros", "seeds", "tests", "snapshots", "analyses", "dbt_project.yml", "packages.yml",
                 "dependencies.yml")

BUILDS_DDL = """
create table if not exists qc.dbt_builds (
    build_id bigserial primary key,
    qc_run_id bigint not null,
    project_checksum text not null,
    full_build boolean not null,
    selection text not null,
    finished_at timestamptz not null default now()
)"""


@dataclass(frozen=True)
class Plan:
    full: bool
    select: str  # dbt --select, space-separated; empty: the whole project
    feeds: tuple[str, ...]
    reason: str  # in Russian, for the task log

    def as_dict(self) -> dict:
        return asdict(self) | {"feeds": list(self.feeds)}


def project_checksum(project_dir: Path = DBT_DIR) -> str:
    """sha256 over the project's source files (relative path and content), in a fixed order."""
    digest = hashlib.sha256()
    for part in PROJECT_PARTS:
        path = project_dir / part
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path] if path.is_file() else []
        for f in files:
            digest.update(f.relative_to(project_dir).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(f.read_bytes()).digest())
    return digest.hexdigest()


def raw_sources(project_dir: Path = DBT_DIR) -> set[str]:
    """The raw tables the dbt project reads: the tables of its source ``raw`` (the models' YAML files; no parse)."""
    tables = set()
    for path in sorted((project_dir / "models").rglob("*.yml")):
        for source in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("sources") or []:
            if source.get("name") == "raw":
                tables |= {t["name"] for t in source.get("tables") or []}
    return tables


def source_selection(feeds, sources: set[str]) -> list[str]:
    """dbt selectors for everything downstream of the feeds' raw tables (tables no model reads are left out)."""
    tables = sorted({t for feed in feeds for t in FEED_TABLES.get(feed, ()) if t in sources})
    return [f"source:raw.{t}+" for t in tables]


def ensure_builds_table(conn: psycopg.Connection) -> None:
    conn.execute(BUILDS_DDL)


def last_build(conn: psycopg.Connection) -> tuple[int, str] | None:
    """(qc run, project checksum) of the last successful build, or None."""
    ensure_builds_table(conn)
    return conn.execute("select qc_run_id, project_checksum from qc.dbt_builds order by build_id desc limit 1"
                        ).fetchone()


def feeds_since(conn: psycopg.Connection, after_qc_run: int, up_to_qc_run: int) -> list[str]:
    """Feeds with loads claimed by the qc runs after the last successful build, up to this one (a failed build's
    loads are taken again by the next one)."""
    return [f for (f,) in conn.execute(
        "select distinct feed from qc.run_loads where run_id > %s and run_id <= %s order by 1",
        (after_qc_run, up_to_qc_run))]


def plan(conn: psycopg.Connection, qc_run_id: int, manual: bool, project_dir: Path = DBT_DIR,
         checksum: str | None = None) -> Plan:
    checksum = checksum or project_checksum(project_dir)
    previous = last_build(conn)
    if manual:
        return Plan(True, "", (), "запуск вручную: полная сборка")
    if previous is None:
        return Plan(True, "", (), "успешных сборок ещё не было: полная сборка")
    if previous[1] != checksum:
        return Plan(True, "", (), "проект dbt изменился после прошлой сборки: полная сборка")
    feeds = feeds_since(conn, previous[0], qc_run_id)
    select = source_selection(feeds, raw_sources(project_dir))
    reason = (f"новые загрузки потоков {', '.join(feeds)}: сборка моделей после их таблиц" if select else
              f"новые загрузки потоков {', '.join(feeds) or '—'} не читает ни одна модель: сборка не нужна")
    return Plan(False, " ".join(select), tuple(feeds), reason)


def record(conn: psycopg.Connection, qc_run_id: int, built: Plan, checksum: str | None = None) -> None:
    ensure_builds_table(conn)
    conn.execute("insert into qc.dbt_builds (qc_run_id, project_checksum, full_build, selection) "
                 "values (%s, %s, %s, %s)", (qc_run_id, checksum or project_checksum(), built.full, built.select))
