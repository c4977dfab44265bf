"""The schema raw_current: what staging reads — every raw table as a view, without the rows of blocked loads.

A load blocked by a data-quality check (status 'blocked' in raw.load_ledger, see quality/) keeps its rows
in raw, so that analysts can see what was held back and a corrected file can replace them; the views keep
them out of dbt's staging and so out of the marts. Bookkeeping tables (ledgers, quarantine, school keys)
are passed through whole.
"""

from __future__ import annotations

import logging

import psycopg
from psycopg import sql

from ingestion.core import raw_tables
from ingestion.core.grants import ensure_schema_exists

log = logging.getLogger(__name__)

SCHEMA = "raw_current"


def ensure_views(conn: psycopg.Connection) -> None:
    """Create or refresh the views (columns added to a raw table appear in its view)."""
    ensure_schema_exists(conn, SCHEMA)
    conn.execute(sql.SQL("comment on schema {} is {}").format(sql.Identifier(SCHEMA), sql.Literal(
        "Сырые данные в силе: таблицы raw без строк заблокированных проверками загрузок (их читает dbt)")))
    for table, holds_rows in raw_tables.tables(conn):
        select = sql.SQL("select t.* from raw.{} as t").format(sql.Identifier(table))
        if holds_rows:
            select += sql.SQL(" where not exists (select 1 from raw.load_ledger as l "
                              "where l.load_id = t.load_id and l.status = 'blocked')")
        view = sql.Identifier(SCHEMA, table)
        try:
            with conn.transaction():
                conn.execute(sql.SQL("create or replace view {} as ").format(view) + select)
        except psycopg.errors.InvalidTableDefinition:
            # a column dropped or retyped in raw: the dependent staging views are rebuilt by the next dbt run
            log.warning("Представление %s.%s пересоздаётся: изменились столбцы таблицы raw.%s", SCHEMA, table, table)
            with conn.transaction():
                conn.execute(sql.SQL("drop view {} cascade").format(view))
                conn.execute(sql.SQL("create view {} as ").format(view) + select)
