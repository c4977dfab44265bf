"""The `realistic` profile: abilities, roles and manipulation plans re-planted over the current region.

What changes against `current` (issue 9 item 4; docs/research/issue9_objectivity.md §2):
- school abilities come from one continuous distribution with a heavier low tail; the persistently low schools
  are the worst 10 % of their comparison group by that ability (no band, no floor, no size minimum), so small
  rural schools are among them and there is no gap between them and the rest;
- improving schools gain 0.15–0.35 pupil SD after support (the size reported for school-improvement
  programmes), not 0.6–0.8;
- cohorts of one school differ (SD 0.1 of pupil ability, pupils.py), as real cohorts do;
- individual ВПР files do not depend on the school's role, so planted schools can be aggregated-only;
- five manipulation kinds of realistic size (manipulation.py), ~6 % of the region's schools per kind, 1–3
  school-years each, so the default 400 schools give ≥ 20 school-years per kind.
Every draw comes from streams of its own (seed, 100+), so the current profile's draws stay as they were.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .region import MERGE_YEAR, WORST_SHARE, Region, School, comparison_group
from .scales import VPR_GRADES, VPR_SUBJECTS, YEARS

DEFAULT_SCHOOLS = 400
# School part of the ability (pupil SD ≈ 1): a split normal, wider below than above, so the low tail is heavier
# than the top one but continuous. SCALE as in current (between-school SD ≈ 0.35–0.4).
SCALE, SIGMA_LOW, SIGMA_HIGH, CONTEXT_WEIGHT = 0.35, 1.5, 0.85, 0.3
YEAR_NOISE = 0.08  # the school's year-to-year wobble, as in current
IMPROVING_SHARE, IMPROVING_GAIN = 0.04, (0.15, 0.35)
RESILIENT_SHARE = 0.03
# Planted school-years per kind: this share of the region's schools (24 at 400 schools).
PLANT_SHARE = 0.06
KINDS = ("copied_answers", "cut_bunching", "journal_gap", "easy_hard_inversion", "jump_then_fall")
# Copying is seen only in pupil rows; a few copying schools send aggregates only, so that the benchmark's
# «недостаточно данных» path has planted cases (reported apart from the recall).
COPIED_WITHOUT_FILES_SHARE = 0.1
COPY_MIN_PER_GRADE = 10  # pupils per grade for a class × variant group of ≥ 4 (half a class writes a variant)
REPEAT_P = (0.45, 0.3)  # a manipulating school goes on the next year with this probability (2nd, 3rd year)


@dataclass
class Plant:
    """One manipulated school-year: the kind, the ВПР cells it touches and its magnitudes."""

    year: int
    method: str
    cells: list  # [(subject, grade)]
    params: dict = field(default_factory=dict)


def _rng(region: Region, *key: int) -> np.random.Generator:
    return np.random.default_rng([region.seed, *key])


def replant(region: Region) -> None:
    schools = region.schools
    for s in schools:
        s.low = s.improving = s.resilient = False
        s.support_start, s.inflation, s.plants = None, [], []
    _abilities(_rng(region, 101), schools)
    _roles(_rng(region, 102), schools)
    _files(_rng(region, 103), schools)
    _plan_manipulation(_rng(region, 104), schools)
    _yearly(_rng(region, 105), schools)


def split_normal(rng: np.random.Generator, n: int) -> np.ndarray:
    """Centred split normal: SIGMA_LOW below the mode, SIGMA_HIGH above."""
    u = rng.normal(size=n)
    u = np.where(u < 0, u * SIGMA_LOW, u * SIGMA_HIGH)
    return u - math.sqrt(2 / math.pi) * (SIGMA_HIGH - SIGMA_LOW)


def _abilities(rng: np.random.Generator, schools: list[School]) -> None:
    ctx = np.array([s.context for s in schools])
    z = (ctx - ctx.mean()) / ctx.std()
    u = split_normal(rng, len(schools))
    for s, zi, ui in zip(schools, z, u, strict=True):
        s.base_effect = SCALE * (-CONTEXT_WEIGHT * zi + math.sqrt(1 - CONTEXT_WEIGHT**2) * ui)
        s.base_effect += {"лицей": 0.2, "гимназия": 0.2, "школа с УИОП": 0.1}.get(s.type, 0.0)


def level(s: School) -> float:
    """The school's persistent ability (municipality + school part), what «persistently low» is about."""
    return s.muni.effect + s.base_effect


def _roles(rng: np.random.Generator, schools: list[School]) -> None:
    eligible = [s for s in schools if s.merged_into is None]
    near_low = []
    for group in ("НОШ", "ООШ", "СОШ"):
        members = sorted((s for s in eligible if comparison_group(s) == group), key=level)
        k = math.ceil(WORST_SHARE * len(members))
        for s in members[:k]:
            s.low = True
        near_low += members[k: max(k + 1, math.ceil(0.3 * len(members)))]
    # Supported schools are low-ish ones (the next 20 % above the worst 10 %); some of them improve.
    n_imp = max(1, round(IMPROVING_SHARE * len(schools)))
    w = np.exp(0.7 * np.array([s.context for s in near_low]))
    for i, j in enumerate(sorted(rng.choice(len(near_low), min(n_imp, len(near_low)), replace=False,
                                            p=w / w.sum()))):
        near_low[j].improving = True
        near_low[j].support_start = 2025 if i % 3 == 2 else 2024
    cand = [s for s in eligible if s.adverse and not (s.low or s.improving) and s.type != "филиал"]
    n_res = max(1, round(RESILIENT_SHARE * len(schools)))
    for j in sorted(rng.choice(len(cand), min(n_res, len(cand)), replace=False)):
        cand[j].resilient = True


def _files(rng: np.random.Generator, schools: list[School]) -> None:
    """Individual files: every school of a "municipality" scope, about half in "school" scope — whatever the
    school's role; the reorganised schools always (the loaders' tests follow them through the files)."""
    for s in schools:
        reorganised = s.merged_into is not None or s.old_login or s.old_short_name \
            or any(o.merged_into == s.idx for o in schools)
        if s.muni.vpr_scope == "municipality":
            s.has_vpr_files = True
        elif s.muni.vpr_scope == "school":
            s.has_vpr_files = bool(reorganised) or bool(rng.random() < 0.5)
        else:
            s.has_vpr_files = False


def vpr_cells(s: School) -> list[tuple[str, int]]:
    return [(subj, g) for subj in VPR_SUBJECTS for g in VPR_GRADES if g in s.grades]


def _years(rng: np.random.Generator, method: str) -> list[int]:
    if method == "jump_then_fall":  # a jump needs the next year to fall back in
        return [int(rng.choice(YEARS[:-1]))]
    first = int(rng.choice(YEARS))
    years = [first]
    for p in REPEAT_P:
        if years[-1] + 1 in YEARS and rng.random() < p:
            years.append(years[-1] + 1)
        else:
            break
    return years


def _cells(rng: np.random.Generator, s: School, method: str) -> tuple[list, dict]:
    """The cells and magnitudes of one school-year (the reasoning per kind is in manipulation.py)."""
    cells = vpr_cells(s)
    pick = lambda k: [cells[i] for i in sorted(rng.choice(len(cells), min(k, len(cells)), replace=False))]  # noqa: E731
    subject = VPR_SUBJECTS[int(rng.integers(2))]
    if method == "copied_answers":
        maths = [c for c in cells if c[0] == "Математика"]
        k = 1 if rng.random() < 0.7 else 2
        chosen = [maths[i] for i in sorted(rng.choice(len(maths), min(k, len(maths)), replace=False))]
        return chosen, {"copiers": [4, 8], "copied_tasks": [4, 8]}
    if method == "cut_bunching":
        chosen = [c for c in cells if c[0] == subject] if rng.random() < 0.5 else pick(int(rng.integers(2, 5)))
        cuts = [3, 4] if rng.random() < 0.3 else [3]
        return chosen, {"share_moved": round(float(rng.uniform(0.2, 0.4)), 3), "cuts": cuts}
    if method == "journal_gap":
        direction = "raised" if rng.random() < 0.5 else "lowered"
        target = rng.uniform(0.2, 0.3) if direction == "raised" else rng.uniform(0.3, 0.45)
        return pick(int(rng.integers(3, 7))), {"direction": direction, "target_share": round(float(target), 3)}
    if method == "easy_hard_inversion":
        shift = [rng.uniform(-0.3, -0.1), rng.uniform(0.05, 0.15), rng.uniform(0.4, 0.6)]
        return pick(int(rng.integers(2, 5))), {"shift_logit": [round(float(x), 3) for x in shift]}
    both = rng.random() < 0.5
    chosen = cells if both else [c for c in cells if c[0] == subject]
    return chosen, {"jump_logit": round(float(rng.uniform(0.25, 0.45)), 3)}


def _eligible(s: School, method: str, files: bool) -> bool:
    if method != "copied_answers":
        return True
    per_grade = s.enrolment / len(s.grades)
    return s.has_vpr_files == files and per_grade >= COPY_MIN_PER_GRADE and 4 in s.grades


def _plan_manipulation(rng: np.random.Generator, schools: list[School]) -> None:
    """One kind per manipulating school, 1–3 consecutive school-years; schools of every size and role but
    improving/resilient (whose truth is their ability path), drawn in a random order."""
    pool = [s for s in schools if s.merged_into is None and not (s.improving or s.resilient)]
    order = [pool[i] for i in rng.permutation(len(pool))]
    used: set[int] = set()
    quota = max(2, round(PLANT_SHARE * len(schools)))
    for method in KINDS:
        targets = [(True, quota)]
        if method == "copied_answers":
            targets = [(True, quota), (False, max(1, round(COPIED_WITHOUT_FILES_SHARE * quota)))]
        for files, want in targets:
            got = 0
            for s in order:
                if got >= want:
                    break
                if s.idx in used or not _eligible(s, method, files):
                    continue
                used.add(s.idx)
                for y in _years(rng, method):
                    if not s.active(y) or (s.merged_into is not None and y >= MERGE_YEAR):
                        continue
                    cells, params = _cells(rng, s, method)
                    s.plants.append(Plant(y, method, cells, params))
                    s.inflation.append((y, method))
                    got += 1
    for s in schools:
        s.inflation.sort()


def _yearly(rng: np.random.Generator, schools: list[School]) -> None:
    for s in schools:
        gain = rng.uniform(*IMPROVING_GAIN)
        res_target = rng.uniform(0.3, 0.6)
        for y in YEARS:
            e = s.base_effect + rng.normal(0, YEAR_NOISE)
            if s.improving and y > s.support_start:
                e += gain
            elif s.resilient:
                e = res_target + rng.normal(0, 0.05) - s.muni.effect
            s.effect[y] = float(e)


def plant_of(s: School, year: int, subject: str, grade: int) -> list[Plant]:
    return [p for p in s.plants if p.year == year and (subject, grade) in p.cells]
