"""python -m ingestion.demo --out data/landing --schools 160 --seed 42"""

from __future__ import annotations

import argparse
from pathlib import Path

from .generator import generate_region


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ingestion.demo",
                                 description="Генератор демонстрационного региона (Красноярский край).")
    ap.add_argument("--out", type=Path, default=Path("data/landing"), help="папка приёма файлов")
    ap.add_argument("--schools", type=int, default=160, help="число школ (не меньше 12)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--workers", type=int, default=None, help="процессов записи xlsx (по умолчанию до 2)")
    ap.add_argument("--clean", action="store_true", help="сначала удалить папки фидов генератора в --out")
    a = ap.parse_args(argv)
    s = generate_region(a.out, a.schools, a.seed, workers=a.workers, clean=a.clean)
    print(f"Школ: {s['schools']}, seed {s['seed']}, {s['seconds']} с, папка {s['out_dir']}")
    for feed, n in s["files"].items():
        print(f"  {feed:<24} файлов {n:>5}  строк {s['rows'][feed]:>8}")
    print(f"Заложенных дефектов: {s['planted_defects']}; эталон: {s['truth']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
