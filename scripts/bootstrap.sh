# Sourced by scripts/main.sh and scripts/test.sh: the virtual environment from the lock file and the
# project-local settings. Safe to source repeatedly; reinstalls only when requirements.lock changes.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
UV_VERSION="0.13.9"

if [ ! -x .venv/bin/python ] || ! cmp -s requirements.lock .venv/.installed.lock; then
  echo "Установка окружения из requirements.lock…" >&2
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION" 2>/dev/null \
    || .venv/bin/python -m pip install --quiet "uv==$UV_VERSION"
  .venv/bin/uv pip sync --quiet --python .venv/bin/python --compile-bytecode requirements.lock
  cp requirements.lock .venv/.installed.lock
fi

export PATH="$ROOT/.venv/bin:$PATH"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$ROOT/.local/run}"
mkdir -p "$XDG_RUNTIME_DIR" "$ROOT/.local"
chmod 700 "$ROOT/.local"  # runtime state, secrets and the cluster: the clone owner's only
# Airflow: project-local home and metadata database, no examples, no telemetry.
export AIRFLOW_HOME="${AIRFLOW_HOME:-$ROOT/.local/airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-4}"
export AIRFLOW__COSMOS__ENABLE_TELEMETRY=False
export AIRFLOW__COSMOS__CACHE_DIR="$ROOT/.local/cosmos"
export SCARF_ANALYTICS=false DO_NOT_TRACK=1
