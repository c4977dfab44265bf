"""The GX suite files in expectations/suites: well-formed, accepted by GX Core, and passing on a clean demo.

Static checks (every suite file): keys unique, policy block|warn, a Russian description, each expectation
instantiated through its ``great_expectations.expectations`` class, block rules on table-level aggregates
refused, ``unexpected_rows_query`` of a block rule returning ``load_id``, no query selecting names or
pupil/teacher ids. Database check: every expectation evaluated in SQL on the demo region loaded into raw
(``{batch}`` = the whole raw table) finds nothing.

Run by hand against any warehouse (e.g. a 160-school demo):
    python tests/test_suite_files.py postgresql://…/edu
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

from quality.suites import Expectation, gx_class, suite_text

SUITES = Path(__file__).resolve().parents[1] / "expectations" / "suites"
FORBIDDEN = {"participant_id", "teacher_id", "school_name", "full_name", "short_name", "org_name", "name",
             "mentor_of"}
CYRILLIC = re.compile(r"[А-Яа-яЁё]")
KEY = re.compile(r"^[a-z][a-z0-9_]*$")
def suite_files() -> list[Path]:
    return sorted(SUITES.glob("*.yml"))


def load(path: Path) -> dict:
    return yaml.safe_load(suite_text(path))  # seed parameters filled in, as the runner reads it


def row_level(kind: str) -> bool:
    """The runner's own rule: expectations whose rows (and so loads) it can name may block."""
    return Expectation("", kind, {}, "warn", "").row_level


def outer_select_list(query: str) -> str:
    """The select list of the query's last top-level SELECT (after any WITH clauses)."""
    depth, top = 0, []
    query = re.sub(r"'[^']*'", "''", query)  # parentheses inside string literals do not nest
    for i, ch in enumerate(query):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0:
            top.append((i, ch))
    text = "".join(ch for _, ch in top)
    starts = [m.start() for m in re.finditer(r"\bselect\b", text, re.IGNORECASE)]
    assert starts, "no top-level select"
    body = text[starts[-1] + len("select"):]
    end = re.search(r"\bfrom\b", body, re.IGNORECASE)
    return body[:end.start()] if end else body


def output_names(select_list: str) -> set[str]:
    names = set()
    for item in re.split(r",(?![^()]*\))", select_list):
        item = item.strip()
        alias = re.search(r"\bas\s+([a-z_][a-z0-9_]*)\s*$", item, re.IGNORECASE)
        bare = re.search(r"(?:^|\.)([a-z_][a-z0-9_]*)\s*$", item, re.IGNORECASE)
        names.add((alias or bare).group(1).lower() if (alias or bare) else item.lower())
    return names


@pytest.mark.parametrize("path", suite_files(), ids=lambda p: p.stem)
def test_suite_file(path: Path):
    doc = load(path)
    assert doc["suite"] == path.stem
    assert doc["kind"] in ("feed", "mart")
    assert CYRILLIC.search(doc["title"])
    if doc["kind"] == "feed":
        assert doc["relation"].startswith("raw.") and doc.get("feed")
    keys = [e["key"] for e in doc["expectations"]]
    assert len(keys) == len(set(keys)), "keys must be unique"
    for expectation in doc["expectations"]:
        key, kind, kwargs = expectation["key"], expectation["type"], expectation.get("kwargs", {})
        assert KEY.match(key), key
        assert expectation["policy"] in ("block", "warn"), key
        assert CYRILLIC.search(expectation["description"]), f"{key}: Russian description"
        assert set(expectation) <= {"key", "type", "kwargs", "policy", "description", "source"}, key
        gx_class(kind)(**kwargs)  # GX validates the kwargs
        if expectation["policy"] == "block":
            assert row_level(kind), f"{key}: a table-level aggregate cannot block"
        if kind == "unexpected_rows_expectation":
            query = kwargs["unexpected_rows_query"]
            assert "{batch}" in query, key
            names = output_names(outer_select_list(query))
            assert not names & FORBIDDEN, f"{key}: selects {names & FORBIDDEN}"
            if expectation["policy"] == "block" and doc["kind"] == "feed":
                assert "load_id" in names, f"{key}: a block rule must return load_id"
            assert names & {"school_id", "municipality"}, f"{key}: return school_id or municipality"


def test_every_raw_feed_table_has_a_suite():
    tables = {load(p)["relation"] for p in suite_files() if load(p)["kind"] == "feed"}
    expected = {f"raw.{t}" for t in (
        "vpr_results", "vpr_task_scores", "vpr_mark_stats", "vpr_score_stats", "vpr_journal_stats",
        "vpr_task_stats", "vpr_flat_marks", "vpr_flat_scores", "objectivity_markers", "gia_results", "shnor_list",
        "project500_schools", "project500_risk_profiles", "kdr_results", "kdr_skill_scores", "school_registry",
        "social_passport", "performance", "olympiads", "teachers", "vacancies", "support_events",
        "improvement_programmes", "individual_routes")}
    assert expected <= tables, expected - tables


# ----------------------------------------------------------------------------- SQL evaluation
def _literal(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def violation_sql(expectation: dict, relation: str) -> str | None:
    """SQL counting the rows that violate a row-level expectation (None: not evaluated here)."""
    kind, kw = expectation["type"], expectation.get("kwargs", {})
    if kind == "unexpected_rows_expectation":
        return f"select count(*) from ({kw['unexpected_rows_query'].replace('{batch}', relation)}) q"
    column = kw.get("column")
    where = None
    if kind == "expect_column_values_to_not_be_null":
        where = f"{column} is null"
    elif kind == "expect_column_values_to_be_between":
        parts = []
        if kw.get("min_value") is not None:
            parts.append(f"{column} < {_literal(kw['min_value'])}")
        if kw.get("max_value") is not None:
            parts.append(f"{column} > {_literal(kw['max_value'])}")
        where = f"{column} is not null and ({' or '.join(parts)})"
    elif kind == "expect_column_values_to_be_in_set":
        where = f"{column} is not null and {column} not in ({', '.join(map(_literal, kw['value_set']))})"
    elif kind == "expect_column_values_to_match_regex":
        where = f"{column} is not null and {column}::text !~ {_literal(kw['regex'])}"
    elif kind == "expect_column_pair_values_a_to_be_greater_than_b":
        op = ">=" if kw.get("or_equal") else ">"
        a, b = kw["column_A"], kw["column_B"]
        where = f"{a} is not null and {b} is not null and not ({a} {op} {b})"
    elif kind == "expect_column_values_to_be_unique":
        return f"select count(*) from (select {column} from {relation} group by 1 having count(*) > 1) q"
    elif kind == "expect_compound_columns_to_be_unique":
        cols = ", ".join(kw["column_list"])
        return f"select count(*) from (select {cols} from {relation} group by {cols} having count(*) > 1) q"
    elif kind == "expect_table_columns_to_match_set":
        schema, table = relation.split(".")
        wanted = ", ".join(map(_literal, kw["column_set"]))
        return (f"select count(*) from unnest(array[{wanted}]) c(name) where not exists (select 1 from "
                f"information_schema.columns i where i.table_schema = '{schema}' and i.table_name = '{table}' "
                "and i.column_name = c.name)")
    if where is None:
        return None
    return f"select count(*) from {relation} where {where}"


def evaluate(connection, path: Path) -> dict[str, int]:
    doc = load(path)
    counts = {}
    for expectation in doc["expectations"]:
        statement = violation_sql(expectation, doc["relation"])
        if statement is not None:
            counts[expectation["key"]] = connection.execute(statement).fetchone()[0]
    return counts


def result_columns(connection, path: Path) -> dict[str, list[str]]:
    doc = load(path)
    columns = {}
    for expectation in doc["expectations"]:
        if expectation["type"] == "unexpected_rows_expectation":
            query = expectation["kwargs"]["unexpected_rows_query"].replace("{batch}", doc["relation"])
            cursor = connection.execute(f"select * from ({query}) q limit 0")
            columns[expectation["key"]] = [d.name for d in cursor.description]
    return columns


# mart suites on clean marts: tests/test_mart_suites.py and the clean run of tests/test_quality_corruptions.py
@pytest.mark.parametrize("path", [p for p in suite_files() if load(p)["kind"] == "feed"], ids=lambda p: p.stem)
def test_clean_demo_passes(demo_db, path: Path):
    connection, _ = demo_db
    failing = {key: n for key, n in evaluate(connection, path).items() if n}
    assert not failing, failing
    for key, names in result_columns(connection, path).items():
        assert not set(names) & FORBIDDEN, (key, names)


if __name__ == "__main__":  # python tests/test_suite_files.py <warehouse URL> [suite ...]
    import psycopg

    with psycopg.connect(sys.argv[1], autocommit=True) as conn:
        total = 0
        for suite in suite_files():
            if len(sys.argv) > 2 and suite.stem not in sys.argv[2:]:
                continue
            for key, n in evaluate(conn, suite).items():
                total += bool(n)
                print(f"{'FAIL' if n else 'ok  '} {suite.stem}.{key}: {n}")
        print(f"failing expectations: {total}")
