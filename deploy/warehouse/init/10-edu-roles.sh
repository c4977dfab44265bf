#!/usr/bin/env bash
# The warehouse's roles, run once by the postgres image's entrypoint when the database is created
# (compose mounts this folder as /docker-entrypoint-initdb.d; sql/ is a folder, so the entrypoint skips it
# and only this script runs it). Passwords come from the environment (the compose env file), never from
# the repository. Re-running it on an existing database is safe: roles and schemas are kept, the
# passwords are set again.
set -euo pipefail

for variable in WAREHOUSE_LOADER_PASSWORD WAREHOUSE_TRANSFORMER_PASSWORD WAREHOUSE_QC_PASSWORD WAREHOUSE_BI_PASSWORD; do
    if [ -z "${!variable:-}" ]; then
        echo "10-edu-roles.sh: ${variable} is not set: the warehouse's login roles need their passwords" >&2
        exit 1
    fi
done

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-edu}" \
    -v loader_password="$WAREHOUSE_LOADER_PASSWORD" \
    -v transformer_password="$WAREHOUSE_TRANSFORMER_PASSWORD" \
    -v qc_password="$WAREHOUSE_QC_PASSWORD" \
    -v bi_password="$WAREHOUSE_BI_PASSWORD" \
    -f "$(dirname "${BASH_SOURCE[0]}")/sql/edu_roles.sql"
