"""Detection of persistently low-results schools against the demo region's planted truth.

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
    print(f"year {args.year}: {len(candidates)} candidates")
    for label in ("low_results_persistent", "low_by_ability"):
        true = {s for s, v in truth.items() if v.get(label)}
        found = candidates & true
        print(f"{label:<24} true {len(true):>3}  evaluable {len(true & evaluable):>3}  "
              f"recall {len(found) / max(len(true), 1):.3f}  "
              f"recall (evaluable) {len(found & evaluable) / max(len(true & evaluable), 1):.3f}  "
              f"precision {len(found) / max(len(candidates), 1):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
