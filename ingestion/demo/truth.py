"""The planted truth (truth.json) and the planted defects the loaders must quarantine."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .cut_change import cut_change_truth
from .region import EXIT_SHARE, WINDOW, WORST_SHARE, YEARS_REQUIRED, Region, comparison_group
from .scales import YEARS

DEFECT_KINDS = ("unknown_school", "invalid_mark", "invalid_task_string", "negative_count")
DEFECT_RATE = 0.002
MIN_DATA_ROWS = 20


class DefectPlanter:
    """Chooses rows to spoil. Only files with >= 20 data rows; the first eligible file of each kind
    always gets one so that every kind occurs at least once."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng([seed, 90])
        self.records: list[dict] = []
        self.count = dict.fromkeys(DEFECT_KINDS, 0)
        self.taken: set[tuple[str, str, int]] = set()

    def pick(self, feed: str, file: str, kind: str, row_positions: list[int]) -> list[int]:
        """row_positions: 0-based indices of data rows in the sheet/CSV row list. Returns the chosen
        ones and records them with the 1-based row number a spreadsheet shows."""
        free = [p for p in row_positions if (feed, file, p) not in self.taken]
        if len(row_positions) < MIN_DATA_ROWS or not free:
            return []
        k = min(2, int(self.rng.binomial(len(row_positions), DEFECT_RATE / 2)))
        if self.count[kind] == 0:
            k = max(k, 1)
        chosen = sorted(int(x) for x in self.rng.choice(free, size=min(k, len(free)), replace=False))
        for p in chosen:
            self.taken.add((feed, file, p))
            self.records.append({"feed": feed, "file": file, "row": p + 1, "kind": kind})
        self.count[kind] += len(chosen)
        return chosen


def unknown_codes() -> dict[str, str]:
    """School codes that are in no registry (format-valid, so only the lookup can catch them)."""
    return {"login": "edu249999", "registry": "24R99999", "rcoi": "999999"}




def _mark_low_by_ability(schools: dict) -> None:
    """`low_by_ability`: the ШНОР rule applied to the true ability (no sampling noise) — entry when among the
    worst 10 % of the comparison group in 2 of the last 3 years, exit after 2 years running outside the worst
    20 % — as of the last year: what a perfect measurement would flag. Planted low schools are one way in;
    improving schools stay until their gain takes them out. `low_by_ability_years` lists the years flagged."""
    worst: dict[str, dict[int, tuple[bool, bool]]] = {sid: {} for sid in schools}
    for year in YEARS:
        groups: dict[str, list[tuple[float, str]]] = {}
        for sid, school in schools.items():
            if str(year) in school["latent_ability"]:
                group = school["comparison_group"]
                groups.setdefault(group, []).append((school["latent_ability"][str(year)], sid))
        for members in groups.values():
            members.sort()
            for rank, (_, sid) in enumerate(members, start=1):
                # plain bools: `previous_exit is False` below must not meet a numpy.bool_
                worst[sid][year] = (bool(rank <= np.ceil(WORST_SHARE * len(members))),
                                    bool(rank <= np.ceil(EXIT_SHARE * len(members))))
    for sid, school in schools.items():
        flagged, candidate, previous_exit = [], False, None
        for year in sorted(worst[sid]):
            entry = sum(worst[sid].get(y, (False, False))[0] for y in range(year - WINDOW + 1, year + 1))
            in_exit = worst[sid][year][1]
            leaves = not in_exit and previous_exit is False
            candidate = entry >= YEARS_REQUIRED or (candidate and not leaves)
            previous_exit = in_exit
            if candidate:
                flagged.append(year)
        school["low_by_ability_years"] = flagged
        school["low_by_ability"] = bool(flagged) and flagged[-1] == max(worst[sid], default=0)


def _mark_resilient_by_ability(schools: dict) -> None:
    """`resilient_by_ability`: the resilience rule applied to the true values — adverse context and a residual
    of the true ability (regressed on the true context across the region) in the top quarter in 2 of the
    last 3 years. Planted resilient schools are one way in; an ordinary school in an adverse context that
    does well for its context is another."""
    top_by_year: dict[int, set[str]] = {}
    for year in YEARS[-WINDOW:]:
        ids = [sid for sid, school in schools.items() if str(year) in school["latent_ability"]]
        ability = np.array([schools[sid]["latent_ability"][str(year)] for sid in ids])
        context = np.array([schools[sid]["context_latent"] for sid in ids])
        residual = ability - np.polyval(np.polyfit(context, ability, 1), context)
        cut = np.quantile(residual, 0.75)
        top_by_year[year] = {sid for sid, r in zip(ids, residual, strict=True) if r >= cut}
    for sid, school in schools.items():
        years = sum(sid in top for top in top_by_year.values())
        school["resilient_by_ability"] = bool(school["adverse_context"] and years >= YEARS_REQUIRED)


def _inflation_entry(s, year: int, method: str) -> dict:
    """A planted school-year (contract C2): the ВПР cells whose works or register marks it changed, with the
    participants and the pupils changed; the realistic profile adds its magnitudes and whether the school
    sends individual files (copying is seen only in pupil rows)."""
    entry = {"year": year, "method": method, "cells": s.inflation_cells.get((year, method), [])}
    plan = next((p for p in s.plants if p.year == year and p.method == method), None)
    if plan is not None:
        entry["params"] = plan.params
        entry["individual_files"] = s.has_vpr_files
    return entry


def write_truth(region: Region, planter: DefectPlanter, out_dir: Path, extra: dict) -> Path:
    schools = {}
    for s in region.schools:
        years = [y for y in YEARS if s.active(y)]
        schools[s.reg_code] = {
            "municipality": s.muni.name,
            "name": s.short_name,
            "login": s.login,
            "type": s.type,
            "comparison_group": comparison_group(s),
            "low_results_persistent": s.low,
            "adverse_context": s.adverse,
            "resilient": s.resilient,
            "improving_after_support": s.improving,
            "support_start_year": s.support_start,
            "inflation": [_inflation_entry(s, y, m) for y, m in s.inflation],
            "latent_ability": {str(y): round(s.latent(y), 4) for y in years},
            "context_latent": round(s.context, 4),
            "has_individual_vpr_files": s.has_vpr_files,
            "status": s.status,
        }
    _mark_low_by_ability(schools)
    _mark_resilient_by_ability(schools)
    doc = {
        "region": "Красноярский край",
        "seed": region.seed,
        "profile": region.profile,
        "cut_change": cut_change_truth(region),
        "years": list(YEARS),
        "schools": schools,
        "reorganisations": [
            {"date": r.date, "kind": r.kind, "before": region.schools[r.before].reg_code,
             "after": region.schools[r.after].reg_code, "login_before": r.login_before}
            for r in region.reorganisations
        ],
        "planted_defects": planter.records,
        **extra,
    }
    path = out_dir / "_truth" / "truth.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=False), encoding="utf-8")
    return path
