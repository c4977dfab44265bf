#!/usr/bin/env bash
# The Airflow UI over the main job's runs and task logs (local Airflow on the embedded PostgreSQL), until Ctrl-C.
# Modest parallelism: AIRFLOW__CORE__PARALLELISM=4 (scripts/bootstrap.sh).
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
exec python -m warehouse.airflow_local ui
