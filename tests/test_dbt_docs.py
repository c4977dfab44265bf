"""dbt as its users meet it: comments in the database, dim_school's contract, source freshness from the ledger,
exposures, and the docs site opened offline.

One small warehouse (the test registry of three schools, every other feed empty) is built once for the module:
the marts exist with their columns and comments, which is all these checks need.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql

from tests.conftest import TEST_KEY
from warehouse.dbt import DBT_DIR, build_docs, run_dbt, source_freshness
from warehouse.paths import ROOT

CYRILLIC = re.compile("[А-Яа-яЁё]")


@pytest.fixture(scope="module")
def warehouse(server_url, template_db, tmp_path_factory):
    """A database with the test registry loaded and every seed and model built (tests not run): its URL."""
    from ingestion.feeds.registry import ReorganisationLoader, SchoolRegistryLoader
    from tests.builders import registry_file

    name = f"edu_docs_{int(time.time() * 1000) % 10**9}"
    admin_url = psycopg.conninfo.make_conninfo(server_url, dbname="postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name),
                                                                       sql.Identifier(template_db)))
    url = psycopg.conninfo.make_conninfo(server_url, dbname=name)
    landing = tmp_path_factory.mktemp("docs_landing")
    registry_file(landing)
    with psycopg.connect(url, autocommit=True) as conn:
        for loader in (ReorganisationLoader, SchoolRegistryLoader):
            assert loader(conn, TEST_KEY).load(next((landing / "registry").iterdir())).status == "loaded"
    assert run_dbt(["build", "--resource-type", "seed", "--resource-type", "model"], url=url), "dbt build failed"
    yield url
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def manifest(warehouse) -> dict:
    return json.loads((DBT_DIR / "target" / "manifest.json").read_text())


def mart_models(manifest: dict) -> list[dict]:
    marts = [n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["schema"] == "marts"]
    assert len(marts) >= 25
    return marts


def test_marts_carry_their_russian_descriptions_as_database_comments(warehouse, manifest):
    undocumented = []
    with psycopg.connect(warehouse) as conn:
        for node in mart_models(manifest):
            relation = f"marts.{node['alias']}"
            comment = conn.execute("select obj_description(%s::regclass, 'pg_class')", (relation,)).fetchone()[0]
            assert comment and CYRILLIC.search(comment), f"{relation}: no Russian comment in the database"
            assert comment.strip() == node["description"].strip()
            columns = conn.execute(
                "select attname, col_description(attrelid, attnum) from pg_attribute "
                "where attrelid = %s::regclass and attnum > 0 and not attisdropped order by attnum",
                (relation,)).fetchall()
            assert columns, relation
            undocumented += [f"{relation}.{column}" for column, text in columns
                             if not (text and CYRILLIC.search(text))]
    assert not undocumented, f"{len(undocumented)} mart columns without a Russian comment: {undocumented[:20]}"


def test_dim_school_is_under_an_enforced_contract(warehouse, manifest, tmp_path):
    node = manifest["nodes"]["model.edu_warehouse.dim_school"]
    assert node["contract"]["enforced"] is True
    assert all(c["data_type"] for c in node["columns"].values())
    with psycopg.connect(warehouse) as conn:
        built = dict(conn.execute("select column_name, data_type from information_schema.columns "
                                  "where table_schema = 'marts' and table_name = 'dim_school'").fetchall())
        keys = conn.execute("select pg_get_constraintdef(oid) from pg_constraint "
                            "where conrelid = 'marts.dim_school'::regclass and contype = 'p'").fetchall()
    assert set(built) == set(node["columns"]), "the contract names every column of the table"
    assert keys == [("PRIMARY KEY (school_id)",)]

    # The same project with one declared type changed: dbt refuses to build the table.
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    models = project / "models" / "marts" / "core" / "_core__models.yml"
    text = models.read_text()
    declared = re.compile(r"(- name: distance_km\n\s+description: [^\n]+\n\s+data_type: )numeric\n")
    assert len(declared.findall(text)) == 1
    models.write_text(declared.sub(r"\1date\n", text))
    assert not run_dbt(["run", "--select", "dim_school"], url=warehouse, project_dir=project)
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    failed = {r["unique_id"]: r["message"] for r in results if r["status"] == "error"}
    message = failed["model.edu_warehouse.dim_school"]
    assert "contract" in message and "distance_km" in message, message


def test_source_freshness_comes_from_the_ledger_arrival_times(warehouse):
    select = ["source:raw.school_registry", "source:raw.vpr_results", "source:raw.file_ledger"]
    with psycopg.connect(warehouse, autocommit=True) as conn:
        arrived = conn.execute("select max(arrived_at) from raw.file_ledger").fetchone()[0]
    now = {r["source"]: r for r in source_freshness(warehouse, select=select)}
    assert now["raw.school_registry"]["status"] == "pass"
    assert datetime.fromisoformat(now["raw.school_registry"]["max_loaded_at"]) == arrived
    assert now["raw.vpr_results"]["status"] == "error"          # never arrived
    assert now["raw.vpr_results"]["max_loaded_at"].startswith("1970-01-01")
    assert now["raw.file_ledger"]["status"] == "pass"

    # The registry's file arrived 500 days ago; a newer registry load that a check blocked does not count.
    long_ago = datetime.now(UTC) - timedelta(days=500)
    with psycopg.connect(warehouse, autocommit=True) as conn:
        conn.execute("update raw.file_ledger set arrived_at = %s", (long_ago,))
        file_id = conn.execute(
            "insert into raw.file_ledger (feed, file_name, file_path, sha256, size_bytes, arrived_at) "
            "select feed, 'Реестр_ОО_новый.xlsx', file_path, 'x' || sha256, size_bytes, now() from raw.file_ledger "
            "where file_id = (select file_id from raw.load_ledger l join raw.school_registry r using (load_id) "
            "limit 1) returning file_id").fetchone()[0]
        load_id = conn.execute("insert into raw.load_ledger (file_id, feed, status) select %s, feed, 'blocked' "
                               "from raw.file_ledger where file_id = %s returning load_id",
                               (file_id, file_id)).fetchone()[0]
        columns = [r[0] for r in conn.execute(
            "select column_name from information_schema.columns where table_schema = 'raw' "
            "and table_name = 'school_registry' and column_name <> 'load_id' order by ordinal_position")]
        listed = sql.SQL(", ").join(map(sql.Identifier, columns))
        conn.execute(sql.SQL("insert into raw.school_registry (load_id, {}) select %s, {} from raw.school_registry "
                             "where load_id <> %s").format(listed, listed), (load_id, load_id))
    stale = {r["source"]: r for r in source_freshness(warehouse, select=select)}
    assert stale["raw.school_registry"]["status"] == "warn"       # 500 days > 400, < 760
    assert abs(stale["raw.school_registry"]["age_seconds"] - 500 * 86400) < 3600
    assert stale["raw.file_ledger"]["status"] == "pass"           # the blocked file did arrive now
    stricter = {r["source"]: r for r in source_freshness(
        warehouse, select=["source:raw.school_registry"],
        dbt_vars={"freshness_warn_after_days": 30, "freshness_error_after_days": 365})}
    assert stricter["raw.school_registry"]["status"] == "error"


def test_exposures_name_the_dashboard_and_the_report(manifest):
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    dashboard, report = exposures["edu_overview_dashboard"], exposures["validation_report"]
    assert dashboard["label"] == "Школы с низкими результатами и в сложных условиях"
    assert dashboard["url"] == "http://localhost:8088/superset/dashboard/edu-overview/"
    assert dashboard["type"] == "dashboard" and dashboard["owner"]["name"]
    shown = {n.rsplit(".", 1)[1] for n in dashboard["depends_on"]["nodes"]}
    assert {"mart_low_results", "mart_adverse_context", "mart_seed_indicators", "mart_school_dynamics",
            "mart_region_dynamics"} <= shown
    # every mart the Superset provisioning files name (deploy/superset/, when present) is declared
    provisioned = {m for path in (ROOT / "deploy" / "superset").rglob("*") if path.is_file()
                   and path.suffix in {".yaml", ".yml", ".json", ".py", ".sql"}
                   for m in re.findall(r"\b((?:mart|dim|fct)_[a-z0-9_]+)\b", path.read_text(errors="replace"))}
    assert provisioned <= shown, f"marts on the dashboard but not in the exposure: {provisioned - shown}"
    read = {n.rsplit(".", 1)[1] for n in report["depends_on"]["nodes"]}
    in_report = set(re.findall(r"\bmarts\.(\w+)", "".join(p.read_text() for p in (ROOT / "report").glob("*.py"))))
    in_report |= set(re.findall(r"\bqc\.(\w+)\b", " ".join(re.findall(r"(?:from|join)\s+qc\.\w+", "".join(
        p.read_text() for p in (ROOT / "report").glob("*.py"))))))
    assert in_report and in_report <= read, f"read by report/ but not in the exposure: {in_report - read}"
    for exposure in (dashboard, report):
        assert CYRILLIC.search(exposure["description"])


def test_docs_site_has_the_marts_and_opens_offline(warehouse, tmp_path):
    from tests import browser

    index = build_docs(warehouse, tmp_path / "report" / "dbt-docs")
    assert sorted(p.name for p in index.parent.iterdir()) == ["catalog.json", "index.html", "manifest.json"]
    catalog = json.loads((index.parent / "catalog.json").read_text())
    low = catalog["nodes"]["model.edu_warehouse.mart_low_results"]
    assert "ШНОР" in low["metadata"]["comment"]                   # read back from the database comment
    assert CYRILLIC.search(low["columns"]["municipality"]["comment"])
    page = index.read_text()
    assert not re.search(r"<(?:script|link|img)[^>]+(?:src|href)=[\"']?(?:https?:)?//", page)
    assert '"send_anonymous_usage_stats": false' in page           # dbt's page loads its tracker only when true

    if browser.chromium_path() is None:
        pytest.fail(browser.INSTALL_HINT)
    with browser.Browser() as chromium:
        tab = chromium.open(index)
        tab.evaluate("window.location.hash = '#!/model/model.edu_warehouse.mart_low_results'; 1")
        text = ""
        for _ in range(100):
            text = tab.evaluate("document.body.innerText") or ""
            if "Школы с низкими образовательными результатами (ШНОР)" in text:
                break
            time.sleep(0.1)
        assert "Школы с низкими образовательными результатами (ШНОР)" in text
        tab.evaluate("window.location.hash = '#!/exposure/exposure.edu_warehouse.edu_overview_dashboard'; 1")
        for _ in range(100):
            text = tab.evaluate("document.body.innerText") or ""
            if "Стартовая панель Superset" in text:
                break
            time.sleep(0.1)
        assert "Стартовая панель Superset" in text
        remote = [u for u in tab.requests() if not u.startswith(browser.LOCAL_SCHEMES)]
    assert not remote, f"the docs page asked the network for {remote}"
