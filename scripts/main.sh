#!/usr/bin/env bash
# The main job: the whole pipeline on the demo region, through Airflow, on the embedded PostgreSQL
# (or on the server named by EDU_WAREHOUSE_URL). The last line printed is the warehouse URL.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
exec python scripts/main_job.py "$@"
