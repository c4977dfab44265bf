"""ВПР: individual workbooks, the four ФИС ОКО «Аналитика» reports, flat extracts, objectivity markers."""

from __future__ import annotations

import numpy as np

from .pupils import Sitting, simulate_vpr
from .region import School
from .run import Run
from .scales import REGION, SUBJECT_SHORT, VPR_DATES, VPR_GRADES, VPR_SUBJECTS, YEARS
from .truth import unknown_codes
from .writers import MISSING_TOKENS, FileSpec, pct

JOURNAL_GROUPS = ("Понизили (Отметка < Отметка по журналу)", "Подтвердили (Отметка = Отметка по журналу)",
                  "Повысили (Отметка > Отметка по журналу)", "Всего")
IND_SHEET = "Индивидуальные результаты"


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
        name = f"ВПР_{year}_{subject}_{grade}кл_{scope}.xlsx"
        rng = run.rng("vpr_ind", name)
        blank_before = run.rot.pick("ind_blank", (0, 1, 2))
        with_diff = run.rot.pick("ind_diff", (True, False))
        with_lines = run.rot.pick("ind_lines", (True, False, True))
        personal = run.rot.pick("ind_personal", ("", "sex", "sex+fio", "", "fio"))
        missing = run.rot.pick("ind_missing", MISSING_TOKENS)
        rows: list[list] = [[f"ВПР {year} {subject} {grade} класс"], ["Предмет", subject],
                            ["Максимальный первичный балл", test.max_score], ["Дата", f"{d:02d}.{mth:02d}.{year}"]]
        rows += [[] for _ in range(blank_before)]
        fixed = ["ОО", "Муниципалитет", "Название ОО", "Код участника", "Класс", "Вариант"]
        if "sex" in personal:
            fixed.append("Пол")
        if "fio" in personal:
            fixed.append("ФИО")
        if with_diff:
            rows.append([None] * len(fixed) + [t.level for t in test.tasks] + [None, None, None])
        rows.append(fixed + [_task_header(t) for t in test.tasks] + ["Первичный балл", "Отметка",
                                                                     "Отметка по журналу"])
        data_pos: list[int] = []
        for si in school_ids:
            s: School = region.schools[si]
            idx = by_school[si]
            idx = idx[np.lexsort((np.array([run.pupils.code[sit.pupil[i]] for i in idx]),
                                  np.array([sit.cls[i] for i in idx])))]
            login, sname = s.login_in(year), s.name_in(year)
            if with_lines:
                rows.append([f"{sname} ({login}) | Кол-во участников: {len(idx)}"])
            for i in idx:
                p = int(sit.pupil[i])
                row = [login, s.muni.name, sname, run.pupils.code[p], sit.cls[i], int(run.pupils.variant[p])]
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
        del rng
        run.add(FileSpec("vpr_individual", name, "xlsx", [(IND_SHEET, rows)], data_rows=len(data_pos)))


def _groups(run: Run, sit: Sitting):
    """(label, mask or None for РФ, n_orgs) in report order: РФ, region, municipality, its schools."""
    region, year = run.region, sit.year
    out = [("Вся выборка", None, 0), (REGION, np.ones(len(sit.pupil), bool), len(np.unique(sit.school)))]
    for m in region.municipalities:
        ids = [s.idx for s in region.by_muni(m, year)]
        mm = np.isin(sit.school, ids)
        if not mm.any():
            continue
        out.append((m.name, mm, len(np.unique(sit.school[mm]))))
        for s in region.by_muni(m, year):
            sm = sit.school == s.idx
            if sm.any():
                out.append((f"{s.login_in(year)} {s.name_in(year)}", sm, 1))
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


def _aggregates(run: Run, sit: Sitting) -> None:
    test = sit.test
    base = f"ВПР_{sit.year}_{sit.subject}_{sit.grade}кл"
    groups = _groups(run, sit)
    rf_orgs, rf_n = _rf_counts(run, sit)
    rf_score = sit.rf_points.sum(axis=1)
    rf_mark = 2 + (rf_score[:, None] >= np.asarray(test.cuts)).sum(axis=1)
    rf_rng = run.rng("rf_journal", sit.year, sit.subject, sit.grade)
    rf_journal = np.clip(rf_mark + rf_rng.choice([-1, 0, 1], len(rf_mark), p=[0.06, 0.76, 0.18]), 2, 5)
    mx = test.max_score

    marks_rows = [["Группы участников", "Кол-во ОО", "Кол-во участников", "2", "3", "4", "5"]]
    score_rows = [["Группы участников", "Кол-во участников"] + [str(k) for k in range(mx + 1)]]
    journal_rows = [["Группы участников", "Группа", "Кол-во участников", "%"]]
    task_codes = [t.code for t in test.tasks]
    task_rows = [["Группы участников", "Кол-во участников", *task_codes]]
    maxes = np.array([t.max_points for t in test.tasks], float)
    for label, mask, n_orgs in groups:
        if mask is None:
            mark, score, pts, journal = rf_mark, rf_score, sit.rf_points, rf_journal
            n_show, orgs = rf_n, rf_orgs
        else:
            mark, score, pts, journal = sit.mark[mask], sit.score[mask], sit.points[mask], sit.journal[mask]
            n_show, orgs = int(mask.sum()), n_orgs
        n = len(mark)
        marks_rows.append([label, orgs, n_show] + [pct(100 * (mark == k).sum() / n) for k in (2, 3, 4, 5)])
        hist = np.bincount(score, minlength=mx + 1)[: mx + 1]
        score_rows.append([label, n_show] + [pct(100 * h / n) for h in hist])
        cmp = _journal_cmp(mark, journal)
        scale = n_show / max(n, 1) if mask is None else 1
        for k, g in enumerate(JOURNAL_GROUPS):
            cnt = round(cmp[k] * scale)
            journal_rows.append([label if k == 0 else None, g, cnt, pct(100 * cmp[k] / max(cmp[3], 1))])
        done = pts.mean(axis=0) / maxes * 100
        task_rows.append([label, n_show] + [pct(v) for v in done])

    for feed, report, sheet, rows, suffix in (
        ("vpr_marks", "Статистика по отметкам", "Статистика по отметкам", marks_rows, "Статистика_по_отметкам"),
        ("vpr_scores", "Распределение первичных баллов", "Распределение баллов", score_rows,
         "Распределение_первичных_баллов"),
        ("vpr_journal", "Сравнение отметок с отметками по журналу", "Сравнение отметок", journal_rows,
         "Сравнение_отметок_с_журналом"),
        ("vpr_tasks", "Выполнение заданий", "Выполнение заданий", task_rows, "Выполнение_заданий"),
    ):
        pre = _title_rows(run, sit, report)
        if feed == "vpr_tasks":
            extra = run.rot.pick("tasks_pre", ("diff+max", "max", "none"))
            if "diff" in extra:
                pre.append([None, None] + [t.level for t in test.tasks])
            if "max" in extra:
                pre.append(["Макс. балл", None] + [t.max_points for t in test.tasks])
        run.add(FileSpec(feed, f"{base}_{suffix}.xlsx", "xlsx", [(sheet, pre + rows)],
                         data_rows=len(rows) - 1))


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
    enc = run.rot.pick("flat_enc", ("utf-8-sig", "cp1251"))
    header = ["Год", "Класс", "Предмет", "Муниципалитет", "ОО", "Логин", "Кол-во участников", "2", "3", "4", "5"]
    run.add(FileSpec("vpr_flat_marks", f"ВПР_отметки_{year}.csv", "csv", rows=[header, *rows], encoding=enc,
                     data_rows=len(rows)))


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
    enc = run.rot.pick("flat_scores_enc", ("cp1251", "utf-8-sig", "utf-8-sig"))
    run.add(FileSpec("vpr_flat_scores", f"ВПР_баллы_{sit.year}_{sit.subject}_{sit.grade}кл.csv", "csv",
                     rows=rows, encoding=enc, data_rows=len(rows) - 1))


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
            flagged.setdefault((s.idx, year), set()).update(picks)
    clean = [s for s in region.schools if not s.inflation and s.merged_into is None and s.type != "НОШ"]
    fp = clean[int(rng.integers(len(clean)))]
    fp_year = int(rng.choice([2024, 2025]))
    flagged.setdefault((fp.idx, fp_year), set()).add((5, "Математика"))
    run.extra_truth["objectivity_marker_false_positive"] = [{"school": fp.reg_code, "year": fp_year}]
    header = ["Год", "Логин", "ОО", "Муниципалитет"] + [f"{g} {SUBJECT_SHORT[subj]}" for g, subj in MARKER_COLS] \
        + ["Количество маркеров"]
    for year in YEARS:
        keys = sorted(k for k in flagged if k[1] == year)
        if not keys:
            continue
        rows = [header]
        for si, _ in keys:
            s = region.schools[si]
            vals = [int(c in flagged[(si, year)]) for c in MARKER_COLS]
            rows.append([year, s.login_in(year), s.name_in(year), s.muni.name, *vals, sum(vals)])
        run.add(FileSpec("objectivity_markers", f"Маркеры_необъективности_{year}.xlsx", "xlsx",
                         [("Маркеры", rows)], data_rows=len(rows) - 1))
