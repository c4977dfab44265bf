"""A demo region loaded and built in its own database, for the evaluation scripts.

    from eval_pipeline import prepare        # bench/ scripts run as `python bench/<script>.py`
    url, truth = prepare("realistic", seed=42)                # generate (400 schools), load, dbt build
    url, truth = prepare("current", landing=Path("data/landing"))         # take an existing landing folder

Each (profile, schools, seed, cut-change year) or landing folder gets a database named after it
(`edu_eval_<profile>_…`); it is built again only when the truth file it was built from changed, so
running several evaluation scripts one after another loads each region once. The files go to
`.local/eval/<name>/` unless a landing folder is given. The server is the one `EDU_WAREHOUSE_URL` names,
or the embedded one.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from warehouse.config import pseudonym_key, warehouse_url  # noqa: E402
from warehouse.dbt import run_dbt  # noqa: E402

EVAL_DIR = ROOT / ".local" / "eval"
PROFILES = ("current", "realistic")
DEFAULT_SCHOOLS = {"current": 160, "realistic": 400}  # the generator's defaults per profile


def region_name(profile: str, schools: int, seed: int, cut_change_year: int | None) -> str:
    cut = f"_cut{cut_change_year}" if cut_change_year else ""
    return f"{profile}_{schools}_s{seed}{cut}"


def generate(out: Path, profile: str, schools: int, seed: int, cut_change_year: int | None) -> None:
    """The demo generator in a subprocess (its own memory; the same command a user would run)."""
    cmd = [sys.executable, "-m", "ingestion.demo", "--out", str(out), "--schools", str(schools),
           "--seed", str(seed), "--profile", profile, "--clean"]
    if cut_change_year:
        cmd += ["--cut-change-year", str(cut_change_year)]
    subprocess.run(cmd, check=True, cwd=ROOT)


def _truth_digest(landing: Path) -> str:
    return hashlib.sha256((landing / "_truth" / "truth.json").read_bytes()).hexdigest()


def _database_digest(server: str, database: str) -> str | None:
    admin = psycopg.conninfo.make_conninfo(server, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (database,)).fetchone():
            return None
    with psycopg.connect(psycopg.conninfo.make_conninfo(server, dbname=database)) as conn:
        if not conn.execute("select to_regclass('public.eval_build') is not null").fetchone()[0]:
            return None
        row = conn.execute("select truth_sha256 from public.eval_build where complete").fetchone()
        return row[0] if row else None


def build(landing: Path, database: str, *, force: bool = False) -> str:
    """Load `landing` into `database` and run `dbt build`; reuse the database when it was built from the
    same truth file. Returns the database's URL."""
    server = warehouse_url()
    url = psycopg.conninfo.make_conninfo(server, dbname=database)
    digest = _truth_digest(landing)
    if not force and _database_digest(server, database) == digest:
        return url
    from ingestion.run import load_all

    started = time.perf_counter()
    admin = psycopg.conninfo.make_conninfo(server, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(database)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
    with psycopg.connect(url, autocommit=True) as conn:
        load_all(conn, landing, key=pseudonym_key())
        conn.execute("create table public.eval_build (truth_sha256 text, complete boolean)")
    loaded = time.perf_counter()
    if not run_dbt(["build", "--quiet"], url):
        raise SystemExit(f"dbt build завершился с ошибками на базе {database}")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("insert into public.eval_build values (%s, true)", (digest,))
    print(f"[{database}] загрузка {loaded - started:.0f} с, dbt build {time.perf_counter() - loaded:.0f} с",
          file=sys.stderr)
    return url


def prepare(profile: str, *, landing: Path | None = None, schools: int | None = None, seed: int = 42,
            cut_change_year: int | None = None, force: bool = False) -> tuple[str, dict]:
    """(warehouse URL, truth.json) of a built demo region: `landing` if given, else a generated one of
    `schools` schools (by default the profile's own size: current 160, realistic 400)."""
    if landing is None:
        schools = schools or DEFAULT_SCHOOLS[profile]
        name = region_name(profile, schools, seed, cut_change_year)
        landing = EVAL_DIR / name
        truth_file = landing / "_truth" / "truth.json"
        if force or not truth_file.exists() or _generated_with(truth_file) != (profile, schools, seed,
                                                                                cut_change_year):
            generate(landing, profile, schools, seed, cut_change_year)
    else:
        name = f"{profile}_" + hashlib.sha256(str(landing.resolve()).encode()).hexdigest()[:8]
    truth = json.loads((landing / "_truth" / "truth.json").read_text(encoding="utf-8"))
    return build(landing, f"edu_eval_{name}", force=force), truth


def _generated_with(truth_file: Path) -> tuple:
    doc = json.loads(truth_file.read_text(encoding="utf-8"))
    cut = (doc.get("cut_change") or {}).get("year")
    return doc.get("profile", "current"), len(doc["schools"]), doc["seed"], cut
