"""Fixtures: a real PostgreSQL (the embedded server, or EDU_WAREHOUSE_URL's), one database per test."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

# Reports and the GX project's state go to a scratch folder, never over the user's .local ones (set before
# warehouse.paths is imported; subprocesses such as Airflow inherit them).
_SCRATCH = Path(tempfile.mkdtemp(prefix="edu_tests_"))
os.environ.setdefault("EDU_REPORT_DIR", str(_SCRATCH / "report"))
os.environ.setdefault("EDU_GX_DIR", str(_SCRATCH / "gx"))

import psycopg  # noqa: E402
import pytest  # noqa: E402
from psycopg import sql  # noqa: E402

from ingestion.run import ensure_schema, load_all  # noqa: E402
from warehouse.config import warehouse_url  # noqa: E402

TEST_KEY = b"test-pseudonymisation-key-0123456789"


def _with_database(url: str, database: str) -> str:
    return psycopg.conninfo.make_conninfo(url, dbname=database)


@pytest.fixture(scope="session")
def server_url():
    """The configured server, or the embedded one (stopped afterwards if the tests started it)."""
    if os.environ.get("EDU_WAREHOUSE_URL"):
        yield warehouse_url()
        return
    from warehouse import embedded

    was_running = embedded.running_pid() is not None
    yield embedded.start()
    if not was_running:
        embedded.stop()


@pytest.fixture(scope="session")
def template_db(server_url):
    """A database with the raw schema, copied for each test (faster than creating the schema each time)."""
    name = f"edu_tpl_{os.getpid()}"
    with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    with psycopg.connect(_with_database(server_url, name), autocommit=True) as conn:
        ensure_schema(conn)
    yield name
    with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def db_url(server_url, template_db):
    name = f"edu_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name),
                                                                       sql.Identifier(template_db)))
    yield _with_database(server_url, name)
    with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def conn(db_url):
    with psycopg.connect(db_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def landing(tmp_path, conn):
    """A landing folder whose registry (tests.builders' schools) is written and loaded."""
    from ingestion.feeds.registry import ReorganisationLoader, SchoolRegistryLoader
    from tests.builders import registry_file

    registry_file(tmp_path)
    for loader in (ReorganisationLoader, SchoolRegistryLoader):
        assert loader(conn, TEST_KEY).load(next((tmp_path / "registry").iterdir())).status == "loaded"
    return tmp_path


@pytest.fixture(scope="session")
def demo_landing(tmp_path_factory) -> Path:
    """A small demo region (every feed, every layout variant), generated once per test session."""
    from ingestion.demo import generate_region

    landing = tmp_path_factory.mktemp("landing")
    generate_region(landing, schools=20, seed=7)
    return landing


@pytest.fixture(scope="session")
def demo_loaded(server_url, template_db, demo_landing):
    """The whole demo region loaded once into its own database: (URL, load results)."""
    name = f"edu_demo_{uuid.uuid4().hex[:8]}"
    admin_url = psycopg.conninfo.make_conninfo(server_url, dbname="postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name),
                                                                       sql.Identifier(template_db)))
    url = psycopg.conninfo.make_conninfo(server_url, dbname=name)
    with psycopg.connect(url, autocommit=True) as connection:
        results = load_all(connection, demo_landing, key=TEST_KEY)
    yield url, results
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def demo_db(demo_loaded):
    url, results = demo_loaded
    with psycopg.connect(url, autocommit=True) as connection:
        yield connection, results
