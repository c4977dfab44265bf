"""ГИА (РЦОИ extracts): ОГЭ grade 9 and ЕГЭ grade 11, one row per participant and exam.

Files come in two structures: the flat extract (exam, subject and date in columns) and the centre's
protocol (one block per exam day under a line «01 - Русский язык 2025.06.04», compact columns, a
«Средние» row under each block, sometimes a two-row header), as ``ingestion/feeds/rcoi_protocol`` reads.
"""

from __future__ import annotations

import datetime as dt

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
            layout = run.rot.pick("gia_layout", ("flat", "protocol", "flat", "protocol_two_rows"))
            if layout != "flat":
                write_protocol(run, exam, code, year, rows_in, two_rows=layout == "protocol_two_rows")
                continue
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


def _protocol_header(exam: str, code: str, two_rows: bool) -> list[list]:
    """The column header of a protocol block: one row, or two with «Задания» merged over the task columns."""
    final = "Итоговый балл" if exam == "ЕГЭ" and code != "22" else "Оценка"
    head = ["№", "Код ОО", "Код ППЭ", "Код участника", "Фамилия", "Имя", "Отчество"]
    if not two_rows:
        return [[*head, "Ответы в краткой форме", "Ответы в развернутой форме", "Первичный балл", final]]
    return [[*head, "Задания", None, "Первичный балл", final],
            [*[None] * len(head), "с кратким ответом", "с развёрнутым ответом", None, None]]


def write_protocol(run: Run, exam: str, code: str, year: int, rows_in: list[GiaRow], two_rows: bool) -> None:
    """One subject's year as the centre prints it: a block per exam day, each closed by a «Средние» row."""
    schools = run.region.schools
    test = GIA_TESTS[(exam, code)]
    by_day: dict[dt.date, list[GiaRow]] = {}
    for r in rows_in:
        by_day.setdefault(dt.datetime.strptime(_date(exam, code, r.period, year), "%d.%m.%Y").date(), []).append(r)
    rows: list[list] = [[f"Протокол проверки результатов {exam}"], ["24 - Красноярский край"], []]
    data: list[int] = []  # positions of participant rows
    header = _protocol_header(exam, code, two_rows)
    for day in sorted(by_day):
        rows.append([f"{int(code):02d} - {test.name} {day:%Y.%m.%d}"])
        rows += [list(h) for h in header]
        block = sorted(by_day[day], key=lambda r: (schools[r.school].rcoi, run.pupils.code[r.pupil]))
        for k, r in enumerate(block, start=1):
            short, ext = task_strings(r, test.extra["n_short"], test.tasks)
            final = r.test_score if exam == "ЕГЭ" and code != "22" else r.mark
            data.append(len(rows))
            rows.append([k, schools[r.school].rcoi, 2400 + r.school % 40, run.pupils.code[r.pupil],
                         *run.pupils.fio(r.pupil).split(" "), short, ext, r.score, "" if final is None else final])
        finals = [row[-1] for row in rows[-len(block):] if row[-1] != ""]
        rows.append(["Средние", *[None] * 8, round(sum(r.score for r in block) / len(block), 2),
                     round(sum(finals) / len(finals), 2) if finals else None])
        rows.append([])
    name = f"Протокол_{exam}_{year}_{code}.xlsx"
    i_short, i_school = 7, 1
    for p in run.planter.pick("gia", name, "invalid_task_string", data):
        s = rows[p][i_short]
        k = len(s) // 2
        rows[p][i_short] = s[:k] + "?" + s[k + 1:]
    for p in run.planter.pick("gia", name, "unknown_school", data):
        rows[p][i_school] = unknown_codes()["rcoi"]
    run.add(FileSpec("gia", name, "xlsx", [(f"Протокол {exam}", rows)], data_rows=len(data)))
