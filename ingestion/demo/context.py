"""Context feeds: the regional school registry and the social passport."""

from __future__ import annotations

import numpy as np

from .run import Run
from .scales import REGION, YEARS
from .writers import FileSpec, file_spec, pct

REGISTRY_DATE = "15.01.2026"
REGISTRY_HEADER = ["Код ОО (регистр)", "Логин ФИС ОКО", "Код РЦОИ", "ОГРН", "ИНН", "Полное наименование",
                   "Краткое наименование", "Муниципалитет", "Тип ОО", "Местность",
                   "Расстояние до муниципального центра, км", "Малокомплектная", "Численность обучающихся",
                   "Статус", "Головная ОО (для филиала)"]
REORG_HEADER = ["Дата", "Вид", "Код ОО (регистр) до", "Код ОО (регистр) после", "Наименование до",
                "Наименование после", "Логин ФИС ОКО до", "Код РЦОИ до"]
PASSPORT_COLS = ["Доля из малоимущих семей, %", "Доля с ОВЗ, %", "Доля для которых русский язык не родной, %",
                 "Доля на профилактическом учёте (КДН/ПДН/ВШУ), %", "Доля из неполных семей, %",
                 "Доля из семей, где ни один родитель не имеет высшего образования, %",
                 "Доля из семей с безработными родителями, %"]


def write_registry(run: Run) -> None:
    region = run.region
    rows: list[list] = [[f"Реестр общеобразовательных организаций: {REGION}, по состоянию на {REGISTRY_DATE}"],
                        [], REGISTRY_HEADER]
    for s in sorted(region.schools, key=lambda s: s.reg_code):
        last = YEARS[-1] if s.active(YEARS[-1]) else max(y for y in YEARS if s.active(y))
        rows.append([s.reg_code, s.login, s.rcoi, s.ogrn, s.inn, s.full_name, s.short_name, s.muni.name, s.type,
                     "сельская" if s.rural else "городская", s.distance, "да" if s.small else "нет",
                     region.enrolment(s, last), s.status,
                     region.schools[s.head].reg_code if s.head is not None else None])
    reorg = [REORG_HEADER]
    for r in region.reorganisations:
        b, a = region.schools[r.before], region.schools[r.after]
        reorg.append([r.date, r.kind, b.reg_code, a.reg_code, r.name_before, r.name_after, r.login_before,
                      r.rcoi_before])
    run.add(FileSpec("registry", f"Реестр_ОО_{REGISTRY_DATE}.xlsx", "xlsx",
                     [("Реестр ОО", rows), ("Реорганизации", reorg)],
                     data_rows=len(rows) - 3 + len(reorg) - 1))


def passport_shares(run: Run) -> dict[tuple[int, int], list[float]]:
    """Shares (%) per (school, year), driven by the school's latent context (higher = adverse)."""
    out = {}
    for s in run.region.schools:
        rng = run.rng("passport", s.reg_code)
        c = s.context
        evenki = s.muni.name.startswith("Эвенк")
        base = np.array([14 + 7 * c, 4 + 1.5 * c, 1.5 + 1.2 * c + (30 if evenki else 0), 1.5 + 1.0 * c,
                         22 + 4 * c, 45 + 12 * c, 5 + 4 * c])
        base += rng.normal(0, [3, 1.5, 2, 0.8, 3, 5, 2])
        for y in YEARS:
            v = np.clip(base + rng.normal(0, [1, 0.4, 0.5, 0.3, 1, 1.5, 0.7]), [1, 0, 0, 0, 3, 5, 0],
                        [85, 40, 95, 20, 60, 97, 70])
            out[(s.idx, y)] = [round(float(x), 1) for x in v]
    return out


def write_social_passport(run: Run, shares: dict) -> None:
    """One file a year, in the formats municipalities send it: .xlsx with shares as text, cp1251 CSV,
    a comma-separated UTF-8 CSV (decimal commas in quotes), .ods from LibreOffice with shares as number cells."""
    region = run.region
    for y in YEARS:
        fmt = run.rot.pick("passport_fmt", ("xlsx", "csv1251", "csv_utf8", "ods"))
        label = f"{y - 1}-{y}" if fmt in ("xlsx", "csv_utf8") else f"{y - 1}/{str(y)[2:]}"
        header = ["Учебный год", "Код ОО", "Наименование ОО", "Всего обучающихся", *PASSPORT_COLS]
        rows = [header]
        for s in region.active_schools(y):
            values = shares[(s.idx, y)] if fmt == "ods" else [pct(v, 1) for v in shares[(s.idx, y)]]
            rows.append([label, s.code_for_muni(y), s.name_in(y), region.enrolment(s, y), *values])
        spec = file_spec("social_passport", f"Социальный_паспорт_{y - 1}-{y}", fmt, "Социальный паспорт", rows,
                         data_rows=len(rows) - 1)
        if fmt == "csv_utf8":
            spec.sep = ","
        run.add(spec)
