"""Where the warehouse is and where the pseudonymisation key comes from.

``EDU_WAREHOUSE_URL`` points the project at an existing PostgreSQL; without it the project-local
embedded server is started. On a server each stage connects as its own role, through the Airflow
connection of that stage (``warehouse.orchestration.CONN_*``): Airflow reads a connection from the environment
variable ``AIRFLOW_CONN_<ID>`` (a URI), and so does ``warehouse_url(conn_id)``, so the same variable serves
Airflow hooks and plain scripts. Without it the stage falls back to ``EDU_WAREHOUSE_URL`` or the embedded server.
``EDU_PSEUDONYM_KEY`` holds the key of the keyed hash; without it a random
key is created once in ``.local/secrets`` (never committed, never stored in the warehouse).
"""

from __future__ import annotations

import os
import secrets

from warehouse import secret_files

KEY_FILE = secret_files.SECRETS_DIR / "pseudonym.key"


def warehouse_url(conn_id: str | None = None) -> str:
    """The URL a stage connects with: the Airflow connection `conn_id` when it is defined in the environment,
    else EDU_WAREHOUSE_URL, else the embedded server."""
    configured = (os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}") if conn_id else None) or os.environ.get(
        "EDU_WAREHOUSE_URL")
    if configured:
        return configured
    from warehouse import embedded

    return embedded.start()


def pseudonym_key() -> bytes:
    configured = os.environ.get("EDU_PSEUDONYM_KEY")
    if configured:
        return configured.encode()
    return secret_files.read_or_create(KEY_FILE.name, lambda: secrets.token_hex(32)).encode()
