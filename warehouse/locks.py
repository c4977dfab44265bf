"""Loads and dbt builds of one warehouse exclude each other, so the marts are built from one state of raw.

A load's transaction takes the shared form of one advisory lock (loads still run side by side); a build
holds the exclusive form on a connection of its own for the whole ``dbt build``. A build therefore waits
for the loads that are committing and a load waits for the running build, so no load can commit between
the models of one build and leave marts that disagree. Advisory locks are per database: the loads and
the build of one warehouse meet, other databases on the same server do not.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

NAMESPACE = 4243  # ingestion.core.ledger uses 4242 for its own locks
WAREHOUSE = 0


def share_with_loads(conn: psycopg.Connection) -> None:
    """Inside a load's transaction: wait for a running build; released when the transaction ends."""
    conn.execute("select pg_advisory_xact_lock_shared(%s, %s)", (NAMESPACE, WAREHOUSE))


@contextmanager
def exclusive_build(url: str) -> Iterator[psycopg.Connection]:
    """Held around a build: waits for committing loads, keeps new ones waiting until the build ends."""
    with psycopg.connect(url, autocommit=True, application_name="edu dbt build lock") as conn:
        conn.execute("select pg_advisory_lock(%s, %s)", (NAMESPACE, WAREHOUSE))
        try:
            yield conn
        finally:
            conn.execute("select pg_advisory_unlock(%s, %s)", (NAMESPACE, WAREHOUSE))
