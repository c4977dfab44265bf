"""python -m ingestion.demo --out data/landing --schools 160 --seed 42 [--profile current|realistic]
[--cut-change-year Y]"""

from __future__ import annotations

import argparse
from pathlib import Path

from .generator import DEFAULT_SCHOOLS, PROFILES, generate_region


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ingestion.demo",
                                 description="Генератор демонстрационного региона (Красноярский край).")
    ap.add_argument("--out", type=Path, default=Path("data/landing"), help="папка приёма файлов")
    ap.add_argument("--schools", type=int, default=None,
                    help="число школ, не меньше 12 (по умолчанию по профилю: "
                         + ", ".join(f"{p} {n}" for p, n in DEFAULT_SCHOOLS.items()) + ")")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--workers", type=int, default=None, help="процессов записи xlsx (по умолчанию до 2)")
    ap.add_argument("--profile", choices=PROFILES, default="current",
                    help="current — прежний демо-регион (те же файлы при том же seed); realistic — непрерывный хвост "
                         "слабых школ, эффекты поддержки и искажения реалистичного размера")
    ap.add_argument("--cut-change-year", type=int, default=None, metavar="Y",
                    help="с этого года границы отметок ВПР повышены для всех школ (+1–2 первичных балла)")
    ap.add_argument("--clean", action="store_true", help="сначала удалить папки фидов генератора в --out")
    a = ap.parse_args(argv)
    s = generate_region(a.out, a.schools, a.seed, workers=a.workers, clean=a.clean, profile=a.profile,
                        cut_change_year=a.cut_change_year)
    print(f"Школ: {s['schools']}, seed {s['seed']}, профиль {s['profile']}, {s['seconds']} с, папка {s['out_dir']}")
    for feed, n in s["files"].items():
        print(f"  {feed:<24} файлов {n:>5}  строк {s['rows'][feed]:>8}")
    print(f"Заложенных дефектов: {s['planted_defects']}; эталон: {s['truth']}")
    print("Школо-лет с искажениями: " + ", ".join(f"{k} {n}" for k, n in s["planted_school_years"].items()))
    if s["cut_change_year"]:
        print(f"Границы отметок ВПР повышены с {s['cut_change_year']} г. (шкала: _truth/vpr_mark_scales.csv)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
