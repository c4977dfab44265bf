# One image for every Airflow service of docker-compose.yml (API server, scheduler, DAG processor, triggerer,
# Celery worker, init): the project and the production lock (requirements-prod.lock: no test or lint tools,
# no embedded PostgreSQL; tests/test_compose.py installs the same lock the same way in a clean venv).
FROM python:3.11-slim-bookworm

ARG AIRFLOW_UID=50000
ENV PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/opt/edu \
    AIRFLOW_HOME=/opt/airflow \
    HOME=/opt/airflow \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false

WORKDIR /opt/edu
COPY requirements-prod.lock .
RUN pip install --no-cache-dir uv==0.13.9 \
 && uv venv /opt/venv --python /usr/local/bin/python3.11 \
 && uv pip sync --python /opt/venv/bin/python --no-cache --compile-bytecode requirements-prod.lock \
 && pip uninstall -y uv

# The airflow user of the official image: uid 50000, group 0. Folders a service writes are group-0 writable,
# so that another AIRFLOW_UID (docker-compose.yml `user:`) can write them too; named volumes mounted there
# start with this ownership.
RUN useradd --uid "$AIRFLOW_UID" --gid 0 --home-dir /opt/airflow --create-home airflow
COPY . .
RUN mkdir -p /opt/airflow/logs /opt/airflow/cosmos /opt/airflow/gx /data/landing /data/archive /data/report \
        dbt_project/target dbt_project/logs \
 && chown -R "$AIRFLOW_UID:0" /opt/airflow /data dbt_project/target dbt_project/logs \
 && chmod -R g+rwX /opt/airflow /data dbt_project/target dbt_project/logs
USER ${AIRFLOW_UID}:0

# The dbt manifest, so that the DAGs parse from it (dbt parse needs no database: the profile's defaults).
RUN dbt parse --project-dir dbt_project --profiles-dir dbt_project --quiet

EXPOSE 8080
CMD ["airflow", "version"]
