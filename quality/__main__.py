"""python -m quality validate --stage feeds|marts|all [--run-id N]: validate and record in qc."""

from __future__ import annotations

import argparse
import logging
import sys

from ingestion.run import connect
from quality import access
from quality.validate import run_stage
from warehouse.config import warehouse_url
from warehouse.orchestration import CONN_QC
from warehouse.paths import REPORT_DIR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m quality", description="Проверки качества данных (GX)")
    sub = parser.add_subparsers(dest="command", required=True)
    validate = sub.add_parser("validate", help="проверить загрузки прогона (feeds) или витрины (marts)")
    validate.add_argument("--stage", choices=("feeds", "marts", "all"), default="all")
    validate.add_argument("--run-id", type=int, help="прогон, начатый этапом feeds (для этапа marts)")
    validate.add_argument("--report-dir", default=str(REPORT_DIR))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)  # its INFO lines are for GX developers
    from pathlib import Path

    url = warehouse_url(CONN_QC)  # on a server: as the checks' role
    docs = Path(args.report_dir) / "gx"
    run_id = args.run_id
    code = 0
    with connect(url) as conn:
        access.ensure_qc(conn)
        for stage in (("feeds", "marts") if args.stage == "all" else (args.stage,)):
            if stage == "marts" and run_id is None:
                run_id = conn.execute("select max(run_id) from qc.runs where finished_at is null").fetchone()[0]
            run_id, outcomes = run_stage(conn, stage, docs, url, run_id)
            for o in outcomes:
                mark = {"passed": "пройдено", "warned": "предупреждение", "blocked": "блокировка"}[o.outcome]
                extra = f": {', '.join(o.failed)}" if o.failed else ""
                loads = f" (заблокировано загрузок: {len(o.blocked_loads)})" if o.blocked_loads else ""
                print(f"{o.suite}: {mark}{extra}{loads}")
            code = max(code, 2 if any(o.outcome == "blocked" for o in outcomes) else 0)
    print(f"Прогон проверки: {run_id}")
    return code


if __name__ == "__main__":
    sys.exit(main())
