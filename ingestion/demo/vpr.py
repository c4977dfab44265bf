"""ВПР: individual workbooks, the four ФИС ОКО «Аналитика» reports, flat extracts, objectivity markers.

From 2025 on, a share of the workbooks is written as ФИС ОКО exports them (tests/fixtures/real/fis_oko):
sheet «РУ 4 Индивидуальные результаты» (cut at 31 characters), a report-name row above a title without
dots, labels with colons, the date as an Excel serial number, a «Уровень сложности задания» row, schools
«Name(edu240117)» and municipalities «…(reg24_m002)», number-cell headers and number shares, the wide
comparison with the register, and two-row headers. Earlier years keep the layout of docs/feed_layouts.md.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from .pupils import CLASS_LETTERS, Sitting, simulate_vpr
from .realistic import prune_without_effect
from .region import School
from .run import Run
from .scales import REGION, SUBJECT_SHORT, VPR_DATES, VPR_GRADES, VPR_SUBJECTS, YEARS
from .truth import unknown_codes
from .writers import MISSING_TOKENS, FileSpec, file_spec, pct

JOURNAL_GROUPS = ("Понизили (Отметка < Отметка по журналу)", "Подтвердили (Отметка = Отметка по журналу)",
                  "Повысили (Отметка > Отметка по журналу)", "Всего")
IND_SHEET = "Индивидуальные результаты"
EXPORTED_FROM = 2025  # the first year some workbooks come in the export structure
EXCEL_EPOCH = dt.date(1899, 12, 30)
IND_XLS_FILES = 2  # individual workbooks saved as .xls


def _sheet_name(subject: str, grade: int, report: str) -> str:
    """«РУ 4 Сравнение отметок с отметк»: Excel cuts sheet names at 31 characters."""
    return f"{SUBJECT_SHORT[subject]} {grade} {report}"[:31]


def _serial(day: dt.date) -> int:
    return (day - EXCEL_EPOCH).days


def _number(x: float) -> float:
    """A share as a number cell, rounded as the exports print it."""
    return round(float(x), 2)


def _exported_preamble(report: str, sit: Sitting, date) -> list[list]:
    return [[report], [], [f"ВПР {sit.year} {sit.subject} {sit.grade} класс"], ["Предмет:", sit.subject],
            ["Максимальный первичный балл:", sit.test.max_score], ["Дата:", date], []]


def write_vpr(run: Run) -> None:
    for year in YEARS:
        flat_marks: list[list] = []
        for subject in VPR_SUBJECTS:
            for grade in VPR_GRADES:
                sit = simulate_vpr(run.pupils, year, subject, grade)
                _individual(run, sit)
                _aggregates(run, sit)
                flat_marks += _flat_marks_rows(run, sit)
                _flat_scores(run, sit)
        _flat_marks_file(run, year, flat_marks)
    if run.region.profile == "realistic":
        prune_without_effect(run.region)
    _markers(run)


def _task_header(t) -> str:
    return f"{t.code} ({t.max_points}б)"


def _individual(run: Run, sit: Sitting) -> None:
    region = run.region
    year, subject, grade, test = sit.year, sit.subject, sit.grade, sit.test
    by_school: dict[int, np.ndarray] = {}
    for si in np.unique(sit.school):
        if region.schools[si].has_vpr_files:
            by_school[int(si)] = np.flatnonzero(sit.school == si)
    groups: list[tuple[str, list[int]]] = []
    for m in region.municipalities:
        local = [s.idx for s in region.by_muni(m) if s.idx in by_school]
        if m.vpr_scope == "municipality" and local:
            groups.append((m.name, local))
        elif m.vpr_scope == "school":
            groups += [(region.schools[i].login_in(year), [i]) for i in local]
    d, mth = VPR_DATES[subject]
    for scope, school_ids in groups:
        exported = year >= EXPORTED_FROM and run.rot.pick("ind_exported", (True, False, False))
        # The first few one-school workbooks come as Excel 97–2003 (.xls), as schools still save them.
        as_xls = len(school_ids) == 1 and not exported and run.cache.get("ind_xls", 0) < IND_XLS_FILES
        run.cache["ind_xls"] = run.cache.get("ind_xls", 0) + as_xls
        name = f"ВПР_{year}_{subject}_{grade}кл_{scope}.{'xls' if as_xls else 'xlsx'}"
        blank_before = run.rot.pick("ind_blank", (0, 1, 2))
        with_diff = run.rot.pick("ind_diff", (True, False))
        with_lines = run.rot.pick("ind_lines", (True, False, True))
        personal = run.rot.pick("ind_personal", ("", "sex", "sex+fio", "", "fio"))
        missing = run.rot.pick("ind_missing", MISSING_TOKENS)
        if exported:
            rows: list[list] = _exported_preamble("Индивидуальные результаты", sit,
                                                  _serial(dt.date(year, mth, d)))[:-1]
            with_diff = with_lines = True
        else:
            rows = [[f"ВПР {year} {subject} {grade} класс"], ["Предмет", subject],
                    ["Максимальный первичный балл", test.max_score], ["Дата", f"{d:02d}.{mth:02d}.{year}"]]
            rows += [[] for _ in range(blank_before)]
        fixed = ["ОО", "Муниципалитет", "Название ОО", "Код участника", "Класс", "Вариант"]
        if "sex" in personal:
            fixed.append("Пол")
        if "fio" in personal:
            fixed.append("ФИО")
        if with_diff:
            label = [None, None, "Уровень сложности задания"] if exported else []
            rows.append(label + [None] * (len(fixed) - len(label)) + [t.level for t in test.tasks] + [None] * 3)
        rows.append(fixed + [_task_header(t) for t in test.tasks] + ["Первичный балл", "Отметка",
                                                                     "Отметка по журналу"])
        data_pos: list[int] = []
        for si in school_ids:
            s: School = region.schools[si]
            idx = by_school[si]
            idx = idx[np.lexsort((np.array([run.pupils.code[sit.pupil[i]] for i in idx]),
                                  np.array([sit.cls[i] for i in idx])))]
            login, sname = s.login_in(year), s.name_in(year)
            if exported:  # ФИС ОКО writes the login in parentheses right after the name
                sname = f"{sname}({login})"
            if with_lines:
                rows.append([f"{sname} | Кол-во участников: {len(idx)}" if exported
                             else f"{sname} ({login}) | Кол-во участников: {len(idx)}"])
            for i in idx:
                p = int(sit.pupil[i])
                # the export numbers the classes of a grade (1, 2 …: «Порядковый номер класса») as number cells
                cls = CLASS_LETTERS.index(sit.cls[i][-1]) + 1 if exported else sit.cls[i]
                row = [login, s.muni.name, sname, run.pupils.code[p], cls, int(run.pupils.variant[p])]
                if "sex" in personal:
                    row.append("Ж" if run.pupils.female[p] else "М")
                if "fio" in personal:
                    row.append(run.pupils.fio(p))
                row += sit.points[i].tolist()
                j = int(sit.journal[i])
                row += [int(sit.score[i]), int(sit.mark[i]), j if j else missing]
                data_pos.append(len(rows))
                rows.append(row)
        if run.rot.pick("ind_blank_mid", (False, False, True)) and len(data_pos) > 4:
            at = data_pos[len(data_pos) // 2]
            rows.insert(at, [])
            data_pos = [p + (p >= at) for p in data_pos]
        for p in run.planter.pick("vpr_individual", name, "unknown_school", data_pos):
            rows[p][0] = unknown_codes()["login"]
        for p in run.planter.pick("vpr_individual", name, "invalid_mark", data_pos):
            rows[p][-2] = 7
        sheet = _sheet_name(subject, grade, IND_SHEET) if exported else IND_SHEET
        run.add(FileSpec("vpr_individual", name, "xls" if as_xls else "xlsx", [(sheet, rows)],
                         data_rows=len(data_pos)))


def _groups(run: Run, sit: Sitting, exported: bool = False):
    """(label, mask or None for РФ, n_orgs) in report order: РФ, region, municipality, its schools.

    Exported reports write «Name(edu240117)» and «Municipality(reg24_m002)»; the others «edu240117 Name».
    """
    region, year = run.region, sit.year
    out = [("Вся выборка", None, 0), (REGION, np.ones(len(sit.pupil), bool), len(np.unique(sit.school)))]
    for k, m in enumerate(region.municipalities, start=1):
        ids = [s.idx for s in region.by_muni(m, year)]
        mm = np.isin(sit.school, ids)
        if not mm.any():
            continue
        out.append((f"{m.name}(reg24_m{k:03d})" if exported else m.name, mm, len(np.unique(sit.school[mm]))))
        for s in region.by_muni(m, year):
            sm = sit.school == s.idx
            if sm.any():
                login, name = s.login_in(year), s.name_in(year)
                out.append((f"{name}({login})" if exported else f"{login} {name}", sm, 1))
    return out


def _title_rows(run: Run, sit: Sitting, report: str) -> list[list]:
    title = f"ВПР {sit.year}. {sit.subject}. {sit.grade} класс"
    style = run.rot.pick("agg_title_" + report, (0, 1, 2, 3))
    if style == 0:
        return [[title], []]
    if style == 1:
        return [[report], [title], []]
    if style == 2:
        return [[None, title], [None, report], [], []]
    return [[title]]


def _rf_counts(run: Run, sit: Sitting) -> tuple[int, int]:
    rng = run.rng("rf", sit.year, sit.subject, sit.grade)
    return int(rng.integers(36000, 39000)), int(rng.integers(1_150_000, 1_350_000))


def _journal_cmp(mark: np.ndarray, journal: np.ndarray) -> list[int]:
    ok = journal > 0
    m, j = mark[ok], journal[ok]
    return [int((m < j).sum()), int((m == j).sum()), int((m > j).sum()), int(ok.sum())]


REPORTS = (
    ("vpr_marks", "Статистика по отметкам", "Статистика по отметкам", "Статистика_по_отметкам"),
    ("vpr_scores", "Распределение первичных баллов", "Распределение баллов", "Распределение_первичных_баллов"),
    ("vpr_journal", "Сравнение отметок с отметками по журналу", "Сравнение отметок", "Сравнение_отметок_с_журналом"),
    ("vpr_tasks", "Выполнение заданий", "Выполнение заданий", "Выполнение_заданий"),
)


def _aggregates(run: Run, sit: Sitting) -> None:
    test = sit.test
    base = f"ВПР_{sit.year}_{sit.subject}_{sit.grade}кл"
    rf_orgs, rf_n = _rf_counts(run, sit)
    rf_score = sit.rf_points.sum(axis=1)
    rf_mark = 2 + (rf_score[:, None] >= np.asarray(test.cuts)).sum(axis=1)
    rf_rng = run.rng("rf_journal", sit.year, sit.subject, sit.grade)
    rf_journal = np.clip(rf_mark + rf_rng.choice([-1, 0, 1], len(rf_mark), p=[0.06, 0.76, 0.18]), 2, 5)
    mx = test.max_score
    maxes = np.array([t.max_points for t in test.tasks], float)
    d, mth = VPR_DATES[sit.subject]

    for feed, report, sheet, suffix in REPORTS:
        # From EXPORTED_FROM on, every other report comes as ФИС ОКО exports it (two-row headers in some).
        style = run.rot.pick("agg_style_" + feed, ("exported", "contract", "exported_two_row", "contract")) \
            if sit.year >= EXPORTED_FROM else "contract"
        exported, two_row = style != "contract", style == "exported_two_row"
        share = _number if exported else pct
        rows: list[list] = []
        for label, mask, n_orgs in _groups(run, sit, exported):
            if mask is None:
                mark, score, pts, journal = rf_mark, rf_score, sit.rf_points, rf_journal
                n_show, orgs = rf_n, rf_orgs
            else:
                mark, score, pts, journal = sit.mark[mask], sit.score[mask], sit.points[mask], sit.journal[mask]
                n_show, orgs = int(mask.sum()), n_orgs
            n = len(mark)
            if feed == "vpr_marks":
                rows.append([label, orgs, n_show] + [share(100 * (mark == k).sum() / n) for k in (2, 3, 4, 5)])
            elif feed == "vpr_scores":
                hist = np.bincount(score, minlength=mx + 1)[: mx + 1]
                rows.append([label, n_show] + [share(100 * h / n) for h in hist])
            elif feed == "vpr_journal":
                cmp = _journal_cmp(mark, journal)
                scale = n_show / max(n, 1) if mask is None else 1
                counts = [round(c * scale) for c in cmp]
                shares = [share(100 * c / max(cmp[3], 1)) for c in cmp]
                if exported:  # one row per organisation: «Кол-во участников(всего)», then a pair per group
                    rows.append([label, counts[3]] + [v for k in range(3) for v in (shares[k], counts[k])])
                else:
                    rows += [[label if k == 0 else None, g, counts[k], shares[k]] for k, g in enumerate(JOURNAL_GROUPS)]
            else:
                done = pts.mean(axis=0) / maxes * 100
                rows.append([label, n_show] + [share(v) for v in done])
        data_rows = len(rows)
        if exported:
            pre = _exported_preamble(report, sit, f"{d:02d}.{mth:02d}.{sit.year}")
            header = _exported_header(feed, test, two_row)
        else:
            pre = _title_rows(run, sit, report)
            header = [_contract_header(feed, test)]
        if feed == "vpr_tasks":
            extra = run.rot.pick("tasks_pre", ("diff+max", "max", "none"))
            first = ["Уровень сложности задания" if exported else None, None]
            if "diff" in extra:
                pre.append(first + [t.level for t in test.tasks])
            if "max" in extra:
                pre.append(["Макс. балл", None] + [t.max_points for t in test.tasks])
        name = _sheet_name(sit.subject, sit.grade, report) if exported else sheet
        run.add(FileSpec(feed, f"{base}_{suffix}.xlsx", "xlsx", [(name, pre + header + rows)], data_rows=data_rows))


def _contract_header(feed: str, test) -> list:
    if feed == "vpr_marks":
        return ["Группы участников", "Кол-во ОО", "Кол-во участников", "2", "3", "4", "5"]
    if feed == "vpr_scores":
        return ["Группы участников", "Кол-во участников"] + [str(k) for k in range(test.max_score + 1)]
    if feed == "vpr_journal":
        return ["Группы участников", "Группа", "Кол-во участников", "%"]
    return ["Группы участников", "Кол-во участников", *[t.code for t in test.tasks]]


def _task_cell(code: str):
    """Exports write a plain task number as a number cell; «9.1» and «5К1» stay text."""
    return int(code) if code.isdigit() else code


def _exported_header(feed: str, test, two_row: bool) -> list[list]:
    """Header rows of an export: number cells for marks, scores and plain task numbers; maybe over two rows."""
    if feed == "vpr_marks":
        if two_row:
            return [["Группы участников", "Кол-во ОО", "Кол-во участников", "Распределение отметок, %"],
                    [None, None, None, 2, 3, 4, 5]]
        return [["Группы участников", "Кол-во ОО", "Кол-во участников", 2, 3, 4, 5]]
    if feed == "vpr_scores":
        scores = list(range(test.max_score + 1))
        if two_row:
            return [["Группы участников", "Кол-во участников", "Первичный балл, % участников"],
                    [None, None, *scores]]
        return [["Группы участников", "Кол-во участников", *scores]]
    if feed == "vpr_journal":
        groups = [g.replace("= Отметка по", "= Отметке по") for g in JOURNAL_GROUPS[:3]]
        if two_row:
            return [["Группы участников", "Кол-во участников(всего)", *[v for g in groups for v in (g, None)]],
                    [None, None, *["%", "Кол-во участников"] * 3]]
        return [["Группы участников", "Кол-во участников(всего)",
                 *[f"{g} {m}" for g in groups for m in ("%", "Кол-во участников")]]]
    tasks = [_task_cell(t.code) for t in test.tasks]
    if two_row:
        return [["Группы участников", "Кол-во участников", "Выполнение заданий, %"], [None, None, *tasks]]
    return [["Группы участников", "Кол-во участников", *tasks]]


def _flat_marks_rows(run: Run, sit: Sitting) -> list[list]:
    out = []
    for si in np.unique(sit.school):
        s = run.region.schools[si]
        m = sit.mark[sit.school == si]
        n = len(m)
        out.append([sit.year, sit.grade, sit.subject, s.muni.name, s.name_in(sit.year), s.login_in(sit.year), n]
                   + [pct(100 * (m == k).sum() / n) for k in (2, 3, 4, 5)])
    return out


def _flat_marks_file(run: Run, year: int, rows: list[list]) -> None:
    fmt = run.rot.pick("flat_enc", ("csv_utf8", "csv1251", "txt_utf16"))
    header = ["Год", "Класс", "Предмет", "Муниципалитет", "ОО", "Логин", "Кол-во участников", "2", "3", "4", "5"]
    run.add(file_spec("vpr_flat_marks", f"ВПР_отметки_{year}", fmt, "", [header, *rows], data_rows=len(rows)))


def _flat_scores(run: Run, sit: Sitting) -> None:
    mx = sit.test.max_score
    header = ["Год", "Класс", "Предмет", "Логин", "Кол-во участников"] + [str(k) for k in range(mx + 1)]
    rows = [header]
    for si in np.unique(sit.school):
        s = run.region.schools[si]
        sc = sit.score[sit.school == si]
        hist = np.bincount(sc, minlength=mx + 1)[: mx + 1]
        rows.append([sit.year, sit.grade, sit.subject, s.login_in(sit.year), len(sc)]
                    + [pct(100 * h / len(sc)) for h in hist])
    fmt = run.rot.pick("flat_scores_enc", ("csv1251", "csv_utf8", "csv_utf8", "csv1251", "csv_utf8", "txt_utf16"))
    run.add(file_spec("vpr_flat_scores", f"ВПР_баллы_{sit.year}_{sit.subject}_{sit.grade}кл", fmt, "", rows,
                      data_rows=len(rows) - 1))


SUBJECT_NAMES = {"rus": "Русский язык", "math": "Математика"}
MARKER_COLS = [(g, subj) for g in VPR_GRADES for subj in VPR_SUBJECTS]


def _markers(run: Run) -> None:
    """Federal markers: most inflating school-years, plus one false positive."""
    rng = run.rng("markers")
    region = run.region
    flagged: dict[tuple[int, int], set] = {}
    for s in region.schools:
        for year, method in s.inflation:
            if rng.random() < 0.15 and len(s.inflation) > 1:
                continue  # the federal list misses some
            cols = [c for c in MARKER_COLS if c[0] in s.grades]
            k = int(rng.integers(1, min(4, len(cols)) + 1))
            picks = {cols[i] for i in rng.choice(len(cols), k, replace=False)}
            if method == "copied_answers":
                picks = {(g, "Математика") for g in range(4, 9) if g in s.grades} & set(cols) or picks
                picks = set(list(sorted(picks))[:1])
            if region.profile == "realistic":  # the federal markers cite cells the school really manipulated
                cells = sorted((c["grade"], SUBJECT_NAMES[c["subject_code"]])
                               for c in s.inflation_cells[(year, method)])
                picks = {cells[i] for i in rng.choice(len(cells), min(k, len(cells)), replace=False)}
            flagged.setdefault((s.idx, year), set()).update(picks)
    clean = [s for s in region.schools if not s.inflation and s.merged_into is None and s.type != "НОШ"]
    fp = clean[int(rng.integers(len(clean)))]
    fp_year = int(rng.choice([2024, 2025]))
    flagged.setdefault((fp.idx, fp_year), set()).add((5, "Математика"))
    run.extra_truth["objectivity_marker_false_positive"] = [{"school": fp.reg_code, "year": fp_year}]
    header = ["Год", "Логин", "ОО", "Муниципалитет"] + [f"{g} {SUBJECT_SHORT[subj]}" for g, subj in MARKER_COLS] \
        + ["Количество маркеров"]
    # From EXPORTED_FROM on, the list comes as the federal workbook is published (tests/fixtures/real/fis_oko):
    # municipality before the login, a header padded with a space, an empty cell where a work has no marker.
    federal = ["Год", "Муниципалитет", "Логин", "ОО", *header[4:-1], "Количество маркеров "]
    for year in YEARS:
        keys = sorted(k for k in flagged if k[1] == year)
        if not keys:
            continue
        published = year >= EXPORTED_FROM
        rows = [federal if published else header]
        for si, _ in keys:
            s = region.schools[si]
            vals = [int(c in flagged[(si, year)]) for c in MARKER_COLS]
            if published:
                rows.append([year, s.muni.name, s.login_in(year), s.name_in(year), *[v or None for v in vals],
                             sum(vals)])
            else:
                rows.append([year, s.login_in(year), s.name_in(year), s.muni.name, *vals, sum(vals)])
        run.add(FileSpec("objectivity_markers", f"Маркеры_необъективности_{year}.xlsx", "xlsx",
                         [("Лист1" if published else "Маркеры", rows)], data_rows=len(rows) - 1))
