"""The qc schema's tables, and who may read them."""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql

HERE = Path(__file__).parent
# qc tables naming a municipality: municipal analysts read only their own rows (row-level security).
MUNICIPAL_TABLES = ("run_loads", "expectation_failures", "blocked_loads", "quarantine_summary", "feed_volumes")
READ_ROLES = ("edu_reader", "edu_municipal_analyst")
LOCK_NAMESPACE = 4243  # advisory locks of the qc schema (ingestion uses 4242)
# What the other stages read of qc, granted by its owner: the loads' summary names the blocked files
# (ingestion.run.ledger_summary), dbt's run-end hook keeps withheld marts closed (grant_access.sql).
STAGE_READS = (("edu_loader", "blocked_loads"), ("edu_transformer", "withheld_marts"))
# The marts' owner changes the read roles' grants on a mart (deploy/warehouse/init/): the checks do not own them.
SET_READABLE = "admin.set_mart_readable(text,boolean)"


def ensure_qc(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s, 0)", (LOCK_NAMESPACE,))
        conn.execute((HERE / "schema.sql").read_text(encoding="utf-8"))
        _grant_stage_reads(conn)


def _grant_stage_reads(conn: psycopg.Connection) -> None:
    """Grants to the roles that exist (none on the embedded server before dbt has run), only where missing."""
    if not conn.execute("select pg_has_role(current_user, nspowner, 'usage') from pg_namespace "
                        "where nspname = 'qc'").fetchone()[0]:
        return
    for role, table in STAGE_READS:
        if not conn.execute("select exists (select 1 from pg_roles where rolname = %s)", (role,)).fetchone()[0]:
            continue
        if not conn.execute("select has_schema_privilege(%s, 'qc', 'usage')", (role,)).fetchone()[0]:
            conn.execute(sql.SQL("grant usage on schema qc to {}").format(sql.Identifier(role)))
        if not conn.execute("select has_table_privilege(%s, %s, 'select')", (role, f"qc.{table}")).fetchone()[0]:
            conn.execute(sql.SQL("grant select on {} to {}").format(sql.Identifier("qc", table), sql.Identifier(role)))


def scopes_exist(conn: psycopg.Connection) -> bool:
    return conn.execute("select to_regclass('access.analyst_scopes') is not null").fetchone()[0] and _roles_exist(conn)


def grant_access(conn: psycopg.Connection) -> bool:
    """Grants and policies; False (nothing done) until dbt has created the roles and the analysts' scopes."""
    if not scopes_exist(conn):
        return False
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s, 0)", (LOCK_NAMESPACE,))
        conn.execute((HERE / "access.sql").read_text(encoding="utf-8"))
        for name in MUNICIPAL_TABLES:
            table = sql.Identifier("qc", name)
            conn.execute(sql.SQL("alter table {} enable row level security").format(table))
            conn.execute(sql.SQL("drop policy if exists bi_reads_all on {}").format(table))
            conn.execute(sql.SQL("create policy bi_reads_all on {} for select to edu_reader using (true)").format(
                table))
            conn.execute(sql.SQL("drop policy if exists analyst_reads_own_municipality on {}").format(table))
            conn.execute(sql.SQL(
                "create policy analyst_reads_own_municipality on {} for select to edu_municipal_analyst using "
                "(municipality in (select s.municipality from access.analyst_scopes as s "
                "where pg_has_role(current_user, s.role_name, 'member')))").format(table))
    return True


def withhold_mart(conn: psycopg.Connection, relation: str, run_id: int, reasons: str) -> None:
    """A mart whose blocking check failed is not published: the read roles lose it until a check passes."""
    conn.execute("insert into qc.withheld_marts (relation, run_id, reasons) values (%s, %s, %s) "
                 "on conflict (relation) do update set run_id = excluded.run_id, reasons = excluded.reasons",
                 (relation, run_id, reasons))
    if _roles_exist(conn):
        _set_readable(conn, relation, False)


def publish_mart(conn: psycopg.Connection, relation: str) -> None:
    """A withheld mart that passed its checks is readable again."""
    if conn.execute("delete from qc.withheld_marts where relation = %s", (relation,)).rowcount and _roles_exist(conn):
        _set_readable(conn, relation, True)


def _set_readable(conn: psycopg.Connection, relation: str, readable: bool) -> None:
    """Through the marts' owner where the warehouse has the project's roles; else (the embedded server's
    superuser owns everything) directly."""
    if conn.execute("select to_regprocedure(%s) is not null", (SET_READABLE,)).fetchone()[0]:
        conn.execute("select admin.set_mart_readable(%s, %s)", (relation, readable))
        return
    statement = "grant select on {} to edu_reader, edu_municipal_analyst" if readable else \
        "revoke select on {} from edu_reader, edu_municipal_analyst"
    conn.execute(sql.SQL(statement).format(sql.Identifier(*relation.split(".", 1))))


def _roles_exist(conn: psycopg.Connection) -> bool:
    return conn.execute("select count(*) = 2 from pg_roles where rolname = any(%s)", (list(READ_ROLES),)).fetchone()[0]
