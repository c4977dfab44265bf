"""Evaluation of school dynamics on the probit scale (issue 9 item 2) against the demo truth, per profile, with
and without a planted region-wide cut-score change.

    python bench/eval_dynamics.py [--profiles current realistic] [--cut-change-year 2025]
                                  [--landing current=DIR] [--landing realistic=DIR] [--refresh] [--json]

For each profile two regions are built with the same seed (bench/eval_pipeline.prepare): without a cut change and
with one in --cut-change-year. Printed (and with --json one object {"<profile>": {...}}):
- the regional break per measure and cell (procedure × subject × grade) in the break year, and false breaks in
  the other years;
- the share of comparisons classed «отрицательная» in the break year with and without the change, and the share
  that are «отрицательная» only because of it;
- the share of honest schools' comparisons (never planted inflation) in the break year that keep their class;
- the false-positive rate of «положительная» for stable schools (true ability changed by < 0.05, no inflation
  in either year, no support effect: bench/eval_low_results.py's definition), and the power on schools whose
  ability rose by > 0.3 after support (the same script's definition) and on every rise > 0.3;
- the false discovery rate of «положительная» per method: the share of its «положительная» labels that fall on
  comparisons whose true ability did not change (|Δ| < 0.05). Methods: the class (probit shift, BH), and for
  comparison the descriptive Newcombe/Fisher tests of the shares against the probit baseline, and the same
  without BH (p ≤ α only).
--landing PROFILE=DIR (repeatable) takes an existing landing folder of the profile for the run without a change;
--refresh rebuilds the dynamics models on reused databases (eval_pipeline reuses a database while its truth file is
unchanged, whatever the models).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_pipeline import prepare

from warehouse.dbt import run_dbt

MEASURES = ("is_break_low", "is_break_quality", "is_break_mean_mark", "is_break_mean_score", "is_break_probit")
STABLE_DELTA, RISE_DELTA = 0.05, 0.3


@contextlib.contextmanager
def stdout_to_stderr():
    """The generator and loader print progress (subprocesses too): keep stdout for the report or the JSON."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def region(profile: str, args, cut_year: int | None) -> tuple[str, dict] | None:
    with stdout_to_stderr():
        return _region(profile, args, cut_year)


def _region(profile: str, args, cut_year: int | None) -> tuple[str, dict] | None:
    started = time.perf_counter()
    try:
        landing = dict(args.landing or []).get(profile)
        if cut_year is None and landing:
            url, truth = prepare(profile, landing=Path(landing))
        else:
            url, truth = prepare(profile, schools=args.schools, seed=args.seed, cut_change_year=cut_year)
    except (SystemExit, Exception) as error:  # a profile the generator cannot make yet
        print(f"[{profile}, cut {cut_year}] no region: {error}", file=sys.stderr)
        return None
    if args.refresh:
        assert run_dbt(["build", "--quiet", "--select", "int_school_probits+"], url), "dbt build failed"
    print(f"[{profile}, cut {cut_year}] ready in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return url, truth


def fetch(url: str, query: str, *params) -> list[dict]:
    with psycopg.connect(url) as conn:
        cur = conn.execute(query, params)
        names = [d.name for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def dynamics(url: str) -> dict[tuple, dict]:
    rows = fetch(url, """
        select school_id, procedure_code, subject_code, grade, school_year, n_prev, n_now, dynamics_class,
               dynamics_method, probit_shift, probit_p, low_change_lower_pp, low_change_upper_pp, low_fisher_p,
               low_change_vs_region_pp, quality_change_lower_pp, quality_change_upper_pp, quality_fisher_p,
               quality_change_pp
        from intermediate.int_school_dynamics""")
    return {(r["school_id"], r["procedure_code"], r["subject_code"], r["grade"], r["school_year"]): r for r in rows}


def ability_change(truth: dict, school: str, year: int) -> float | None:
    ability = truth["schools"].get(school, {}).get("latent_ability", {})
    if str(year) in ability and str(year - 1) in ability:
        return ability[str(year)] - ability[str(year - 1)]
    return None


def stable(truth: dict, school: str, year: int) -> bool:
    info = truth["schools"].get(school)
    delta = ability_change(truth, school, year)
    if info is None or delta is None:
        return False
    inflated = {i["year"] for i in info.get("inflation", [])}
    return abs(delta) < STABLE_DELTA and not inflated & {year, year - 1} and not info["improving_after_support"]


def support_rise(truth: dict, school: str, year: int) -> bool:
    info = truth["schools"].get(school, {})
    delta = ability_change(truth, school, year)
    return bool(info.get("improving_after_support") and info.get("support_start_year") is not None
                and year > info["support_start_year"] and delta is not None and delta > RISE_DELTA)


def newcombe_positive(r: dict) -> bool:
    """The previous method's rule on the descriptive columns (against the probit baseline): a significant fall of
    the share of «2» or rise of «4»+«5», without a significant rise of «2»."""
    def significant(lower, upper, fisher):
        return (fisher is not None and fisher < 0.05) if fisher is not None else (
            lower is not None and (lower > 0 or upper < 0))
    low = significant(r["low_change_lower_pp"], r["low_change_upper_pp"], r["low_fisher_p"])
    quality = significant(r["quality_change_lower_pp"], r["quality_change_upper_pp"], r["quality_fisher_p"])
    net = r["low_change_vs_region_pp"] or 0
    worse = low and net > 0
    return not worse and ((low and net < 0) or (quality and (r["quality_change_pp"] or 0) > 0))


def rates(truth: dict, rows: dict[tuple, dict]) -> dict:
    methods = {
        "probit_bh": lambda r: r["dynamics_class"] == "положительная",
        "probit_no_bh": lambda r: r["probit_shift"] is not None and r["probit_shift"] > 0 and r["probit_p"] <= 0.05,
        "newcombe_fisher": newcombe_positive,
    }
    out = {}
    stable_keys = [k for k in rows if stable(truth, k[0], k[4])]
    support_keys = [k for k in rows if support_rise(truth, k[0], k[4])]
    rise_keys = [k for k in rows if (ability_change(truth, k[0], k[4]) or 0) > RISE_DELTA]
    unchanged = [k for k in rows if ability_change(truth, k[0], k[4]) is not None
                 and abs(ability_change(truth, k[0], k[4])) < STABLE_DELTA]
    for name, positive in methods.items():
        labelled = [k for k in rows if positive(rows[k])]
        false = [k for k in labelled if k in set(unchanged)]
        out[name] = {
            "fpr_stable": sum(positive(rows[k]) for k in stable_keys) / max(len(stable_keys), 1),
            "power_support": sum(positive(rows[k]) for k in support_keys) / max(len(support_keys), 1),
            "power_rise": sum(positive(rows[k]) for k in rise_keys) / max(len(rise_keys), 1),
            "positive_labels": len(labelled),
            "false_discoveries": len(false),
            "fdr": len(false) / len(labelled) if labelled else None,
        }
    # the figure for the small-school posterior: classes given to small schools whose ability did not change
    small = [k for k in unchanged if min(rows[k]["n_prev"], rows[k]["n_now"]) < 10]
    out["small_unchanged"] = {
        "comparisons": len(small),
        "classified": sum(rows[k]["dynamics_class"] in ("положительная", "отрицательная") for k in small),
        "positive": sum(rows[k]["dynamics_class"] == "положительная" for k in small)}
    out["counts"] = {"stable": len(stable_keys), "support_rise": len(support_keys), "rise": len(rise_keys),
                     "unchanged": len(unchanged)}
    return out


def breaks(url: str, year: int) -> dict:
    rows = fetch(url, f"select procedure_code, subject_code, grade, school_year, {', '.join(MEASURES)}, "
                      "is_region_break, region_break_label from marts.mart_region_dynamics")
    in_year = [r for r in rows if r["school_year"] == year]
    other = [r for r in rows if r["school_year"] != year]
    flags = (*MEASURES, "is_region_break")
    cells = {f"{r['procedure_code']}:{r['subject_code']}:{r['grade']}": {m: r[m] for m in flags} for r in in_year}
    return {"cells": cells,
            "break_year_detected": {m: sum(bool(r[m]) for r in in_year) for m in (*MEASURES, "is_region_break")},
            "break_year_cells": len(in_year),
            "other_years_breaks": {m: sum(bool(r[m]) for r in other) for m in (*MEASURES, "is_region_break")},
            "other_years_cells": len(other),
            "labels": {f"{r['procedure_code']}:{r['subject_code']}:{r['grade']}": r["region_break_label"]
                       for r in in_year if r["is_region_break"]}}


def evaluate(profile: str, args) -> dict:
    result: dict = {}
    base = region(profile, args, None)
    cut = region(profile, args, args.cut_change_year)
    if base is None:
        return {"error": "нет данных: демо-регион не построен"}
    base_url, base_truth = base
    base_rows = dynamics(base_url)
    result["without_change"] = {"rates": rates(base_truth, base_rows),
                                "breaks": breaks(base_url, args.cut_change_year)}
    if cut is None:
        result["with_change"] = None
        return result
    cut_url, cut_truth = cut
    cut_rows = dynamics(cut_url)
    result["with_change"] = {"rates": rates(cut_truth, cut_rows), "breaks": breaks(cut_url, args.cut_change_year),
                             "cut_change": cut_truth.get("cut_change")}
    year = args.cut_change_year
    shared = [k for k in cut_rows if k in base_rows and k[4] == year]
    affected = [k for k in shared if k[1] == "vpr"] or shared
    honest = [k for k in affected if not cut_truth["schools"].get(k[0], {}).get("inflation")]
    negative = {name: sum(rows[k]["dynamics_class"] == "отрицательная" for k in affected) / max(len(affected), 1)
                for name, rows in (("with_change", cut_rows), ("without_change", base_rows))}
    because = sum(cut_rows[k]["dynamics_class"] == "отрицательная" and base_rows[k]["dynamics_class"] != "отрицательная"
                  for k in affected) / max(len(affected), 1)
    keep = sum(cut_rows[k]["dynamics_class"] == base_rows[k]["dynamics_class"] for k in honest) / max(len(honest), 1)
    result["break_year"] = {"comparisons": len(affected), "negative_share": negative,
                            "negative_because_of_change": because, "honest_comparisons": len(honest),
                            "honest_keep_class": keep}
    return result


def report(profile: str, res: dict) -> None:
    print(f"== {profile}")
    if "error" in res:
        print("  ", res["error"])
        return
    for label in ("without_change", "with_change"):
        part = res.get(label)
        if not part:
            print(f"  {label}: нет региона")
            continue
        b = part["breaks"]
        print(f"  {label}: break year cells {b['break_year_cells']}, detected "
              + ", ".join(f"{m.removeprefix('is_break_')} {v}" for m, v in b["break_year_detected"].items())
              + f"; other years ({b['other_years_cells']} cells): "
              + ", ".join(f"{m.removeprefix('is_break_')} {v}" for m, v in b["other_years_breaks"].items()))
        for cell, flags in sorted(b["cells"].items()):
            if label == "with_change":
                print(f"    {cell:<28} " + " ".join(f"{m.removeprefix('is_break_')}={int(bool(v))}"
                                                      for m, v in flags.items()))
        counts = part["rates"]["counts"]
        print(f"    comparisons: stable {counts['stable']}, support rise {counts['support_rise']}, "
              f"rise > {RISE_DELTA} {counts['rise']}, unchanged ability {counts['unchanged']}")
        small = part["rates"]["small_unchanged"]
        print(f"    small schools (n < 10) with unchanged ability: {small['comparisons']} comparisons, "
              f"classed {small['classified']}, «положительная» {small['positive']}")
        for method, r in part["rates"].items():
            if method in ("counts", "small_unchanged"):
                continue
            fdr = "—" if r["fdr"] is None else f"{r['fdr']:.3f}"
            print(f"    {method:<16} FPR(stable) {r['fpr_stable']:.4f}  power(support) {r['power_support']:.3f}  "
                  f"power(rise) {r['power_rise']:.3f}  «положительная» {r['positive_labels']:>4}  "
                  f"false {r['false_discoveries']:>3}  FDR {fdr}")
    if res.get("break_year"):
        y = res["break_year"]
        print(f"  break year: {y['comparisons']} comparisons; «отрицательная» with change "
              f"{y['negative_share']['with_change']:.4f}, without {y['negative_share']['without_change']:.4f}, "
              f"because of the change {y['negative_because_of_change']:.4f}; honest keep class "
              f"{y['honest_keep_class']:.4f} of {y['honest_comparisons']}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profiles", nargs="+", default=["current", "realistic"])
    parser.add_argument("--cut-change-year", type=int, default=2025)
    parser.add_argument("--schools", type=int, help="the profile's default size unless given")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--landing", action="append", type=lambda v: tuple(v.split("=", 1)), metavar="PROFILE=DIR",
                        help="an existing landing folder of PROFILE for the run without a cut change")
    parser.add_argument("--refresh", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {profile: evaluate(profile, args) for profile in args.profiles}
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=1, default=str))
    else:
        for profile, res in results.items():
            report(profile, res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
