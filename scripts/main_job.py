"""The main job: the demo region through the whole chain of DAGs, on a local Airflow and the embedded PostgreSQL.

1. The warehouse starts (embedded, or the server EDU_WAREHOUSE_URL names).
2. The demo region is generated into the landing folder if it holds no files yet — here, explicitly: no DAG ever
   writes synthetic files.
3. Airflow's metadata database is migrated; the API server, scheduler, DAG processor and triggerer start, and
   the pools are created through the API.
4. The three load DAGs are triggered at once (REST API); the marts DAG starts on their Assets, the validation DAG
   on the marts'.
5. When every run has finished, the components stop; the summary of files, rows and quarantined rows, each
   DAG's wall time, then ``Отчёт о проверке данных: <path>`` and, alone on the last line, the warehouse URL.

Task logs stay in ``.local/airflow/logs`` and the runs in Airflow's database: ``bash scripts/airflow_ui.sh`` shows
them in the Airflow UI. The warehouse keeps running afterwards (``bash scripts/stop.sh`` stops it).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingestion.core import landing as landing_folder  # noqa: E402
from ingestion.run import connect, feed_folders, ledger_summary  # noqa: E402
from warehouse import orchestration as names  # noqa: E402
from warehouse.airflow_local import LOG_DIR, LocalAirflow  # noqa: E402
from warehouse.config import warehouse_url  # noqa: E402
from warehouse.paths import LANDING_DIR, REPORT_DIR  # noqa: E402

REPORT_INDEX = REPORT_DIR / "index.html"
LOAD_DAGS = (names.DAG_LOAD_REGIONAL, names.DAG_LOAD_FEDERAL, names.DAG_LOAD_MUNICIPAL)
ALL_DAGS = (*LOAD_DAGS, names.DAG_BUILD, names.DAG_VALIDATE, names.DAG_RELOAD)


def has_files(landing: Path) -> bool:
    """Any file the feeds read or the ledger would refuse (the generator's answer key ``_truth`` is no file)."""
    if not landing.exists():
        return False
    scan = landing_folder.scan(landing, feed_folders())
    return bool(scan.unread) or any(landing_folder.feed_files(landing / folder) for folder in feed_folders()
                                    if (landing / folder).is_dir())


def generate_demo(landing: Path, schools: int, seed: int) -> None:
    print(f"Папка приёма {landing} пуста: генерация демо-региона ({schools} школ, зерно {seed})…")
    subprocess.run([sys.executable, "-m", "ingestion.demo", "--out", str(landing), "--schools", str(schools),
                    "--seed", str(seed)], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description="Основной запуск: демо-регион через цепочку DAG Airflow")
    parser.add_argument("--landing", type=Path, default=LANDING_DIR)
    parser.add_argument("--schools", type=int, default=160, help="число школ демо-региона")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    landing = args.landing.resolve()

    started = time.monotonic()
    url = warehouse_url()
    print(f"Хранилище: {url}")
    if not has_files(landing):
        generate_demo(landing, args.schools, args.seed)
    local = LocalAirflow.for_embedded(url)
    try:
        local.prepare()
        local.start()
        print(f"Airflow запущен (UI: http://127.0.0.1:{local.api_port}, журналы: {LOG_DIR})")
        local.wait_for_dags(ALL_DAGS)
        local.unpause(ALL_DAGS)
        conf = {"landing": str(landing)}
        chain_started = time.monotonic()
        for dag_id in LOAD_DAGS:
            local.trigger(dag_id, conf)
        print("Загрузки запущены: " + ", ".join(LOAD_DAGS) + "; витрины и проверки — по их Assets…")
        local.wait_until_idle(ALL_DAGS)
        chain_seconds = time.monotonic() - chain_started
        runs = local.run_summary(ALL_DAGS)
    except RuntimeError as error:
        print(f"Ошибка запуска Airflow: {error}", file=sys.stderr)
        return 1
    finally:
        local.stop()

    with connect(url) as conn:
        print(ledger_summary(conn))
        marts = [f"marts.{name}" for (name,) in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1")]
    if marts:
        print("Витрины для запросов: " + ", ".join(marts))
    print("Запуски DAG:")
    for dag_id, run_id, run_type, state, seconds in runs:
        print(f"  {dag_id:<24} {run_type:<16} {state:<8} {seconds or 0:6.0f} с  ({run_id})")
    failed = [f"{d} ({r})" for d, r, _, s, _ in runs if s != "success"]
    elapsed = time.monotonic() - started
    report = f"Отчёт о проверке данных: {REPORT_INDEX}" if REPORT_INDEX.exists() else (
        "Отчёт о проверке данных не построен: см. журнал задачи build_report")
    if failed or not any(d == names.DAG_VALIDATE for d, *_ in runs):
        print(report)
        print(f"Цепочка DAG завершилась с ошибкой за {elapsed:.0f} с: " + (", ".join(failed) or
              "проверка витрин не запускалась") + f"; журналы задач: {LOG_DIR.parent / 'airflow' / 'logs'}",
              file=sys.stderr)
        return 1
    print(f"Цепочка DAG от запуска загрузок до конца проверок: {chain_seconds:.0f} с; подготовка (хранилище, "
          f"запуск Airflow): {elapsed - chain_seconds:.0f} с")
    print(f"Готово за {elapsed:.0f} с. Остановить хранилище: bash scripts/stop.sh")
    print(report)  # the line before the URL: where the analysts' report is
    print(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
