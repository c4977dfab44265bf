"""Detection figures against the demo region's planted truth: ШНОР candidates, ШНСУ and resilient schools,
and «положительная» dynamics of schools whose true ability did not change.

    python bench/eval_low_results.py --landing data/landing [--year 2026]

Reads `_truth/truth.json` beside the loaded files and the marts built from them (the warehouse URL from
EDU_WAREHOUSE_URL or the embedded server). Two truths: `low_results_persistent` (the planted low-results
schools) and `low_by_ability` (the true ability among the worst 10 % of the comparison group in 2 of the
last 3 years, i.e. what a noise-free measurement would flag). "Evaluable" schools have a score in at
least two years.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from warehouse.config import warehouse_url


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--landing", type=Path, default=Path("data/landing"))
    parser.add_argument("--year", type=int, default=2026)
    args = parser.parse_args()
    truth = json.loads((args.landing / "_truth" / "truth.json").read_text(encoding="utf-8"))["schools"]
    with psycopg.connect(warehouse_url()) as conn:
        evaluable = {s for (s,) in conn.execute(
            "select school_id from intermediate.int_low_results_school_years group by 1 having count(*) >= 2")}
        candidates = {s for (s,) in conn.execute(
            "select school_id from marts.mart_low_results where is_candidate and school_year = %s", (args.year,))}
        adverse = {s for (s,) in conn.execute(
            "select school_id from marts.mart_adverse_context where is_adverse and school_year = %s", (args.year,))}
        resilient = {s for (s,) in conn.execute(
            "select school_id from marts.mart_adverse_context where is_resilient and school_year = %s", (args.year,))}
        dynamics = conn.execute(
            "select school_id, school_year, dynamics_method, dynamics_class from marts.mart_school_dynamics").fetchall()
    print(f"year {args.year}: {len(candidates)} candidates")
    for label in ("low_results_persistent", "low_by_ability"):
        true = {s for s, v in truth.items() if v.get(label)}
        found = candidates & true
        print(f"{label:<24} true {len(true):>3}  evaluable {len(true & evaluable):>3}  "
              f"recall {len(found) / max(len(true), 1):.3f}  "
              f"recall (evaluable) {len(found & evaluable) / max(len(true & evaluable), 1):.3f}  "
              f"precision {len(found) / max(len(candidates), 1):.3f}")
    for label, found, key in (("adverse context (ШНСУ)", adverse, "adverse_context"),
                              ("resilient (planted)", resilient, "resilient"),
                              ("resilient_by_ability", resilient, "resilient_by_ability")):
        true = {s for s, v in truth.items() if v.get(key)}
        hits = len(found & true)
        print(f"{label:<24} true {len(true):>3}  found {len(found):>3}  recall {hits / max(len(true), 1):.3f}"
              f"  precision {hits / max(len(found), 1):.3f}")
    stable = set()
    for school_id, school in truth.items():
        ability = {int(y): v for y, v in school["latent_ability"].items()}
        changed = {i["year"] for i in school["inflation"]}
        for year, value in ability.items():
            if (year - 1 in ability and abs(value - ability[year - 1]) < 0.05 and not changed & {year, year - 1}
                    and not school["improving_after_support"]):
                stable.add((school_id, year))
    # every comparison of a stable school counts, «недостаточно данных» included: a small school left without
    # a class is not a false positive, and leaving it out would count only the small schools that got one
    judged = [(m, c) for s, y, m, c in dynamics if (s, y) in stable]
    positive = sum(c == "положительная" for _, c in judged) / max(len(judged), 1)
    print(f"dynamics of stable schools: {len(judged)} comparisons, «положительная» {positive:.3f} (α = 0.05)")
    for method in sorted({m for m, _ in judged}):
        rows = [c for m, c in judged if m == method]
        classified = [c for c in rows if c != "недостаточно данных"]
        print(f"  {method}: {len(rows)} comparisons, «положительная» "
              f"{sum(c == 'положительная' for c in rows) / len(rows):.3f}; among the {len(classified)} with a class "
              f"{sum(c == 'положительная' for c in classified) / max(len(classified), 1):.3f}")
    # power: schools whose ability rose after support (the years after support_start)
    improving = {(s, y) for s, v in truth.items() if v["improving_after_support"]
                 for y in range(v["support_start_year"] + 1, args.year + 1)
                 if str(y) in v["latent_ability"] and str(y - 1) in v["latent_ability"]
                 and v["latent_ability"][str(y)] - v["latent_ability"][str(y - 1)] > 0.3}
    rose = [c for s, y, _, c in dynamics if (s, y) in improving]
    print(f"dynamics of schools whose ability rose after support: {len(rose)} comparisons, «положительная» "
          f"{sum(c == 'положительная' for c in rose) / max(len(rose), 1):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
