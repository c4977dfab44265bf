"""The Airflow DAG: it imports cleanly, orders the registry before the feeds, and runs end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("airflow_home")
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "PYTHONPATH": str(ROOT)}
    airflow = [sys.executable, "-m", "airflow"]
    subprocess.run([*airflow, "db", "migrate"], env=env, check=True, capture_output=True)
    return env


def test_dag_imports_and_orders_registry_first(airflow_env):
    script = (
        "from airflow.dag_processing.dagbag import DagBag; import json; "
        "b = DagBag(dag_folder='dags'); d = b.dags['edu_region_pipeline']; "
        "print(json.dumps({'errors': list(b.import_errors), "
        "'down': {t.task_id: sorted(t.downstream_task_ids) for t in d.tasks}}))"
    )
    out = subprocess.run([sys.executable, "-c", script], env=airflow_env, cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    graph = json.loads(out.strip().splitlines()[-1])
    assert graph["errors"] == []
    assert graph["down"]["create_schema"] == ["load_registry"]
    assert "load_feed" in graph["down"]["load_registry"]
    assert graph["down"]["load_feed"] == ["report"]
    assert graph["down"]["report"] == ["validate_feeds"]
    assert graph["down"]["validate_feeds"] == ["build_marts"]
    assert graph["down"]["build_marts"] == ["validate_marts"]
    assert graph["down"]["validate_marts"] == ["build_report", "check_files"]


def test_dag_run_loads_every_feed(airflow_env, demo_landing, db_url, conn):
    env = {**airflow_env, "EDU_WAREHOUSE_URL": db_url, "EDU_PSEUDONYM_KEY": "dag-test-key-0123456789abcdef"}
    conf = json.dumps({"landing": str(demo_landing)})
    run = subprocess.run([sys.executable, "-m", "airflow", "dags", "test", "edu_region_pipeline", "--conf", conf],
                         env=env, cwd=ROOT, capture_output=True, text=True)
    output = run.stdout + run.stderr
    # dbt's own error lines name the failing model or test; the traceback tail alone does not
    errors = [line for line in output.splitlines() if "ERROR" in line or "Error" in line or "deadlock" in line]
    assert run.returncode == 0, "\n".join(errors[-40:]) + output[-2000:]
    from ingestion.feeds import LOADERS

    loaded = {feed for (feed,) in conn.execute("select distinct feed from raw.load_ledger where status = 'loaded'")}
    assert loaded == {loader.feed for loader in LOADERS}
    assert "Загрузка: файлы и строки по потокам данных" in run.stdout + run.stderr
    marts = conn.execute("select count(*) from marts.mart_school_results").fetchone()[0]
    assert marts > 100  # the run ends with dbt build
    # then the checks: every suite ran on the clean demo and passed, and the report was built from qc
    status, report_path = conn.execute("select status, report_path from qc.runs").fetchone()
    suites = {s for (s,) in conn.execute("select suite from qc.validations")}
    from quality.suites import read_suites

    assert suites == {s.name for s in read_suites()}
    assert status == "passed"
    assert report_path == os.path.join(os.environ["EDU_REPORT_DIR"], "index.html")
    assert "Отчёт о проверке данных" in Path(report_path).read_text(encoding="utf-8")
