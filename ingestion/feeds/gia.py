"""ГИА results from the regional exam centre (РЦОИ): ОГЭ and ЕГЭ extracts, one row per participant and exam.

Two structures are read: a flat extract (exam, subject and date in columns) and the centre's protocol
(several blocks in one sheet, each under a line «01 - Русский язык 2025.05.30»; see ``rcoi_protocol``).
Task strings are kept as they come and checked here: short answers one character per task
(«+», «-», or points), long answers «points(max)» per task. The official mark stays as in the file.
"""

import csv
import datetime as dt
import re
from functools import cache
from pathlib import Path

import pandas as pd

from ingestion.core.columns import Column, fold
from ingestion.core.errors import LayoutError
from ingestion.core.loader import FeedLoader
from ingestion.feeds import rcoi_protocol as protocol
from ingestion.feeds.common import school

EXAMS = {"огэ": "OGE", "егэ": "EGE", "гвэ-9": "GVE9", "гвэ-11": "GVE11"}
PERIODS = {"основной": "main", "досрочный": "early", "дополнительный": "additional", "резервный": "reserve"}
SHORT = re.compile(r"[+\-0-9]*")
LONG_PART = re.compile(r"(\d+)\((\d+)\)")
LONG = re.compile(r"(?:\d+\(\d+\))*")
FIRST_YEAR = 2009  # the first year of ЕГЭ everywhere: regional histories start there
SEEDS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"
TASK_COLUMNS = ("short_answers", "long_answers")
# A period named in the file is accepted when the exam date lies within this many months of the period's
# months in the federal calendar (gia_periods.csv): the calendar shifts a little from year to year (an early
# ОГЭ running into May, ЕГЭ retake days in July), but a September date named «основной» is a mistake that
# would put the rows into the wrong partition, so such a row is quarantined, never re-keyed silently.
PERIOD_SLACK_MONTHS = 1
# Values a protocol gives for a whole block (or a flat file for the whole file) instead of a column.
BLOCK_COLUMNS = {"exam": "Экзамен", "subject_code": "Код предмета", "exam_date": "Дата экзамена"}


def _foreign(text: str, allowed: str) -> str:
    """The characters that do not belong in a task string (never the whole string: it may hold anything)."""
    return "".join(dict.fromkeys(ch for ch in text if ch not in allowed))[:5]


def short_points(text: str) -> int:
    return sum(1 if ch == "+" else 0 if ch == "-" else int(ch) for ch in text)


def long_points(text: str) -> tuple[int, bool]:
    """Total points of a long-answer string and whether every part is within its maximum."""
    parts = [(int(p), int(m)) for p, m in LONG_PART.findall(text)]
    return sum(p for p, _ in parts), all(p <= m for p, m in parts)


@cache
def max_primary() -> dict[tuple[str, int, int], int]:
    """Maximum primary score by (exam, РЦОИ subject code, year), from the dbt seeds (the method is data)."""
    with (SEEDS / "gia_subjects.csv").open(encoding="utf-8") as handle:
        codes = {(r["exam"], r["subject_code"]): int(r["gia_subject_code"]) for r in csv.DictReader(handle)}
    with (SEEDS / "gia_max_primary.csv").open(encoding="utf-8") as handle:
        return {(r["exam"], codes[(r["exam"], r["subject_code"])], int(r["year"])): int(r["max_primary_score"])
                for r in csv.DictReader(handle) if (r["exam"], r["subject_code"]) in codes}


@cache
def period_months() -> dict[str, tuple[int, int]]:
    """Months of the exam date of each ГИА period (the federal ОГЭ/ЕГЭ calendar), from the dbt seed."""
    with (SEEDS / "gia_periods.csv").open(encoding="utf-8") as handle:
        return {r["period"]: (int(r["month_from"]), int(r["month_to"])) for r in csv.DictReader(handle)}


def period_of(date: dt.date | None) -> str | None:
    """The period an exam date falls in by the federal calendar (reserve days belong to their period)."""
    if date is None or pd.isna(date):
        return None
    return next((p for p, (first, last) in period_months().items() if first <= date.month <= last), None)


def period_fits(period: str | None, date: dt.date | None) -> bool:
    """Whether a period named in the file agrees with the exam date (within PERIOD_SLACK_MONTHS)."""
    if period is None or pd.isna(period) or date is None or pd.isna(date) or period == "reserve":
        return True  # reserve days exist in every period: the date alone cannot contradict them
    first, last = period_months().get(period, (1, 12))
    return first - PERIOD_SLACK_MONTHS <= date.month <= last + PERIOD_SLACK_MONTHS


class GiaLoader(FeedLoader):
    feed = "gia"
    title = "ГИА (ОГЭ, ЕГЭ): результаты участников"
    table = "gia_results"
    # Exam, subject code and date may instead stand above the table (a protocol's block header, its title):
    # ``preamble`` refuses a table that has them in neither place, ``transform`` a row left without them.
    columns = (
        Column("exam", r"^экзамен|^форма", "choice", choices=EXAMS, required=False, label="Экзамен"),
        Column("subject_code", r"^код предмета", "int", minimum=1, maximum=99, required=False, label="Код предмета"),
        Column("subject", r"^предмет$|^наименование предмета", required=False, label="Предмет", public=True),
        Column("exam_date", r"^дата", "date", required=False, label="Дата экзамена"),
        Column("period", r"^период|^этап", "choice", choices=PERIODS, required=False, public=True),
        school(r"^код о[уо](?![а-яa-z])", "Код ОУ"),
        Column("participant_id", r"^код участника", "pupil", nullable=False, label="Код участника"),
        Column("short_answers", r"кратким ответом|краткой форме|^часть ?1|^задания части 1", required=False,
               label="Задания с кратким ответом"),
        Column("long_answers", r"развернутым ответом|развернутой форме|^часть ?2|^задания части 2", required=False,
               label="Задания с развёрнутым ответом"),
        Column("primary_score", r"^первичный балл", "int", minimum=0, maximum=200, label="Первичный балл"),
        Column("test_score", r"^(тестовый |итоговый )?балл$", "int", minimum=0, maximum=100, required=False),
        Column("mark", r"^(итоговая )?(отметка|оценка)", "int", minimum=2, maximum=5, required=False),
        Column("passed_minimum", r"порог|^зачет|^преодол", "bool", required=False),
    )
    extra_columns = {"year": "smallint"}
    # A corrected extract replaces its exam × year × subject × period whole, whatever dates it names (a
    # corrected date must not leave the old rows beside the new), while a file of another period (the
    # additional one in September) leaves the main period alone. The period is the file's, else the one of
    # the exam date in the federal calendar (``period_of``): never NULL, since the replacement matches by «=».
    partition = ("exam", "year", "subject_code", "period")
    partition_title = "экзамен, год, предмет и период ГИА"
    # Within a file a participant may sit a subject twice (main period and reserve day): kept apart by date.
    unique = ("participant_id", "exam", "subject_code", "exam_date")

    @classmethod
    def ddl(cls) -> list[str]:
        # Until the period joined the partition, the index was on exam × year × subject and a protocol's rows
        # had no period: once, rebuild the index and give those rows their date's period (never NULL).
        months = " ".join(f"when extract(month from exam_date) between {a} and {b} then '{p}'"
                          for p, (a, b) in period_months().items())
        return [
            f"""do $$ begin
                   if exists (select 1 from pg_indexes where schemaname = 'raw'
                              and indexname = 'gia_results_partition' and indexdef not like '%period%') then
                       drop index raw.gia_results_partition;
                       update raw.gia_results set period = case {months} end
                       where period is null and exam_date is not null;
                   end if;
               end $$""",
            *super().ddl(),
        ]

    # ----------------------------------------------------------------- protocol blocks
    def blocks(self, path, sheet):
        self.sheet_name = sheet.name
        self.header_scan = type(self).header_scan
        split = protocol.Blocks(sheet.rows, self.header_scan)
        self.lead = split.lead
        if split.plain:
            self.block = {}
            yield self.block, protocol.with_merged_header(split.plain_rows(), self._key_index)
            return
        for head, rows in split:
            self.block_found = False
            self.header_scan = head.row + type(self).header_scan  # the column header is searched below the line
            self.block = {"subject_code": head.subject_code, "subject": head.subject, "exam_date": head.exam_date}
            yield self.block, protocol.with_merged_header(rows, self._key_index)
            if not self.block_found:
                problem = self._missing_header_problem or "не найдена строка заголовка таблицы"
                raise LayoutError(path, f"под строкой «{head.text}» (строка {head.row}): {problem}")

    def _key_index(self, cells: tuple) -> int | None:
        """The participant-code column of a header row (None for any other row)."""
        return next((i for i, c in enumerate(cells) if isinstance(c, str) and re.search(r"^код участника", fold(c))),
                    None)

    def skip_row(self, cells):
        return protocol.is_summary(cells) or protocol.is_school_line(cells)

    def preamble(self, path, rows, layout):
        self.block_found = True
        self.labels = layout.labels
        self.task_columns = [c for c in TASK_COLUMNS if c in layout.fixed]
        constants = {}
        if "exam" not in layout.fixed:
            texts = [str(c) for _, cells in [*self.lead, *rows] for c in cells if isinstance(c, str)]
            named = {e for e in map(protocol.exam_named, [*texts, self.sheet_name]) if e}
            exam = named.pop() if len(named) == 1 else protocol.exam_named(path.stem)
            if exam is None:
                raise LayoutError(path, "не указан экзамен (ОГЭ, ЕГЭ, ГВЭ-9, ГВЭ-11): нет столбца «Экзамен», а в "
                                        "заголовке, имени листа и имени файла экзамен не назван или назван не один")
            constants["exam"] = exam
        missing = [label for name, label in BLOCK_COLUMNS.items()
                   if name not in layout.fixed and name not in self.block and name not in constants]
        if missing:
            raise LayoutError(path, f"нет столбцов {', '.join('«' + m + '»' for m in missing)} и строки экзамена над "
                                    "таблицей (вида «01 - Русский язык 2025.05.30»)")
        return constants

    # ----------------------------------------------------------------- rows
    def transform(self, frame, reject):
        self._check_block_columns(frame, reject)
        self._check_task_strings(frame, reject)
        year = frame["exam_date"].map(lambda d: None if d is None or pd.isna(d) else d.year).astype("Int64")
        self._check_plausible(frame, year, reject)
        return frame.assign(year=year, period=self._period(frame, reject))

    def _period(self, frame, reject) -> pd.Series:
        """The file's period, checked against the date; where the file names none, the date's period."""
        given, dates = frame["period"], frame["exam_date"]
        fits = pd.Series([period_fits(p, d) for p, d in zip(given, dates, strict=True)], index=frame.index)
        names = {code: name for name, code in PERIODS.items()}
        reject(~fits, "inconsistent", lambda m: pd.Series(
            [f"период «{names[p]}» не соответствует дате экзамена {d:%d.%m.%Y} (по федеральному расписанию "
             f"ГИА это {names.get(period_of(d), 'другой')} период)" for p, d in zip(given[m], dates[m], strict=True)],
            index=frame.index[m]))
        period = given.where(given.notna(), dates.map(period_of))
        # A month the seed leaves out would leave the partition NULL, and a NULL partition is never replaced.
        reject(period.isna() & dates.notna(), "missing_value", lambda m: dates[m].map(
            lambda d: f"не удалось определить период ГИА по дате экзамена {d:%d.%m.%Y} (нет месяца в gia_periods)"))
        return period

    def _check_block_columns(self, frame, reject):
        for name, label in BLOCK_COLUMNS.items():
            reject(frame[name].isna(), "missing_value", f"не заполнен столбец «{self.labels.get(name, label)}»")

    def _check_task_strings(self, frame, reject):
        short = frame["short_answers"].fillna("")
        long = frame["long_answers"].fillna("")
        short_ok = short.map(lambda s: SHORT.fullmatch(s) is not None)
        long_ok = long.map(lambda s: LONG.fullmatch(s.replace(" ", "")) is not None)
        reject(~short_ok, "invalid_task_string", lambda m: short[m].map(
            lambda s: f"в строке заданий с кратким ответом недопустимые символы «{_foreign(s, '+-0123456789')}»"))
        reject(~long_ok, "invalid_task_string", lambda m: long[m].map(
            lambda s: "строка заданий с развёрнутым ответом не имеет вида «балл(максимум)…»: символы "
                      f"«{_foreign(s, '0123456789() ')}»"))
        parsed = [long_points(s) if ok else (0, True) for s, ok in zip(long, long_ok, strict=True)]
        within = pd.Series([ok for _, ok in parsed], index=frame.index)
        reject(~within, "invalid_task_string", "в строке заданий с развёрнутым ответом балл больше максимума")
        total = pd.Series([short_points(s) if ok else 0 for s, ok in zip(short, short_ok, strict=True)],
                          index=frame.index) + pd.Series([p for p, _ in parsed], index=frame.index)
        has_tasks = (short != "") | (long != "")
        if self.task_columns:  # a score whose task strings are empty cannot be checked, nor trusted
            names = ", ".join(f"«{self.labels[c]}»" for c in self.task_columns)
            reject(frame["primary_score"].notna() & ~has_tasks, "missing_value",
                   f"первичный балл указан, а строка результатов по заданиям пуста ({names})")
        reject(has_tasks & short_ok & long_ok & (total != frame["primary_score"]).fillna(False), "inconsistent",
               lambda m: total[m].map(lambda t: f"первичный балл не равен сумме баллов по заданиям ({t})"))

    def _check_plausible(self, frame, year, reject):
        dates = frame["exam_date"]
        latest = dt.date(dt.date.today().year + 1, 12, 31)
        reject(year.notna() & (year < FIRST_YEAR), "invalid_value", lambda m: dates[m].map(
            lambda d: f"дата экзамена {d:%d.%m.%Y} раньше {FIRST_YEAR} года: результаты ГИА принимаются "
                      f"с {FIRST_YEAR} года"))
        reject(dates.map(lambda d: d is not None and not pd.isna(d) and d > latest), "invalid_value",
               lambda m: dates[m].map(lambda d: f"дата экзамена {d:%d.%m.%Y} позже конца следующего года"))
        maxima = max_primary()
        top = pd.Series([maxima.get((e, None if pd.isna(s) else int(s), None if pd.isna(y) else int(y)))
                         for e, s, y in zip(frame["exam"], frame["subject_code"], year, strict=True)],
                        index=frame.index, dtype="Float64")
        score = frame["primary_score"].astype("Float64")
        reject((score > top).fillna(False), "invalid_value", lambda m: pd.Series(
            [f"первичный балл {int(s)} больше максимального по предмету в этом году ({int(t)})"
             for s, t in zip(score[m], top[m], strict=True)], index=frame.index[m]))
