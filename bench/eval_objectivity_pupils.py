"""Recall and honest flag rate of the objectivity checks O2, O3, O8 against a demo region's truth.

    PYTHONPATH=bench python bench/eval_objectivity_pupils.py --landing DIR [--profile current] [--json]
    PYTHONPATH=bench python bench/eval_objectivity_pupils.py --profile realistic [--schools 160 --seed 42]
    python bench/eval_objectivity_pupils.py --url URL --landing DIR    # an already built warehouse, DIR's truth

A school-year is flagged by a check when any of its rows has status «признак». Recall per kind: planted
school-years of the kind flagged by its check (copied_answers O8, cut_bunching O3, easy_hard_inversion O2);
planted school-years where every row of the check is «недостаточно данных» are counted apart. Honest rate:
school-years of never-planted schools flagged by the check. Recall is also given by the school-year's mean
cell size (n band).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_pipeline import prepare

CHECKS = {"copied_answers": "O8", "cut_bunching": "O3", "easy_hard_inversion": "O2"}
BANDS = ((0, 20), (20, 40), (40, 10_000))


def school_years(url: str, check: str) -> dict[tuple[str, int], dict]:
    table = f"intermediate.int_objectivity_{check.lower()}"
    query = f"""
        select school_id, school_year,
               bool_or(status = 'признак') as flagged,
               bool_and(status = 'недостаточно данных') as insufficient,
               avg(n_participants) filter (where subject_code <> 'all' and grade > 0) as mean_n,
               array_agg(distinct sub_check) filter (where status = 'признак') as subs
        from {table} group by school_id, school_year"""
    with psycopg.connect(url) as conn:
        return {(r[0], r[1]): {"flagged": r[2], "insufficient": r[3], "mean_n": r[4], "subs": r[5] or []}
                for r in conn.execute(query)}


def band_of(n: float | None) -> str:
    for lo, hi in BANDS:
        if n is not None and lo <= n < hi:
            return f"{lo}–{hi - 1}" if hi < 10_000 else f"≥{lo}"
    return "нет n"


def evaluate(url: str, truth: dict) -> dict:
    planted = defaultdict(set)
    ever_planted = set()
    for school_id, school in truth["schools"].items():
        for entry in school.get("inflation") or []:
            planted[entry["method"]].add((school_id, entry["year"]))
            ever_planted.add(school_id)
    out = {}
    for kind, check in CHECKS.items():
        rows = school_years(url, check)
        hits = misses = insufficient = 0
        by_band = defaultdict(lambda: [0, 0])
        for key in planted[kind]:
            row = rows.get(key)
            if row is None or row["insufficient"]:
                insufficient += 1
                continue
            band = by_band[band_of(row["mean_n"])]
            band[1] += 1
            if row["flagged"]:
                hits += 1
                band[0] += 1
            else:
                misses += 1
        honest = [r for (s, _), r in rows.items() if s not in ever_planted and not r["insufficient"]]
        honest_flagged = sum(r["flagged"] for r in honest)
        other_kinds = {k: sum(bool(rows.get(key, {}).get("flagged")) for key in keys)
                       for k, keys in planted.items() if k != kind}
        out[kind] = {
            "check": check,
            "recall": hits / (hits + misses) if hits + misses else None,
            "planted": hits + misses, "flagged": hits, "insufficient": insufficient,
            "honest_flag_rate": honest_flagged / len(honest) if honest else None,
            "honest_school_years": len(honest), "honest_flagged": honest_flagged,
            "recall_by_n": {b: f"{h}/{t}" for b, (h, t) in sorted(by_band.items())},
            "other_kinds_flagged": other_kinds,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", type=Path)
    parser.add_argument("--profile", default="current")
    parser.add_argument("--schools", type=int, default=160)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--url", help="an already built warehouse (with --landing for its truth)")
    args = parser.parse_args()
    if args.url:
        url = args.url
        truth = json.loads((args.landing / "_truth" / "truth.json").read_text(encoding="utf-8"))
    else:
        url, truth = prepare(args.profile, landing=args.landing, schools=args.schools, seed=args.seed)
    result = {args.profile: evaluate(url, truth)}
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return
    for kind, r in result[args.profile].items():
        rec = "—" if r["recall"] is None else f"{r['recall']:.2f}"
        rate = "—" if r["honest_flag_rate"] is None else f"{r['honest_flag_rate']:.4f}"
        print(f"{args.profile:9} {kind:20} {r['check']}: полнота {rec} ({r['flagged']}/{r['planted']}, "
              f"недостаточно данных {r['insufficient']}), честные школы-годы с признаком {rate} "
              f"({r['honest_flagged']}/{r['honest_school_years']}); по n: {r['recall_by_n']}; "
              f"другие виды с этим признаком: {r['other_kinds_flagged']}")


if __name__ == "__main__":
    main()
