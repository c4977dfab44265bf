"""Objectivity checks against the demo region's planted manipulations, on both demo profiles.

    python bench/eval_objectivity.py                          # generate and build both profiles (160 / 400 schools)
    python bench/eval_objectivity.py --landing data/landing   # today's profile from an existing landing folder
    python bench/eval_objectivity.py --realistic-landing DIR  # the realistic profile from an existing folder
    python bench/eval_objectivity.py --json                   # one JSON object for machines
    python bench/eval_objectivity.py --schools 400 --seed 7 --profiles realistic

Per kind of planted manipulation (truth.json, per school `inflation` entries {year, method, cells}), the kind's
primary check(s) — copied_answers O8, cut_bunching O3, journal_gap O4, easy_hard_inversion O2, jump_then_fall
O5/O6 — must flag the planted school-year (any row of the check for the school-year with status «признак»).

- recall = flagged planted school-years / planted school-years where the check could be computed;
  a planted school-year whose primary checks are «недостаточно данных»/«нет данных» in every planted cell is
  counted apart («insufficient»), neither a hit nor a miss (the text output also gives recall over all planted);
- honest_flag_rate = school-years of never-planted schools flagged by the same check(s) / school-years of
  never-planted schools where the check was computed.

Also printed: an upper bound of cut_bunching's recall (bench/power_bounds.py: the best test that knows where,
at which cut and how many pupils were moved, at the same honest flag rate), so that a low recall can be told from
a manipulation too small for any test; a kind × check table (share of planted school-years flagged by each
check, honest school-years in the last row) and the overall status of mart_objectivity for planted and honest
school-years.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

PRIMARY = {"copied_answers": ("O8",), "cut_bunching": ("O3",), "journal_gap": ("O4",),
           "easy_hard_inversion": ("O2",), "jump_then_fall": ("O5", "O6")}
CHECKS = tuple(f"O{i}" for i in range(1, 11))
FLAGGED = "признак"
NOT_COMPUTED = ("недостаточно данных", "нет данных")
STATUSES = ("признаки необъективности", "отдельные признаки", "нет признаков", "недостаточно данных")
HONEST = "honest"


# ----------------------------------------------------------------------------------------------- evaluation

def planted(truth: dict) -> dict[str, dict[tuple[str, int], set | None]]:
    """kind → {(school, year): planted cells {(subject, grade)}, or None (every cell) when the truth names no cell
    with a changed pupil}."""
    out: dict[str, dict] = defaultdict(dict)
    for sid, school in truth["schools"].items():
        for entry in school.get("inflation") or []:
            # a cell where the generator changed no pupil (n_changed 0) was not manipulated
            cells = [c for c in entry.get("cells") or [] if c.get("n_changed", 1) > 0]
            key = (sid, int(entry["year"]))
            wanted = {(c["subject_code"], int(c["grade"])) for c in cells} or None
            previous = out[entry["method"]].get(key, set())
            out[entry["method"]][key] = None if wanted is None or previous is None else previous | wanted
    return out


SIZE_BANDS = ((0, 20, "n < 20"), (20, 40, "20 ≤ n < 40"), (40, 10**9, "n ≥ 40"))


def planted_sizes(truth: dict) -> dict[tuple[str, str, int], float]:
    """(kind, school, year) → the mean number of participants of the planted cells (where the truth gives it)."""
    out = {}
    for sid, school in truth["schools"].items():
        for entry in school.get("inflation") or []:
            sizes = [c["n_participants"] for c in entry.get("cells") or []
                     if c.get("n_changed", 1) > 0 and c.get("n_participants") is not None]
            if sizes:
                out[(entry["method"], sid, int(entry["year"]))] = sum(sizes) / len(sizes)
    return out


def size_band(n: float | None) -> str:
    return next((label for low, high, label in SIZE_BANDS if n is not None and low <= n < high), "n unknown")


def honest_schools(truth: dict) -> set[str]:
    return {sid for sid, school in truth["schools"].items() if not school.get("inflation")}


def index_flags(rows) -> dict[tuple[str, int, str], list[tuple[str, int, str]]]:
    """(school, year, check) → [(subject, grade, status)] from mart_objectivity_flags rows
    (school_id, school_year, check_code, subject_code, grade, status)."""
    out: dict = defaultdict(list)
    for school_id, year, check, subject, grade, status in rows:
        out[(school_id, int(year), check)].append((subject, grade, status))
    return out


def judge(flags: dict, key: tuple[str, int], checks, cells: set | None) -> str:
    """'flagged' | 'not_flagged' | 'insufficient' | 'no_rows' for one school-year and a set of checks. Flagged: any
    row of the checks has a sign. Insufficient: no row of the checks was computed in the cells concerned (the planted
    cells and school-level rows; all cells when the truth names none). No rows: the checks gave the school-year no
    row at all (a check not built yet, or a gap in the contract's frame) — counted apart, never as computed."""
    rows = [r for c in checks for r in flags.get((*key, c), [])]
    if not rows:
        return "no_rows"
    if any(status == FLAGGED for _, _, status in rows):
        return "flagged"
    concerned = [r for r in rows if cells is None or r[0] == "all" or (r[0], r[1]) in cells]
    if any(status not in NOT_COMPUTED for _, _, status in concerned):
        return "not_flagged"
    return "insufficient"


def evaluate(truth: dict, flag_rows, status_rows=()) -> dict:
    """The figures of one profile. flag_rows: (school_id, school_year, check_code, subject_code, grade, status);
    status_rows: (school_id, school_year, status) of mart_objectivity."""
    flags = index_flags(flag_rows)
    kinds = planted(truth)
    honest = honest_schools(truth)
    school_years = {(s, int(y)) for s, y, *_ in flag_rows} | {(s, int(y)) for s, y, _ in status_rows}
    honest_years = sorted(k for k in school_years if k[0] in honest)
    sizes = planted_sizes(truth)
    result: dict = {"kinds": {}, "confusion": {}, "overall": {}, "by_size": {}}
    for kind in sorted(set(PRIMARY) | set(kinds)):
        checks = PRIMARY.get(kind, ())
        cases = kinds.get(kind, {})
        judged = {key: judge(flags, key, checks, cells) for key, cells in cases.items()}
        verdicts = Counter(judged.values())
        bands: dict = defaultdict(Counter)
        for key, verdict in judged.items():
            bands[size_band(sizes.get((kind, *key)))][verdict] += 1
        result["by_size"][kind] = {band: {"flagged": c["flagged"], "computed": c["flagged"] + c["not_flagged"],
                                          "insufficient": c["insufficient"] + c["no_rows"]}
                                   for band, c in sorted(bands.items())}
        computable = verdicts["flagged"] + verdicts["not_flagged"]
        honest_verdicts = Counter(judge(flags, key, checks, None) for key in honest_years)
        honest_computed = honest_verdicts["flagged"] + honest_verdicts["not_flagged"]
        result["kinds"][kind] = {
            "checks": list(checks), "planted": len(cases), "flagged": verdicts["flagged"],
            "insufficient": verdicts["insufficient"], "no_rows": verdicts["no_rows"],
            "recall": verdicts["flagged"] / computable if computable else None,
            "recall_all_planted": verdicts["flagged"] / len(cases) if cases else None,
            "honest_school_years": len(honest_years), "honest_computed": honest_computed,
            "honest_flagged": honest_verdicts["flagged"],
            "honest_flag_rate": honest_verdicts["flagged"] / honest_computed if honest_computed else None,
        }
        result["confusion"][kind] = {c: _share(flags, cases, c) for c in CHECKS}
    result["confusion"][HONEST] = {c: _share(flags, dict.fromkeys(honest_years), c) for c in CHECKS}
    status_of = {(s, int(y)): st for s, y, st in status_rows}
    groups = {kind: list(cases) for kind, cases in kinds.items()}
    groups[HONEST] = honest_years
    for group, keys in groups.items():
        counts = Counter(status_of.get(k, "нет строки в витрине") for k in keys)
        result["overall"][group] = {"n": len(keys), **{s: counts[s] / len(keys) if keys else None
                                                       for s in (*STATUSES, "нет строки в витрине")}}
    return result


def _share(flags: dict, cases: dict, check: str) -> float | None:
    if not cases:
        return None
    return sum(judge(flags, key, (check,), None) == "flagged" for key in cases) / len(cases)


def machine(results: dict[str, dict]) -> dict:
    return {profile: None if res is None else {kind: {"recall": r["recall"], "honest_flag_rate": r["honest_flag_rate"]}
                                               for kind, r in res["kinds"].items()}
            for profile, res in results.items()}


# ----------------------------------------------------------------------------------------------- output

def _f(value, pct: bool = False) -> str:
    if value is None:
        return "   n/a"
    return f"{100 * value:5.1f}%" if pct else f"{value:6.3f}"


def print_profile(profile: str, res: dict) -> None:
    print(f"\n=== profile {profile} ===")
    print("planted school-years: flagged by the kind's checks / «недостаточно данных» in the planted cells (insuff., "
          "not a miss) /\nno row of the checks at all (no rows); recall = flagged / computed; "
          "(all) = flagged / planted;"
          "\nhonest: school-years of never-planted schools, those where the checks were computed, and flagged")
    print(f"{'kind':<21}{'checks':<8}{'planted':>8}{'flagged':>8}{'insuff.':>8}{'no rows':>8}{'recall':>8}{'(all)':>8}"
          f"{'honest':>8}{'computed':>9}{'flagged':>8}{'rate':>8}")
    for kind, r in res["kinds"].items():
        print(f"{kind:<21}{'/'.join(r['checks']) or '-':<8}{r['planted']:>8}{r['flagged']:>8}{r['insufficient']:>8}"
              f"{r['no_rows']:>8}{_f(r['recall']):>8}{_f(r['recall_all_planted']):>8}{r['honest_school_years']:>8}"
              f"{r['honest_computed']:>9}{r['honest_flagged']:>8}{_f(r['honest_flag_rate'], True):>8}")
    print("\nrecall by the size of the planted cells (mean participants): flagged / computed (+ not computed)")
    for kind, bands in res["by_size"].items():
        print(f"{kind:<21}" + "   ".join(f"{band}: {b['flagged']}/{b['computed']} (+{b['insufficient']})"
                                       for band, b in bands.items()))
    print("\nshare of school-years flagged, kind x check (any cell with «признак»):")
    print(f"{'':<21}" + "".join(f"{c:>7}" for c in CHECKS))
    for kind, row in res["confusion"].items():
        print(f"{kind:<21}" + "".join(f"{_f(row[c], True):>7}" for c in CHECKS))
    print("\noverall status (mart_objectivity):")
    labels = (*STATUSES, "нет строки в витрине")
    print(f"{'':<21}{'n':>6}" + "".join(f"{s:>26}" for s in labels))
    for group, row in res["overall"].items():
        print(f"{group:<21}{row['n']:>6}" + "".join(f"{_f(row[s], True):>26}" for s in labels))


# ----------------------------------------------------------------------------------------------- data

def read_marts(url: str) -> tuple[list, list] | None:
    """(flag rows, status rows), or None when the database has no objectivity marts."""
    with psycopg.connect(url) as conn:
        if conn.execute("select to_regclass('marts.mart_objectivity_flags')").fetchone()[0] is None:
            return None
        flags = conn.execute("select school_id, school_year, check_code, subject_code, grade, status "
                             "from marts.mart_objectivity_flags").fetchall()
        statuses = []
        if conn.execute("select to_regclass('marts.mart_objectivity')").fetchone()[0] is not None:
            statuses = conn.execute("select school_id, school_year, status from marts.mart_objectivity").fetchall()
    return flags, statuses


def bunching_bounds(url: str, truth: dict, honest_rate: float = 0.02) -> list[float]:
    """The oracle's power (power_bounds.bunching_oracle_power) for every planted cut_bunching school-year whose
    planted cells have a score histogram (all of a cell's moved pupils at its lowest planted cut, which only
    favours the oracle)."""
    from power_bounds import bunching_oracle_power

    with psycopg.connect(url) as conn:
        hist = defaultdict(dict)
        for school, year, subject, grade, score, pupils in conn.execute(
                "select school_id, school_year, subject_code, grade, score, pupils "
                "from intermediate.int_score_histograms where distribution_ok"):
            hist[(school, year, subject, grade)][score] = pupils
        scales = conn.execute("select subject_code, grade, mark, min_primary_score, valid_from, valid_to "
                              "from reference.vpr_mark_scales where mark >= 3").fetchall()

    def cut(year: int, subject: str, grade: int, mark: int) -> int | None:
        return next((c for s, g, mk, c, lo, hi in scales if (s, g, mk) == (subject, grade, mark) and lo <= year <= hi),
                    None)

    powers = []
    for sid, school in truth["schools"].items():
        for entry in school.get("inflation") or []:
            if entry["method"] != "cut_bunching":
                continue
            year, mark = int(entry["year"]), min(entry.get("params", {}).get("cuts") or [3])
            cells = []
            for c in entry.get("cells") or []:
                counts, at = hist.get((sid, year, c["subject_code"], int(c["grade"]))), \
                    cut(year, c["subject_code"], int(c["grade"]), mark)
                if not counts or at is None:
                    continue
                # the school's honest expected count per score near the cut: the mean over the six scores
                # c − 3 … c + 2, which moving pupils from c − 2, c − 1 to c leaves unchanged (a local average, not
                # the realised counts, whose zeros would hand the oracle a certainty it cannot have)
                per_score = sum(counts.get(score, 0) for score in range(at - 3, at + 3)) / 6
                cells.append((int(c.get("n_changed", 0)), per_score, 2 * per_score))
            power = bunching_oracle_power(cells, honest_rate)
            if power is not None:
                powers.append(power)
    return powers


def print_bunching_bounds(powers: list[float], honest_rate: float = 0.02) -> None:
    if not powers:
        return
    print(f"\ncut_bunching, the best possible test (knows the planted cells, the cut and the pupils moved; honest "
          f"flag rate {100 * honest_rate:.0f} %):\n  expected recall {sum(powers) / len(powers):.3f} over "
          f"{len(powers)} planted school-years with histograms; power ≥ 0.9 in {sum(p >= 0.9 for p in powers)}, "
          f"median power {sorted(powers)[len(powers) // 2]:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--landing", type=Path, default=None,
                        help="landing folder of today's profile (current); default: generate one")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--realistic-landing", type=Path, default=None,
                        help="landing folder of the realistic profile; default: generate one")
    parser.add_argument("--schools", type=int, default=None, help="schools of a generated region "
                        "(default: the profile's own size, current 160, realistic 400)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--profiles", default="current,realistic", help="comma-separated: current,realistic")
    args = parser.parse_args(argv)
    from eval_pipeline import prepare

    results = {}
    for profile in [p.strip() for p in args.profiles.split(",") if p.strip()]:
        landing = {"current": args.landing, "realistic": args.realistic_landing}.get(profile)
        try:
            url, truth = prepare(profile, landing=landing, schools=args.schools, seed=args.seed)
        except subprocess.CalledProcessError as error:   # the generator does not know the profile
            print(f"profile {profile}: the demo generator failed ({error}); no figures", file=sys.stderr)
            results[profile] = None
            continue
        marts = read_marts(url)
        if marts is None:
            database = psycopg.conninfo.conninfo_to_dict(url).get("dbname")
            print(f"profile {profile}: database {database} has no marts.mart_objectivity_flags (the objectivity "
                  "checks are not built); no figures", file=sys.stderr)
            results[profile] = None
            continue
        results[profile] = evaluate(truth, *marts)
        if not args.json:
            print_profile(profile, results[profile])
            print_bunching_bounds(bunching_bounds(url, truth))
    if args.json:
        print(json.dumps(machine(results), ensure_ascii=False))
    return 0 if all(r is not None for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
