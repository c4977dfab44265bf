"""The raw schema's tables as the data-quality layer sees them: which hold file rows, with which columns.

One place for the question, asked by the views staging reads (``current_views``), the store of replaced
rows (``superseded``) and the checks (``quality``).
"""

from __future__ import annotations

import psycopg

# Bookkeeping tables: they have no file rows of their own (or, school_keys, rows no check blocks).
PASSED_THROUGH = {"file_ledger", "load_ledger", "quarantine", "quarantine_reasons", "school_keys",
                  "school_keys_ambiguous"}


def columns(conn: psycopg.Connection, schema: str, table: str) -> list[str]:
    return [c for (c,) in conn.execute(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
        "order by ordinal_position", (schema, table))]


def tables(conn: psycopg.Connection) -> list[tuple[str, bool]]:
    """Every raw table, and whether it holds file rows (a load_id column, not bookkeeping)."""
    return [(table, has_load_id and table not in PASSED_THROUGH) for table, has_load_id in conn.execute(
        """select c.relname, exists (select 1 from pg_attribute a where a.attrelid = c.oid
                                     and a.attname = 'load_id' and not a.attisdropped)
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = 'raw' and c.relkind in ('r', 'p') order by 1""")]


def data_tables(conn: psycopg.Connection) -> list[str]:
    """Raw tables holding file rows."""
    return [table for table, holds_rows in tables(conn) if holds_rows]
