#!/usr/bin/env bash
# The test suite: linters, then pytest against a real (embedded) PostgreSQL.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
command -v chromium >/dev/null || { echo "Установка chromium (пакет Debian) для проверки отчёта в браузере…" >&2; { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || echo "chromium не установлен: тест отчёта в браузере не пройдёт" >&2; }
{ command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1; } || { echo "Установка docker-compose (пакет Debian) для проверки docker-compose.yml…" >&2; { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; } || echo "docker-compose не установлен: тесты tests/test_compose.py не пройдут" >&2; }
ruff check .
sqlfluff lint --processes 2 dbt_project/models dbt_project/tests
python -m pytest -q "$@"
