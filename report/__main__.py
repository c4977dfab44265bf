"""python -m report [--out DIR] [--run-id N]: rebuild the validation report from the qc schema."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ingestion.run import connect
from report.build import build_report
from warehouse.config import warehouse_url
from warehouse.orchestration import CONN_QC
from warehouse.paths import LOCAL_DIR

DEFAULT_OUT = LOCAL_DIR / "report"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m report",
                                     description="Отчёт о проверке данных: статический сайт из схемы qc хранилища.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"папка сайта (по умолчанию {DEFAULT_OUT})")
    parser.add_argument("--run-id", type=int, default=None,
                        help="построить отчёт по состоянию на прогон N (прогоны после него не показываются)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with connect(warehouse_url(CONN_QC)) as conn:  # on a server: as the checks' role
        index = build_report(conn, args.out, run_id=args.run_id)
    print(f"Отчёт построен за {time.monotonic() - started:.1f} с", file=sys.stderr)
    print(f"Отчёт о проверке данных: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
