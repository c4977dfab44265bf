"""Corrupting demo files the way suppliers do, in each file's own format (CSV in its encoding and separator,
.xlsx through openpyxl), so that the loader reads them as it reads the originals.

A corruption is a spec: which file, what is changed in it, which suite expectation must catch it and what
the warehouse must show afterwards. Each ``apply`` works on a copied landing folder and returns what it did
(school logins, rows, values), from which the test derives what it expects.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


# ----------------------------------------------------------------------------- tables in files
class Table:
    """The cells of a tabular file as a list of rows; ``save`` writes it back in the same format."""

    def __init__(self, path: Path, header: str):
        self.path = Path(path)
        if self.path.suffix.lower() == ".xlsx":
            self._read_xlsx(header)
        else:
            self._read_csv()
        self.header_row = next(i for i, row in enumerate(self.rows)
                               if any(isinstance(c, str) and re.search(header, c, re.I) for c in row))
        self._original = [list(r) for r in self.rows]

    # ------------------------------------------------------------- reading
    def _read_csv(self) -> None:
        data = self.path.read_bytes()
        self.bom = data.startswith(codecs.BOM_UTF8)
        try:
            text = data.decode("utf-8-sig")
            self.encoding = "utf-8"
        except UnicodeDecodeError:
            text = data.decode("cp1251")
            self.encoding = "cp1251"
        self.newline = "\r\n" if "\r\n" in text else "\n"
        lines = [line for line in text.splitlines() if line.strip()]
        self.delimiter = max((";", ",", "\t"), key=lambda d: max(line.count(d) for line in lines))
        self.rows = [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter)]
        self.workbook = None

    def _read_xlsx(self, header: str) -> None:
        import openpyxl

        self.workbook = openpyxl.load_workbook(self.path)
        self.sheet = next(ws for ws in self.workbook.worksheets
                          if any(isinstance(c, str) and re.search(header, c, re.I)
                                 for row in ws.iter_rows(max_row=40, values_only=True) for c in row))
        self.rows = [list(r) for r in self.sheet.iter_rows(values_only=True)]

    # ------------------------------------------------------------- access
    def column(self, pattern: str) -> int:
        return next(i for i, c in enumerate(self.rows[self.header_row])
                    if isinstance(c, str) and re.search(pattern, c.strip(), re.I))

    def data(self) -> list[int]:
        """Indexes of the data rows: after the header, with a value in the first column, not a school line."""
        return [i for i in range(self.header_row + 1, len(self.rows))
                if self.rows[i] and self.rows[i][0] not in (None, "")
                and not (isinstance(self.rows[i][0], str) and "Кол-во участников" in self.rows[i][0])]

    def label(self, pattern: str) -> tuple[int, int]:
        """(row, column) of the value beside a label above the header («Дата:» → its value cell)."""
        for i, row in enumerate(self.rows[:self.header_row]):
            for j, cell in enumerate(row):
                if isinstance(cell, str) and re.search(pattern, cell, re.I):
                    return i, j + 1
        raise KeyError(pattern)

    # ------------------------------------------------------------- writing
    def save(self, path: Path | None = None) -> Path:
        path = Path(path or self.path)
        if self.workbook is None:
            buffer = io.StringIO(newline="")
            csv.writer(buffer, delimiter=self.delimiter, lineterminator=self.newline).writerows(self.rows)
            data = buffer.getvalue().encode(self.encoding)
            path.write_bytes((codecs.BOM_UTF8 if self.bom else b"") + data)
            return path
        width = max([len(r) for r in self.rows + self._original] + [1])
        for i in range(max(len(self.rows), len(self._original))):
            new = self.rows[i] if i < len(self.rows) else []
            old = self._original[i] if i < len(self._original) else []
            for j in range(width):
                value = new[j] if j < len(new) else None
                if value != (old[j] if j < len(old) else None):
                    self.sheet.cell(row=i + 1, column=j + 1).value = value
        self.workbook.save(path)
        return path


def excel_serial(day: str) -> int:
    """An Excel date serial number (the demo writes «Дата» as one)."""
    from datetime import date

    return (date.fromisoformat(day) - date(1899, 12, 30)).days


# ----------------------------------------------------------------------------- specs
@dataclass
class Corruption:
    id: str
    level: str                 # federal | regional | municipal
    feed: str                  # the loader's feed
    table: str                 # raw table (raw_current.<table> is what staging reads)
    suite: str
    key: str                   # the expectation that must catch it
    what: str                  # Russian: what was done to the file
    apply: Callable[[Path], dict]
    # a query counting the mart rows of what the corrupted file brings (given the facts ``apply`` returned)
    mart_query: Callable[[dict], tuple[str, tuple]] | None = None
    facts: dict = field(default_factory=dict)


def first(folder: Path, pattern: str) -> Path:
    found = sorted(p for p in folder.iterdir() if re.search(pattern, p.name))
    assert found, f"в {folder} нет файла по шаблону {pattern}"
    return found[0]


# --- federal: ВПР individual results --------------------------------------------------------------
VPR_HEADER = r"^Код участника$"


def vpr_school_file(landing: Path, work: str) -> Path:
    """A one-school ВПР file of a work («2026_Русский язык_4кл»): its name ends with the school's login."""
    return first(landing / "vpr_individual", rf"^ВПР_{work}_edu\d+\.xlsx$")


def vpr_duplicate_pupil(landing: Path) -> dict:
    """A pupil of one school copied into another school's file of the same work (with that school's keys)."""
    work = "2026_Русский язык_4кл"
    pattern = re.compile(rf"^ВПР_{work}_edu\d+\.xlsx$")
    files = sorted(p for p in (landing / "vpr_individual").iterdir() if pattern.search(p.name))
    source, target = Table(files[0], VPR_HEADER), Table(files[1], VPR_HEADER)
    school, code = target.column(r"^ОО$"), target.column(VPR_HEADER)
    pupil = list(source.rows[source.data()[0]])
    keys = target.rows[target.data()[0]]
    for column in (school, target.column(r"^Муниципалитет"), target.column(r"^Название ОО")):
        pupil[column] = keys[column]
    target.rows.insert(target.data()[-1] + 1, pupil)
    target.save()
    return {"file": target.path.name, "login": keys[school], "source_login": source.rows[source.data()[0]][school],
            "participant": pupil[code], "year": 2026, "subject": "rus", "grade": 4,
            "rows": len(target.data())}


def vpr_date_of_other_year(landing: Path) -> dict:
    """«Дата» in the header of «ВПР 2026 …» moved to a 2019 date (the loader reads any date in its window)."""
    path = vpr_school_file(landing, "2026_Математика_5кл")
    table = Table(path, VPR_HEADER)
    row, column = table.label(r"^Дата")
    table.rows[row][column] = excel_serial("2019-04-16")
    table.save()
    return {"file": path.name, "login": table.rows[table.data()[0]][table.column(r"^ОО$")], "year": 2026,
            "subject": "math", "grade": 5, "rows": len(table.data()), "work_year_written": 2019}


def vpr_mark_off_scale(landing: Path) -> dict:
    """One pupil's mark changed to another valid mark, the primary score kept (the scale is one per work)."""
    path = vpr_school_file(landing, "2026_Русский язык_5кл")
    table = Table(path, VPR_HEADER)
    score, mark = table.column(r"^Первичный балл"), table.column(r"^Отметка$")
    rows = table.data()
    # a pupil whose score and mark at least two others in the file share: the usual mark of that score
    pairs = [(table.rows[i][score], table.rows[i][mark]) for i in rows]
    chosen = next(i for i in rows if pairs.count((table.rows[i][score], table.rows[i][mark])) >= 3)
    before = table.rows[chosen][mark]
    table.rows[chosen][mark] = 2 if int(before) >= 4 else 5
    table.save()
    return {"file": path.name, "login": table.rows[chosen][table.column(r"^ОО$")], "mark_before": before,
            "mark_after": table.rows[chosen][mark]}


def vpr_municipality_halved(landing: Path) -> dict:
    """A municipality's file of a work re-sent with two thirds of its pupils missing."""
    path = first(landing / "vpr_individual", r"^ВПР_2026_Математика_4кл_г\. Назарово\.xlsx$")
    table = Table(path, VPR_HEADER)
    rows = table.data()
    dropped = [i for n, i in enumerate(rows) if n % 3]
    for i in reversed(dropped):
        del table.rows[i]
    table.save()
    return {"file": path.name, "municipality": "г. Назарово", "kept": len(rows) - len(dropped), "rows": len(rows)}


# --- federal: ВПР regional extract, ГИА ------------------------------------------------------------
def flat_marks_share_off(landing: Path) -> dict:
    """The share of «5» of one school raised by 1,2 p.p.: the sum is 101,2 %, inside the loader's ±1,5."""
    path = landing / "vpr_flat_marks" / "ВПР_отметки_2024.csv"
    table = Table(path, r"^Логин$")
    shares = [table.column(rf"^{m}$") for m in "2345"]
    login = table.column(r"^Логин$")

    def total(i):
        return sum(float(table.rows[i][c].replace(",", ".")) for c in shares)

    chosen = next(i for i in table.data() if abs(total(i) - 100) < 0.05)
    five = float(table.rows[chosen][shares[3]].replace(",", "."))
    table.rows[chosen][shares[3]] = f"{five + 1.2:.2f}".replace(".", ",")
    table.save()
    return {"file": path.name, "login": table.rows[chosen][login], "sum": round(total(chosen), 2), "year": 2024}


def gia_short_answer_dropped(landing: Path) -> dict:
    """A «-» (0 points) deleted from one participant's short answers: the sum holds, the string is a task short."""
    path = landing / "gia" / "ОГЭ_2026_2.csv"
    table = Table(path, r"^Задания с кратким ответом$")
    answers, school = table.column(r"^Задания с кратким ответом$"), table.column(r"^Код ОУ$")
    chosen = next(i for i in table.data() if "-" in table.rows[i][answers])
    text = table.rows[chosen][answers]
    cut = text.index("-")
    table.rows[chosen][answers] = text[:cut] + text[cut + 1:]
    table.save()
    subject = table.rows[chosen][table.column(r"^Код предмета$")]
    return {"file": path.name, "rcoi_code": table.rows[chosen][school], "length": len(text) - 1,
            "exam": "OGE", "year": 2026, "subject_code": int(subject)}


# --- regional: КДР, social passport ---------------------------------------------------------------
KDR_HEADER = r"^Код ученика$"


def kdr_score_not_skill_sum(landing: Path) -> dict:
    """One pupil's primary score raised by 1 (within the work's maximum), the skill-group points kept."""
    path = first(landing / "kdr", r"^КДР4_ЧГ_2026_г\. Минусинск\.xlsx$")
    table = Table(path, KDR_HEADER)
    score = table.column(r"^Первичный балл")
    groups = [i for i, c in enumerate(table.rows[table.header_row]) if isinstance(c, str) and c.startswith("Группа")]
    chosen = next(i for i in table.data() if all(table.rows[i][g] is not None for g in groups)
                  and int(table.rows[i][score]) == sum(int(table.rows[i][g]) for g in groups)
                  and int(table.rows[i][score]) < 10)
    table.rows[chosen][score] = int(table.rows[chosen][score]) + 1
    table.save()
    return {"file": path.name, "login": table.rows[chosen][table.column(r"^Код ОО$")], "work": "КДР4",
            "year": 2026, "municipality": "г. Минусинск"}


def kdr_level_off_score(landing: Path) -> dict:
    """One pupil's level changed to another level, the score kept (the same score has one level per work)."""
    path = first(landing / "kdr", r"^КДР6_ЧГ_2026_г\. Красноярск\.xlsx$")
    table = Table(path, KDR_HEADER)
    score, level = table.column(r"^Первичный балл"), table.column(r"^Уровень")
    pairs = [(table.rows[i][score], table.rows[i][level]) for i in table.data()]
    chosen = next(i for i in table.data() if pairs.count((table.rows[i][score], table.rows[i][level])) >= 3)
    before = table.rows[chosen][level]
    table.rows[chosen][level] = "повышенный" if before in ("ниже базового", "недостаточный", "пониженный") \
        else "ниже базового"
    table.save()
    return {"file": path.name, "login": table.rows[chosen][table.column(r"^Код ОО$")], "level_before": before,
            "level_after": table.rows[chosen][level]}


def passport_enrolment_tripled(landing: Path) -> dict:
    """A school's number of pupils in the social passport written three times too large."""
    path = landing / "social_passport" / "Социальный_паспорт_2023-2024.csv"
    table = Table(path, r"^Код ОО$")
    enrolment, login = table.column(r"^Всего обучающихся"), table.column(r"^Код ОО$")
    chosen = next(i for i in table.data() if int(table.rows[i][enrolment]) >= 100)
    table.rows[chosen][enrolment] = str(3 * int(table.rows[chosen][enrolment]))
    table.save()
    return {"file": path.name, "login": table.rows[chosen][login], "enrolment": table.rows[chosen][enrolment]}


# --- municipal ------------------------------------------------------------------------------------
def olympiad_regional_above_municipal(landing: Path) -> dict:
    """More participants of a school at the regional stage than at the municipal one."""
    path = landing / "olympiads" / "ВсОШ_2025_г. Назарово.csv"
    table = Table(path, r"^Этап$")
    login, subject, stage = table.column(r"^Код ОО$"), table.column(r"^Предмет$"), table.column(r"^Этап$")
    count = table.column(r"^Участников$")
    rows = {(table.rows[i][login], table.rows[i][subject], table.rows[i][stage]): i for i in table.data()}
    (school, name, _), regional = next((k, i) for k, i in rows.items() if k[2] == "региональный"
                                       and (k[0], k[1], "муниципальный") in rows)
    municipal = int(table.rows[rows[(school, name, "муниципальный")]][count])
    table.rows[regional][count] = str(municipal + 2)
    table.save()
    return {"file": path.name, "login": school, "subject": name, "municipality": "г. Назарово"}


def teacher_gaps_without_diagnostic(landing: Path) -> dict:
    """«Выявлены дефициты: +» for a teacher whose «Диагностика дефицитов пройдена» is «-»."""
    path = landing / "teachers" / "Педагоги_2026_г. Норильск.csv"
    table = Table(path, r"^ID педагога$")
    diagnostic, gaps = table.column(r"^Диагностика дефицитов"), table.column(r"^Выявлены дефициты")
    yes = {"-": "+", "0": "1", "нет": "да"}  # the file's own way of writing «no» and «yes»
    chosen = next(i for i in table.data() if table.rows[i][diagnostic].strip().lower() in yes)
    table.rows[chosen][gaps] = yes[table.rows[chosen][diagnostic].strip().lower()]
    table.save()
    return {"file": path.name, "login": table.rows[chosen][table.column(r"^Код ОО$")], "municipality": "г. Норильск"}


def programme_review_without_programme(landing: Path) -> dict:
    """«Внешняя экспертиза пройдена: да» for a school whose «Программа разработана» is «нет»."""
    path = landing / "improvement_programmes" / "Программы_повышения_качества_2026_Ачинский район.csv"
    table = Table(path, r"^Программа разработана$")
    written, review = table.column(r"^Программа разработана$"), table.column(r"^Внешняя экспертиза")
    chosen = next(i for i in table.data() if table.rows[i][written] == "нет")
    table.rows[chosen][review] = "да"
    table.save()
    logins = [table.rows[i][table.column(r"^Код ОО$")] for i in table.data()]
    return {"file": path.name, "login": table.rows[chosen][table.column(r"^Код ОО$")], "logins": logins,
            "year": 2026, "municipality": "Ачинский район"}


def performance_pupils_cut(landing: Path) -> dict:
    """A municipality's performance report re-sent with every count a third of what it was."""
    path = landing / "performance" / "Успеваемость_2026_г. Норильск.csv"
    table = Table(path, r"^Количество обучающихся$")
    counts = [i for i, c in enumerate(table.rows[table.header_row]) if i >= table.column(r"^Количество обучающихся$")]
    for i in table.data():
        for c in counts:
            if table.rows[i][c].strip().isdigit():
                table.rows[i][c] = str(int(table.rows[i][c]) // 3)
    table.save()
    return {"file": path.name, "municipality": "г. Норильск"}


def support_event_outside_plan_year(landing: Path) -> dict:
    """An event of the 2026 plan-report dated in 2019 (a date the loader still accepts)."""
    path = landing / "support_events" / "План-отчёт_2026_г. Назарово.csv"
    table = Table(path, r"^ОО-участники$")
    date = table.column(r"^Дата$")
    chosen = table.data()[0]
    table.rows[chosen][date] = re.sub(r"\d{4}$", "2019", table.rows[chosen][date])
    table.save()
    return {"file": path.name, "municipality": "г. Назарово", "date": table.rows[chosen][date]}


# --- the marts a blocked file must be missing from ---------------------------------------------------
def vpr_mart(facts: dict) -> tuple[str, tuple]:
    return ("select count(*) from marts.mart_school_results where procedure_code = 'vpr' and result_source = "
            "'individual' and school_id = %s and subject_code = %s and grade = %s and school_year = %s",
            (facts["school_id"], facts["subject"], facts["grade"], facts["year"]))


GIA_SUBJECTS = {1: "rus", 2: "math"}  # РЦОИ subject codes of ОГЭ → the marts' subject codes


def gia_mart(facts: dict) -> tuple[str, tuple]:
    return ("select count(*) from marts.mart_school_results where procedure_code = 'oge' and subject_code = %s "
            "and school_year = %s and school_id = %s",
            (GIA_SUBJECTS[facts["subject_code"]], facts["year"], facts["school_id"]))


def kdr_mart(facts: dict) -> tuple[str, tuple]:
    return ("select count(*) from marts.mart_school_results where procedure_code = 'kdr4_rl' and school_year = %s "
            "and school_id = %s", (facts["year"], facts["school_id"]))


def programme_mart(facts: dict) -> tuple[str, tuple]:
    return ("select count(*) from marts.fct_improvement_programmes where school_year = %s and school_id = %s",
            (facts["year"], facts["school_id"]))


CORRUPTIONS = [
    Corruption("vpr_pupil_in_two_schools", "federal", "vpr_individual", "vpr_results", "raw_vpr_results",
               "no_participant_twice", "строка ученика скопирована в файл другой ОО той же работы",
               vpr_duplicate_pupil, vpr_mart),
    Corruption("vpr_date_of_other_year", "federal", "vpr_individual", "vpr_results", "raw_vpr_results",
               "work_date_in_title_year", "дата работы в шапке «ВПР 2026 …» — 16.04.2019",
               vpr_date_of_other_year, vpr_mart),
    Corruption("vpr_mark_off_scale", "federal", "vpr_individual", "vpr_results", "raw_vpr_results",
               "mark_matches_score_scale", "отметка ученика изменена при том же первичном балле",
               vpr_mark_off_scale),
    Corruption("vpr_municipality_halved", "federal", "vpr_individual", "vpr_results", "raw_vpr_results",
               "participants_vs_previous_year", "файл муниципалитета пришёл без двух третей учеников",
               vpr_municipality_halved),
    Corruption("vpr_flat_shares_101", "federal", "vpr_flat_marks", "vpr_flat_marks", "raw_vpr_flat_marks",
               "mark_shares_sum_to_100", "доля «5» увеличена на 1,2 п.п. (сумма долей 101,2 %)",
               flat_marks_share_off),
    Corruption("gia_short_answers_short", "federal", "gia", "gia_results", "raw_gia_results",
               "short_answers_length", "из строки кратких ответов удалён символ «-»",
               gia_short_answer_dropped, gia_mart),
    Corruption("kdr_score_not_skill_sum", "regional", "kdr", "kdr_results", "raw_kdr_results",
               "primary_score_is_skill_sum", "первичный балл ученика увеличен на 1, баллы групп умений прежние",
               kdr_score_not_skill_sum, kdr_mart),
    Corruption("kdr_level_off_score", "regional", "kdr", "kdr_results", "raw_kdr_results",
               "level_matches_score", "уровень ученика изменён при том же балле", kdr_level_off_score),
    Corruption("passport_enrolment_tripled", "regional", "social_passport", "social_passport",
               "raw_social_passport", "enrolment_matches_registry",
               "численность обучающихся ОО в паспорте утроена", passport_enrolment_tripled),
    Corruption("olympiad_regional_above_municipal", "municipal", "olympiads", "olympiads", "raw_olympiads",
               "stages_narrow", "участников регионального этапа больше, чем муниципального",
               olympiad_regional_above_municipal),
    Corruption("teacher_gaps_without_diagnostic", "municipal", "teachers", "teachers", "raw_teachers",
               "gaps_need_diagnostic", "«выявлены дефициты» при непройденной диагностике",
               teacher_gaps_without_diagnostic),
    Corruption("programme_review_without_programme", "municipal", "improvement_programmes",
               "improvement_programmes", "raw_improvement_programmes", "review_needs_programme",
               "«экспертиза пройдена» при неразработанной программе", programme_review_without_programme,
               programme_mart),
    Corruption("performance_pupils_cut", "municipal", "performance", "performance", "raw_performance",
               "volume_vs_previous_year", "все численности в отчёте муниципалитета уменьшены втрое",
               performance_pupils_cut),
    Corruption("support_event_outside_plan_year", "municipal", "support_events", "support_events",
               "raw_support_events", "event_date_in_plan_year", "мероприятие план-отчёта 2026 года датировано 2019",
               support_event_outside_plan_year),
]
