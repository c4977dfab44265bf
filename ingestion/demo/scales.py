"""Test blueprints and score scales of the demo region, all in one place.

Task specs are `code:max:level` (level Б/П/В). Cut scores are the lowest primary score of marks
«3», «4», «5». Difficulties are drawn from a fixed seed so every region seed shares the same tests.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

YEARS = (2023, 2024, 2025, 2026)
REGION = "Красноярский край"
VPR_SUBJECTS = ("Русский язык", "Математика")
VPR_GRADES = (4, 5, 6, 7, 8)
SUBJECT_SHORT = {"Русский язык": "РУ", "Математика": "МА"}

# Mean difficulty (IRT b) by task level; steps of multi-point tasks spread around it.
LEVEL_B = {"Б": -1.0, "П": 0.15, "В": 1.2}


@dataclass
class Task:
    code: str
    max_points: int
    level: str
    group: int = 0  # КДР skill group / ГИА part
    a: float = 1.0
    b_steps: tuple[float, ...] = ()


@dataclass
class TestSpec:
    name: str
    tasks: list[Task]
    cuts: tuple[int, ...] = ()  # lowest score for «3», «4», «5» (or КДР L1, L2, L3)
    offset: float = 0.0  # shifts pupil ability for this test (cohort-specific difficulty)
    extra: dict = field(default_factory=dict)

    @property
    def max_score(self) -> int:
        return sum(t.max_points for t in self.tasks)

    def mark(self, score: int) -> int:
        return 2 + sum(score >= c for c in self.cuts)


def _tasks(spec: str, rng: np.random.Generator) -> list[Task]:
    out = []
    for item in spec.split():
        parts = item.split(":")
        code, mx, lvl = parts[0], int(parts[1]), parts[2]
        grp = int(parts[3]) if len(parts) > 3 else 0
        b0 = LEVEL_B[lvl] + rng.normal(0, 0.35)
        steps = tuple(float(b0 + (k - (mx - 1) / 2) * 0.55) for k in range(mx))
        out.append(Task(code, mx, lvl, grp, float(rng.uniform(0.9, 1.6)), steps))
    return out


_VPR_SPECS = {
    ("Математика", 4): ("1:1:Б 2:1:Б 3:2:Б 4:1:Б 5.1:1:Б 5.2:1:П 6.1:1:Б 6.2:1:П 7:1:Б 8:2:П 9.1:1:П "
                        "9.2:1:П 10:2:П 11:2:В 12:2:В", (4, 10, 15)),
    ("Математика", 5): ("1:1:Б 2:1:Б 3:1:Б 4:1:Б 5:1:Б 6:1:Б 7:1:Б 8:2:П 9:2:П 10.1:1:Б 10.2:1:П 11:2:П "
                        "12:2:П 13:1:В 14:2:В", (5, 10, 15)),
    ("Математика", 6): ("1:1:Б 2:1:Б 3:1:Б 4:1:Б 5:1:Б 6:1:Б 7:1:Б 8:1:Б 9:2:П 10:1:П 11:1:П 12:2:П "
                        "13:1:П 14:2:В 15:1:Б 16:2:В", (5, 11, 16)),
    ("Математика", 7): ("1:1:Б 2:1:Б 3:1:Б 4:1:Б 5:1:Б 6:1:Б 7:1:Б 8:1:П 9:1:Б 10:2:П 11:1:П 12:1:Б "
                        "13:2:П 14:2:В 15:1:П 16:1:В", (5, 11, 16)),
    ("Математика", 8): ("1:1:Б 2:1:Б 3:1:Б 4:1:Б 5:1:Б 6:1:Б 7:1:Б 8:1:Б 9:1:П 10:2:П 11:1:П 12:2:П "
                        "13:2:П 14:1:Б 15:2:П 16:2:В 17:2:В 18:2:В", (6, 13, 19)),
    ("Русский язык", 4): ("1К1:4:Б 1К2:3:Б 2:3:Б 3.1:1:Б 3.2:2:П 4:2:Б 5:2:Б 6:2:П 7:2:П 8:2:П 9:2:П "
                          "10:2:В 11:2:В 12.1:1:П 12.2:2:В 13.1:1:П 13.2:2:В 14:1:П", (10, 19, 27)),
    ("Русский язык", 5): ("1К1:4:Б 1К2:3:Б 1К3:2:Б 2К1:3:П 2К2:3:П 2К3:3:П 2К4:3:П 3:2:Б 4:2:Б 5:2:Б "
                          "6:2:П 7.1:1:Б 7.2:2:П 8.1:1:П 8.2:2:В 9:2:П 10:2:П 11:2:В 12:2:В", (10, 22, 33)),
    ("Русский язык", 6): ("1К1:4:Б 1К2:3:Б 1К3:2:Б 2К1:3:П 2К2:3:П 2К3:3:П 2К4:3:П 3:2:Б 4.1:1:Б 4.2:2:П "
                          "5:2:Б 6:2:П 7.1:2:П 7.2:1:П 8.1:2:П 8.2:1:П 9:2:П 10:2:В 11:2:В 12:3:В "
                          "13:2:В", (10, 23, 35)),
    ("Русский язык", 7): ("1К1:4:Б 1К2:3:Б 1К3:2:Б 2К1:3:П 2К2:3:П 2К3:3:П 2К4:3:П 3:2:Б 4:2:Б 5:2:П "
                          "6:2:П 7.1:2:П 7.2:1:П 8.1:2:П 8.2:1:П 9:2:П 10:2:В 11:2:В 12:3:В", (11, 24, 35)),
    ("Русский язык", 8): ("1К1:4:Б 1К2:3:Б 1К3:2:Б 2К1:3:П 2К2:3:П 2К3:3:П 2К4:3:П 3:2:Б 4:2:Б 5:2:П "
                          "6:2:П 7.1:2:П 7.2:1:П 8.1:2:П 8.2:1:П 9:2:П 10:2:В 11:2:В 12:3:В 13:2:В "
                          "14:2:В", (10, 23, 36)),
}

# ВПР dates by subject (day, month) — Russian first, mathematics a few days later.
VPR_DATES = {"Русский язык": (16, 4), "Математика": (23, 4)}

# КДР: tasks carry the skill group; cuts are the lowest primary score of L1, L2, L3.
_KDR_SPECS = {
    "КДР4_ЧГ": ("1:1:Б:1 2:1:Б:1 3:2:Б:1 4:1:П:2 5:2:П:2 6:1:Б:2 7:2:П:3 8:1:П:3 9:2:В:3 10:2:В:4 "
                "11:1:П:4 12:2:В:4", (4, 7, 12), "читательская грамотность", 4),
    "КДР6_ЧГ": ("1:1:Б:1 2:1:Б:1 3:2:Б:1 4:1:П:1 5:2:П:2 6:1:Б:2 7:2:П:2 8:1:П:3 9:2:В:3 10:2:В:3 "
                "11:1:П:4 12:2:В:4 13:2:В:4", (4, 8, 15), "читательская грамотность", 6),
    "КДР8_ЕНГ": ("1:1:Б:1 2:1:Б:1 3:2:П:1 4:1:Б:2 5:2:П:2 6:1:П:2 7:2:В:2 8:1:Б:3 9:2:П:3 10:2:В:3 "
                 "11:2:В:3", (4, 7, 12), "естественнонаучная грамотность", 8),
}
KDR_LEVELS = {
    "центр": ("недостаточный", "пониженный", "базовый", "повышенный"),
    "муниципалитет": ("ниже базового", "пониженный", "базовый", "повышенный"),
}

# ГИА. Short-answer tasks are written as one character each; extended criteria as points(max).
# ОГЭ mathematics: a «3» also needs >= 2 points in geometry (tasks 15-19 and 23-25).
OGE_MATH_GEOMETRY = {"15", "16", "17", "18", "19", "23", "24", "25"}
_GIA_SPECS = {
    ("ОГЭ", "1"): ("Русский язык",
                   " ".join(f"{i}:1:Б" for i in range(2, 13)),
                   "ИК1:3:П ИК2:2:П ИК3:1:П С1К1:1:П С1К2:3:В С1К3:2:В ГК1:2:П ГК2:2:П ГК3:2:П "
                   "ГК4:2:П ФК1:2:П", (15, 23, 29)),
    ("ОГЭ", "2"): ("Математика",
                   " ".join(f"{i}:1:{'Б' if i < 13 else 'П'}" for i in range(1, 20)),
                   "20:2:П 21:2:В 22:2:В 23:2:П 24:2:В 25:2:В", (8, 15, 22)),
    ("ЕГЭ", "1"): ("Русский язык",
                   " ".join(f"{i}:{2 if i == 8 else (4 if i == 26 else 1)}:{'Б' if i < 20 else 'П'}"
                            for i in range(1, 27)),
                   "К1:1:П К2:3:П К3:2:П К4:1:П К5:2:П К6:1:П К7:3:В К8:3:В К9:2:П К10:2:П", ()),
    ("ЕГЭ", "2"): ("Математика профильная",
                   " ".join(f"{i}:1:{'П' if i < 9 else 'В'}" for i in range(1, 13)),
                   "13:2:В 14:3:В 15:2:В 16:2:В 17:3:В 18:4:В 19:4:В", ()),
    ("ЕГЭ", "22"): ("Математика базовая",
                    " ".join(f"{i}:1:{'Б' if i < 15 else 'П'}" for i in range(1, 22)),
                    "", (7, 12, 17)),
}
# Ability offset per exam: ЕГЭ takers are a selected group, the tests are built for them.
_GIA_OFFSETS = {("ОГЭ", "1"): 1.0, ("ОГЭ", "2"): 0.2, ("ЕГЭ", "1"): 0.3, ("ЕГЭ", "2"): -0.3,
                ("ЕГЭ", "22"): 0.0}

# ЕГЭ primary → test score: anchor points, linear in between (constant over the demo years).
EGE_TEST_SCALE_ANCHORS = {
    "1": ((0, 0), (10, 24), (20, 46), (30, 66), (40, 82), (50, 100)),
    "2": ((0, 0), (5, 27), (6, 34), (12, 70), (20, 82), (32, 100)),
}
# Minimum thresholds for the certificate (contract: Russian 24, profile maths 27, basic maths mark 3).
GIA_MIN = {("ЕГЭ", "1"): ("test", 24), ("ЕГЭ", "2"): ("test", 27), ("ЕГЭ", "22"): ("mark", 3),
           ("ОГЭ", "1"): ("mark", 3), ("ОГЭ", "2"): ("mark", 3)}
GIA_DATES = {("ОГЭ", "1"): (3, 6), ("ОГЭ", "2"): (6, 6), ("ЕГЭ", "1"): (4, 6), ("ЕГЭ", "2"): (7, 6),
             ("ЕГЭ", "22"): (7, 6)}


def ege_test_score(subject_code: str, primary: int) -> int:
    pts = EGE_TEST_SCALE_ANCHORS[subject_code]
    for (x0, y0), (x1, y1) in itertools.pairwise(pts):
        if primary <= x1:
            return round(y0 + (y1 - y0) * (primary - x0) / (x1 - x0))
    return 100


def _build() -> tuple[dict, dict, dict]:
    rng = np.random.default_rng(20240416)
    vpr = {k: TestSpec(f"ВПР {k[0]} {k[1]}", _tasks(s, rng), cuts) for k, (s, cuts) in _VPR_SPECS.items()}
    kdr = {}
    for k, (s, cuts, title, grade) in _KDR_SPECS.items():
        kdr[k] = TestSpec(k, _tasks(s, rng), cuts, extra={"title": title, "grade": grade})
    gia = {}
    for k, (subj, short, ext, cuts) in _GIA_SPECS.items():
        st = _tasks(short, rng)
        et = _tasks(ext, rng) if ext else []
        for t in et:
            t.group = 1  # extended part
        gia[k] = TestSpec(subj, st + et, cuts, _GIA_OFFSETS[k], extra={"n_short": len(st)})
    return vpr, kdr, gia


VPR_TESTS, KDR_TESTS, GIA_TESTS = _build()
