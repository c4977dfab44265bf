#!/usr/bin/env bash
# The superset-init service of docker-compose.yml; `superset` starts after it has succeeded. Idempotent.
#   1. migrates Superset's metadata database, creates the admin user when missing, sets up roles and permissions;
#   2. imports the dashboard assets (assets/) with the warehouse connection as the read-only role (EDU_BI_URI).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${SUPERSET_ADMIN_USERNAME:?SUPERSET_ADMIN_USERNAME is not set}" "${SUPERSET_ADMIN_PASSWORD:?SUPERSET_ADMIN_PASSWORD is not set}"

superset db upgrade
# Prints "User already exists" (and succeeds) on later runs.
superset fab create-admin --username "$SUPERSET_ADMIN_USERNAME" --password "$SUPERSET_ADMIN_PASSWORD" \
    --firstname Admin --lastname Superset --email "${SUPERSET_ADMIN_EMAIL:-admin@example.org}"
superset init
python "$here/provision.py" "$here/assets"
echo "superset-init: done"
