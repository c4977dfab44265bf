#!/usr/bin/env bash
# The test suite: linters, then pytest against a real (embedded) PostgreSQL.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
ruff check .
sqlfluff lint --processes 2 dbt_project/models dbt_project/tests
python -m pytest -q "$@"
