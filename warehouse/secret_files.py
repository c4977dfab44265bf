"""Project-local secrets in ``.local/secrets/``: the folder is the owner's only (700), each file too (600).

A secret is created once, atomically (a second process that races the first reads the winner's value),
and never leaves this folder: it is not committed, not written to the warehouse, logs or URLs.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from warehouse.paths import LOCAL_DIR

SECRETS_DIR = LOCAL_DIR / "secrets"


def secrets_dir() -> Path:
    SECRETS_DIR.mkdir(parents=True, exist_ok=True)
    SECRETS_DIR.chmod(0o700)  # also tightens a folder made by an older version
    return SECRETS_DIR


def _write_private(target: Path, text: str, *, replace: bool) -> None:
    """Write ``text`` to a new file of mode 600 beside ``target``, then move it into place."""
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "w") as stream:  # mkstemp creates the file with mode 600
            stream.write(text)
        if replace:
            os.replace(temporary, target)
        else:
            try:
                os.link(temporary, target)  # fails if another process created it first
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links
                if not target.exists():
                    os.replace(temporary, target)
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)


def read_or_create(name: str, make: Callable[[], str]) -> str:
    """The secret ``name``, created with ``make()`` on first use."""
    path = secrets_dir() / name
    if not path.exists():
        _write_private(path, make() + "\n", replace=False)
    path.chmod(0o600)
    return path.read_text().strip()


def write(name: str, text: str) -> Path:
    """Create or replace the secret file ``name`` (kept unchanged if it already holds ``text``)."""
    path = secrets_dir() / name
    if not path.exists() or path.read_text() != text:
        _write_private(path, text, replace=True)
    path.chmod(0o600)
    return path
