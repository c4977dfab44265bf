"""Names the DAGs, the compose file and the deployment share: Airflow connection ids, pools, DAG ids, Assets.

One place, so that a test can check that docker-compose.yml defines every connection and pool the DAGs use.
"""

from __future__ import annotations

# Airflow connections, one per stage and warehouse role (on a server: AIRFLOW_CONN_<ID> in the environment;
# locally they are undefined and every stage uses EDU_WAREHOUSE_URL or the embedded server).
CONN_LOADER = "edu_warehouse_loader"  # loads: raw schema and the ledger (role edu_loader)
CONN_TRANSFORMER = "edu_warehouse_transformer"  # dbt build (role edu_transformer)
CONN_QC = "edu_warehouse_qc"  # data-quality checks and the analysts' report (qc schema)
CONNECTIONS = (CONN_LOADER, CONN_TRANSFORMER, CONN_QC)

# Pools: slots = how many tasks of the kind may run at once.
POOL_LOADS = "edu_loads"  # file loads; two cores, and each feed × school year is locked in the warehouse too
POOL_DBT = "edu_dbt"  # one dbt build at a time
POOL_QC = "edu_qc"  # one data-quality run at a time (it marks loads blocked)
POOLS = {POOL_LOADS: (2, "Загрузка файлов в хранилище"), POOL_DBT: (1, "Сборка витрин dbt"),
         POOL_QC: (1, "Проверки качества данных")}

# DAG ids
DAG_LOAD_FEDERAL = "edu_load_federal"
DAG_LOAD_REGIONAL = "edu_load_regional"
DAG_LOAD_MUNICIPAL = "edu_load_municipal"
DAG_BUILD = "edu_build_marts"
DAG_VALIDATE = "edu_validate_marts"
DAG_RELOAD = "edu_reload_school_year"
# No DAG writes synthetic files: the main job generates the demo region itself (python -m ingestion.demo).

# Asset URIs name the warehouse by its compose service name, so that they are the same on every deployment.
WAREHOUSE_URI = "postgres://warehouse:5432/edu"


def raw_asset_uri(table: str) -> str:
    return f"{WAREHOUSE_URI}/raw/{table}"


def marts_asset_uri(family: str) -> str:
    return f"{WAREHOUSE_URI}/marts/{family}"
