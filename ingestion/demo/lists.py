"""Official lists: ШНОР (Рособрнадзор / ЦОКО), «500+» participants and their risk profiles."""

from __future__ import annotations

from .region import School
from .run import Run
from .scales import YEARS
from .writers import FileSpec, file_spec

RISK_FACTORS = (
    "Низкое качество оснащения школы", "Дефицит педагогических кадров",
    "Недостаточная предметная и методическая компетентность педагогических работников",
    "Низкая адаптивность учебного процесса", "Несформированность внутришкольной системы повышения квалификации",
    "Высокая доля обучающихся с рисками учебной неуспешности", "Низкая учебная мотивация обучающихся",
    "Пониженный уровень качества школьной образовательной и воспитательной среды",
    "Низкий уровень вовлечённости родителей", "Высокая доля обучающихся с ОВЗ",
    "Языковые и культурные барьеры",
)
CURATOR_ORGS = ("КК ИПК (Красноярский краевой институт повышения квалификации)",
                "КГКУ «Красноярский информационно-методический центр»", "ЦОКО Красноярского края")


def listed_years(s: School) -> list[int]:
    if s.low:
        return [y for y in YEARS if s.active(y)]
    if s.improving:
        return [y for y in YEARS if y <= s.support_start + 1]
    if s.shnor_false_positive:
        return [y for y in YEARS if y >= 2024]
    return []


def project500_years(s: School, k: int) -> list[int]:
    if s.improving:
        return [y for y in YEARS if y >= s.support_start]
    if s.low and k % 2 == 0:
        return [y for y in YEARS if y >= 2024]
    if s.shnor_false_positive:
        return [2025, 2026]
    return []


def write_lists(run: Run) -> None:
    region = run.region
    rng = run.rng("lists")
    fp_pool = [s for s in region.schools if s.adverse and not (s.low or s.improving or s.resilient)
               and s.merged_into is None and not s.inflation]
    fp_pool = fp_pool or [s for s in region.schools if not (s.low or s.improving) and s.merged_into is None]
    n_fp = 1 if len(region.schools) < 60 else 2
    for i in sorted(rng.choice(len(fp_pool), min(n_fp, len(fp_pool)), replace=False)):
        fp_pool[i].shnor_false_positive = True
    low_sorted = [s for s in region.schools if s.low]
    both = low_sorted[0]
    run.extra_truth["shnor_false_positive"] = [s.reg_code for s in region.schools if s.shnor_false_positive]
    run.extra_truth["shnor_both_sources"] = [both.reg_code]

    # ШНОР lists, one per year.
    for y in YEARS:
        rows = [["Год", "Источник", "Логин", "ОО", "Муниципалитет"]]
        for s in region.schools:
            if y not in listed_years(s):
                continue
            sources = ["Рособрнадзор", "ЦОКО"] if s is both else \
                ["ЦОКО" if (s.shnor_false_positive or int(s.reg_code[3:]) % 3 == 0) else "Рособрнадзор"]
            for src in sources:
                rows.append([y, src, s.login_in(y), s.name_in(y), s.muni.name])
        # every other year's list is saved as Excel 97–2003, as the federal lists are often published
        fmt = run.rot.pick("shnor_fmt", ("xls", "xlsx"))
        run.add(file_spec("shnor_list", f"Перечень_ШНОР_{y}", fmt, "Перечень ШНОР", rows, data_rows=len(rows) - 1))

    # «500+»: curators are resilient schools where there are any, otherwise organisations.
    curators = [s for s in region.schools if s.resilient]
    members = [s for s in region.schools if s.low or s.improving or s.shnor_false_positive]
    p500: dict[int, list[School]] = {y: [] for y in YEARS}
    for k, s in enumerate(members):
        for y in project500_years(s, k):
            p500[y].append(s)
    for y in YEARS:
        if not p500[y]:
            continue
        rows = [["Год", "Логин", "ОО", "Куратор"]]
        for k, s in enumerate(p500[y]):
            same = [c for c in curators if c.muni is s.muni]
            cur = same[0].login_in(y) if same and k % 2 == 0 else CURATOR_ORGS[int(s.reg_code[3:]) % 3]
            rows.append([y, s.login_in(y), s.name_in(y), cur])
        run.add(FileSpec("project500", f"Участники_500+_{y}.xlsx", "xlsx", [("500+", rows)],
                         data_rows=len(rows) - 1))

        # Risk profiles: adverse and low schools carry more high-level factors.
        prof = [["Год", "Логин", "Код фактора", "Фактор", "Уровень риска"]]
        for s in p500[y]:
            r = run.rng("risk", s.reg_code, y)
            base = 0.35 + 0.25 * s.adverse + 0.15 * s.low - (0.15 if s.improving and y > s.support_start else 0)
            for f, name in enumerate(RISK_FACTORS, start=1):
                x = r.random()
                if name == "Языковые и культурные барьеры" and not s.muni.name.startswith("Эвенк"):
                    x += 0.3
                level = "высокий" if x < base * 0.6 else ("средний" if x < base + 0.25 else "низкий")
                prof.append([y, s.login_in(y), f"РФ{f:02d}", name, level])
        run.add(FileSpec("risk_profiles", f"Рисковые_профили_{y}.xlsx", "xlsx", [("Рисковые профили", prof)],
                         data_rows=len(prof) - 1))
