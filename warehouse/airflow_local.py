"""A local Airflow on the embedded PostgreSQL: the components a server runs, started and stopped by the main job.

Airflow's metadata live in the database ``airflow`` of the embedded server (the LocalExecutor needs a real
database), the API server, scheduler, DAG processor and triggerer run as child processes with modest parallelism,
and the warehouse connections of ``warehouse.orchestration`` are given as ``AIRFLOW_CONN_*`` variables. Task logs
are written where the UI reads them (``.local/airflow/logs``), so a run can be inspected afterwards with
``bash scripts/airflow_ui.sh``.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from warehouse import orchestration as names
from warehouse import secret_files
from warehouse.paths import LOCAL_DIR, ROOT

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
LOG_DIR = LOCAL_DIR / "logs"
METADATA_DB = "airflow"
FINISHED = ("success", "failed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ensure_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))


@dataclass
class LocalAirflow:
    """The environment and the child processes of one local Airflow."""

    password: str
    host: str
    port: int
    database: str = "edu"  # the warehouse's database on the same server
    metadata_db: str = METADATA_DB
    home: Path | None = None  # AIRFLOW_HOME (config, task logs); default: the environment's (.local/airflow)
    api_port: int = field(default_factory=_free_port)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    _api_token: str | None = field(default=None, repr=False)

    @classmethod
    def for_embedded(cls, warehouse: str | None = None, metadata_db: str = METADATA_DB,
                     home: Path | None = None) -> LocalAirflow:
        """On the embedded server; `warehouse` (a URL on it) names the warehouse database, default ``edu``."""
        from psycopg.conninfo import conninfo_to_dict

        from warehouse import embedded

        parts = conninfo_to_dict(embedded.start())
        database = conninfo_to_dict(warehouse).get("dbname", "edu") if warehouse else "edu"
        local = cls(embedded.password(), str(parts["host"]), int(parts["port"]), database, metadata_db, home)
        _ensure_database(local.url("postgres"), metadata_db)
        return local

    def url(self, database: str, driver: str = "") -> str:
        scheme = f"postgresql{driver}"
        return f"{scheme}://postgres:{quote(self.password, safe='')}@{self.host}:{self.port}/{database}"

    def env(self) -> dict[str, str]:
        jwt = secret_files.read_or_create("airflow_jwt_secret", lambda: secrets.token_urlsafe(32))
        env = dict(os.environ)
        if self.home is not None:
            env["AIRFLOW_HOME"] = str(self.home)
        env.update({
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            # the pools bound the heavy tasks (loads 2 = the cores, dbt 1, checks 1); the other slots go to sensors
            # polling in one process each and to light tasks, so that a waiting sensor never delays a load
            "AIRFLOW__CORE__PARALLELISM": env.get("EDU_AIRFLOW_PARALLELISM", "6"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.api_port}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.url(self.metadata_db, driver="+psycopg2"),
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API_AUTH__JWT_SECRET": jwt,
            "AIRFLOW__API__SECRET_KEY": jwt,
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            # the DAG files do not change during a local run: parse them once, not every 30 s (each parse of the
            # build DAG imports Cosmos: CPU taken from the tasks on two cores); an edited file is seen in 5 minutes
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": env.get(
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL", "300"),
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.2",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            # the main job starts the loads itself; a server keeps the hourly schedule (docker-compose.yml)
            "EDU_LOAD_SCHEDULE": env.get("EDU_LOAD_SCHEDULE", "none"),
            "EDU_WAREHOUSE_URL": env.get("EDU_WAREHOUSE_URL") or self.url(self.database),
        })
        # the stages' connections: locally all the superuser of the embedded server (a server has one role each)
        for conn_id in names.CONNECTIONS:
            env[f"AIRFLOW_CONN_{conn_id.upper()}"] = self.url(self.database)
        return env

    def airflow(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        with (LOG_DIR / "airflow-cli.log").open("a") as log:
            log.write(f"\n$ airflow {' '.join(args)}\n")
            log.flush()
            return subprocess.run([sys.executable, "-m", "airflow", *args], env=self.env(), cwd=ROOT, check=check,
                                  stdout=log, stderr=subprocess.STDOUT)

    def prepare(self) -> None:
        """Migrate the metadata database (the pools are created through the API once it is up: ``start``)."""
        self.airflow("db", "migrate")

    def create_pools(self) -> None:
        self.api("PATCH", "/api/v2/pools", {"actions": [{
            "action": "create", "action_on_existence": "overwrite",
            "entities": [{"name": name, "slots": slots, "description": text, "include_deferred": False}
                         for name, (slots, text) in names.POOLS.items()]}]})

    def start(self) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        env = self.env()
        for component in COMPONENTS:
            log = (LOG_DIR / f"airflow-{component}.log").open("a")
            args = [sys.executable, "-m", "airflow", component]
            if component == "api-server":
                args += ["--port", str(self.api_port), "--host", "127.0.0.1"]
            self.processes[component] = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log,
                                                         stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_for_api()
        self.create_pools()

    def _wait_for_api(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.api_port}/api/v2/monitor/health", timeout=2):
                    return
            except OSError:
                time.sleep(1)
        raise RuntimeError(f"API-сервер Airflow не запустился за {timeout:.0f} с; журнал: {LOG_DIR}")

    def _check_alive(self) -> None:
        for component, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"Компонент Airflow «{component}» завершился (код {process.returncode}); "
                                   f"журнал: {LOG_DIR / f'airflow-{component}.log'}")

    def logs(self) -> Path:
        return Path(self.env()["AIRFLOW_HOME"]) / "logs"

    def task_log(self, dag_id: str, run_id: str, task_id: str) -> str:
        """The task's log as the UI shows it (every attempt), for the tests and the main job's messages."""
        folder = self.logs() / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in sorted(folder.glob("*.log")))

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, 15)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
        self.processes.clear()

    # ------------------------------------------------------------------------------------------- runs
    def metadata(self) -> psycopg.Connection:
        return psycopg.connect(self.url(self.metadata_db), autocommit=True)

    def wait_for_dags(self, dag_ids: Iterable[str], timeout: float = 180) -> None:
        wanted = set(dag_ids)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            with self.metadata() as conn:
                seen = {d for (d,) in conn.execute("select dag_id from serialized_dag")}
                errors = conn.execute("select filename, stacktrace from import_error").fetchall()
            if errors:
                raise RuntimeError("Ошибки импорта DAG: " + "; ".join(f"{f}: {s[-500:]}" for f, s in errors))
            if wanted <= seen:
                return
            time.sleep(1)
        raise RuntimeError(f"DAG не появились в Airflow за {timeout:.0f} с: {sorted(wanted - seen)}")

    def _token(self) -> str:
        """A token of the local admin (simple auth manager; its generated password is in AIRFLOW_HOME)."""
        if self._api_token is None:
            passwords = json.loads((Path(self.env()["AIRFLOW_HOME"]) /
                                    "simple_auth_manager_passwords.json.generated").read_text())
            request = urllib.request.Request(
                f"http://127.0.0.1:{self.api_port}/auth/token", method="POST",
                data=json.dumps({"username": "admin", "password": passwords["admin"]}).encode(),
                headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=30) as response:
                self._api_token = json.loads(response.read())["access_token"]
        return self._api_token

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        """A call of Airflow's REST API (no CLI process start: the main job's runs start within one second)."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.api_port}{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self._token()}"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"API Airflow {method} {path}: {error.code} {error.read()[:500]!r}") from error

    def unpause(self, dag_ids: Iterable[str]) -> None:
        for dag_id in dag_ids:
            self.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        run_id = f"main_job__{dag_id}__{int(time.time() * 1000)}"
        self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"dag_run_id": run_id, "logical_date": None,
                                                            "conf": conf or {}})
        return run_id

    def runs(self, dag_id: str) -> list[tuple[str, str, str]]:
        with self.metadata() as conn:
            return conn.execute("select run_id, state, run_type from dag_run where dag_id = %s order by id",
                                (dag_id,)).fetchall()

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 3600) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            state = next((s for r, s, _ in self.runs(dag_id) if r == run_id), None)
            if state in FINISHED:
                return state
            time.sleep(1)
        raise RuntimeError(f"Запуск {run_id} DAG {dag_id} не завершился за {timeout:.0f} с")

    def wait_until_idle(self, dag_ids: Iterable[str], settle: float = 3, timeout: float = 3600) -> None:
        """Until no run of these DAGs is queued or running and no Asset event waits to start one, for `settle`
        seconds (a task's Asset events are queued when it succeeds, before its run ends)."""
        dag_ids = list(dag_ids)
        deadline, quiet_since = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            self._check_alive()
            with self.metadata() as conn:
                busy = conn.execute("select count(*) from dag_run where dag_id = any(%s) and state in "
                                    "('queued', 'running')", (dag_ids,)).fetchone()[0]
                busy += conn.execute("select count(*) from asset_dag_run_queue q join dag d on d.dag_id = "
                                     "q.target_dag_id where q.target_dag_id = any(%s)", (dag_ids,)).fetchone()[0]
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= settle:
                return
            time.sleep(1)
        raise RuntimeError(f"DAG {dag_ids} не завершились за {timeout:.0f} с")

    def run_summary(self, dag_ids: Iterable[str]) -> list[tuple[str, str, str, str, float]]:
        """(dag, run, type, state, seconds) of every run of these DAGs."""
        with self.metadata() as conn:
            return conn.execute(
                "select dag_id, run_id, run_type, state, extract(epoch from end_date - start_date) from dag_run "
                "where dag_id = any(%s) order by start_date", (list(dag_ids),)).fetchall()


def main(argv: list[str]) -> int:
    """``python -m warehouse.airflow_local ui``: the Airflow UI over the main job's runs, until Ctrl-C."""
    if argv[:1] != ["ui"]:
        print("usage: python -m warehouse.airflow_local ui", file=sys.stderr)
        return 2
    from warehouse.config import warehouse_url

    local = LocalAirflow.for_embedded(warehouse_url())
    local.prepare()
    local.start()
    print(f"Airflow UI: http://127.0.0.1:{local.api_port}/ (пользователь admin, пароль — в файле "
          f"{Path(local.env()['AIRFLOW_HOME']) / 'simple_auth_manager_passwords.json.generated'}); "
          "остановить: Ctrl-C", flush=True)
    try:
        while True:
            local._check_alive()
            time.sleep(5)
    except KeyboardInterrupt:
        return 0
    finally:
        local.stop()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
