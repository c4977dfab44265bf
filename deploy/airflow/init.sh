#!/usr/bin/env bash
# The airflow-init service of docker-compose.yml; every other Airflow service waits until it has succeeded.
# Idempotent: safe on every `docker compose up`.
#   1. migrates Airflow's metadata database (with the FAB auth manager's tables);
#   2. creates the admin user when it does not exist (AIRFLOW_ADMIN_USERNAME / AIRFLOW_ADMIN_PASSWORD);
#   3. creates or updates the pools of warehouse/orchestration.py POOLS;
#   4. checks that every warehouse connection of warehouse/orchestration.py CONNECTIONS is defined, logs in,
#      and is not a superuser (row-level security does not apply to a superuser).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

echo "airflow-init: Airflow $(airflow version)"
airflow db migrate

: "${AIRFLOW_ADMIN_USERNAME:?AIRFLOW_ADMIN_USERNAME is not set}" "${AIRFLOW_ADMIN_PASSWORD:?AIRFLOW_ADMIN_PASSWORD is not set}"
if airflow users list --output json | python -c "
import json, os, sys
sys.exit(0 if any(u['username'] == os.environ['AIRFLOW_ADMIN_USERNAME'] for u in json.load(sys.stdin)) else 1)"; then
    echo "airflow-init: admin user ${AIRFLOW_ADMIN_USERNAME} exists"
else
    airflow users create --role Admin --username "$AIRFLOW_ADMIN_USERNAME" --password "$AIRFLOW_ADMIN_PASSWORD" \
        --firstname Admin --lastname Airflow --email "${AIRFLOW_ADMIN_EMAIL:-admin@example.org}"
fi

pools="$(mktemp --suffix .json)"
trap 'rm -f "$pools"' EXIT
python -c "
import json
from warehouse.orchestration import POOLS
print(json.dumps({name: {'slots': slots, 'description': text, 'include_deferred': False}
                  for name, (slots, text) in POOLS.items()}, ensure_ascii=False))" >"$pools"
airflow pools import "$pools"

python - <<'EOF'
import os
import sys

import psycopg

from warehouse.orchestration import CONNECTIONS

failed = []
for conn_id in CONNECTIONS:
    url = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if not url:
        failed.append(f"{conn_id}: AIRFLOW_CONN_{conn_id.upper()} is not set")
        continue
    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            user, superuser = conn.execute(
                "select session_user, rolsuper from pg_roles where rolname = session_user").fetchone()
    except psycopg.Error as error:
        failed.append(f"{conn_id}: cannot connect ({str(error).strip()})")
        continue
    if superuser:
        failed.append(f"{conn_id}: {user} is a superuser; use the stage's login role")
    else:
        print(f"airflow-init: {conn_id} logs in as {user}")
if failed:
    sys.exit("airflow-init: " + "; ".join(failed))
EOF
echo "airflow-init: done"
