#!/usr/bin/env bash
# The test suite: linters, then pytest against a real (embedded) PostgreSQL.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
ruff check .
python -m pytest -q "$@"
