"""What loaders look up in the loaded school registry: school codes, municipalities, enrolment.

A load of one file reads what it needs when it first needs it (the registry as it stands then). A run of
many files in worker processes (``ingestion.core.parallel``) reads it once, in the main process, and
ships the frozen view to the workers: every file of that run is checked against the registry as it stood
when the run began, the same for each, and no worker opens a connection of its own.
"""

from __future__ import annotations

import psycopg

from ingestion.core import rules
from ingestion.core.schools import SchoolResolver


class RegistryView:
    def __init__(self, conn: psycopg.Connection | None):
        self._conn = conn
        self._parts: dict[str, object] = {}

    def _part(self, name: str, read):
        if name not in self._parts:
            if self._conn is None:
                raise RuntimeError(f"registry view is frozen without {name!r}")
            self._parts[name] = read(self._conn)
        return self._parts[name]

    @property
    def resolver(self) -> SchoolResolver:
        return self._part("resolver", SchoolResolver.from_database)

    @property
    def municipalities(self) -> frozenset[str] | None:
        return self._part("municipalities", rules.known_municipalities)

    @property
    def enrolment(self) -> dict[str, int]:
        return self._part("enrolment", rules.registry_enrolment)

    def frozen(self) -> RegistryView:
        """Every part read now; the view no longer holds the connection (it can be pickled)."""
        for name in ("resolver", "municipalities", "enrolment"):
            getattr(self, name)
        view = RegistryView(None)
        view._parts = dict(self._parts)
        return view
