"""Rows a load replaced, kept until the load has passed its data-quality checks.

A corrected file replaces its partitions whole, at load time. If the checks then block it (quality/),
the rows it replaced must come back, or a bad resend would empty the partition it was meant to correct
(a blocked registry would leave every mart without municipalities). So replaced rows move to the schema
raw_superseded, tagged with the load that replaced them: a block moves them back and the earlier loads
are 'loaded' again; a pass deletes them.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from ingestion.core.grants import ensure_schema_exists
from ingestion.core.raw_tables import columns as _columns
from ingestion.core.raw_tables import data_tables

SCHEMA = "raw_superseded"


def _exists(conn: psycopg.Connection, table: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (f"{SCHEMA}.{table}",)).fetchone()[0]


def ensure_tables(conn: psycopg.Connection) -> None:
    """One table per raw data table, with its columns (added ones too) and the replacing load."""
    ensure_schema_exists(conn, SCHEMA)
    for table in data_tables(conn):
        target = sql.Identifier(SCHEMA, table)
        conn.execute(sql.SQL("create table if not exists {} (like raw.{}, replaced_by bigint not null)").format(
            target, sql.Identifier(table)))
        conn.execute(sql.SQL("create index if not exists {} on {} (replaced_by)").format(
            sql.Identifier(f"{table}_replaced_by"), target))
        have = set(_columns(conn, SCHEMA, table))
        for column, kind in conn.execute(
                "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
                "where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum",
                (f"raw.{table}",)).fetchall():
            if column not in have:
                conn.execute(sql.SQL("alter table {} add column {} " + kind).format(target, sql.Identifier(column)))


def keep_deleted(conn: psycopg.Connection, table: str, table_columns: list[str], delete: sql.Composable,
                 params: tuple, replaced_by: int, into: str | None = None) -> None:
    """Run ``delete`` (a DELETE … RETURNING t.* on raw.<table>, whose columns are ``table_columns``) keeping
    the deleted rows in raw_superseded.

    With ``into``, the deleted rows' (load_id, source_row) are also inserted into that temp table.
    """
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in table_columns)
    statement = sql.SQL("with d as ({delete}), kept as (insert into {target} ({columns}, replaced_by) "
                        "select {columns}, {replaced_by} from d) ").format(
        delete=delete, target=sql.Identifier(SCHEMA, table), columns=columns, replaced_by=sql.Literal(replaced_by))
    if into:
        statement += sql.SQL("insert into {} select d.load_id, d.source_row from d").format(sql.Identifier(into))
    else:
        statement += sql.SQL("select 1")
    conn.execute(statement, params)


def restore(conn: psycopg.Connection, load_id: int) -> tuple[int, list[int]]:
    """The rows ``load_id`` replaced go back to raw and their loads are 'loaded' again.

    Returns the number of rows and the loads they belong to (the caller decides whether a load that comes
    back had ever passed its checks).
    """
    restored, loads = 0, set()
    for table in data_tables(conn):
        if not _exists(conn, table):
            continue
        columns = sql.SQL(", ").join(sql.Identifier(c) for c in _columns(conn, "raw", table))
        rows = conn.execute(sql.SQL(
            "with m as (delete from {source} where replaced_by = %s returning *), "
            "i as (insert into raw.{table} ({columns}) select {columns} from m returning load_id) "
            "select load_id, count(*) from i group by load_id").format(
            source=sql.Identifier(SCHEMA, table), table=sql.Identifier(table), columns=columns), (load_id,)).fetchall()
        restored += sum(n for _, n in rows)
        loads.update(load for load, _ in rows)
    conn.execute("update raw.load_ledger set status = 'loaded', superseded_by = null "
                 "where superseded_by = %s and status = 'replaced'", (load_id,))
    return restored, sorted(loads)


def purge(conn: psycopg.Connection, load_ids: list[int]) -> int:
    """The loads passed their checks: the rows they replaced are gone for good, and so are the rows replaced
    by the loads they replaced in turn (a resend superseded by a second resend before any check ran)."""
    if not load_ids:
        return 0
    chain = [load for (load,) in conn.execute(
        """with recursive chain (load_id) as (
               select unnest(%s::bigint[])
               union
               select l.load_id from raw.load_ledger l join chain c on l.superseded_by = c.load_id
               where l.status = 'replaced')
           select load_id from chain""", (list(load_ids),))]
    purged = 0
    for table in data_tables(conn):
        if not _exists(conn, table):
            continue
        purged += conn.execute(sql.SQL("delete from {} where replaced_by = any(%s)").format(
            sql.Identifier(SCHEMA, table)), (chain,)).rowcount
    return purged
