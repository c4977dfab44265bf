"""Running the suites: feed suites on this run's loads (blocking loads), mart suites on the marts.

Each suite becomes a GX ExpectationSuite, ValidationDefinition and Checkpoint on a table asset (the
feed's batch view ``qc_work.batch_<table>`` or the mart); the results go to qc, the Data Docs to the
report folder. A failed 'block' expectation of a feed suite blocks the loads its unexpected rows come
from (every load of the batch when the rows cannot be told apart); of a mart suite, withholds the mart.
An expectation that cannot be evaluated blocks nothing, but marks its validation 'error' and the run
'failed': a guard that is switched off must not pass as a guard that found nothing.
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

from quality import access, docs_offline, gx_project, runs
from quality.suites import SUITES_DIR, UNEXPECTED_ROWS, Suite, SuiteError, read_suites, to_gx

log = logging.getLogger(__name__)
MAX_EXAMPLES = 5
# Example rows hold school keys and the values checked, never people: columns named like these are dropped.
PERSONAL = re.compile(r"(^|_)(full_|short_|school_|org_)?name|participant|teacher_id|pupil|curator|mentor|fio"
                      r"|row_data|answers|class_label|(^|_)sex$", re.I)
# Columns GX reports for each unexpected row: where it is (load, row of the file) and whose (school); a
# mart's municipality is the registry's, a raw table's is the file's own text and is left out.
INDEX_COLUMNS = {"feed": ("load_id", "source_row", "school_id"), "mart": ("school_id", "municipality")}
ERROR_TEXT = "ошибка выполнения проверки: запрос не выполнен (подробности — в журнале задачи)"
OUTCOME_ORDER = ("passed", "warned", "error", "blocked")


@dataclass
class Outcome:
    validation_id: int
    suite: str
    outcome: str
    failed: list[str] = field(default_factory=list)
    errored: list[str] = field(default_factory=list)
    blocked_loads: set[int] = field(default_factory=set)

    def worsen(self, outcome: str) -> None:
        if OUTCOME_ORDER.index(outcome) > OUTCOME_ORDER.index(self.outcome):
            self.outcome = outcome


def _stamp() -> datetime:
    return datetime.now(tz=UTC)


def refresh_batch(conn: psycopg.Connection, run_id: int) -> int:
    """qc_work.current_batch := this run's loaded loads; a view qc_work.batch_<table> per raw table reads them."""
    conn.execute("truncate qc_work.current_batch")
    count = conn.execute(
        """insert into qc_work.current_batch select rl.load_id from qc.run_loads rl
           join raw.load_ledger l using (load_id) where rl.run_id = %s and l.status = 'loaded'""",
        (run_id,)).rowcount
    for table in runs.data_tables(conn):
        view = sql.Identifier("qc_work", f"batch_{table}")
        select = sql.SQL("select t.* from raw.{} as t where t.load_id in "
                         "(select b.load_id from qc_work.current_batch as b)").format(sql.Identifier(table))
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


def _unexpected_query(suite: Suite, expectation, result: dict) -> str | None:
    """SQL returning the unexpected rows; None when GX gives no way to find them."""
    schema, table = suite.validated_relation
    if expectation.type == UNEXPECTED_ROWS:
        # the same substitution as GX's (UnexpectedRowsExpectation): a subquery named subselect
        return expectation.kwargs["unexpected_rows_query"].replace(
            "{batch}", f"(select * from {schema}.{table} where true) as subselect")
    if result.get("unexpected_index_query"):
        return str(result["unexpected_index_query"]).rstrip("; \n")
    return None


def _groups(conn, suite: Suite, expectation, result: dict) -> dict[tuple, list] | None:
    """(municipality, load_id) -> [rows of the file, up to five example rows], over every unexpected row.

    Counted in PostgreSQL, so that however many rows offend, every offending load is found. A row's
    municipality is the registry's for its school, else the row's own, else its load's.
    """
    query = _unexpected_query(suite, expectation, result)
    if query is None:
        return None
    try:
        with conn.transaction():
            cursor = conn.execute(sql.SQL("select * from ({}) as u limit 0").format(sql.SQL(query)))
            present = {d.name for d in cursor.description}
            place = [sql.SQL("reg.municipality")] if "school_id" in present else []
            place += [sql.SQL("u.municipality::text")] if "municipality" in present else []
            place += [sql.SQL("rl.municipality")] if "load_id" in present else []
            rows = conn.execute(sql.SQL(
                """select {place} as municipality, {load} as load_id, {count} as n,
                          (array_agg(to_jsonb(u)))[1:{examples}] as examples
                   from ({query}) as u {registry} {loads}
                   group by 1, 2""").format(
                place=sql.SQL("coalesce({})").format(sql.SQL(", ").join(place)) if place else sql.SQL("null::text"),
                load=sql.SQL("u.load_id::bigint") if "load_id" in present else sql.SQL("null::bigint"),
                count=(sql.SQL("coalesce(sum(greatest(u.n, 0)), 0)") if "n" in present else sql.SQL("count(*)")),
                examples=sql.Literal(MAX_EXAMPLES), query=sql.SQL(query),
                registry=sql.SQL(f"left join {runs.REGISTRY} as reg on reg.registry_code = u.school_id::text")
                if "school_id" in present else sql.SQL(""),
                loads=sql.SQL("left join qc.run_loads as rl on rl.load_id = u.load_id::bigint")
                if "load_id" in present else sql.SQL(""))).fetchall()
    except psycopg.Error as exc:
        log.warning("Набор %s, ожидание %s: строки не перечитаны (%s)", suite.name, expectation.key, exc)
        return None
    return {(municipality, load_id): [int(n), [_example(e) for e in examples or []]]
            for municipality, load_id, n, examples in rows}


def _example(row: dict) -> dict:
    return {k: v for k, v in row.items() if not PERSONAL.search(k)}


def _error(info) -> str | None:
    """The message of an expectation that raised (GX keeps it at the top or per metric), or None."""
    if not info:
        return None
    if isinstance(info, dict) and info.get("raised_exception"):
        return str(info.get("exception_message"))
    for value in (info.values() if isinstance(info, dict) else []):
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def _record_validation(conn, run_id: int, suite: Suite, batch: str, loads, rows, started) -> int:
    return conn.execute(
        """insert into qc.validations (run_id, suite, suite_title, kind, relation, feed, batch, loads, rows, success,
                                       outcome, started_at, finished_at)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, false, 'passed', %s, %s) returning validation_id""",
        (run_id, suite.name, suite.title, suite.kind, suite.relation, suite.feed, batch, loads, rows, started,
         _stamp())).fetchone()[0]


def validate_suite(conn, ctx, run_id: int, suite: Suite, context: dict) -> Outcome | None:
    import great_expectations as gx

    schema, table = suite.validated_relation
    started = _stamp()
    if not _relation_exists(conn, schema, table):
        # feed relations are checked when the stage starts; a missing mart is a build that did not make it
        validation_id = _record_validation(conn, run_id, suite, f"нет таблицы {suite.relation}: витрина не построена",
                                           None, None, started)
        conn.execute("update qc.validations set outcome = 'error' where validation_id = %s", (validation_id,))
        log.error("Набор %s: нет таблицы %s", suite.name, suite.relation)
        return Outcome(validation_id, suite.name, "error")
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
    gx_suite = gx.ExpectationSuite(name=suite.name, expectations=[to_gx(e) for e in suite.expectations])
    gx_suite = ctx.suites.add_or_update(gx_suite)
    definition = ctx.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=suite.name, data=gx_project.table_batch(ctx, schema, table), suite=gx_suite))
    present = runs.columns(conn, schema, table)
    result_format = {"result_format": "COMPLETE", "partial_unexpected_count": MAX_EXAMPLES,
                     "unexpected_index_column_names": [c for c in INDEX_COLUMNS[suite.kind] if c in present]}
    checkpoint = ctx.checkpoints.add_or_update(gx.Checkpoint(
        name=suite.name, validation_definitions=[definition], result_format=result_format))
    checkpoint_result = checkpoint.run(run_id=gx.RunIdentifier(run_name=f"qc-{run_id}"))
    (identifier, suite_result), = checkpoint_result.run_results.items()
    context["identifiers"][suite.name] = identifier
    validation_id = _record_validation(conn, run_id, suite, batch, loads, rows, started)
    outcome = Outcome(validation_id, suite.name, "passed")
    to_block: dict[int, list[str]] = defaultdict(list)
    for item in suite_result.results:
        key = item.expectation_config.meta["key"]
        expectation = suite.expectation(key)
        result = item.result or {}
        error = _error(item.exception_info)
        groups = None if error or item.success else _groups(conn, suite, expectation, result)
        if error:
            log.error("Набор %s, ожидание %s не вычислено: %s", suite.name, key, error)
            outcome.errored.append(key)
            outcome.worsen("error")
            observed, count = ERROR_TEXT, None  # the error text may quote data values: it stays in the log
        elif groups is not None:
            observed, count = _observed(result), sum(n for n, _ in groups.values())
        else:
            observed = _observed(result)
            count = result.get("unexpected_count") if "unexpected_count" in result else None
        conn.execute(
            """insert into qc.expectation_results (validation_id, expectation_key, expectation_type, description,
                                                   policy, success, observed_value, unexpected_count, element_count,
                                                   errored)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            (validation_id, key, expectation.type, expectation.description, expectation.policy,
             bool(item.success) and not error, observed, count, result.get("element_count"), bool(error)))
        if item.success or error:
            continue
        outcome.failed.append(key)
        for (municipality, load_id), (n, examples) in (groups or {(None, None): [count, []]}).items():
            conn.execute(
                """insert into qc.expectation_failures (validation_id, expectation_key, municipality, load_id,
                                                        file_name, unexpected_count, examples)
                   values (%s, %s, %s, %s, (select file_name from qc.run_loads where load_id = %s), %s, %s)""",
                (validation_id, key, municipality, load_id, load_id, n,
                 json.dumps(examples, ensure_ascii=False, default=str)))
        if expectation.policy != "block":
            outcome.worsen("warned")
            continue
        outcome.worsen("blocked")
        if suite.kind == "feed":
            loads_hit = {load for (_, load) in (groups or {}) if load is not None}
            if not loads_hit:  # rows not attributable: the whole batch of this feed is held back
                loads_hit = {load for (load,) in conn.execute(sql.SQL("select distinct load_id from {}").format(
                    sql.Identifier(schema, table)))}
            for load in loads_hit:
                to_block[load].append(expectation.description)
    if to_block:
        _block(conn, run_id, validation_id, suite, to_block)
        outcome.blocked_loads = set(to_block)
    if suite.kind == "mart" and outcome.outcome == "blocked":
        access.withhold_mart(conn, suite.relation, run_id, "; ".join(
            suite.expectation(k).description for k in outcome.failed if suite.expectation(k).policy == "block"))
    elif suite.kind == "mart" and outcome.outcome != "error":
        access.publish_mart(conn, suite.relation)
    conn.execute("update qc.validations set success = %s, outcome = %s, finished_at = %s where validation_id = %s",
                 (outcome.outcome == "passed", outcome.outcome, _stamp(), validation_id))
    return outcome


UNCHECKED_PREDECESSOR = ("прежний файл того же раздела, заменённый заблокированным до проверки: сам не проверялся, "
                         "поэтому в силе остаются данные последнего проверенного файла")


def _block(conn, run_id: int, validation_id: int, suite: Suite, to_block: dict[int, list[str]]) -> None:
    pending = dict(to_block)
    while pending:
        load_id, reasons = pending.popitem()
        _block_one(conn, run_id, validation_id, suite, load_id, reasons, pending)


def _block_one(conn, run_id: int, validation_id: int, suite: Suite, load_id: int, reasons: list[str],
               pending: dict[int, list[str]]) -> None:
    updated = conn.execute("update raw.load_ledger set status = 'blocked' where load_id = %s and status = 'loaded'",
                           (load_id,)).rowcount
    if updated:  # else already blocked by an earlier suite of this run: its reason is added below
        conn.execute("update qc.run_loads set status = 'blocked' where load_id = %s", (load_id,))
        restored, unchecked = runs.restore_superseded(conn, load_id)
        for earlier in unchecked:  # back in force but never checked: held back as well, its own rows returned
            pending.setdefault(earlier, [UNCHECKED_PREDECESSOR])
        log.warning("Загрузка %s заблокирована (%s): %s%s", load_id, suite.name, "; ".join(dict.fromkeys(reasons)),
                    f"; прежние строки возвращены: {restored}" if restored else "")
    text = f"{suite.title}: " + "; ".join(dict.fromkeys(reasons))
    conn.execute(
        """insert into qc.blocked_loads (load_id, run_id, validation_id, feed, file_name, municipality, reasons)
           select rl.load_id, %s, %s, rl.feed, rl.file_name, rl.municipality, %s from qc.run_loads rl
           where rl.load_id = %s
           on conflict (load_id) do update set reasons = qc.blocked_loads.reasons || '; ' || excluded.reasons""",
        (run_id, validation_id, text, load_id))


def _check_relations(conn, suites: list[Suite]) -> None:
    """A feed suite must name a raw table the loaders create: a typo would switch the suite off silently."""
    for suite in suites:
        if suite.kind == "feed" and not _relation_exists(conn, suite.schema, suite.table):
            raise SuiteError(f"Набор ожиданий «{suite.path.name if suite.path else suite.name}»: нет таблицы "
                             f"{suite.relation} (relation должен называть таблицу потока в схеме raw)")


def run_stage(conn: psycopg.Connection, stage: str, docs_dir: Path, url: str, run_id: int | None = None,
              airflow_run_id: str | None = None, landing: str | None = None,
              suites_dir: Path = SUITES_DIR) -> tuple[int, list[Outcome]]:
    """Validate one stage ('feeds' or 'marts'); returns the run id and each suite's outcome.

    Only the feeds stage claims loads (those finished since the last run): the marts stage of the same run
    validates what dbt built from them, and a load arriving in between waits for the next run's feeds stage.
    """
    access.ensure_qc(conn)
    suites = read_suites(suites_dir, kind="feed" if stage == "feeds" else "mart")
    conn.execute("select pg_advisory_lock(%s, 1)", (access.LOCK_NAMESPACE,))  # one validation at a time
    try:
        _check_relations(conn, suites)
        with conn.transaction():
            if run_id is None:
                run_id = runs.start_run(conn, airflow_run_id, landing, claim_loads=stage == "feeds")
            if stage == "feeds":
                refresh_batch(conn, run_id)
        ctx = gx_project.context(url, docs_dir)
        context = {"identifiers": {}}
        outcomes = []
        for suite in suites:
            with conn.transaction():
                outcome = validate_suite(conn, ctx, run_id, suite, context)
            if outcome:
                outcomes.append(outcome)
        if stage == "feeds":
            with conn.transaction():
                runs.purge_superseded(conn, run_id)  # the loads that passed keep their replacement
                conn.execute("update qc.runs set feeds_checked_at = now() where run_id = %s", (run_id,))
        ctx.build_data_docs(site_names=[gx_project.DOCS_SITE])
        docs_offline.make_offline(docs_dir)
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
    for status, outcome in (("failed", "error"), ("blocked", "blocked"), ("warned", "warned")):
        if outcome in outcomes:
            return status
    return "passed"


def errored_checks(conn, run_id: int) -> list[str]:
    """Russian lines naming the expectations of a run that could not be evaluated."""
    rows = conn.execute(
        """select v.suite, coalesce(e.expectation_key, ''), coalesce(e.description, v.batch) from qc.validations v
           left join qc.expectation_results e on e.validation_id = v.validation_id and e.errored
           where v.run_id = %s and v.outcome = 'error' and (e.errored or not exists
               (select 1 from qc.expectation_results x where x.validation_id = v.validation_id))
           order by v.validation_id""", (run_id,)).fetchall()
    return [f"Проверка не выполнена: набор {suite}{f', ожидание {key}' if key else ''} — {text}"
            for suite, key, text in rows]
