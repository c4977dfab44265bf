"""Running dbt against the warehouse: the profile's connection comes from the warehouse URL.

    python -m warehouse.dbt build [dbt arguments…]

A run holds the warehouse's build lock (``warehouse.locks``): no load commits while dbt builds.
"""

from __future__ import annotations

import os
import sys

from warehouse import locks
from warehouse.config import warehouse_url
from warehouse.paths import ROOT

DBT_DIR = ROOT / "dbt_project"


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


def run_dbt(args: list[str], url: str | None = None) -> bool:
    """Invoke dbt in-process; True when every node succeeded."""
    import airflow  # noqa: F401  (dbt and Airflow share dependencies; import order avoids a known cycle)
    from dbt.cli.main import dbtRunner

    url = url or warehouse_url()
    os.environ.update(profile_env(url))
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    with locks.exclusive_build(url):
        result = dbtRunner().invoke([*args, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)])
    return bool(result.success)


def parse_manifest() -> bool:
    """``dbt parse``: target/manifest.json, from which Cosmos renders the build DAG. Needs no connection."""
    import airflow  # noqa: F401  (see run_dbt)
    from dbt.cli.main import dbtRunner

    for name, value in profile_env("postgresql://localhost/edu").items():
        os.environ.setdefault(name, value)
    result = dbtRunner().invoke(["parse", "--quiet", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)])
    return bool(result.success)


if __name__ == "__main__":
    raise SystemExit(0 if run_dbt(sys.argv[1:] or ["build"]) else 1)
