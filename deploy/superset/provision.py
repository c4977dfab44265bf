"""Imports the dashboard assets of this folder into Superset (run by init.sh in the superset-init service).

    python provision.py [ASSETS_DIR]

assets/ is a Superset export bundle unpacked (metadata.yaml, databases/, datasets/, charts/, dashboards/),
kept readable in the repository. The warehouse's connection is not in it: the database's sqlalchemy_uri is
taken from EDU_BI_URI (the read-only role edu_bi_app). Every run overwrites the database, the datasets, the
charts and the dashboard with the repository's version (`superset import-dashboards` alone would keep old
datasets and charts), so that a changed asset reaches a running installation by restarting superset-init.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

ASSETS = Path(__file__).resolve().parent / "assets"


def read_bundle(assets: Path, bi_uri: str) -> dict[str, str]:
    """The bundle's files by their path in the bundle, with the warehouse URI put into the database file."""
    contents = {}
    for path in sorted(assets.rglob("*.yaml")):
        name = path.relative_to(assets).as_posix()
        text = path.read_text(encoding="utf-8")
        if name.startswith("databases/"):
            config = yaml.safe_load(text)
            config["sqlalchemy_uri"] = bi_uri
            text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
        contents[name] = text
    if "metadata.yaml" not in contents:
        raise SystemExit(f"{assets}: metadata.yaml is missing: not a Superset bundle")
    return contents


def provision(contents: dict[str, str], username: str) -> None:
    """Import every model of the bundle, overwriting what an earlier run imported (inside an app context)."""
    from flask import g
    from superset import security_manager
    from superset.commands.chart.importers.v1 import ImportChartsCommand
    from superset.commands.dashboard.importers.v1 import ImportDashboardsCommand
    from superset.commands.database.importers.v1 import ImportDatabasesCommand
    from superset.commands.dataset.importers.v1 import ImportDatasetsCommand

    user = security_manager.find_user(username=username)
    if user is None:
        raise SystemExit(f"provision.py: no Superset user {username!r} (superset fab create-admin first)")
    g.user = user
    # One bundle, each command validating the type named in metadata.yaml: the type is left out.
    metadata = yaml.safe_load(contents["metadata.yaml"])
    metadata.pop("type", None)
    contents = {**contents, "metadata.yaml": yaml.safe_dump(metadata)}
    for command in (ImportDatabasesCommand, ImportDatasetsCommand, ImportChartsCommand, ImportDashboardsCommand):
        command(contents, overwrite=True).run()
        print(f"provision.py: {command.__name__} done")


def main(argv: list[str]) -> None:
    assets = Path(argv[1]) if len(argv) > 1 else ASSETS
    bi_uri = os.environ.get("EDU_BI_URI")
    if not bi_uri:
        raise SystemExit("provision.py: EDU_BI_URI is not set (the read-only warehouse role's URI)")
    contents = read_bundle(assets, bi_uri)
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        provision(contents, os.environ.get("SUPERSET_ADMIN_USERNAME", "admin"))


if __name__ == "__main__":
    main(sys.argv)
