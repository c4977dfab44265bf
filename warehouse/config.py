"""Where the warehouse is and where the pseudonymisation key comes from.

``EDU_WAREHOUSE_URL`` points the project at an existing PostgreSQL; without it the project-local
embedded server is started. ``EDU_PSEUDONYM_KEY`` holds the key of the keyed hash; without it a random
key is created once in ``.local/secrets`` (never committed, never stored in the warehouse).
"""

from __future__ import annotations

import os
import secrets

from warehouse.paths import LOCAL_DIR

KEY_FILE = LOCAL_DIR / "secrets" / "pseudonym.key"


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
    if not KEY_FILE.exists():
        KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        KEY_FILE.touch(mode=0o600)
        KEY_FILE.write_text(secrets.token_hex(32))
    return KEY_FILE.read_text().strip().encode()
