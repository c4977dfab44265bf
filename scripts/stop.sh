#!/usr/bin/env bash
# Stops the embedded PostgreSQL started by the main job (the data stays in .local/pgdata).
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
python -m warehouse.embedded stop
