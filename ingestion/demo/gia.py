"""ГИА (РЦОИ extracts): ОГЭ grade 9 and ЕГЭ grade 11, one row per participant and exam."""

from __future__ import annotations

from .pupils import GiaRow, simulate_gia
from .run import Run
from .scales import GIA_DATES, GIA_TESTS, YEARS
from .truth import unknown_codes
from .writers import FileSpec

HEADER = ["Экзамен", "Код предмета", "Предмет", "Дата экзамена", "Период", "Код ОУ", "Код участника"]
TAIL = ["Задания с кратким ответом", "Задания с развернутым ответом", "Первичный балл", "Балл", "Отметка",
        "Преодолен минимальный порог"]


def task_strings(row: GiaRow, n_short: int, tasks) -> tuple[str, str]:
    short = "".join(
        ("+" if p else "-") if t.max_points == 1 else str(int(p))
        for p, t in zip(row.points[:n_short], tasks[:n_short], strict=True))
    ext = "".join(f"{int(p)}({t.max_points})" for p, t in zip(row.points[n_short:], tasks[n_short:], strict=True))
    return short, ext


def _date(exam: str, code: str, period: str, year: int) -> str:
    d, m = GIA_DATES[(exam, code)]
    if period == "досрочный":
        d, m = (22, 4) if exam == "ОГЭ" else (28, 3)
    elif period == "дополнительный":
        d, m = (5, 9) if exam == "ЕГЭ" else (4, 9)
    return f"{d:02d}.{m:02d}.{year}"


def write_gia(run: Run) -> None:
    schools = run.region.schools
    for year in YEARS:
        res = simulate_gia(run.pupils, year)
        for (exam, code), rows_in in res.items():
            if not rows_in:
                continue
            test = GIA_TESTS[(exam, code)]
            fmt = run.rot.pick("gia_fmt", ("csv", "csv", "xlsx", "csv"))
            names = run.rot.pick("gia_names", (False, True, False))
            header = HEADER + (["Фамилия", "Имя", "Отчество"] if names else []) + TAIL
            rows = [header]
            for r in sorted(rows_in, key=lambda r: (schools[r.school].rcoi, run.pupils.code[r.pupil])):
                short, ext = task_strings(r, test.extra["n_short"], test.tasks)
                line = [exam, code, test.name, _date(exam, code, r.period, year), r.period,
                        schools[r.school].rcoi, run.pupils.code[r.pupil]]
                if names:
                    line += run.pupils.fio(r.pupil).split(" ")
                line += [short, ext, r.score, "" if r.test_score is None else r.test_score,
                         "" if r.mark is None else r.mark, "да" if r.passed else "нет"]
                rows.append(line)
            name = f"{exam}_{year}_{code}.{fmt}"
            pos = list(range(1, len(rows)))
            i_short = header.index("Задания с кратким ответом")
            for p in run.planter.pick("gia", name, "invalid_task_string", pos):
                s = rows[p][i_short]
                k = len(s) // 2
                rows[p][i_short] = s[:k] + "?" + s[k + 1:]
            for p in run.planter.pick("gia", name, "unknown_school", pos):
                rows[p][5] = unknown_codes()["rcoi"]
            if fmt == "csv":
                run.add(FileSpec("gia", name, "csv", rows=rows, encoding="cp1251", data_rows=len(rows) - 1))
            else:
                run.add(FileSpec("gia", name, "xlsx", [("Результаты", rows)], data_rows=len(rows) - 1))
