"""The Great Expectations project: a file context in .local/gx, the warehouse datasource, Data Docs.

The context lives beside the other runtime state (it keeps validation results between runs for the Data
Docs); the suites themselves are read from expectations/suites each run. The datasource's connection
string is a ``${EDU_GX_URL}`` placeholder filled from the environment, so no password is written to disk.
"""

from __future__ import annotations

import os
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from warehouse.paths import GX_DIR

CONTEXT_DIR = GX_DIR
DATASOURCE = "warehouse"
DOCS_SITE = "qc_report"


def sqlalchemy_url(url: str) -> str:
    """The warehouse URL (or key=value string) as a SQLAlchemy URL for psycopg2; the passfile is kept."""
    from sqlalchemy.engine import URL

    parts = conninfo_to_dict(url)
    query = {k: str(v) for k, v in parts.items() if k in ("passfile", "sslmode", "sslrootcert")}
    return URL.create("postgresql+psycopg2", username=parts.get("user"), password=parts.get("password"),
                      host=parts.get("host") or "127.0.0.1", port=int(parts.get("port") or 5432),
                      database=parts.get("dbname"), query=query).render_as_string(hide_password=False)


def context(url: str, docs_dir: Path):
    """The file context, its datasource pointed at ``url`` and a Data Docs site built into ``docs_dir``."""
    import great_expectations as gx

    os.environ["EDU_GX_URL"] = sqlalchemy_url(url)
    CONTEXT_DIR.mkdir(parents=True, exist_ok=True)
    # Validation definitions and checkpoints are made again by every run (validate.py, add_or_update); stored ones
    # of an earlier version may name table assets that no longer exist, and GX then refuses to load them. The
    # caller holds the qc lock, so no other run is reading them.
    for store in ("validation_definitions", "checkpoints"):
        for stale in (CONTEXT_DIR / "gx" / store).glob("*.json"):
            stale.unlink()
    ctx = gx.get_context(mode="file", project_root_dir=str(CONTEXT_DIR))
    ctx.data_sources.add_or_update_postgres(DATASOURCE, connection_string="${EDU_GX_URL}")
    docs_dir.mkdir(parents=True, exist_ok=True)
    site = {"class_name": "SiteBuilder", "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)}}
    sites = ctx.get_config().data_docs_sites or {}
    if sites.get(DOCS_SITE, {}).get("store_backend", {}).get("base_directory") != str(docs_dir):
        if DOCS_SITE in sites:
            ctx.delete_data_docs_site(DOCS_SITE)
        ctx.add_data_docs_site(site_name=DOCS_SITE, site_config=site)
    for other in [name for name in sites if name != DOCS_SITE]:
        ctx.delete_data_docs_site(other)  # the default site under .local/gx/uncommitted is not needed
    return ctx


def table_batch(ctx, schema: str, table: str):
    """The whole-table batch definition of one relation (created once, reused by later runs)."""
    datasource = ctx.data_sources.get(DATASOURCE)
    name = f"{schema}.{table}"
    try:
        asset = datasource.get_asset(name)
    except LookupError:
        asset = datasource.add_table_asset(name, table_name=table, schema_name=schema)
    try:
        return asset.get_batch_definition("whole")
    except KeyError:
        return asset.add_batch_definition_whole_table("whole")
