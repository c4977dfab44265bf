"""Running the suites: feed suites on this run's loads (blocking loads), mart suites on the marts.

Each suite becomes a GX ExpectationSuite, ValidationDefinition and Checkpoint on a table asset (the
feed's batch view ``qc.batch_<table>`` or the mart); the results go to qc, the Data Docs to the report
folder. A failed 'block' expectation of a feed suite blocks the loads its unexpected rows come from
(every load of the batch when the rows cannot be told apart); of a mart suite, withholds the mart.
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from quality import access, gx_project, runs
from quality.suites import UNEXPECTED_ROWS, Suite, read_suites, to_gx

log = logging.getLogger(__name__)
MAX_EXAMPLES = 5
MAX_OFFENDING_ROWS = 100_000  # rows of one failed expectation read back to find loads and municipalities
# Example rows hold school keys and the values checked, never people: columns named like these are dropped.
PERSONAL = re.compile(r"name|participant|teacher|pupil|curator|mentor|fio|row_data|answers|class_label", re.I)
INDEX_COLUMNS = ("load_id", "source_row", "school_id", "municipality")


@dataclass
class Outcome:
    validation_id: int
    suite: str
    outcome: str
    failed: list[str] = field(default_factory=list)
    blocked_loads: set[int] = field(default_factory=set)


def _stamp() -> datetime:
    return datetime.now(tz=UTC)


def refresh_batch(conn: psycopg.Connection, run_id: int) -> int:
    """qc.current_batch := this run's loaded loads; a view qc.batch_<table> per raw table reads them."""
    conn.execute("truncate qc.current_batch")
    count = conn.execute(
        """insert into qc.current_batch select rl.load_id from qc.run_loads rl
           join raw.load_ledger l using (load_id) where rl.run_id = %s and l.status = 'loaded'""",
        (run_id,)).rowcount
    for table in runs.data_tables(conn):
        view = sql.Identifier("qc", f"batch_{table}")
        select = sql.SQL("select t.* from raw.{} as t where t.load_id in (select b.load_id from qc.current_batch as b)"
                         ).format(sql.Identifier(table))
        try:
            with conn.transaction():
                conn.execute(sql.SQL("create or replace view {} as ").format(view) + select)
        except psycopg.errors.InvalidTableDefinition:  # columns of raw changed: nothing depends on these views
            with conn.transaction():
                conn.execute(sql.SQL("drop view {}").format(view))
                conn.execute(sql.SQL("create view {} as ").format(view) + select)
    return count


def _relation_exists(conn, schema: str, table: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (f"{schema}.{table}",)).fetchone()[0]


def _observed(result: dict) -> str | None:
    value = result.get("observed_value")
    if value is None and "unexpected_count" in result:
        value = result["unexpected_count"]
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _offending_rows(conn, suite: Suite, expectation, result: dict) -> list[dict] | None:
    """The unexpected rows as dicts, read back from the warehouse; None when GX gives no way to find them."""
    schema, table = suite.validated_relation
    if expectation.type == UNEXPECTED_ROWS:
        query = expectation.kwargs["unexpected_rows_query"].replace("{batch}", f"{schema}.{table}")
    elif result.get("unexpected_index_query"):
        query = str(result["unexpected_index_query"]).rstrip("; \n")
    else:
        return None
    try:
        with conn.transaction():
            return [row for (row,) in conn.execute(
                sql.SQL("select to_jsonb(u) from ({}) as u limit {}").format(sql.SQL(query),
                                                                         sql.Literal(MAX_OFFENDING_ROWS)))]
    except psycopg.Error as exc:
        log.warning("Набор %s, ожидание %s: строки не перечитаны (%s)", suite.name, expectation.key, exc)
        return None


def _example(row: dict) -> dict:
    return {k: v for k, v in row.items() if not PERSONAL.search(k)}


def _groups(rows: list[dict], registry: dict[str, str], load_places: dict[int, str | None]):
    """(municipality, load_id) -> [count, examples]."""
    groups: dict[tuple, list] = defaultdict(lambda: [0, []])
    for row in rows:
        load_id = row.get("load_id")
        municipality = (row.get("municipality") or registry.get(str(row.get("school_id")))
                        or load_places.get(load_id))
        group = groups[(municipality, load_id)]
        n = row.get("n")
        group[0] += int(n) if isinstance(n, int | float) and n >= 0 else 1
        if len(group[1]) < MAX_EXAMPLES:
            group[1].append(_example(row))
    return groups


def validate_suite(conn, ctx, run_id: int, suite: Suite, context: dict) -> Outcome | None:
    import great_expectations as gx

    schema, table = suite.validated_relation
    if not _relation_exists(conn, schema, table):
        log.warning("Набор %s: нет таблицы %s.%s, проверка пропущена", suite.name, schema, table)
        return None
    if suite.kind == "feed":
        loads, rows = conn.execute(sql.SQL("select count(distinct load_id), count(*) from {}").format(
            sql.Identifier(schema, table))).fetchone()
        if rows == 0:
            return None  # nothing of this feed arrived in this run
        batch = f"загрузки прогона {run_id}: файлов {loads}, строк {rows}"
    else:
        loads = None
        rows = conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(schema, table))).fetchone()[0]
        batch = f"витрина {suite.relation} целиком: строк {rows}"
    started = _stamp()
    gx_suite = gx.ExpectationSuite(name=suite.name, expectations=[to_gx(e) for e in suite.expectations])
    gx_suite = ctx.suites.add_or_update(gx_suite)
    definition = ctx.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=suite.name, data=gx_project.table_batch(ctx, schema, table), suite=gx_suite))
    present = runs.columns(conn, schema, table)
    result_format = {"result_format": "COMPLETE", "partial_unexpected_count": MAX_EXAMPLES,
                     "unexpected_index_column_names": [c for c in INDEX_COLUMNS if c in present]}
    checkpoint = ctx.checkpoints.add_or_update(gx.Checkpoint(
        name=suite.name, validation_definitions=[definition], result_format=result_format))
    checkpoint_result = checkpoint.run(run_id=gx.RunIdentifier(run_name=f"qc-{run_id}"))
    (identifier, suite_result), = checkpoint_result.run_results.items()
    context["identifiers"][suite.name] = identifier
    validation_id = conn.execute(
        """insert into qc.validations (run_id, suite, suite_title, kind, relation, feed, batch, loads, rows, success,
                                       outcome, started_at, finished_at)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'passed', %s, %s) returning validation_id""",
        (run_id, suite.name, suite.title, suite.kind, suite.relation, suite.feed, batch, loads, rows,
         bool(suite_result.success), started, _stamp())).fetchone()[0]
    outcome = Outcome(validation_id, suite.name, "passed")
    to_block: dict[int, list[str]] = defaultdict(list)
    for item in suite_result.results:
        key = item.expectation_config.meta["key"]
        expectation = suite.expectation(key)
        result = item.result or {}
        errored = bool(item.exception_info and item.exception_info.get("raised_exception"))
        observed = _observed(result)
        if errored:
            observed = "ошибка выполнения проверки: " + str(item.exception_info.get("exception_message"))[:500]
        conn.execute(
            """insert into qc.expectation_results (validation_id, expectation_key, expectation_type, description,
                                                   policy, success, observed_value, unexpected_count, element_count)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            (validation_id, key, expectation.type, expectation.description, expectation.policy, bool(item.success),
             observed, result.get("unexpected_count", result.get("observed_value")
                                  if isinstance(result.get("observed_value"), int) else None),
             result.get("element_count")))
        if item.success:
            continue
        outcome.failed.append(key)
        offending = None if errored else _offending_rows(conn, suite, expectation, result)
        groups = _groups(offending or [], context["registry"], context["load_places"])
        if not groups:
            groups = {(None, None): [result.get("unexpected_count") or _as_int(result.get("observed_value")) or 0,
                                     [_example(r) for r in (result.get("details") or {}).get("unexpected_rows", [])
                                      [:MAX_EXAMPLES]]]}
        for (municipality, load_id), (count, examples) in groups.items():
            conn.execute(
                """insert into qc.expectation_failures (validation_id, expectation_key, municipality, load_id,
                                                        file_name, unexpected_count, examples)
                   values (%s, %s, %s, %s, (select file_name from qc.run_loads where load_id = %s), %s, %s)""",
                (validation_id, key, municipality, load_id, load_id, count,
                 json.dumps(examples, ensure_ascii=False, default=str)))
        if expectation.policy != "block" or errored:
            outcome.outcome = "warned" if outcome.outcome == "passed" else outcome.outcome
            continue
        outcome.outcome = "blocked"
        if suite.kind == "feed":
            loads_hit = {load for (_, load) in groups if load is not None}
            if not loads_hit:  # rows not attributable: the whole batch of this feed is held back
                loads_hit = {load for (load,) in conn.execute(sql.SQL("select distinct load_id from {}").format(
                    sql.Identifier(schema, table)))}
            for load in loads_hit:
                to_block[load].append(expectation.description)
    if to_block:
        _block(conn, run_id, validation_id, suite, to_block)
        outcome.blocked_loads = set(to_block)
    if outcome.outcome == "blocked" and suite.kind == "mart":
        access.withhold_mart(conn, suite.relation)
    conn.execute("update qc.validations set outcome = %s, finished_at = %s where validation_id = %s",
                 (outcome.outcome, _stamp(), validation_id))
    return outcome


def _as_int(value) -> int | None:
    return value if isinstance(value, int) else None


def _block(conn, run_id: int, validation_id: int, suite: Suite, to_block: dict[int, list[str]]) -> None:
    for load_id, reasons in to_block.items():
        text = "; ".join(dict.fromkeys(reasons))
        updated = conn.execute("update raw.load_ledger set status = 'blocked' where load_id = %s and status = 'loaded'",
                               (load_id,)).rowcount
        if not updated:
            continue  # already blocked by an earlier suite of this run: add the reason below
        conn.execute("update qc.run_loads set status = 'blocked' where load_id = %s", (load_id,))
        log.warning("Загрузка %s заблокирована (%s): %s", load_id, suite.name, text)
    for load_id, reasons in to_block.items():
        text = f"{suite.title}: " + "; ".join(dict.fromkeys(reasons))
        conn.execute(
            """insert into qc.blocked_loads (load_id, run_id, validation_id, feed, file_name, municipality, reasons)
               select rl.load_id, %s, %s, rl.feed, rl.file_name, rl.municipality, %s from qc.run_loads rl
               where rl.load_id = %s
               on conflict (load_id) do update set reasons = qc.blocked_loads.reasons || '; ' || excluded.reasons""",
            (run_id, validation_id, text, load_id))


def run_stage(conn: psycopg.Connection, stage: str, docs_dir: Path, url: str, run_id: int | None = None,
              airflow_run_id: str | None = None, landing: str | None = None) -> tuple[int, list[Outcome]]:
    """Validate one stage ('feeds' or 'marts'); returns the run id and each suite's outcome."""
    access.ensure_qc(conn)
    conn.execute("select pg_advisory_lock(%s, 1)", (access.LOCK_NAMESPACE,))  # one validation at a time
    try:
        with conn.transaction():
            if run_id is None:
                run_id = runs.start_run(conn, airflow_run_id, landing)
            else:  # loads that arrived between the stages belong to this run too
                runs.attach_loads(conn, run_id)
            if stage == "feeds":
                refresh_batch(conn, run_id)
        ctx = gx_project.context(url, docs_dir)
        context = {"registry": runs.registry(conn), "identifiers": {},
                   "load_places": dict(conn.execute("select load_id, municipality from qc.run_loads where run_id = %s",
                                                    (run_id,)).fetchall())}
        outcomes = []
        for suite in read_suites(kind="feed" if stage == "feeds" else "mart"):
            with conn.transaction():
                outcome = validate_suite(conn, ctx, run_id, suite, context)
            if outcome:
                outcomes.append(outcome)
        ctx.build_data_docs(site_names=[gx_project.DOCS_SITE])
        _link_docs(conn, ctx, context["identifiers"], docs_dir, run_id)
        if stage == "marts":
            with conn.transaction():
                runs.summarise_quarantine(conn, run_id)
                from ingestion.feeds import LOADERS

                runs.record_volumes(conn, run_id, {loader.table: loader.feed for loader in LOADERS})
                runs.finish_run(conn, run_id, run_status(conn, run_id), str(docs_dir / "index.html"))
            access.grant_access(conn)
        return run_id, outcomes
    finally:
        conn.execute("select pg_advisory_unlock(%s, 1)", (access.LOCK_NAMESPACE,))


def _link_docs(conn, ctx, identifiers: dict, docs_dir: Path, run_id: int) -> None:
    for name, identifier in identifiers.items():
        try:
            urls = ctx.get_docs_sites_urls(resource_identifier=identifier, site_name=gx_project.DOCS_SITE)
        except Exception as exc:  # the docs are a convenience: a missing page must not fail the run
            log.warning("Нет страницы Data Docs для %s: %s", name, exc)
            continue
        if not urls:
            continue
        path = Path(urls[0]["site_url"].removeprefix("file://"))
        try:
            relative = str(path.relative_to(docs_dir.parent))
        except ValueError:
            relative = str(path)
        conn.execute("update qc.validations set gx_result_path = %s where run_id = %s and suite = %s",
                     (relative, run_id, name))


def run_status(conn, run_id: int) -> str:
    outcomes = {o for (o,) in conn.execute("select outcome from qc.validations where run_id = %s", (run_id,))}
    return "blocked" if "blocked" in outcomes else "warned" if "warned" in outcomes else "passed"
