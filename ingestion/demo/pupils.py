"""Pupils, the latent ability model, IRT task success and the planted ВПР distortions.

ability(pupil, school, year, subject) = region mean + municipality effect + school effect(year)
    + pupil ability + pupil drift(year) + pupil subject offset      (pupil part SD ≈ 1)
Task points come from a 2PL-style model: each point of a task is a step with its own difficulty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .cut_change import SUBJECT_CODES, vpr_test
from .manipulation import apply_plants
from .names import NAMES_F, NAMES_M, PATRONYMICS_M, SURNAMES_M, female_patronymic, female_surname
from .region import MERGE_YEAR, Region, School
from .scales import GIA_MIN, GIA_TESTS, KDR_TESTS, VPR_GRADES, VPR_TESTS, YEARS, TestSpec, ege_test_score

ENTRY_YEARS = range(YEARS[0] - 10, YEARS[-1] - 2)  # grade 11 in the first year .. grade 4 in the last
SUBJ = {"Русский язык": 0, "Математика": 1, "ЧГ": 2, "ЕНГ": 3}
CLASS_LETTERS = "АБВГДЕЖ"
CLASS_SIZE = 28
PRESENT_P = 0.93
COHORT_SD = 0.1  # realistic profile: SD of a cohort's mean ability within its school


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def simulate_points(test: TestSpec, theta: np.ndarray, rng: np.random.Generator,
                    shift: np.ndarray | None = None) -> np.ndarray:
    """Points per pupil × task. `shift` (P × 3) moves ability on Б/П/В tasks separately."""
    n = len(theta)
    out = np.zeros((n, len(test.tasks)), np.int16)
    th = theta + test.offset
    lvl = {"Б": 0, "П": 1, "В": 2}
    for j, t in enumerate(test.tasks):
        tt = th if shift is None else th + shift[:, lvl[t.level]]
        b = np.asarray(t.b_steps)
        p = _sig(t.a * (tt[:, None] - b[None, :]))
        out[:, j] = (rng.random((n, t.max_points)) < p).sum(axis=1)
    return out


def marks_of(test: TestSpec, score: np.ndarray) -> np.ndarray:
    return 2 + (score[:, None] >= np.asarray(test.cuts)[None, :]).sum(axis=1)


class Pupils:
    def __init__(self, region: Region, seed: int):
        rng = np.random.default_rng([seed, 2])
        self.region = region
        self.seed = seed
        homes, entries, codes = [], [], []
        self.by_key: dict[tuple[int, int], np.ndarray] = {}
        start = 0
        for s in region.schools:
            per_grade = s.enrolment / len(s.grades)
            k = 0
            reg_num = int(s.reg_code[3:])
            for e in ENTRY_YEARS:
                size = max(1, round(per_grade * rng.lognormal(0, 0.12)))
                homes += [s.idx] * size
                entries += [e] * size
                codes += [f"24-{reg_num:06d}-{k + i + 1:04d}" for i in range(size)]
                k += size
                self.by_key[(s.idx, e)] = np.arange(start, start + size)
                start += size
        n = start
        self.home = np.array(homes)
        self.entry = np.array(entries)
        self.code = codes
        self.female = rng.random(n) < 0.5
        self.ability = rng.normal(0, 0.88, n)
        if region.profile == "realistic":  # cohorts of one school differ beyond their pupils (τ ≈ 0.1)
            c_rng = np.random.default_rng([seed, 106])
            for idx in self.by_key.values():
                self.ability[idx] += c_rng.normal(0, COHORT_SD)
        self.drift = rng.normal(0, 0.2, (n, len(YEARS)))
        self.subj = rng.normal(0, 0.4, (n, len(SUBJ)))
        self.stays10 = rng.random(n) < _sig(0.5 + 1.2 * self.ability)
        self.variant = rng.integers(1, 3, n)
        self.name_idx = rng.integers(0, 10**6, (n, 3))
        self.merged_in = {s.idx: [o.idx for o in region.schools if o.merged_into == s.idx]
                          for s in region.schools}

    def fio(self, p: int) -> str:
        a, b, c = self.name_idx[p]
        sur = SURNAMES_M[a % len(SURNAMES_M)]
        pat = PATRONYMICS_M[c % len(PATRONYMICS_M)]
        if self.female[p]:
            return f"{female_surname(sur)} {NAMES_F[b % len(NAMES_F)]} {female_patronymic(pat)}"
        return f"{sur} {NAMES_M[b % len(NAMES_M)]} {pat}"

    def roster(self, s: School, year: int, grade: int) -> np.ndarray:
        if not s.active(year) or grade not in s.grades:
            return np.zeros(0, int)
        homes = [s.idx] + (self.merged_in[s.idx] if year >= MERGE_YEAR else [])
        e = year - grade + 1
        idx = np.concatenate([self.by_key.get((h, e), np.zeros(0, int)) for h in homes])
        if grade >= 10:
            idx = idx[self.stays10[idx]]
        return idx

    @staticmethod
    def classes(n: int, grade: int) -> list[str]:
        n_cl = max(1, math.ceil(n / CLASS_SIZE))
        size = math.ceil(n / n_cl) if n else 1
        return [f"{grade}{CLASS_LETTERS[min(i // size, len(CLASS_LETTERS) - 1)]}" for i in range(n)]

    def theta(self, p: np.ndarray, s: School, year: int, subject: str) -> np.ndarray:
        yi = YEARS.index(year)
        return s.latent(year) + self.ability[p] + self.drift[p, yi] + self.subj[p, SUBJ[subject]]


@dataclass
class Sitting:
    """Results of one test in one year for the whole region (one row per pupil who wrote it)."""

    year: int
    test: TestSpec
    pupil: np.ndarray
    school: np.ndarray
    cls: list
    points: np.ndarray
    score: np.ndarray
    mark: np.ndarray
    journal: np.ndarray | None = None  # 0 = no register mark
    subject: str = ""
    grade: int = 0
    rf_points: np.ndarray | None = None  # «Вся выборка» (РФ) reference sample


def _collect(pupils: Pupils, year: int, grade: int, rng: np.random.Generator, present_p: float = PRESENT_P):
    p_all, s_all, c_all = [], [], []
    for s in pupils.region.schools:
        r = pupils.roster(s, year, grade)
        if not len(r):
            continue
        cls = pupils.classes(len(r), grade)
        keep = rng.random(len(r)) < present_p
        p_all.append(r[keep])
        s_all.append(np.full(keep.sum(), s.idx))
        c_all += [c for c, k in zip(cls, keep, strict=True) if k]
    if not p_all:
        return np.zeros(0, int), np.zeros(0, int), []
    return np.concatenate(p_all), np.concatenate(s_all), c_all


def _push_to_cut(row: np.ndarray, test: TestSpec, need: int, rng: np.random.Generator) -> None:
    room = [j for j, t in enumerate(test.tasks) if row[j] < t.max_points]
    rng.shuffle(room)
    for j in room:
        if need <= 0:
            break
        add = min(need, test.tasks[j].max_points - row[j])
        row[j] += add
        need -= add


def simulate_vpr(pupils: Pupils, year: int, subject: str, grade: int) -> Sitting:
    region = pupils.region
    test = vpr_test(region, subject, grade, year)  # the cuts in force this year
    base = VPR_TESTS[(subject, grade)]  # the register keeps the teacher's standard if the ВПР cuts change
    seed = pupils.seed
    rng = np.random.default_rng([seed, 10, year, grade, SUBJ[subject]])
    p, sch, cls = _collect(pupils, year, grade, rng)
    schools = region.schools
    theta = np.empty(len(p))
    for si in np.unique(sch):
        m = sch == si
        theta[m] = pupils.theta(p[m], schools[si], year, subject)
    points = simulate_points(test, theta, rng)
    true_mark = marks_of(base, points.sum(axis=1))

    if region.profile == "realistic":
        d = rng.choice([-1, 0, 1], size=len(p), p=[0.08, 0.72, 0.20])
        plant_rng = np.random.default_rng([seed, 12, year, grade, SUBJ[subject]])
        applied = apply_plants(pupils, year, subject, grade, test, p, sch, cls, theta, points, d, plant_rng)
    else:
        before = points.copy()
        d = _current_plants(pupils, year, subject, grade, test, sch, cls, theta, points, rng)
        applied = _current_changes(pupils, year, subject, grade, sch, before, points, d)
    for si, plants in applied.items():
        for plant, changed, n in plants:
            if changed:
                schools[si].inflation_cells.setdefault((year, plant.method), []).append(
                    {"subject_code": SUBJECT_CODES[subject], "grade": grade, "n_participants": n,
                     "n_changed": changed})
    score = points.sum(axis=1)
    mark = marks_of(test, score)
    journal = np.clip(true_mark + d, 2, 5)
    journal[rng.random(len(p)) < 0.02] = 0

    rf_rng = np.random.default_rng([seed, 11, year, grade, SUBJ[subject]])
    rf = simulate_points(test, rf_rng.normal(0.05, 1.0, 4000), rf_rng)
    return Sitting(year, test, p, sch, cls, points, score, mark, journal, subject, grade, rf)


def _current_plants(pupils: Pupils, year: int, subject: str, grade: int, test: TestSpec, sch, cls, theta, points,
                    rng) -> np.ndarray:
    """The current profile's distortions (all ВПР cells of the school-year, large magnitudes); returns the
    register's difference from the honest mark. ВПР is marked inside the school, the register and ГИА stay honest."""
    schools = pupils.region.schools
    for si in np.unique(sch):
        s = schools[si]
        methods = s.inflation_methods(year)
        if not methods:
            continue
        m = np.flatnonzero(sch == si)
        if "jump_then_fall" in methods:
            points[m] = simulate_points(test, theta[m] + 0.8, rng)
        if "easy_hard_inversion" in methods:
            shift = np.tile(np.array([-0.6, 0.15, 1.1]), (len(m), 1))
            points[m] = simulate_points(test, theta[m], rng, shift)
        if "cut_bunching" in methods:
            share = rng.uniform(0.3, 0.5)
            for i in m:
                sc = int(points[i].sum())
                for c in test.cuts:
                    if c - 2 <= sc < c and rng.random() < share:
                        _push_to_cut(points[i], test, c - sc, rng)
                        break
        if "copied_answers" in methods and subject == "Математика" \
                and grade == copied_grade(pupils, s, year):
            by_cls: dict[str, list[int]] = {}
            for i in m:
                by_cls.setdefault(cls[i], []).append(int(i))
            group = max(by_cls.values(), key=len)
            if len(group) < 5:
                group = [int(i) for i in m]
            k = min(len(group), int(rng.integers(5, 11)))
            chosen = [group[j] for j in sorted(rng.choice(len(group), k, replace=False))]
            sc = points[chosen].sum(axis=1)
            tpl = chosen[int(np.argmin(np.abs(sc - 0.65 * test.max_score)))]
            vec = points[tpl].copy()
            if vec.sum() in (0, test.max_score):
                vec[: len(vec) // 2] = 0
                vec[len(vec) // 2:] = [t.max_points for t in test.tasks[len(vec) // 2:]]
            points[chosen] = vec

    d = rng.choice([-1, 0, 1], size=len(sch), p=[0.08, 0.72, 0.20])
    for si in np.unique(sch):
        s = schools[si]
        if "journal_gap" in s.inflation_methods(year):
            m = sch == si
            if s.idx % 2 == 0:  # register marks inflated: many «Понизили»
                d[m] = rng.choice([-1, 0, 1, 2], size=m.sum(), p=[0.03, 0.32, 0.5, 0.15])
            else:  # ВПР marks above the register: many «Повысили»
                d[m] = rng.choice([-2, -1, 0, 1], size=m.sum(), p=[0.1, 0.5, 0.35, 0.05])
    return d


@dataclass
class _Entry:
    method: str


def _current_changes(pupils: Pupils, year: int, subject: str, grade: int, sch, before, points, d) -> dict:
    """Pupils changed per planted school and method of the current profile (for truth.json's cells): points
    that differ from the honest draw; for journal_gap every pupil (the register was redrawn for the school)."""
    out: dict[int, list] = {}
    for si in np.unique(sch):
        s = pupils.region.schools[si]
        m = sch == si
        for method in sorted(s.inflation_methods(year)):
            if method == "journal_gap":
                changed = int(m.sum())
            elif method == "copied_answers" and not (subject == "Математика" and grade == copied_grade(pupils, s,
                                                                                                        year)):
                changed = 0
            else:
                changed = int((points[m] != before[m]).any(axis=1).sum())
            out.setdefault(int(si), []).append((_Entry(method), changed, int(m.sum())))
    return out


def copied_grade(pupils: Pupils, s: School, year: int) -> int:
    sizes = [(len(pupils.roster(s, year, g)), g) for g in VPR_GRADES if g in s.grades]
    return max(sizes)[1]


def simulate_kdr(pupils: Pupils, year: int, key: str) -> Sitting:
    test = KDR_TESTS[key]
    grade = test.extra["grade"]
    subj = "ЧГ" if key.endswith("ЧГ") else "ЕНГ"
    rng = np.random.default_rng([pupils.seed, 20, year, grade])
    p, sch, cls = _collect(pupils, year, grade, rng, 0.92)
    theta = np.empty(len(p))
    for si in np.unique(sch):
        m = sch == si
        theta[m] = pupils.theta(p[m], pupils.region.schools[si], year, subj)
    points = simulate_points(test, theta, rng)
    score = points.sum(axis=1)
    return Sitting(year, test, p, sch, cls, points, score, marks_of(test, score) - 2, None, key, grade)


@dataclass
class GiaRow:
    exam: str
    subject_code: str
    pupil: int
    school: int
    points: np.ndarray
    score: int
    test_score: int | None
    mark: int | None
    passed: bool
    period: str


def simulate_gia(pupils: Pupils, year: int) -> dict[tuple[str, str], list[GiaRow]]:
    rng = np.random.default_rng([pupils.seed, 30, year])
    out: dict[tuple[str, str], list[GiaRow]] = {k: [] for k in GIA_TESTS}
    for exam, grade in (("ОГЭ", 9), ("ЕГЭ", 11)):
        p, sch, _ = _collect(pupils, year, grade, rng, 0.98)
        if not len(p):
            continue
        schools = pupils.region.schools
        th_ru, th_ma = np.empty(len(p)), np.empty(len(p))
        for si in np.unique(sch):
            m = sch == si
            th_ru[m] = pupils.theta(p[m], schools[si], year, "Русский язык")
            th_ma[m] = pupils.theta(p[m], schools[si], year, "Математика")
        profile = rng.random(len(p)) < _sig(1.6 * (th_ma + 0.1))
        jobs = [("1", th_ru, np.ones(len(p), bool))]
        if exam == "ОГЭ":
            jobs.append(("2", th_ma, np.ones(len(p), bool)))
        else:
            jobs += [("2", th_ma, profile), ("22", th_ma, ~profile)]
        for code, th, sel in jobs:
            test = GIA_TESTS[(exam, code)]
            idx = np.flatnonzero(sel)
            pts = simulate_points(test, th[idx], rng)
            period = rng.choice(["основной", "досрочный", "дополнительный"], size=len(idx),
                                p=[0.93, 0.03, 0.04])
            for k, i in enumerate(idx):
                sc = int(pts[k].sum())
                mark = test_score = None
                if exam == "ОГЭ" or code == "22":
                    mark = test.mark(sc)
                    if exam == "ОГЭ" and code == "2" and mark >= 3:
                        geo = sum(int(pts[k][j]) for j, t in enumerate(test.tasks) if t.code in
                                  ("15", "16", "17", "18", "19", "23", "24", "25"))
                        if geo < 2:
                            mark = 2
                else:
                    test_score = ege_test_score(code, sc)
                kind, thr = GIA_MIN[(exam, code)]
                passed = (test_score if kind == "test" else mark) >= thr
                out[(exam, code)].append(GiaRow(exam, code, int(p[i]), int(sch[i]), pts[k], sc, test_score,
                                                mark, bool(passed), str(period[k])))
    return out
