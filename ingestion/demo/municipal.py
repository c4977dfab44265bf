"""Municipal feeds: one file per municipality and year, with headers that differ a little."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from .lists import listed_years
from .names import person_name
from .region import Municipality, School
from .run import Run
from .scales import YEARS
from .truth import unknown_codes
from .writers import FileSpec, blank_rows_inside, file_spec

SUBJECTS_OLYMP = ("математика", "русский язык", "литература", "биология", "обществознание", "физика",
                  "история", "английский язык")
SUBJECTS_TEACH = ("начальные классы", "русский язык и литература", "математика", "физика", "химия", "биология",
                  "история и обществознание", "английский язык", "информатика", "география",
                  "физическая культура", "технология")
TOPICS = ("Объективность оценивания результатов ВПР", "Формирование читательской грамотности",
          "Работа с обучающимися с рисками учебной неуспешности", "Подготовка к ГИА по математике",
          "Подготовка к ГИА по русскому языку", "Программа перехода школы в эффективный режим",
          "Наставничество молодых педагогов", "Формирующее оценивание на уроке",
          "Анализ результатов КДР", "Профилактика учебной неуспешности")


def _sig(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def in_support(s: School, y: int) -> bool:
    return (s.improving and y >= s.support_start) or (s.low and y >= 2024) or \
        (s.shnor_false_positive and y >= 2025)


FEED_ORDER = ("performance", "olympiads", "teachers", "vacancies", "support_events", "improvement_programmes",
              "individual_routes")
# The format a municipality saves most files in, and the one some of its offices use instead (LibreOffice
# saves .ods; old Excel .xls; Excel's «Текст Юникод» .txt). A quarter of the files come in the second.
USUAL_FORMAT = ("xlsx", "csv1251", "xlsx", "csv_utf8", "xlsx", "csv1251")
OTHER_FORMAT = ("ods", "xls", "txt_utf16", "xls", "ods", "txt_utf16")
# A few files from old DOS and Unix programs, until the municipality replaced them: (municipality index,
# feed) -> encoding, for the years up to OLD_SOFTWARE_UNTIL. Only feeds whose text these code pages hold.
OLD_SOFTWARE = {(2, "individual_routes"): "csv866", (3, "individual_routes"): "csv_koi8"}
OLD_SOFTWARE_UNTIL = YEARS[1]


class Style:
    """A municipality's habits: header wording, booleans, file format, title rows."""

    def __init__(self, m: Municipality) -> None:
        i = m.idx
        self.idx = i
        self.code_header = "Логин ОО" if m.code_style == "login" and i % 2 == 0 else "Код ОО"
        self.pupils_header = "Количество обучающихся" if i % 2 else "Обучающихся"
        self.yes, self.no = (("да", "нет"), ("1", "0"), ("+", "-"))[i % 3]
        self.fmt = USUAL_FORMAT[i % 6]
        self.other_fmt = OTHER_FORMAT[i % 6]
        self.periods = (("1 четверть", "2 четверть", "3 четверть", "4 четверть", "год") if i % 2 == 0
                        else ("1 полугодие", "2 полугодие", "год"))
        self.title_rows = i % 4  # 0-3 rows before the header
        self.teacher_fio = i in (0, 5)

    def b(self, v: bool) -> str:
        return self.yes if v else self.no

    def format_for(self, feed: str, year: int) -> str:
        """The format of one file (a key of writers.FORMATS)."""
        old = OLD_SOFTWARE.get((self.idx % 6, feed))
        if old and year <= OLD_SOFTWARE_UNTIL:
            return old
        return self.other_fmt if (FEED_ORDER.index(feed) + year + self.idx) % 4 == 0 else self.fmt


def _add(run: Run, feed: str, name: str, m: Municipality, y: int, title: str, header: list, data: list,
         blank_mid: bool = False) -> FileSpec:
    st = Style(m)
    pre: list[list] = []
    if st.title_rows:
        pre = [[title]] + [[] for _ in range(st.title_rows - 1)]
    rows = pre + [header] + (blank_rows_inside(data, run.rng("blank", feed, name)) if blank_mid else data)
    return run.add(file_spec(feed, name, st.format_for(feed, y), "Лист1", rows, data_rows=len(data)))


def _data_positions(spec: FileSpec) -> list[int]:
    rows = spec.grid
    hdr = next(i for i, r in enumerate(rows) if len(r) > 3)
    return [i for i in range(hdr + 1, len(rows)) if rows[i]]


def write_municipal(run: Run) -> None:
    region = run.region
    for m in region.municipalities:
        st = Style(m)
        for y in YEARS:
            schools = region.by_muni(m, y)
            _performance(run, m, st, y, schools)
            _olympiads(run, m, st, y, schools)
            _teachers(run, m, st, y, schools)
            _vacancies(run, m, st, y, schools)
            _support_events(run, m, st, y, schools)
            _programmes(run, m, st, y, schools)
            _routes(run, m, st, y, schools)


def _grade_size(run: Run, s: School, y: int, g: int) -> int:
    if g >= 4:
        return len(run.pupils.roster(s, y, g))
    return max(1, round(run.region.enrolment(s, y) / len(s.grades)))


def _performance(run, m, st, y, schools) -> None:
    rng = run.rng("perf", m.name, y)
    header = ["Год", st.code_header, "Класс", "Период", st.pupils_header, "Имеют «2» / академическую задолженность",
              "Только на «4» и «5»", "Оставлены на повторное обучение", "Пропущено уроков всего",
              "Пропущено уроков без уважительной причины"]
    lessons = {"год": 900, "1 полугодие": 430, "2 полугодие": 470}
    data = []
    for s in schools:
        eff = s.latent(y)
        p2 = _sig(-3.3 - 1.6 * eff)
        p45 = _sig(-0.5 + 1.3 * eff)
        absent = 0.07 + 0.02 * s.context + 0.02 * s.low
        for g in s.grades:
            n0 = _grade_size(run, s, y, g)
            for per in st.periods:
                n = max(1, n0 + int(rng.integers(-1, 2))) if per != "год" else n0
                twos = 0 if g == 1 else int(rng.binomial(n, p2 * (0.6 if per == "год" else 1)))
                good = 0 if g == 1 else int(rng.binomial(n - twos, p45))
                rep = int(rng.binomial(twos, 0.25)) if per == "год" else 0
                miss = int(n * lessons.get(per, 220) * max(0.02, absent + rng.normal(0, 0.01)))
                unexc = int(miss * np.clip(0.08 + 0.1 * s.adverse + rng.normal(0, 0.03), 0.01, 0.5))
                data.append([y, s.code_for_muni(y), g, per, n, twos, good, rep, miss, unexc])
    spec = _add(run, "performance", f"Успеваемость_{y}_{m.name}", m, y,
                f"Успеваемость и посещаемость, {m.name}, {y - 1}-{y} учебный год", header, data,
                blank_mid=(m.idx + y) % 3 == 0)
    rows = spec.grid
    pos = _data_positions(spec)
    for p in run.planter.pick("performance", spec.name, "negative_count", pos):
        rows[p][9] = -int(rng.integers(3, 40))
    for p in run.planter.pick("performance", spec.name, "unknown_school", pos):
        rows[p][1] = unknown_codes()["registry" if m.code_style == "registry" else "login"]


def _olympiads(run, m, st, y, schools) -> None:
    rng = run.rng("olymp", m.name, y)
    header = ["Учебный год", st.code_header, "Предмет", "Этап", "Участников", "Победителей", "Призёров"]
    data = []
    for s in schools:
        eff = s.latent(y)
        n_old = sum(_grade_size(run, s, y, g) for g in s.grades if g >= 4)
        for subj in SUBJECTS_OLYMP:
            part = int(rng.poisson(n_old * 0.05 * math.exp(0.6 * eff)))
            if part == 0:
                continue
            win = int(rng.binomial(part, 0.07))
            pri = int(rng.binomial(part - win, 0.15))
            data.append([f"{y - 1}-{y}", s.code_for_muni(y), subj, "школьный", part, win, pri])
            mpart = int(rng.binomial(win + pri, 0.7))
            if mpart:
                mw = int(rng.binomial(mpart, min(0.9, 0.06 * math.exp(0.8 * eff))) if eff > -2 else 0)
                mp = int(rng.binomial(mpart - mw, 0.2))
                data.append([f"{y - 1}-{y}", s.code_for_muni(y), subj, "муниципальный", mpart, mw, mp])
                rpart = int(rng.binomial(mw + mp, min(0.9, 0.3 * math.exp(1.2 * eff))))
                if rpart:
                    rw = int(rng.binomial(rpart, 0.05))  # winners and prize-winners never exceed participants
                    data.append([f"{y - 1}-{y}", s.code_for_muni(y), subj, "региональный", rpart,
                                 rw, int(rng.binomial(rpart - rw, 0.15))])
    spec = _add(run, "olympiads", f"ВсОШ_{y}_{m.name}", m, y, f"Всероссийская олимпиада школьников, {m.name}",
                header, data)
    rows = spec.grid
    for p in run.planter.pick("olympiads", spec.name, "negative_count", _data_positions(spec)):
        rows[p][4] = -rows[p][4] if rows[p][4] else -1


def _teacher_pool(run: Run, s: School) -> list[dict]:
    """Teachers of a school over all years; pseudonymous IDs are stable across years."""
    key = ("teachers", s.idx)
    if key in run.cache:
        return run.cache[key]
    rng = run.rng("teachers", s.reg_code)
    n = max(4, round(s.enrolment / 12))
    adverse = s.adverse or s.low
    pool = []
    for k in range(n + n // 4):
        start = YEARS[0] if k < n else int(rng.integers(YEARS[1], YEARS[-1] + 1))
        age0 = int(np.clip(rng.normal(52 if adverse else 45, 10), 22, 72)) if k < n else int(rng.integers(22, 30))
        female = rng.random() < 0.82
        pool.append({
            "id": f"T-{int(s.reg_code[3:]) * 40 + k:06d}", "start": start,
            "end": YEARS[-1] if rng.random() > 0.12 else int(rng.integers(YEARS[0], YEARS[-1])),
            "age0": age0 - (start - YEARS[0]), "subject": SUBJECTS_TEACH[k % len(SUBJECTS_TEACH)] if k < 24
            else str(rng.choice(SUBJECTS_TEACH)),
            "outside": bool(rng.random() < (0.25 if adverse else 0.07)),
            "cat": str(rng.choice(("высшая", "первая", "соответствие", "без категории"),
                                  p=(0.2, 0.35, 0.3, 0.15) if adverse else (0.33, 0.35, 0.2, 0.12))),
            "fio": " ".join(_name(rng, female)),
        })
    run.cache[key] = pool
    return pool


def _name(rng, female):
    return person_name(rng, female)


def _band(age: int) -> str:
    return "до 30" if age < 30 else "30–39" if age < 40 else "40–49" if age < 50 else "50–59" if age < 60 \
        else "60 и старше"


def _teachers(run, m, st, y, schools) -> None:
    rng = run.rng("teach_year", m.name, y)
    header = ["Год", st.code_header, "ID педагога"] + (["ФИО"] if st.teacher_fio else []) + [
        "Предмет", "Возраст", "Квалификационная категория", "Работает не по специальности",
        "Диагностика дефицитов пройдена", "Выявлены дефициты", "Курсы ПК за 3 года",
        "Курсы ПК по вопросам качества образования", "Поддержка через ММО",
        "Поддержка через региональные сетевые МО", "Наставник", "Наставник для (ID)"]
    data = []
    for s in schools:
        sup = in_support(s, y)
        staff = [t for t in _teacher_pool(run, s) if t["start"] <= y <= t["end"]]
        ages = {t["id"]: t["age0"] + (y - YEARS[0]) for t in staff}
        young = [t for t in staff if ages[t["id"]] < 30]
        seniors = [t for t in staff if ages[t["id"]] >= 40]
        mentor_of: dict[str, str] = {}
        for j, t in enumerate(young):
            if seniors and rng.random() < 0.7:
                mentor_of.setdefault(seniors[j % len(seniors)]["id"], t["id"])
        mentees = set(mentor_of.values())
        for t in staff:
            age = ages[t["id"]]
            diag = rng.random() < min(0.95, 0.3 + 0.1 * (y - YEARS[0]) + 0.3 * sup)
            row = [y, s.code_for_muni(y), t["id"]] + ([t["fio"]] if st.teacher_fio else []) + [
                t["subject"], _band(age), "без категории" if age < 26 else t["cat"], st.b(t["outside"]),
                st.b(diag), st.b(diag and rng.random() < 0.55), st.b(rng.random() < 0.8),
                st.b(rng.random() < 0.25 + 0.35 * sup), st.b(rng.random() < 0.2 + 0.5 * sup),
                st.b(rng.random() < 0.08 + 0.35 * sup), st.b(t["id"] in mentees), mentor_of.get(t["id"])]
            data.append(row)
    _add(run, "teachers", f"Педагоги_{y}_{m.name}", m, y, f"Сведения о педагогических работниках, {m.name}",
         header, data)


def _vacancies(run, m, st, y, schools) -> None:
    rng = run.rng("vac", m.name, y)
    data = []
    for s in schools:
        lam = 0.3 + 0.9 * s.adverse + 0.3 * s.rural + 0.4 * s.low
        k = min(int(rng.poisson(lam)), 4)
        for subj in sorted(rng.choice(SUBJECTS_TEACH, k, replace=False)):
            data.append([y, s.code_for_muni(y), str(subj), int(rng.integers(1, 3))])
    _add(run, "vacancies", f"Вакансии_{y}_{m.name}", m, y, f"Вакансии педагогов, {m.name}",
         ["Год", st.code_header, "Предмет", "Вакансий"], data)


def _support_events(run, m, st, y, schools) -> None:
    rng = run.rng("events", m.name, y)
    target = [s for s in schools if in_support(s, y)]
    sep = ", " if m.idx % 2 else "; "
    data = []
    n_events = 3 + len(schools) // 4 + 2 * len(target)
    for k in range(n_events):
        month = int(rng.choice([9, 10, 11, 12, 1, 2, 3, 4, 5]))
        date = dt.date(y - 1 if month >= 9 else y, month, int(rng.integers(1, 29)))  # a date cell in .xls/.ods
        level = str(rng.choice(("школьный", "муниципальный", "региональный", "федеральный"), p=(.15, .5, .3, .05)))
        kind = str(rng.choice(("консультация", "семинар", "курсы", "выезд куратора", "сетевое мероприятие",
                               "конкурс")))
        part = [s for s in schools if rng.random() < 0.25]
        if target and (k < 2 * len(target) or rng.random() < 0.5):
            part += [t for t in target if t not in part and rng.random() < 0.8] or [target[k % len(target)]]
        if kind == "выезд куратора" and target:
            part = [target[k % len(target)]]
        if not part:
            part = [schools[int(rng.integers(len(schools)))]]
        part.sort(key=lambda s: s.idx)
        codes = sep.join(s.code_for_muni(y) for s in part)
        data.append([date, level, kind, TOPICS[int(rng.integers(len(TOPICS)))], codes,
                     len(part) * int(rng.integers(1, 6))])
    data.sort(key=lambda r: r[0])
    _add(run, "support_events", f"План-отчёт_{y}_{m.name}", m, y, f"План-отчёт о мероприятиях, {m.name}",
         ["Дата", "Уровень", "Вид", "Тема", "ОО-участники", "Участников"], data)


def _programmes(run, m, st, y, schools) -> None:
    rng = run.rng("progr", m.name, y)
    data = []
    for s in schools:
        if not (s.adverse or s.low or s.improving or y in listed_years(s)):
            continue
        p = 0.9 if in_support(s, y) else 0.6 if s.low else 0.45
        dev = rng.random() < p
        data.append([y, s.code_for_muni(y), st.b(dev), st.b(dev and rng.random() < 0.6),
                     st.b(dev and rng.random() < 0.75)])
    _add(run, "improvement_programmes", f"Программы_повышения_качества_{y}_{m.name}", m, y,
         f"Программы повышения качества образования, {m.name}",
         ["Год", st.code_header, "Программа разработана", "Внешняя экспертиза пройдена", "Дорожная карта"], data)


def _routes(run, m, st, y, schools) -> None:
    rng = run.rng("iom", m.name, y)
    data = [[y, s.code_for_muni(y),
             int(rng.poisson(run.region.enrolment(s, y) * 0.015 * (1 + 2 * in_support(s, y))))] for s in schools]
    _add(run, "individual_routes", f"ИОМ_{y}_{m.name}", m, y, f"Обучающиеся с ИОМ, {m.name}",
         ["Год", st.code_header, "Обучающихся с ИОМ"], data)
