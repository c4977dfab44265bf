"""Municipalities, schools, codes, reorganisations and the planted school roles."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .names import EVENKI_SETTLEMENTS, RURAL_SETTLEMENTS
from .scales import REGION, YEARS

REGION_MEAN = -0.1  # keeps the regional ВПР mean mark near 3.5
MERGE_YEAR = 2025  # A is joined to B on 01.09.2024, i.e. from school year 2025
RENAME_YEAR = 2024
LOGIN_CHANGE_YEAR = 2025
INFLATION_METHODS = ("copied_answers", "cut_bunching", "journal_gap", "easy_hard_inversion", "jump_then_fall")
# The ШНОР rule's comparison groups and entry/exit shares (indicators.md §2): schools are ranked within
# НОШ, ООШ or СОШ; the worst 10 % enter, the worst 20 % stay.
COMPARISON_GROUP = {"НОШ": "НОШ", "ООШ": "ООШ"}
WORST_SHARE, EXIT_SHARE, YEARS_REQUIRED, WINDOW = 0.10, 0.20, 2, 3
# Latent ability bands (REGION_MEAN included). Planted low schools sit in LOW_BAND; an ordinary school is
# never drawn below ORDINARY_FLOOR, so the planted schools are the region's clearly low ones rather than
# the tail of a continuous distribution.
LOW_BAND = (-1.3, -0.9)
ORDINARY_FLOOR = -0.65
MIN_PUPILS_PER_GRADE_LOW = 8  # planted low schools are large enough for results to show them


@dataclass
class Municipality:
    name: str
    weight: int  # schools at the default size of 160
    rural_share: float
    effect: float  # municipal part of the latent ability
    context_mean: float  # higher = more adverse
    vpr_scope: str | None  # individual ВПР files: "municipality", "school" or None (aggregates only)
    code_style: str  # school codes in municipal feeds: "registry" or "login"
    org: str  # legal form used in names
    settlements: tuple = ()
    centre: str = ""
    idx: int = 0


MUNICIPALITIES = (
    Municipality("г. Красноярск", 62, 0.0, 0.10, -0.5, "school", "login", "МАОУ", centre="Красноярск"),
    Municipality("г. Норильск", 30, 0.0, 0.05, -0.3, None, "registry", "МБОУ", centre="Норильск"),
    Municipality("Эвенкийский муниципальный район", 22, 0.95, -0.20, 1.6, "municipality", "registry",
                 "МКОУ", EVENKI_SETTLEMENTS, "Тура"),
    Municipality("Ачинский район", 22, 1.0, -0.05, 0.5, None, "login", "МБОУ", RURAL_SETTLEMENTS, "Ачинск"),
    Municipality("г. Минусинск", 14, 0.0, 0.0, 0.1, "school", "registry", "МОБУ", centre="Минусинск"),
    Municipality("г. Назарово", 10, 0.0, 0.0, 0.15, "municipality", "login", "МБОУ", centre="Назарово"),
)

ORG_FULL = {
    "МАОУ": "Муниципальное автономное общеобразовательное учреждение",
    "МБОУ": "Муниципальное бюджетное общеобразовательное учреждение",
    "МКОУ": "Муниципальное казённое общеобразовательное учреждение",
    "МОБУ": "Муниципальное общеобразовательное бюджетное учреждение",
}
# Type mix per municipality kind; the first schools of a municipality get forced types so that
# every type exists even in a 20-school demo.
TYPE_MIX = {
    "urban": (("СОШ", 0.58), ("лицей", 0.12), ("гимназия", 0.12), ("школа с УИОП", 0.1), ("ООШ", 0.05),
              ("НОШ", 0.03)),
    "rural": (("СОШ", 0.5), ("ООШ", 0.28), ("НОШ", 0.08), ("филиал", 0.12), ("интернат", 0.02)),
}
FORCED_TYPES = {
    "г. Красноярск": ("СОШ", "лицей", "СОШ", "гимназия", "СОШ"),
    "г. Норильск": ("СОШ", "школа с УИОП"),
    "Эвенкийский муниципальный район": ("интернат", "СОШ"),
    "Ачинский район": ("СОШ", "филиал"),
    "г. Минусинск": ("СОШ", "ООШ"),
    "г. Назарово": ("СОШ", "НОШ"),
}


@dataclass
class School:
    idx: int
    muni: Municipality
    type: str
    rural: bool
    number: int
    settlement: tuple | None
    enrolment: int
    distance: int
    reg_code: str = ""
    login: str = ""
    rcoi: str = ""
    ogrn: str = ""
    inn: str = ""
    short_name: str = ""
    full_name: str = ""
    old_short_name: str | None = None
    old_full_name: str | None = None
    old_login: str | None = None
    head: int | None = None
    merged_into: int | None = None
    status: str = "действующая"
    context: float = 0.0
    base_effect: float = 0.0
    effect: dict = field(default_factory=dict)  # year -> school part of the latent ability
    low: bool = False
    adverse: bool = False
    resilient: bool = False
    improving: bool = False
    support_start: int | None = None
    inflation: list = field(default_factory=list)  # [(year, method)]
    shnor_false_positive: bool = False
    has_vpr_files: bool = False
    plants: list = field(default_factory=list)  # realistic profile: the planned manipulations (realistic.py)
    # (year, method) -> the ВПР cells the manipulation changed, filled while the ВПР is simulated
    inflation_cells: dict = field(default_factory=dict)

    @property
    def grades(self) -> range:
        return {"НОШ": range(1, 5), "ООШ": range(1, 10), "филиал": range(1, 10)}.get(self.type, range(1, 12))

    @property
    def small(self) -> bool:
        return self.enrolment < 100 or (self.rural and self.enrolment < 150)

    def active(self, year: int) -> bool:
        return self.merged_into is None or year < MERGE_YEAR

    def login_in(self, year: int) -> str:
        return self.old_login if self.old_login and year < LOGIN_CHANGE_YEAR else self.login

    def name_in(self, year: int) -> str:
        return self.old_short_name if self.old_short_name and year < RENAME_YEAR else self.short_name

    def latent(self, year: int) -> float:
        return REGION_MEAN + self.muni.effect + self.effect[year]

    def code_for_muni(self, year: int) -> str:
        return self.reg_code if self.muni.code_style == "registry" else self.login_in(year)

    def inflation_methods(self, year: int) -> set[str]:
        return {m for y, m in self.inflation if y == year}


@dataclass
class Reorganisation:
    date: str
    kind: str
    before: int
    after: int
    name_before: str
    name_after: str
    login_before: str
    rcoi_before: str


@dataclass
class Region:
    municipalities: tuple
    schools: list
    reorganisations: list
    seed: int
    profile: str = "current"
    cut_change_year: int | None = None
    # (subject, grade) -> points added to the lowest score of «3», «4», «5» from cut_change_year on
    cut_shift: dict = field(default_factory=dict)

    def active_schools(self, year: int) -> list[School]:
        return [s for s in self.schools if s.active(year)]

    def by_muni(self, muni: Municipality, year: int | None = None) -> list[School]:
        return [s for s in self.schools if s.muni is muni and (year is None or s.active(year))]

    def enrolment(self, s: School, year: int) -> int:
        """Pupils on roll in a year: slow drift, plus the pupils of schools joined to this one."""
        n = s.enrolment * (1 + 0.015 * (year - YEARS[-1]) * (1 if s.rural else -1))
        if year >= MERGE_YEAR:
            n += sum(o.enrolment for o in self.schools if o.merged_into == s.idx)
        return max(1, round(n))


def allocate(n: int) -> list[int]:
    """Schools per municipality: at least 2 each, the rest by weight (largest remainder)."""
    n = max(n, 2 * len(MUNICIPALITIES))
    weights = np.array([m.weight for m in MUNICIPALITIES], float)
    extra = n - 2 * len(MUNICIPALITIES)
    raw = extra * weights / weights.sum()
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind="stable")[: extra - counts.sum()]:
        counts[i] += 1
    return [int(c) + 2 for c in counts]


def _enrolment(rng: np.random.Generator, muni: Municipality, stype: str, rural: bool) -> int:
    if stype == "филиал":
        return int(rng.integers(12, 60))
    if stype == "НОШ":
        return int(rng.integers(20, 90) if rural else rng.integers(150, 320))
    if stype == "интернат":
        return int(rng.integers(280, 460))
    if rural:
        base = 70 if muni.name.startswith("Эвенк") else 150
        val = rng.lognormal(math.log(base), 0.5)
        return int(np.clip(val * (0.6 if stype == "ООШ" else 1.0), 15, 700))
    base = {"лицей": 900, "гимназия": 850, "школа с УИОП": 800, "ООШ": 350}.get(stype, 620)
    return int(np.clip(rng.lognormal(math.log(base), 0.3), 200, 1500))


def _names(s: School, org: str) -> tuple[str, str]:
    t, n = s.type, s.number
    if s.settlement is not None:
        adj = s.settlement[1]
        suffix = f" № {n}" if n > 1 else ""
        body_short = {"СОШ": f"{adj} СОШ{suffix}", "ООШ": f"{adj} ООШ{suffix}", "НОШ": f"{adj} НШ{suffix}",
                      "интернат": f"{adj} школа-интернат{suffix}", "филиал": f"{adj} ООШ{suffix}"}.get(
            t, f"{adj} СОШ{suffix}")
        body_full = {"СОШ": f"{adj} средняя общеобразовательная школа{suffix}",
                     "ООШ": f"{adj} основная общеобразовательная школа{suffix}",
                     "НОШ": f"{adj} начальная общеобразовательная школа{suffix}",
                     "интернат": f"{adj} средняя школа-интернат{suffix}",
                     "филиал": f"{adj} основная общеобразовательная школа{suffix}"}.get(
            t, f"{adj} средняя общеобразовательная школа{suffix}")
    else:
        body_short = {"СОШ": f"СШ № {n}", "лицей": f"Лицей № {n}", "гимназия": f"Гимназия № {n}",
                      "школа с УИОП": f"СОШ № {n} с УИОП", "ООШ": f"ООШ № {n}", "НОШ": f"НШ № {n}",
                      "интернат": f"Школа-интернат № {n}"}[t]
        body_full = {"СОШ": f"Средняя школа № {n}", "лицей": f"Лицей № {n}", "гимназия": f"Гимназия № {n}",
                     "школа с УИОП": f"Средняя общеобразовательная школа № {n} с углублённым изучением "
                                     "отдельных предметов",
                     "ООШ": f"Основная общеобразовательная школа № {n}",
                     "НОШ": f"Начальная общеобразовательная школа № {n}",
                     "интернат": f"Школа-интернат № {n}"}[t]
    return f"{org} {body_short}", f"{ORG_FULL[org]} «{body_full}»"


def _unique_codes(rng: np.random.Generator, n: int, lo: int, hi: int) -> list[int]:
    return [int(x) for x in rng.choice(np.arange(lo, hi), size=n, replace=False)]


def build_region(n_schools: int, seed: int, profile: str = "current", cut_change_year: int | None = None) -> Region:
    """The region of the `current` profile; `realistic` re-plants its abilities and roles afterwards (realistic.py)
    from streams of its own, so the current profile's draws are untouched."""
    rng = np.random.default_rng([seed, 1])
    munis = MUNICIPALITIES
    for i, m in enumerate(munis):
        m.idx = i
    schools: list[School] = []
    for m, count in zip(munis, allocate(n_schools), strict=True):
        urban_numbers = iter(sorted(_unique_codes(rng, count, 1, max(160, 3 * count))))
        settle_i = 0
        mix = TYPE_MIX["rural" if m.rural_share > 0.5 else "urban"]
        types, probs = zip(*mix, strict=True)
        probs = np.array(probs) / sum(probs)
        for k in range(count):
            forced = FORCED_TYPES[m.name]
            stype = forced[k] if k < len(forced) else str(rng.choice(types, p=probs))
            rural = bool(rng.random() < m.rural_share) or stype == "филиал"
            if m.rural_share > 0.5 and k == 0:
                rural = False  # the municipal centre school (Тура, Ачинск-side centre)
            settlement = None
            number = next(urban_numbers)
            if m.settlements and (rural or stype == "интернат" or k == 0):
                settlement = m.settlements[settle_i % len(m.settlements)]
                number = 1 + settle_i // len(m.settlements)
                settle_i += 1
            enrol = _enrolment(rng, m, stype, rural)
            if m.name.startswith("Эвенк"):
                dist = 0 if k == 0 else int(rng.integers(40, 900))
            elif rural:
                dist = int(rng.integers(5, 80))
            else:
                dist = int(rng.integers(0, 15))
            schools.append(School(len(schools), m, stype, rural, number, settlement, enrol, dist))

    # Codes: registry 24R + 5 digits, login edu24 + 4 digits, РЦОИ 6 digits, ОГРН 13, ИНН 10.
    n = len(schools)
    regs = sorted(_unique_codes(rng, n, 1, 99999))
    logins = _unique_codes(rng, n + 1, 100, 9999)
    rcois = _unique_codes(rng, n, 100000, 999999)
    for s, r, lg, rc in zip(schools, regs, logins, rcois, strict=False):
        s.reg_code = f"24R{r:05d}"
        s.login = f"edu24{lg:04d}"
        s.rcoi = f"{rc:06d}"
        s.ogrn = f"1022{int(rng.integers(400000000, 499999999))}"
        s.inn = f"24{int(rng.integers(10000000, 99999999))}"
    spare_login = f"edu24{logins[n]:04d}"

    for m in munis:
        local = [s for s in schools if s.muni is m]
        heads = [s for s in local if s.type in ("СОШ", "интернат", "школа с УИОП")]
        for s in local:
            if s.type == "филиал":
                s.head = heads[0].idx
            s.short_name, s.full_name = _names(s, m.org)
            if s.type == "филиал":
                head = schools[s.head]
                s.short_name = f"{s.short_name} (филиал {head.short_name})"
                s.full_name = f"Филиал {head.full_name} — {s.full_name.split(' «', 1)[1].rstrip('»')}"

    _context_and_effects(rng, schools)
    reorgs = _reorganisations(rng, schools, spare_login)
    _plant_roles(rng, schools, n_schools)
    _yearly_effects(rng, schools)
    region = Region(munis, schools, reorgs, seed, profile)
    if profile == "realistic":
        from .realistic import replant

        replant(region)
    if cut_change_year is not None:
        from .cut_change import plant_cut_change

        plant_cut_change(region, cut_change_year)
    return region


def _context_and_effects(rng: np.random.Generator, schools: list[School]) -> None:
    for s in schools:
        c = s.muni.context_mean + 0.35 * s.rural + 0.3 * s.small + 0.15 * math.log1p(s.distance) / 3
        c += {"лицей": -0.6, "гимназия": -0.6, "школа с УИОП": -0.3, "интернат": 0.4}.get(s.type, 0.0)
        s.context = c + rng.normal(0, 0.45)
    ctx = np.array([s.context for s in schools])
    z = (ctx - ctx.mean()) / ctx.std()
    cut = np.quantile(ctx, 0.75)
    for s, zi in zip(schools, z, strict=True):
        # School effect SD ≈ 0.35. Context also acts through municipalities and the planted low
        # schools, so the direct part is weaker than the overall r ≈ -0.4.
        s.base_effect = 0.35 * (-0.25 * zi + math.sqrt(1 - 0.25**2) * rng.normal())
        s.base_effect += {"лицей": 0.2, "гимназия": 0.2, "школа с УИОП": 0.1}.get(s.type, 0.0)
        s.adverse = bool(s.context >= cut)


def _reorganisations(rng: np.random.Generator, schools: list[School], spare_login: str) -> list:
    pool = [s for s in schools if s.muni.vpr_scope and s.type in ("СОШ", "ООШ") and not s.rural]
    pool.sort(key=lambda s: (s.muni.name != "г. Красноярск", s.idx))
    if len(pool) < 4:
        pool += [s for s in schools if s.muni.vpr_scope and s.type == "СОШ" and s not in pool]
    a, b, r, k = pool[:4]
    # Merger: A joins B from school year 2025; A stays in the registry as «реорганизована».
    a.merged_into, a.status = b.idx, "реорганизована"
    a.enrolment = min(a.enrolment, 420)
    # Rename: the old name is used in files before 2024.
    r.old_short_name = r.short_name.replace("СШ №", "СОШ №")
    r.old_full_name = r.full_name.replace("Средняя школа", "Средняя общеобразовательная школа")
    if r.old_short_name == r.short_name:
        r.old_short_name = r.short_name + " им. В. П. Астафьева"
    # Code change: a new ФИС ОКО login from 2025.
    k.old_login, k.login = k.login, spare_login
    return [
        Reorganisation("01.09.2023", "переименование", r.idx, r.idx, r.old_full_name, r.full_name,
                       r.login, r.rcoi),
        Reorganisation("01.09.2024", "присоединение", a.idx, b.idx, a.full_name, b.full_name,
                       a.login, a.rcoi),
        Reorganisation("10.01.2025", "смена кода", k.idx, k.idx, k.full_name, k.full_name,
                       k.old_login, k.rcoi),
    ]


def _pick(rng, cands: list[School], k: int, weights=None) -> list[School]:
    if k <= 0 or not cands:
        return []
    k = min(k, len(cands))
    w = np.ones(len(cands)) if weights is None else np.asarray(weights, float)
    idx = rng.choice(len(cands), size=k, replace=False, p=w / w.sum())
    return [cands[i] for i in sorted(idx)]


def _plant_roles(rng: np.random.Generator, schools: list[School], n_req: int) -> None:
    n = len(schools)
    eligible = [s for s in schools if s.merged_into is None]
    files_munis = {"school", "municipality"}
    not_elite = [s for s in eligible if s.type not in ("лицей", "гимназия", "школа с УИОП")]
    ctx = np.array([s.context for s in not_elite])
    w_adverse = np.exp(0.6 * (ctx - ctx.mean()))

    # As many low schools in each comparison group as the rule's entry share admits, so that a perfect
    # measurement would flag exactly them once their low years fill the window.
    low = []
    for group in ("НОШ", "ООШ", "СОШ"):
        members = [s for s in eligible if comparison_group(s) == group]
        pool = [i for i, s in enumerate(not_elite) if comparison_group(s) == group
                and s.enrolment / len(s.grades) >= MIN_PUPILS_PER_GRADE_LOW]
        k = min(math.ceil(WORST_SHARE * len(members)), len(pool))
        low += _pick(rng, [not_elite[i] for i in pool], k, w_adverse[pool])
    if not any(s.muni.vpr_scope in files_munis for s in low):
        cand = [s for s in not_elite if s.muni.vpr_scope in files_munis and s not in low
                and comparison_group(s) == comparison_group(low[-1])]
        low[-1] = cand[int(rng.integers(len(cand)))]
    for s in low:
        s.low = True

    rest = [s for s in not_elite if not s.low]
    n_imp = max(1, round(0.03 * n))
    w = np.exp(0.7 * np.array([s.context for s in rest]))
    for i, s in enumerate(_pick(rng, rest, n_imp, w)):
        s.improving = True
        s.support_start = 2025 if i % 3 == 2 else 2024

    n_res = max(1, round(0.03 * n))
    cand = [s for s in eligible if s.adverse and not (s.low or s.improving) and s.type != "филиал"]
    for s in _pick(rng, cand, n_res):
        s.resilient = True

    # Inflation. copied_answers needs a class of >= 6 pupils in a file municipality.
    n_inf = max(3, round(0.06 * n))
    free = [s for s in eligible if not (s.low or s.improving or s.resilient)]
    big = [s for s in free if s.muni.vpr_scope in files_munis and s.enrolment / len(s.grades) >= 14]
    first = _pick(rng, big, 1)
    others = _pick(rng, [s for s in free if s not in first], n_inf - len(first))
    inflators = first + others
    entries = max(len(INFLATION_METHODS), len(inflators))
    for i in range(entries):
        s = inflators[i % len(inflators)]
        method = INFLATION_METHODS[i % len(INFLATION_METHODS)]
        allowed = (2024, 2025) if method == "jump_then_fall" else YEARS
        for j in range(len(inflators)):  # the next inflator with a free year takes the entry
            s = inflators[(i + j) % len(inflators)]
            used = {y for y, _ in s.inflation}
            years = [y for y in allowed if y not in used]
            if years:
                break
        year = int(rng.choice(years))
        s.inflation.append((year, method))
        # Some schools inflate two years running with the same method.
        nxt = year + 1
        if method not in ("jump_then_fall", "copied_answers") and nxt in YEARS and nxt not in used \
                and rng.random() < 0.3:
            s.inflation.append((nxt, method))
    for s in schools:
        s.inflation.sort()

    # Individual ВПР files: every school of a "municipality" scope; in "school" scope municipalities
    # about half of the schools send files, always including the planted ones.
    for s in schools:
        if s.muni.vpr_scope == "municipality":
            s.has_vpr_files = True
        elif s.muni.vpr_scope == "school":
            special = s.low or s.improving or s.resilient or s.inflation or s.merged_into is not None \
                or s.old_login or s.old_short_name or any(o.merged_into == s.idx for o in schools)
            s.has_vpr_files = bool(special) or rng.random() < 0.5
    del n_req


def comparison_group(s: School) -> str:
    return COMPARISON_GROUP.get(s.type, "СОШ")


def _yearly_effects(rng: np.random.Generator, schools: list[School]) -> None:
    for s in schools:
        low_target = rng.uniform(*LOW_BAND) - REGION_MEAN
        imp_base = rng.uniform(-1.1, -0.85)
        rise = rng.uniform(0.6, 0.8)
        res_target = rng.uniform(0.3, 0.6)
        for y in YEARS:
            e = s.base_effect + rng.normal(0, 0.08)
            # an ordinary school's bad year stays above the planted low band (a reflection, not a clip,
            # so no ordinary school sits exactly on the floor)
            floor = ORDINARY_FLOOR - REGION_MEAN - s.muni.effect
            e = e if e >= floor else floor + (floor - e)
            if s.low:
                e = low_target + rng.normal(0, 0.05) - s.muni.effect
            elif s.improving:
                e = imp_base + rng.normal(0, 0.05) - s.muni.effect
                if y > s.support_start:
                    e += rise
            elif s.resilient:
                e = res_target + rng.normal(0, 0.05) - s.muni.effect
            s.effect[y] = float(e)


REGION_NAME = REGION
