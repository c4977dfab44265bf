"""The pipeline as the project's roles (deploy/warehouse/init/), as on the compose server: a fresh database
initialised by the init script, loads as edu_loader_app, checks and report as edu_qc_app, dbt as
edu_transformer_app; BI (edu_bi_app) reads the marts and qc only, a municipal analyst their own rows."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
import uuid

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ingestion.run import load_all
from tests.conftest import TEST_KEY
from warehouse.paths import ROOT

INIT_SCRIPT = ROOT / "deploy" / "warehouse" / "init" / "10-edu-roles.sh"
APP_ROLES = {"edu_loader_app": "WAREHOUSE_LOADER_PASSWORD", "edu_transformer_app": "WAREHOUSE_TRANSFORMER_PASSWORD",
             "edu_qc_app": "WAREHOUSE_QC_PASSWORD", "edu_bi_app": "WAREHOUSE_BI_PASSWORD"}
PERSON = "edu_roles_test_person"  # a person's login, given the analyst role of Nazarovo by the DBA
NAZAROVO = "г. Назарово"
# the dbt variables run_dbt sets in os.environ: restored after the module (other tests run as the superuser)
DBT_ENV = ("EDU_PG_HOST", "EDU_PG_PORT", "EDU_PG_USER", "EDU_PG_PASSWORD", "EDU_PG_DATABASE", "PGPASSFILE")


def _psql_dir() -> str | None:
    if os.environ.get("EDU_WAREHOUSE_URL"):
        found = shutil.which("psql")
        return os.path.dirname(found) if found else None
    from warehouse import embedded

    return str(embedded.server().bin_dir)


def run_init(admin_url: str, database: str, passwords: dict[str, str]) -> subprocess.CompletedProcess:
    """The init script as the postgres image's entrypoint runs it: psql on PATH, the superuser, the database."""
    parts = conninfo_to_dict(admin_url)
    env = {"PATH": f"{_psql_dir()}:{os.environ['PATH']}", "PGHOST": str(parts.get("host", "127.0.0.1")),
           "PGPORT": str(parts.get("port", 5432)), "POSTGRES_USER": str(parts.get("user", "postgres")),
           "POSTGRES_DB": database, **{APP_ROLES[role]: password for role, password in passwords.items()}}
    if parts.get("passfile"):
        env["PGPASSFILE"] = str(parts["passfile"])
    if parts.get("password"):
        env["PGPASSWORD"] = str(parts["password"])
    return subprocess.run(["bash", str(INIT_SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def roles_db(server_url):
    """A fresh database (no template: nothing in it is the superuser's) with the init script applied."""
    name = f"edu_roles_{uuid.uuid4().hex[:8]}"
    admin_url = make_conninfo(server_url, dbname="postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        # login roles made here are dropped afterwards (their passwords are not kept anywhere)
        made = [r for r in APP_ROLES if not admin.execute("select 1 from pg_roles where rolname = %s", (r,)).fetchone()]
    passwords = {role: secrets.token_urlsafe(16) for role in APP_ROLES}
    done = run_init(server_url, name, passwords)
    assert done.returncode == 0, done.stderr
    assert run_init(server_url, name, passwords).returncode == 0, "the init script must be safe to run again"
    urls = {role: make_conninfo(server_url, dbname=name, user=role, password=password)
            for role, password in passwords.items()}
    urls["superuser"] = make_conninfo(server_url, dbname=name)
    yield urls
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(PERSON)))
        for role in made:
            admin.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))


@pytest.fixture(scope="module")
def pipeline(roles_db, demo_landing, tmp_path_factory):
    """Every stage as its own role; returns the stages' timings and the checks' run id."""
    from quality.validate import run_stage
    from report import build_report
    from warehouse.dbt import run_dbt

    saved = {k: os.environ.get(k) for k in DBT_ENV}
    work = tmp_path_factory.mktemp("roles")
    landing = work / "landing"
    shutil.copytree(demo_landing, landing)
    timings = {}
    try:
        started = time.monotonic()
        with psycopg.connect(roles_db["edu_loader_app"], autocommit=True) as conn:
            results = load_all(conn, landing, key=TEST_KEY)
        timings["load"] = time.monotonic() - started
        assert results and not [r for r in results if r.status in ("failed", "rejected")]
        with psycopg.connect(roles_db["edu_qc_app"], autocommit=True) as conn:
            started = time.monotonic()
            run_id, feed_outcomes = run_stage(conn, "feeds", work / "report" / "gx", roles_db["edu_qc_app"])
            timings["feeds"] = time.monotonic() - started
            started = time.monotonic()
            built = run_dbt(["build"], url=roles_db["edu_transformer_app"])
            timings["dbt"] = time.monotonic() - started
            assert built, "dbt build failed as edu_transformer_app"
            started = time.monotonic()
            _, mart_outcomes = run_stage(conn, "marts", work / "report" / "gx", roles_db["edu_qc_app"], run_id)
            timings["marts"] = time.monotonic() - started
            started = time.monotonic()
            index = build_report(conn, work / "site")
            timings["report"] = time.monotonic() - started
        print("stage timings, s:", {k: round(v, 1) for k, v in timings.items()})
        yield {"run_id": run_id, "feeds": feed_outcomes, "marts": mart_outcomes, "index": index,
               "results": results}
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def query(url: str, statement: str, params=None) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(statement, params).fetchall()


def denied(url: str, statement: str) -> bool:
    try:
        query(url, statement)
    except psycopg.errors.InsufficientPrivilege:
        return True
    return False


def test_every_stage_runs_as_its_role(pipeline, roles_db):
    su = roles_db["superuser"]
    assert pipeline["index"].exists()
    run = query(su, "select status, finished_at is not null from qc.runs where run_id = %s", (pipeline["run_id"],))
    assert run and run[0][1] and run[0][0] in ("passed", "warned", "blocked"), run
    assert not [o for o in pipeline["feeds"] + pipeline["marts"] if o.outcome == "error"]
    assert query(su, "select count(*) from qc.validations where run_id = %s and kind = 'mart'",
                 (pipeline["run_id"],))[0][0] >= 10
    # every object belongs to the group role of the stage that made it: none to a login or the superuser
    owners = dict(query(su, """
        select n.nspname || '/' || pg_get_userbyid(c.relowner), count(*) from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('raw', 'raw_current', 'raw_superseded', 'staging', 'intermediate', 'marts', 'reference',
                            'qc', 'qc_work', 'access') and c.relkind in ('r', 'p', 'v', 'm')
        group by 1"""))
    assert {k.split("/")[1] for k in owners} == {"edu_loader", "edu_transformer", "edu_qc"}, owners
    for schema, owner in [("raw", "edu_loader"), ("raw_current", "edu_loader"), ("raw_superseded", "edu_loader"),
                          ("marts", "edu_transformer"), ("staging", "edu_transformer"), ("qc", "edu_qc")]:
        assert owners.get(f"{schema}/{owner}", 0) > 0, (schema, owners)
    # the roles the hook made for the seed's analysts, through admin.ensure_analyst_role
    assert query(su, "select pg_has_role('edu_analyst_nazarovo', 'edu_municipal_analyst', 'member')")[0][0]


def test_no_app_role_is_privileged(pipeline, roles_db):
    rows = query(roles_db["superuser"], """
        select rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication, rolcanlogin
        from pg_roles where rolname like 'edu\\_%' and rolname not like 'edu\\_roles\\_test%'""")
    roles = {r[0]: r[1:] for r in rows}
    for role in APP_ROLES:
        assert roles[role] == (False, False, False, False, False, True), (role, roles[role])
    for role, flags in roles.items():
        assert not flags[0] and not flags[3], role  # no superuser, nobody bypasses row-level security
        assert not flags[1] or role == "edu_role_admin", role  # only the analysts' role maker creates roles
    # a stage's login acts as its group
    assert query(roles_db["edu_loader_app"], "select current_user")[0][0] == "edu_loader"
    assert query(roles_db["edu_qc_app"], "select current_user")[0][0] == "edu_qc"


def test_bi_reads_marts_and_qc_only(pipeline, roles_db):
    bi = roles_db["edu_bi_app"]
    everyone = {m for (m,) in query(roles_db["superuser"], "select distinct municipality from marts.dim_school")}
    assert len(everyone) >= 3
    assert {m for (m,) in query(bi, "select distinct municipality from marts.mart_school_results")} == everyone
    assert query(bi, "select count(*) from qc.runs")[0][0] >= 1
    assert query(bi, "select count(*) from qc.validations")[0][0] >= 10
    for relation in ("raw.vpr_results", "raw.load_ledger", "raw_current.vpr_results", "raw_superseded.vpr_results",
                     "staging.stg_fis_oko__vpr_results", "intermediate.int_task_results", "marts.fct_pupil_results",
                     "qc_work.current_batch", "reference.analyst_scopes"):
        assert denied(bi, f"select 1 from {relation} limit 1"), relation
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        query(bi, "create temp table t (a int)")


def test_no_role_reads_pupil_rows_it_should_not(pipeline, roles_db):
    """Every relation with a pupil's pseudonym: closed to BI and analysts; the loader reads only raw, the checks
    everything but the pupil-level mart."""
    su = roles_db["superuser"]
    pupil_relations = [r for (r,) in query(su, """
        select distinct format('%I.%I', table_schema, table_name) from information_schema.columns
        where column_name in ('participant_id', 'participant_code', 'pupil_code', 'pupil_id')
          and table_schema not in ('pg_catalog', 'information_schema')""")]
    assert "marts.fct_pupil_results" in pupil_relations and len(pupil_relations) >= 5, pupil_relations
    for relation in pupil_relations:
        for role in ("edu_bi_app", "edu_reader", "edu_municipal_analyst", "edu_analyst_nazarovo"):
            assert not query(su, "select has_table_privilege(%s, %s, 'select')", (role, relation))[0][0], \
                (role, relation)
        if not relation.startswith(("raw.", "raw_current.", "raw_superseded.")):
            assert not query(su, "select has_table_privilege('edu_loader_app', %s, 'select')", (relation,))[0][0], \
                relation
    assert not query(su, "select has_table_privilege('edu_qc_app', 'marts.fct_pupil_results', 'select')")[0][0]
    assert denied(roles_db["edu_qc_app"], "select 1 from marts.fct_pupil_results limit 1")
    assert denied(roles_db["edu_loader_app"], "select 1 from marts.mart_school_results limit 1")
    assert denied(roles_db["edu_loader_app"], "select 1 from staging.stg_fis_oko__vpr_results limit 1")
    assert denied(roles_db["edu_transformer_app"], "select 1 from qc_work.current_batch limit 1")
    assert denied(roles_db["edu_transformer_app"], "delete from raw.vpr_results")


def test_municipal_analyst_sees_own_municipality(pipeline, roles_db, server_url):
    su = roles_db["superuser"]
    password = secrets.token_urlsafe(16)
    with psycopg.connect(su, autocommit=True) as conn:  # the DBA gives a person a login in Nazarovo's role
        conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(PERSON)))
        conn.execute(sql.SQL("create role {} login password {} in role edu_analyst_nazarovo").format(
            sql.Identifier(PERSON), sql.Literal(password)))
    person = make_conninfo(su, user=PERSON, password=password)
    for mart in ("mart_school_results", "mart_low_results", "dim_school", "mart_seed_indicators"):
        assert {m for (m,) in query(person, f"select distinct municipality from marts.{mart}")} == {NAZAROVO}, mart
    assert {m for (m,) in query(person, "select distinct municipality from qc.run_loads "
                                        "where municipality is not null")} <= {NAZAROVO}
    assert denied(person, "select 1 from raw.school_registry limit 1")


def test_a_withheld_mart_is_closed_through_its_owner(pipeline, roles_db):
    """The checks do not own the marts: withholding and publishing go through admin.set_mart_readable."""
    from quality import access

    bi = roles_db["edu_bi_app"]
    with psycopg.connect(roles_db["edu_qc_app"], autocommit=True) as conn:
        access.withhold_mart(conn, "marts.dim_school", pipeline["run_id"], "проверка ролей")
        assert denied(bi, "select count(*) from marts.dim_school")
        access.publish_mart(conn, "marts.dim_school")
        assert query(bi, "select count(*) from marts.dim_school")[0][0] > 0
        with pytest.raises(psycopg.errors.RaiseException):  # never a pupil-level mart, never outside marts
            conn.execute("select admin.set_mart_readable('marts.fct_pupil_results', true)")
        with pytest.raises(psycopg.errors.RaiseException):
            conn.execute("select admin.set_mart_readable('raw.vpr_results', true)")
    assert denied(bi, "select 1 from marts.fct_pupil_results limit 1")


def test_checks_may_block_a_load_and_give_back_what_it_replaced(pipeline, roles_db):
    """What a blocking check writes outside qc, as edu_qc_app: the ledger's status, the replaced rows moved
    back from raw_superseded to raw and purged there (rolled back: the privileges are what is checked)."""
    from ingestion.core import superseded
    from quality import runs

    with psycopg.connect(roles_db["edu_qc_app"]) as conn:
        load_id = conn.execute("select max(load_id) from raw.load_ledger where status = 'loaded' "
                               "and feed = 'vpr_individual'").fetchone()[0]
        assert conn.execute("update raw.load_ledger set status = 'blocked' where load_id = %s", (load_id,)).rowcount
        runs.restore_superseded(conn, load_id)
        conn.execute("update raw.load_ledger set superseded_by = null where superseded_by = %s", (load_id,))
        superseded.purge(conn, [load_id])
        conn.execute("insert into raw.vpr_results select * from raw.vpr_results limit 0")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # but not the ledger's other columns
            conn.execute("update raw.load_ledger set rows_loaded = 0 where load_id = %s", (load_id,))
        conn.rollback()
    with psycopg.connect(roles_db["edu_loader_app"]) as conn:  # and the loader writes nothing of qc
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("delete from qc.blocked_loads")
        conn.rollback()
