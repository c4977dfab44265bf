"""The suites on the demo region: a clean run passes every suite; each corruption a suite covers (and the
loader lets through) is caught and blocks or warns as the suite file says; a corrected file releases the
blocked partition and the marts rebuild with it.

One database for the module: the clean demo is loaded, validated and built once (run 1); the corrupted
files then arrive as suppliers' re-sent files (same names, other content) and are loaded, validated and
built once (run 2): a blocked resend gives the rows it replaced back, so the marts keep run 1's clean rows;
the corrected file of one blocked partition arrives last (run 3).
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import yaml
from psycopg import sql

from ingestion.run import load_all
from quality.suites import SUITES_DIR
from quality.validate import run_stage
from tests.conftest import TEST_KEY
from tests.corruptions import CORRUPTIONS, Corruption, Table
from warehouse.dbt import run_dbt

PERSONAL = re.compile(r"participant|name|fio|teacher|pupil|фио", re.I)
CORRECTED = "vpr_date_of_other_year"  # the blocked partition a corrected file is sent for


def policy_of(suite: str, key: str) -> tuple[str, str]:
    """(policy, description) of an expectation, as the suite file says."""
    spec = yaml.safe_load((SUITES_DIR / f"{suite}.yml").read_text(encoding="utf-8"))
    item = next(e for e in spec["expectations"] if e["key"] == key)
    return item["policy"], item["description"]


@dataclass
class Scenario:
    conn: psycopg.Connection
    url: str
    landing: Path
    docs: Path
    clean_run: int
    run: int = 0
    facts: dict = field(default_factory=dict)
    clean_marts: dict = field(default_factory=dict)

    def one(self, query: str, params: tuple = ()):
        row = self.conn.execute(query, params).fetchone()
        return None if row is None else row[0] if len(row) == 1 else row

    def latest_load(self, feed: str, file_name: str) -> int:
        return self.one("select max(l.load_id) from raw.load_ledger l join raw.file_ledger f using (file_id) "
                        "where l.feed = %s and f.file_name = %s", (feed, file_name))

    def validate_and_build(self) -> int:
        run_id, _ = run_stage(self.conn, "feeds", self.docs, self.url, suites_dir=SUITES_DIR)
        assert run_dbt(["build"], url=self.url), "dbt build failed"
        run_stage(self.conn, "marts", self.docs, self.url, run_id, suites_dir=SUITES_DIR)
        return run_id


def school_ids(conn) -> dict[str, str]:
    """Registry code of each school key a file may use (ФИС ОКО login, РЦОИ code)."""
    keys = {}
    for code, login, rcoi in conn.execute("select registry_code, fis_login, rcoi_code from raw.school_registry"):
        keys[login] = keys[str(rcoi)] = keys[code] = code
    return keys


def derive(conn, spec: Corruption, facts: dict) -> dict:
    """The school and municipality a corruption concerns, by the registry."""
    keys = school_ids(conn)
    login = facts.get("login") or facts.get("rcoi_code")
    if login is not None:
        facts["school_id"] = keys[str(login)]
        facts.setdefault("municipality", conn.execute(
            "select municipality from raw.school_registry where registry_code = %s", (facts["school_id"],)
        ).fetchone()[0])
    return facts


@pytest.fixture(scope="module")
def scenario(server_url, template_db, demo_landing, tmp_path_factory):
    folder = tmp_path_factory.mktemp("corruptions")
    landing = folder / "landing"
    shutil.copytree(demo_landing, landing)
    name = f"edu_qc_{uuid.uuid4().hex[:8]}"
    admin_url = psycopg.conninfo.make_conninfo(server_url, dbname="postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name),
                                                                       sql.Identifier(template_db)))
    url = psycopg.conninfo.make_conninfo(server_url, dbname=name)
    conn = psycopg.connect(url, autocommit=True)
    try:
        # run 1: the clean demo region
        load_all(conn, landing, key=TEST_KEY)
        state = Scenario(conn, url, landing, folder / "report" / "gx", 0)
        state.clean_run = state.validate_and_build()
        # run 2: every corruption in a file of its own, re-sent by its supplier
        for spec in CORRUPTIONS:
            state.facts[spec.id] = derive(conn, spec, spec.apply(landing))
            if spec.mart_query:
                state.clean_marts[spec.id] = state.one(*spec.mart_query(state.facts[spec.id]))
        load_all(conn, landing, key=TEST_KEY)
        state.run = state.validate_and_build()
        yield state
    finally:
        conn.close()
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def test_clean_demo_run_passes_every_suite(scenario):
    conn, run = scenario.conn, scenario.clean_run
    outcomes = conn.execute("select suite, kind, outcome from qc.validations where run_id = %s", (run,)).fetchall()
    suites = {p.stem for p in SUITES_DIR.glob("*.yml")}
    marts = {p.stem for p in SUITES_DIR.glob("mart_*.yml")}
    assert {s for s, kind, _ in outcomes if kind == "mart"} == marts
    assert {s for s, _, _ in outcomes} <= suites and len(outcomes) > len(marts) + 10
    failed = conn.execute(
        """select v.suite, e.expectation_key, e.observed_value from qc.expectation_results e
           join qc.validations v using (validation_id) where v.run_id = %s and not e.success""", (run,)).fetchall()
    assert failed == []
    assert {o for _, _, o in outcomes} == {"passed"}
    assert scenario.one("select status from qc.runs where run_id = %s", (run,)) == "passed"
    assert scenario.one("select count(*) from raw.load_ledger where status = 'blocked' and load_id in "
                        "(select load_id from qc.run_loads where run_id = %s)", (run,)) == 0


def test_corruptions_span_the_feeds():
    levels = {c.level for c in CORRUPTIONS}
    assert levels == {"federal", "regional", "municipal"}
    assert len({(c.suite, c.key) for c in CORRUPTIONS}) == len(CORRUPTIONS) >= 10
    policies = {policy_of(c.suite, c.key)[0] for c in CORRUPTIONS}
    assert policies == {"block", "warn"}


@pytest.mark.parametrize("spec", CORRUPTIONS, ids=lambda c: c.id)
def test_corruption_is_caught(scenario, spec: Corruption):
    conn, facts = scenario.conn, scenario.facts[spec.id]
    policy, description = policy_of(spec.suite, spec.key)
    load_id = scenario.latest_load(spec.feed, facts["file"])
    assert scenario.one("select run_id from qc.run_loads where load_id = %s", (load_id,)) == scenario.run

    result = conn.execute(
        """select e.success, e.policy, e.description, v.validation_id from qc.expectation_results e
           join qc.validations v using (validation_id)
           where v.run_id = %s and v.suite = %s and e.expectation_key = %s""", (scenario.run, spec.suite, spec.key)
    ).fetchone()
    assert result is not None, f"{spec.suite}.{spec.key} did not run in run {scenario.run}"
    success, recorded_policy, recorded_description, validation_id = result
    assert (success, recorded_policy, recorded_description) == (False, policy, description)

    failures = conn.execute(
        "select municipality, load_id, file_name, unexpected_count, examples from qc.expectation_failures "
        "where validation_id = %s and expectation_key = %s", (validation_id, spec.key)).fetchall()
    assert failures
    for *_, examples in failures:
        text = json.dumps(examples, ensure_ascii=False)
        assert not any(PERSONAL.search(k) for e in examples for k in e), examples
        if "participant" in facts:
            assert facts["participant"] not in text
    mine = [f for f in failures if f[0] == facts["municipality"] and f[1] in (load_id, None)]
    assert mine, f"no failure row of {facts['municipality']} for load {load_id}: {failures}"

    status = scenario.one("select status from raw.load_ledger where load_id = %s", (load_id,))
    blocked = conn.execute("select file_name, reasons, municipality from qc.blocked_loads where load_id = %s",
                           (load_id,)).fetchone()
    current = scenario.one(sql.SQL("select count(*) from raw_current.{} where load_id = %s").format(
        sql.Identifier(spec.table)), (load_id,))
    held = scenario.one(sql.SQL("select count(*) from raw.{} where load_id = %s").format(
        sql.Identifier(spec.table)), (load_id,))
    if policy == "warn":
        assert status == "loaded" and blocked is None
        assert current == held > 0
        return

    assert any(f[1] == load_id and f[2] == facts["file"] for f in failures)
    assert status == "blocked"
    assert blocked is not None and blocked[0] == facts["file"] and description in blocked[1]
    assert held > 0 and current == 0
    # the rows the re-sent file replaced (the clean file of run 1) are back in force: the bad resend does not
    # empty the partition it was meant to correct
    earlier = conn.execute(
        "select l.load_id, l.status, l.superseded_by from raw.load_ledger l join raw.file_ledger f using (file_id) "
        "where f.feed = %s and f.file_name = %s and l.load_id < %s order by l.load_id desc limit 1",
        (spec.feed, facts["file"], load_id)).fetchone()
    assert earlier is not None and earlier[1:] == ("loaded", None)
    assert scenario.one(sql.SQL("select count(*) from raw_current.{} where load_id = %s").format(
        sql.Identifier(spec.table)), (earlier[0],)) > 0
    # the feed's other files are not blocked: only the corrupted files of block-policy specs
    expected = {scenario.latest_load(c.feed, scenario.facts[c.id]["file"]) for c in CORRUPTIONS
                if c.feed == spec.feed and policy_of(c.suite, c.key)[0] == "block"}
    blocked_of_feed = {i for (i,) in conn.execute(
        "select load_id from raw.load_ledger where feed = %s and status = 'blocked'", (spec.feed,))}
    assert blocked_of_feed == expected
    if spec.mart_query:  # the mart shows the clean rows of run 1, not the corrupted ones
        assert scenario.clean_marts[spec.id] > 0
        assert scenario.one(*spec.mart_query(facts)) == scenario.clean_marts[spec.id]


@pytest.fixture(scope="module")
def corrected(scenario, demo_landing):
    """The original content of one blocked file sent again as a corrected file (another name, new bytes)."""
    import openpyxl

    spec = next(c for c in CORRUPTIONS if c.id == CORRECTED)
    facts = scenario.facts[spec.id]
    blocked_load = scenario.latest_load(spec.feed, facts["file"])
    original = demo_landing / spec.feed / facts["file"]
    workbook = openpyxl.load_workbook(original)
    workbook.properties.description = "исправленный файл"  # the same rows; the bytes differ from the first file
    name = f"{original.stem}_исправленный.xlsx"
    workbook.save(scenario.landing / spec.feed / name)
    results = load_all(scenario.conn, scenario.landing, key=TEST_KEY)
    assert [r.status for r in results if r.file == name] == ["loaded"]
    run = scenario.validate_and_build()
    return {"spec": spec, "facts": facts, "blocked_load": blocked_load, "run": run, "name": name,
            "rows": len(Table(original, r"^Код участника$").data()),
            "load": scenario.latest_load(spec.feed, name)}


def test_corrected_file_releases_the_partition(scenario, corrected):
    spec, facts, blocked, load = (corrected[k] for k in ("spec", "facts", "blocked_load", "load"))
    assert policy_of(spec.suite, spec.key)[0] == "block"
    assert scenario.one("select status, superseded_by from raw.load_ledger where load_id = %s",
                        (blocked,)) == ("replaced", load)
    assert scenario.one("select status from raw.load_ledger where load_id = %s", (load,)) == "loaded"
    released_at, released_by = scenario.conn.execute(
        "select released_at, released_by_load from qc.blocked_loads where load_id = %s", (blocked,)).fetchone()
    assert released_at is not None and released_by == load
    assert scenario.one("select count(*) from raw_current.vpr_results where load_id = %s", (load,)) == corrected["rows"]
    assert scenario.one("select count(*) from raw_current.vpr_results where load_id = %s", (blocked,)) == 0
    assert scenario.one(*spec.mart_query(facts)) == scenario.clean_marts[spec.id] > 0
    outcome = scenario.one("select outcome from qc.validations where run_id = %s and suite = %s",
                           (corrected["run"], spec.suite))
    assert outcome == "passed"


def test_report_run_page_names_blocked_files_and_failed_expectations(scenario, corrected, tmp_path):
    import html

    from report.build import build_report

    build_report(scenario.conn, tmp_path / "report")
    page = html.unescape((tmp_path / "report" / f"run-{scenario.run}.html").read_text(encoding="utf-8"))
    for spec in CORRUPTIONS:
        policy, description = policy_of(spec.suite, spec.key)
        assert description in page, spec.id
        if policy == "block":
            assert scenario.facts[spec.id]["file"] in page, spec.id
