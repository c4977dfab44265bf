"""What the stages after the loads may do with the raw schemas, granted by their owner (the loader).

With the project's roles (deploy/warehouse/init/) the loader owns raw, raw_current and raw_superseded, and
only an owner grants: so the loader grants, each time it makes sure of the schema, what the next stages need —
dbt (edu_transformer) reads raw_current; the data-quality checks (edu_qc) read raw, mark loads blocked in the
ledger and put back the rows a blocked load replaced (raw_superseded → raw). Default privileges (the init SQL)
cover new tables' SELECT; the per-table and per-column grants are here. Grants already held are not repeated
(concurrent GRANTs on one table collide). A role that does not exist yet is skipped: on the embedded
single-superuser server dbt's run-end hook creates the roles, and grants as the superuser (grant_access.sql).
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from ingestion.core.raw_tables import data_tables

TRANSFORMER = "edu_transformer"
QC = "edu_qc"
SCHEMAS = ("raw", "raw_current", "raw_superseded")


def ensure_schema_exists(conn: psycopg.Connection, name: str) -> None:
    """CREATE SCHEMA only when it is missing: even IF NOT EXISTS needs CREATE on the database, which the
    loader does not hold (its schemas are made for it by the init SQL)."""
    if conn.execute("select to_regnamespace(%s) is null", (name,)).fetchone()[0]:
        conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(name)))


def _roles(conn: psycopg.Connection) -> set[str]:
    return {r for (r,) in conn.execute("select rolname from pg_roles where rolname = any(%s)", ([TRANSFORMER, QC],))}


def _owns(conn: psycopg.Connection, schema: str) -> bool:
    """The current role has the owner's privileges on the schema (its owner, a member, or a superuser)."""
    return bool(conn.execute("select coalesce(bool_and(pg_has_role(current_user, nspowner, 'usage')), false) "
                             "from pg_namespace where nspname = %s", (schema,)).fetchone()[0])


def wanted(conn: psycopg.Connection, roles: set[str]) -> list[tuple[str, str, str, str]]:
    """(role, privilege, schema, table) the stages need on the raw schemas' tables and views."""
    out = []
    relations = conn.execute(
        """select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = any(%s) and c.relkind in ('r', 'p', 'v') order by 1, 2""", (list(SCHEMAS),)).fetchall()
    data = set(data_tables(conn))
    for schema, table in relations:
        if TRANSFORMER in roles and schema == "raw_current":
            out.append((TRANSFORMER, "SELECT", schema, table))
        if QC in roles:
            out.append((QC, "SELECT", schema, table))
            if schema == "raw_superseded":
                out.append((QC, "DELETE", schema, table))
            if schema == "raw" and table in data:
                out.append((QC, "INSERT", schema, table))  # a blocked load's replaced rows come back
    return out


def grant_stage_access(conn: psycopg.Connection) -> int:
    """Grant what is missing; returns the number of grants made (0 when the roles or the ownership are not
    there). Called inside the caller's transaction, under the schema's advisory lock."""
    roles = _roles(conn)
    if not roles or not all(_owns(conn, s) for s in SCHEMAS):
        return 0
    made = 0
    for schema in SCHEMAS:
        for role in sorted(roles):
            if role == TRANSFORMER and schema != "raw_current":
                continue
            if not conn.execute("select has_schema_privilege(%s, %s, 'usage')", (role, schema)).fetchone()[0]:
                conn.execute(sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(schema),
                                                                             sql.Identifier(role)))
                made += 1
    needed = wanted(conn, roles)
    missing = conn.execute(
        "select w.role, w.privilege, w.schema, w.tbl from unnest(%s::text[], %s::text[], %s::text[], %s::text[]) "
        "as w (role, privilege, schema, tbl) where not has_table_privilege(w.role, format('%%I.%%I', w.schema, w.tbl), "
        "w.privilege)", [list(column) for column in zip(*needed, strict=True)] if needed else [[], [], [], []]
    ).fetchall()
    for role, privilege, schema, table in missing:
        conn.execute(sql.SQL("grant {} on {} to {}").format(sql.SQL(privilege), sql.Identifier(schema, table),
                                                           sql.Identifier(role)))
        made += 1
    if QC in roles and conn.execute("select to_regclass('raw.load_ledger') is not null").fetchone()[0]:
        # the checks block a load (status) and bring back the loads a blocked one had replaced (superseded_by)
        for column in ("status", "superseded_by"):
            if not conn.execute("select has_column_privilege(%s, 'raw.load_ledger', %s, 'update')",
                                (QC, column)).fetchone()[0]:
                conn.execute(sql.SQL("grant update ({}) on raw.load_ledger to {}").format(
                    sql.Identifier(column), sql.Identifier(QC)))
                made += 1
    return made
