"""The main job: start the warehouse, run the region pipeline through Airflow, print a summary.

The last line printed is the warehouse's connection URL alone; the server keeps running afterwards
(``bash scripts/stop.sh`` stops it). Airflow's own output goes to ``.local/logs/``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingestion.run import connect, ledger_summary  # noqa: E402
from warehouse.config import warehouse_url  # noqa: E402
from warehouse.paths import LANDING_DIR, LOCAL_DIR, REPORT_DIR  # noqa: E402

REPORT_INDEX = REPORT_DIR / "index.html"

DAG_ID = "edu_region_pipeline"


def run_logged(args: list[str], log_file: Path) -> int:
    with log_file.open("a") as log:
        log.write(f"\n$ {' '.join(args)}\n")
        log.flush()
        return subprocess.run(args, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description="Основной запуск: конвейер демо-региона через Airflow")
    parser.add_argument("--landing", type=Path, default=LANDING_DIR)
    parser.add_argument("--schools", type=int, default=160, help="число школ демо-региона")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    started = time.monotonic()
    url = warehouse_url()
    os.environ["EDU_WAREHOUSE_URL"] = url  # the Airflow tasks use the same server
    logs = LOCAL_DIR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_file = logs / "main_job.log"
    print(f"Хранилище: {url}")
    if run_logged(["airflow", "db", "migrate"], log_file) != 0:
        print(f"Не удалось подготовить базу метаданных Airflow; подробности: {log_file}", file=sys.stderr)
        return 1
    conf = {"landing": str(args.landing.resolve()), "demo_schools": args.schools, "demo_seed": args.seed}
    print(f"Запуск DAG {DAG_ID} (журнал Airflow: {log_file})…")
    code = run_logged(["airflow", "dags", "test", DAG_ID, "--conf", json.dumps(conf)], log_file)
    with connect(url) as conn:
        print(ledger_summary(conn))
        marts = [f"marts.{name}" for (name,) in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1")]
    if marts:
        print("Витрины для запросов: " + ", ".join(marts))
    elapsed = time.monotonic() - started
    report = f"Отчёт о проверке данных: {REPORT_INDEX}" if REPORT_INDEX.exists() else (
        "Отчёт о проверке данных не построен: см. журнал задачи build_report")
    if code != 0:
        print(report)
        print(f"DAG {DAG_ID} завершился с ошибкой за {elapsed:.0f} с; подробности: {log_file}", file=sys.stderr)
        return code
    print(f"Готово за {elapsed:.0f} с. Остановить хранилище: bash scripts/stop.sh")
    print(report)  # the line before the URL: where the analysts' report is
    print(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
