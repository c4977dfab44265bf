"""Running dbt against the warehouse: the profile's connection comes from the warehouse URL.

    python -m warehouse.dbt build [dbt arguments…]
    python -m warehouse.dbt docs [OUT_DIR]      # dbt docs into <EDU_REPORT_DIR>/dbt-docs/ (build_docs)
    python -m warehouse.dbt freshness           # dbt source freshness, one line per feed (source_freshness)

A run holds the warehouse's build lock (``warehouse.locks``): no load commits while dbt builds.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from warehouse import locks
from warehouse.config import warehouse_url
from warehouse.paths import REPORT_DIR, ROOT

DBT_DIR = ROOT / "dbt_project"
DOCS_DIR = REPORT_DIR / "dbt-docs"
# The files a browser or a tool needs: index.html is dbt's single-page --static build (manifest and catalog
# inlined, so it opens from disk as well as from the static server); the JSON artifacts are kept for tools.
DOCS_FILES = {"static_index.html": "index.html", "manifest.json": "manifest.json", "catalog.json": "catalog.json"}


def profile_env(url: str) -> dict[str, str]:
    """The variables dbt_project/profiles.yml reads, from a URL or a key=value connection string.

    A password file named in the URL (the embedded server's ``passfile``) is passed on as ``PGPASSFILE``,
    which libpq reads when the profile's password is empty; the password itself stays in the file.
    """
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(url)
    env = {
        "EDU_PG_HOST": str(parts.get("host") or "127.0.0.1"),
        "EDU_PG_PORT": str(parts.get("port") or 5432),
        "EDU_PG_USER": str(parts.get("user") or "postgres"),
        "EDU_PG_PASSWORD": str(parts.get("password") or ""),
        "EDU_PG_DATABASE": str(parts.get("dbname") or "edu"),
    }
    if parts.get("passfile"):
        env["PGPASSFILE"] = str(parts["passfile"])
    return env


def run_dbt(args: list[str], url: str | None = None, project_dir: Path = DBT_DIR) -> bool:
    """Invoke dbt in-process; True when every node succeeded."""
    import airflow  # noqa: F401  (dbt and Airflow share dependencies; import order avoids a known cycle)
    from dbt.cli.main import dbtRunner

    url = url or warehouse_url()
    os.environ.update(profile_env(url))
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    with locks.exclusive_build(url):
        result = dbtRunner().invoke([*args, "--project-dir", str(project_dir), "--profiles-dir", str(DBT_DIR)])
    return bool(result.success)


def parse_manifest() -> bool:
    """``dbt parse``: target/manifest.json, from which Cosmos renders the build DAG. Needs no connection."""
    import airflow  # noqa: F401  (see run_dbt)
    from dbt.cli.main import dbtRunner

    for name, value in profile_env("postgresql://localhost/edu").items():
        os.environ.setdefault(name, value)
    result = dbtRunner().invoke(["parse", "--quiet", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)])
    return bool(result.success)


def _scratch_target() -> Path:
    """A private target folder (not the project's target/, which Cosmos and builds read), seeded with the
    project's partial-parse cache so that parsing stays fast; dbt ignores the cache when it does not match."""
    target = Path(tempfile.mkdtemp(prefix="edu-dbt-"))
    cache = DBT_DIR / "target" / "partial_parse.msgpack"
    if cache.is_file():
        shutil.copy2(cache, target / cache.name)
    return target


def build_docs(url: str | None = None, out_dir: Path | None = None) -> Path:
    """Build dbt docs of the warehouse into `out_dir` (default ``<EDU_REPORT_DIR>/dbt-docs``); returns index.html.

    ``dbt docs generate --static`` reads the catalogue (tables, columns, types, comments) from the database and
    writes one self-contained page; it loads nothing from the network (usage tracking is off). The folder is
    replaced only after a successful build: a failed one leaves the previous docs in place.
    """
    out_dir = Path(out_dir) if out_dir is not None else DOCS_DIR
    target = _scratch_target()
    try:
        if not run_dbt(["docs", "generate", "--static", "--no-send-anonymous-usage-stats",
                        "--target-path", str(target)], url=url):
            raise RuntimeError("dbt docs generate завершился с ошибкой: документация dbt не обновлена")
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        fresh = Path(tempfile.mkdtemp(prefix=".dbt-docs-", dir=out_dir.parent))
        for name, shown in DOCS_FILES.items():
            shutil.copy2(target / name, fresh / shown)
            (fresh / shown).chmod(0o644)
        fresh.chmod(0o755)
        old = out_dir.with_name(f".{out_dir.name}-old")
        shutil.rmtree(old, ignore_errors=True)
        if out_dir.exists():
            out_dir.rename(old)
        fresh.rename(out_dir)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(target, ignore_errors=True)
    return out_dir / "index.html"


def source_freshness(url: str | None = None, select: list[str] | None = None,
                     dbt_vars: dict | None = None) -> list[dict]:
    """``dbt source freshness`` of the raw feeds: per source table its status (pass, warn, error, runtime error),
    the last arrival (``max_loaded_at``) and its age in seconds. Thresholds: vars freshness_warn_after_days and
    freshness_error_after_days (dbt_project.yml), overridable by `dbt_vars`."""
    target = _scratch_target()
    try:
        args = ["source", "freshness", "--target-path", str(target), "--output", str(target / "sources.json")]
        if select:
            args += ["--select", *select]
        if dbt_vars:
            args += ["--vars", json.dumps(dbt_vars)]
        run_dbt(args, url=url)  # a stale feed makes dbt fail; the statuses say which
        output = target / "sources.json"
        if not output.is_file():
            raise RuntimeError("dbt source freshness не записал результат (sources.json): см. журнал dbt")
        results = json.loads(output.read_text())["results"]
    finally:
        shutil.rmtree(target, ignore_errors=True)
    return [{"source": r["unique_id"].removeprefix("source.edu_warehouse."), "status": r["status"],
             "max_loaded_at": r.get("max_loaded_at"), "age_seconds": r.get("max_loaded_at_time_ago_in_s"),
             "message": r.get("message")} for r in results]


def _main(argv: list[str]) -> int:
    if argv[:1] == ["docs"] and argv[1:2] != ["generate"]:
        print(build_docs(out_dir=Path(argv[1]) if len(argv) > 1 else None))
        return 0
    if argv[:1] == ["freshness"]:
        results = source_freshness(select=argv[1:] or None)
        for r in results:
            print(f"{r['status']:<14} {r['source']:<40} {r['max_loaded_at'] or '—'}")
        return 0 if all(r["status"] == "pass" for r in results) else 1
    return 0 if run_dbt(argv or ["build"]) else 1


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
