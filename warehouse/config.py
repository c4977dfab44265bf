"""Where the warehouse is and where the pseudonymisation key comes from.

``EDU_WAREHOUSE_URL`` points the project at an existing PostgreSQL; without it the project-local
embedded server is started. ``EDU_PSEUDONYM_KEY`` holds the key of the keyed hash; without it a random
key is created once in ``.local/secrets`` (never committed, never stored in the warehouse).
"""

from __future__ import annotations

import os
import secrets

from warehouse import secret_files

KEY_FILE = secret_files.SECRETS_DIR / "pseudonym.key"


def warehouse_url() -> str:
    configured = os.environ.get("EDU_WAREHOUSE_URL")
    if configured:
        return configured
    from warehouse import embedded

    return embedded.start()


def pseudonym_key() -> bytes:
    configured = os.environ.get("EDU_PSEUDONYM_KEY")
    if configured:
        return configured.encode()
    return secret_files.read_or_create(KEY_FILE.name, lambda: secrets.token_hex(32)).encode()
