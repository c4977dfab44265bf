"""A validation run's bookkeeping: the loads it saw, released blocks, quarantine and volume summaries."""

from __future__ import annotations

import psycopg
from psycopg import sql

from ingestion.core import raw_tables, superseded

# A load belongs to one municipality when at least this share of its rows (with a known municipality) do.
MUNICIPAL_SHARE = 0.9
REGISTRY = """(select distinct on (registry_code) registry_code, municipality from raw_current.school_registry
              order by registry_code, load_id desc)"""


def columns(conn: psycopg.Connection, schema: str, table: str) -> list[str]:
    return raw_tables.columns(conn, schema, table)


def data_tables(conn: psycopg.Connection) -> dict[str, list[str]]:
    """Raw tables holding file rows, with their columns."""
    return {table: raw_tables.columns(conn, "raw", table) for table in raw_tables.data_tables(conn)}


def registry(conn: psycopg.Connection) -> dict[str, str]:
    if conn.execute("select to_regclass('raw_current.school_registry')").fetchone()[0] is None:
        return {}
    return dict(conn.execute(f"select registry_code, municipality from {REGISTRY} r").fetchall())


def start_run(conn: psycopg.Connection, airflow_run_id: str | None = None, landing: str | None = None,
              claim_loads: bool = True) -> int:
    """A new run; it claims the loads finished since the last one (a marts-only run claims none)."""
    run_id = conn.execute("insert into qc.runs (airflow_run_id, landing) values (%s, %s) returning run_id",
                          (airflow_run_id, landing)).fetchone()[0]
    release_blocks(conn)
    if claim_loads:
        take_over_unfinished(conn, run_id)
        attach_loads(conn, run_id)
    return run_id


def restore_superseded(conn: psycopg.Connection, load_id: int) -> tuple[int, list[int]]:
    """A blocked load gives back the rows it replaced (ingestion.core.superseded): rows, and the loads back in
    force that never passed a check (replaced before any run validated them), which must be held back too."""
    rows, loads = superseded.restore(conn, load_id)
    unchecked = [load for (load,) in conn.execute(
        "select l.load_id from unnest(%s::bigint[]) as l (load_id) where not exists (select 1 from qc.run_loads rl "
        "where rl.load_id = l.load_id and rl.status in ('loaded', 'blocked'))", (loads,))]
    return rows, unchecked


def purge_superseded(conn: psycopg.Connection, run_id: int) -> int:
    """This run's loads that passed their checks keep their replacement for good."""
    passed = [load for (load,) in conn.execute(
        "select rl.load_id from qc.run_loads rl join raw.load_ledger l using (load_id) "
        "where rl.run_id = %s and l.status = 'loaded'", (run_id,))]
    return superseded.purge(conn, passed)


def take_over_unfinished(conn: psycopg.Connection, run_id: int) -> int:
    """Runs that stopped half-way (a failed build, a killed task) end as 'failed'; the loads of those that
    stopped before their feed suites finished join this run, so that no load is left unchecked."""
    moved = conn.execute(
        """update qc.run_loads rl set run_id = %s
           from qc.runs r
           where r.run_id = rl.run_id and r.finished_at is null and r.feeds_checked_at is null
             and r.run_id <> %s""", (run_id, run_id)).rowcount
    conn.execute("update qc.runs set finished_at = now(), status = 'failed' where finished_at is null and run_id <> %s",
                 (run_id,))
    return moved


def release_blocks(conn: psycopg.Connection) -> int:
    """Blocked loads that a later load replaced are released (their rows are gone from raw)."""
    return conn.execute(
        """update qc.blocked_loads b set released_at = now(), released_by_load = l.superseded_by
           from raw.load_ledger l
           where l.load_id = b.load_id and b.released_at is null and l.status <> 'blocked'""").rowcount


def attach_loads(conn: psycopg.Connection, run_id: int) -> int:
    """Every finished ledger load not yet seen by a run joins this one, with its municipality and year."""
    added = conn.execute(
        """insert into qc.run_loads (load_id, run_id, file_id, feed, file_name, status, rows_read, rows_loaded,
                                     rows_quarantined, error_message)
           select l.load_id, %s, l.file_id, l.feed, f.file_name, l.status, l.rows_read, l.rows_loaded,
                  l.rows_quarantined, l.error_message
           from raw.load_ledger l join raw.file_ledger f using (file_id)
           where l.status <> 'running' and not exists (select 1 from qc.run_loads r where r.load_id = l.load_id)""",
        (run_id,)).rowcount
    if added:
        _place_loads(conn, run_id)
    return added


def _place_loads(conn: psycopg.Connection, run_id: int) -> None:
    """Municipality and school year of each new load: from its rows, else from a municipality in its name."""
    conn.execute("create temp table load_places (load_id bigint, municipality text, school_year integer, "
                 "rows bigint) on commit drop")  # the caller holds a transaction
    for table, cols in data_tables(conn).items():
        year = next((c for c in ("school_year", "year", "plan_year") if c in cols), None)
        if "school_id" in cols:
            place = sql.SQL("coalesce(r.municipality, {})").format(
                sql.SQL("t.municipality") if "municipality" in cols else sql.SQL("null"))
            joined = sql.SQL(f"left join {REGISTRY} r on r.registry_code = t.school_id")
        elif "municipality" in cols or "plan_municipality" in cols:
            place = sql.Identifier("t", "municipality" if "municipality" in cols else "plan_municipality")
            joined = sql.SQL("")
        else:
            continue
        conn.execute(sql.SQL(
            "insert into load_places select t.load_id, {place}, {year}, count(*) from raw.{table} t {joined} "
            "where t.load_id in (select load_id from qc.run_loads where run_id = %s) group by 1, 2").format(
            place=place, year=sql.SQL("max(t.{})").format(sql.Identifier(year)) if year else sql.SQL("null"),
            table=sql.Identifier(table), joined=joined), (run_id,))
    conn.execute(
        """with shares as (
               select load_id, municipality, sum(rows) as rows,
                      sum(rows)::numeric / nullif(sum(sum(rows)) over (partition by load_id), 0) as share
               from load_places where municipality is not null group by 1, 2),
           years as (select load_id, max(school_year) as school_year from load_places group by 1)
           update qc.run_loads rl set
               municipality = (select s.municipality from shares s where s.load_id = rl.load_id
                               and s.share >= %s order by s.rows desc limit 1),
               school_year = (select y.school_year from years y where y.load_id = rl.load_id)
           where rl.run_id = %s""", (MUNICIPAL_SHARE, run_id))
    # Files without rows (failed, refused): a municipality named in the file name, if exactly one is.
    names = sorted({m for m in registry(conn).values() if m})
    for load_id, file_name in conn.execute(
            "select load_id, file_name from qc.run_loads where run_id = %s and municipality is null", (run_id,)):
        found = [m for m in names if m.lower() in file_name.lower()]
        if len(found) == 1:
            conn.execute("update qc.run_loads set municipality = %s where load_id = %s", (found[0], load_id))


def summarise_quarantine(conn: psycopg.Connection, run_id: int) -> None:
    conn.execute(
        """insert into qc.quarantine_summary (run_id, feed, municipality, reason_code, reason, rows, examples)
           select rl.run_id, rl.feed, rl.municipality, q.reason_code, r.description, count(*),
                  to_jsonb((array_agg(jsonb_build_object('load_id', q.load_id, 'file_name', rl.file_name,
                                                         'source_row', q.source_row, 'message', q.message)
                                      order by q.load_id, q.source_row))[1:5])
           from raw.quarantine q
           join qc.run_loads rl on rl.load_id = q.load_id
           join raw.quarantine_reasons r on r.reason_code = q.reason_code
           where rl.run_id = %s
           group by rl.run_id, rl.feed, rl.municipality, q.reason_code, r.description""", (run_id,))


def record_volumes(conn: psycopg.Connection, run_id: int, feeds: dict[str, str]) -> None:
    """What the warehouse holds now (unblocked loads), per feed, year and municipality."""
    for table, cols in data_tables(conn).items():
        year = next((c for c in ("school_year", "year", "plan_year") if c in cols), None)
        if "school_id" not in cols or year is None:
            continue
        participants = sql.SQL("count(distinct t.participant_id)") if "participant_id" in cols else sql.SQL("null")
        conn.execute(sql.SQL(
            """insert into qc.feed_volumes (run_id, feed, relation, school_year, municipality, schools,
                                            participants, rows)
               select %s, %s, %s, t.{year}, r.municipality, count(distinct t.school_id), {participants}, count(*)
               from raw_current.{table} t left join {registry} r on r.registry_code = t.school_id
               group by t.{year}, r.municipality""").format(
            year=sql.Identifier(year), participants=participants, table=sql.Identifier(table),
            registry=sql.SQL(REGISTRY)), (run_id, feeds.get(table, table), f"raw.{table}"))


def finish_run(conn: psycopg.Connection, run_id: int, status: str, docs_index: str | None) -> None:
    conn.execute("update qc.runs set finished_at = now(), status = %s, gx_docs_path = %s where run_id = %s",
                 (status, docs_index, run_id))
