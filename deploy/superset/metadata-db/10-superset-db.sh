#!/usr/bin/env bash
# Superset's database and role on the metadata PostgreSQL of docker-compose.yml, next to Airflow's; run once by
# the postgres image's entrypoint when the cluster is created. The password comes from the environment.
set -euo pipefail
: "${SUPERSET_DB_PASSWORD:?SUPERSET_DB_PASSWORD is not set}"
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v superset_password="$SUPERSET_DB_PASSWORD" <<'SQL'
select format('create role superset login password %L', :'superset_password')
where not exists (select from pg_roles where rolname = 'superset') \gexec
select 'create database superset owner superset'
where not exists (select from pg_database where datname = 'superset') \gexec
SQL
