"""КДР (Krasnoyarsk ЦОКО regional diagnostics): one workbook per test, year and municipality."""

from __future__ import annotations

import numpy as np

from .pupils import simulate_kdr
from .run import Run
from .scales import KDR_LEVELS, KDR_TESTS, YEARS
from .writers import FileSpec, pct


def write_kdr(run: Run) -> None:
    region = run.region
    for year in YEARS:
        for key, test in KDR_TESTS.items():
            sit = simulate_kdr(run.pupils, year, key)
            groups = sorted({t.group for t in test.tasks})
            gmat = np.stack([sit.points[:, [j for j, t in enumerate(test.tasks) if t.group == g]].sum(axis=1)
                             for g in groups], axis=1)
            label = key.replace("_", " ")
            for m in region.municipalities:
                ids = [s.idx for s in region.by_muni(m, year)]
                sel = np.flatnonzero(np.isin(sit.school, ids))
                if not len(sel):
                    continue
                levels = KDR_LEVELS[run.rot.pick("kdr_levels", ("центр", "муниципалитет"))]
                with_fio = run.rot.pick("kdr_fio", (False, False, True))
                header = ["Муниципалитет", "Код ОО", "ОО", "Класс", "Код ученика"] + (["ФИО"] if with_fio else []) \
                    + ["Первичный балл", "% от максимума", "Уровень"] + [f"Группа умений {g}" for g in groups]
                rows = [[f"{label} {year} — {test.extra['title']}, {test.extra['grade']} класс"]]
                rows += [[]] * run.rot.pick("kdr_gap", (0, 1))
                rows.append(header)
                order = sorted(sel, key=lambda i: (int(sit.school[i]), sit.cls[i], run.pupils.code[sit.pupil[i]]))
                for i in order:
                    s = region.schools[sit.school[i]]
                    p = int(sit.pupil[i])
                    row = [m.name, s.code_for_muni(year), s.name_in(year), sit.cls[i], run.pupils.code[p]]
                    if with_fio:
                        row.append(run.pupils.fio(p))
                    sc = int(sit.score[i])
                    row += [sc, pct(100 * sc / test.max_score, 1), levels[int(sit.mark[i])]]
                    row += gmat[i].tolist()
                    rows.append(row)
                run.add(FileSpec("kdr", f"{key}_{year}_{m.name}.xlsx", "xlsx", [("Результаты", rows)],
                                 data_rows=len(order)))
