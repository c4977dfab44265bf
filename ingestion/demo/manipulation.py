"""The realistic profile's five manipulation kinds, applied to one ВПР sitting (pupils.simulate_vpr).

Magnitudes follow docs/research/issue9_objectivity.md §2 (right column), chosen from what is known of how the
distortion arises, never to let a check pass; each kind's reasoning is beside its code. The register (journal)
stays the teacher's honest mark unless the kind is about the register.
"""

from __future__ import annotations

import numpy as np

from .realistic import Plant, plant_of
from .scales import TestSpec

LEVEL = {"Б": 0, "П": 1, "В": 2}


def apply_plants(pupils, sit_year: int, subject: str, grade: int, test: TestSpec, p: np.ndarray, sch: np.ndarray,
                 cls: list, theta: np.ndarray, points: np.ndarray, d: np.ndarray, rng: np.random.Generator) -> dict:
    """Changes `points` (ВПР task points) and `d` (journal − honest mark) in place for every planted school of
    this cell. Returns {school idx: [(plant, pupils changed, participants)]}."""
    from .pupils import simulate_points  # pupils imports this module

    schools = pupils.region.schools
    out: dict[int, list] = {}
    for si in np.unique(sch):
        s = schools[si]
        for plant in plant_of(s, sit_year, subject, grade):
            m = np.flatnonzero(sch == si)
            before, d_before = points[m].copy(), d[m].copy()
            kind = plant.method
            if kind == "jump_then_fall":
                _jump(plant, test, theta, points, m, rng, simulate_points)
            elif kind == "easy_hard_inversion":
                _inversion(plant, test, theta, points, m, rng, simulate_points)
            elif kind == "cut_bunching":
                _bunching(plant, test, points, m, rng)
            elif kind == "journal_gap":
                _journal_gap(plant, test, points, d, m, rng)
            elif kind == "copied_answers":
                _copying(plant, test, points, m, cls, pupils.variant[p[m]], rng)
            changed = int(((points[m] != before).any(axis=1) | (d[m] != d_before)).sum())
            out.setdefault(int(si), []).append((plant, changed, len(m)))
    return out


def _jump(plant: Plant, test, theta, points, m, rng, simulate_points) -> None:
    # Jacob & Levitt's pattern: answers supplied or the test "taught" in one year lift the whole cell, then the
    # next year's cohort (honest) falls back. +0.25–0.45 logit ≈ 0.25–0.45 pupil SD ≈ 1 school-effect SD: a rise
    # a real school could show, not the 2.3 school-effect SD of the current profile.
    points[m] = simulate_points(test, theta[m] + plant.params["jump_logit"], rng)


def _inversion(plant: Plant, test, theta, points, m, rng, simulate_points) -> None:
    # Answers to the hard (В) tasks given or hinted, easy tasks left to the pupils and marked strictly:
    # ≈ (−0.2, +0.1, +0.5) logits on Б/П/В gives hard − basic ≈ +12–18 p.p. and a basic gap of −3…−5 p.p.
    # (research §2), about half of the current profile's (−0.6, +0.15, +1.1).
    shift = np.tile(np.asarray(plant.params["shift_logit"]), (len(m), 1))
    points[m] = simulate_points(test, theta[m], rng, shift)


def _add_to_criteria(row: np.ndarray, test: TestSpec, need: int, rng: np.random.Generator) -> None:
    """Re-marking by the school: points go to the multi-point tasks a teacher scores by criteria (К criteria
    of the Russian essay, extended-answer mathematics), then to any task if those are full."""
    multi = [j for j, t in enumerate(test.tasks) if t.max_points >= 2 and row[j] < t.max_points]
    rest = [j for j, t in enumerate(test.tasks) if t.max_points < 2 and row[j] < t.max_points]
    rng.shuffle(multi)
    rng.shuffle(rest)
    for j in multi + rest:
        if need <= 0:
            break
        add = min(need, test.tasks[j].max_points - int(row[j]))
        row[j] += add
        need -= add


def _bunching(plant: Plant, test, points, m, rng) -> None:
    # Generous re-marking of works 1–2 points below a cut: 20–40 % of those pupils are moved, mostly at the
    # «3» cut (the «2» is what a school is judged by), sometimes also at «4»; the points go where a teacher
    # judges (criteria), so task-level checks see ordinary-looking works.
    share = plant.params["share_moved"]
    cuts = [test.cuts[c - 3] for c in plant.params["cuts"]]
    for i in m:
        sc = int(points[i].sum())
        for c in cuts:
            if c - 2 <= sc < c and rng.random() < share:
                _add_to_criteria(points[i], test, c - sc, rng)
                break


REGION_RAISED, REGION_LOWERED = 0.07, 0.17  # the region's «Повысили» / «Понизили» shares (research §0)


def _journal_gap(plant: Plant, test, points, d, m, rng) -> None:
    # Register and ВПР disagree far beyond the region: «Понизили» 30–45 % (region ≈ 17 %) when the school's
    # register marks are inflated, «Повысили» 20–30 % (region ≈ 7 %) when the ВПР works were marked up. The
    # latter is what «Повысили» means in reality, so it comes with raised ВПР marks: the works closest below
    # the next cut are marked up to it (≤ 15 % of the maximum), their register mark stays honest.
    target = plant.params["target_share"]
    mark = 2 + (points[m].sum(axis=1)[:, None] >= np.asarray(test.cuts)[None, :]).sum(axis=1)
    if plant.params["direction"] == "lowered":
        # register one mark above the ВПР for a share of the pupils who can go up (no +1 at «5»)
        can = mark < 5
        q = min(0.95, (target - 0.03) / max(can.mean(), 1e-9)) if can.any() else 0.0
        r = rng.random(len(m))
        d[m] = np.where(can & (r < q), 1, np.where((mark > 2) & (r > 0.97), -1, 0))
        return
    moved = max(0.0, (target - REGION_RAISED) / (1 - REGION_RAISED))
    k = round(moved * len(m))
    score = points[m].sum(axis=1)
    nxt = np.array([test.cuts[mk - 2] if mk < 5 else 10**6 for mk in mark])
    need = nxt - score
    limit = max(2, round(0.15 * test.max_score))
    order = np.lexsort((rng.random(len(m)), need))
    chosen = [int(j) for j in order if need[j] <= limit][:k]
    for j in chosen:
        i = m[j]
        _add_to_criteria(points[i], test, int(need[j]), rng)
        d[i] = 0  # the register keeps the honest mark, now one below the ВПР


def _copying(plant: Plant, test, points, m, cls: list, variants: np.ndarray, rng) -> None:
    # Copying happens inside a class and one variant (the other variant has other tasks). 4–8 pupils take a
    # classmate's answers on 4–8 of the harder (П/В) tasks and keep their own work elsewhere, so exact
    # duplicates of the whole work are rare (0–3), unlike the current profile's 5–10 identical works.
    groups: dict[tuple, list[int]] = {}
    for j, i in enumerate(m):
        groups.setdefault((cls[i], int(variants[j])), []).append(int(i))
    group = max(groups.values(), key=len)
    if len(group) < 4:
        return
    scores = points[group].sum(axis=1)
    top = [group[j] for j in np.argsort(-scores)[: max(1, len(group) // 2)]]
    tpl = top[int(rng.integers(len(top)))]
    others = [i for i in group if i != tpl]
    k = min(len(others), int(rng.integers(4, 9)))
    copiers = [others[j] for j in sorted(rng.choice(len(others), k, replace=False))]
    hard = [j for j, t in enumerate(test.tasks) if t.level in ("П", "В")]
    tasks = sorted(int(x) for x in rng.choice(hard, min(len(hard), int(rng.integers(4, 9))), replace=False))
    for i in copiers:
        points[i, tasks] = points[tpl, tasks]
