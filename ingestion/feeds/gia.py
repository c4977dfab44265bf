"""ГИА results from the regional exam centre (РЦОИ): ОГЭ and ЕГЭ extracts, one row per participant and exam.

Task strings are kept as they come and checked here: short answers one character per task
(«+», «-», or points), long answers «points(max)» per task. The official mark stays as in the file.
"""

import re

import pandas as pd

from ingestion.core.columns import Column
from ingestion.core.loader import FeedLoader
from ingestion.feeds.common import school

EXAMS = {"огэ": "OGE", "егэ": "EGE", "гвэ-9": "GVE9", "гвэ-11": "GVE11"}
PERIODS = {"основной": "main", "досрочный": "early", "дополнительный": "additional", "резервный": "reserve"}
SHORT = re.compile(r"[+\-0-9]*")
LONG_PART = re.compile(r"(\d+)\((\d+)\)")
LONG = re.compile(r"(?:\d+\(\d+\))*")


def _foreign(text: str, allowed: str) -> str:
    """The characters that do not belong in a task string (never the whole string: it may hold anything)."""
    return "".join(dict.fromkeys(ch for ch in text if ch not in allowed))[:5]


def short_points(text: str) -> int:
    return sum(1 if ch == "+" else 0 if ch == "-" else int(ch) for ch in text)


def long_points(text: str) -> tuple[int, bool]:
    """Total points of a long-answer string and whether every part is within its maximum."""
    parts = [(int(p), int(m)) for p, m in LONG_PART.findall(text)]
    return sum(p for p, _ in parts), all(p <= m for p, m in parts)


class GiaLoader(FeedLoader):
    feed = "gia"
    title = "ГИА (ОГЭ, ЕГЭ): результаты участников"
    table = "gia_results"
    columns = (
        Column("exam", r"^экзамен|^форма", "choice", choices=EXAMS, nullable=False, label="Экзамен"),
        Column("subject_code", r"^код предмета", "int", minimum=1, maximum=99, nullable=False, label="Код предмета"),
        Column("subject", r"^предмет$|^наименование предмета", label="Предмет", public=True),
        Column("exam_date", r"^дата", "date", nullable=False, label="Дата экзамена"),
        Column("period", r"^период|^этап", "choice", choices=PERIODS, required=False, public=True),
        school(r"^код оу|^код оо", "Код ОУ"),
        Column("participant_id", r"^код участника", "pupil", nullable=False, label="Код участника"),
        Column("short_answers", r"кратким ответом|^часть ?1|^задания части 1", required=False),
        Column("long_answers", r"развернутым ответом|^часть ?2|^задания части 2", required=False),
        Column("primary_score", r"^первичный балл", "int", minimum=0, maximum=200, label="Первичный балл"),
        Column("test_score", r"^(тестовый )?балл$", "int", minimum=0, maximum=100, required=False),
        Column("mark", r"^отметка|^оценка", "int", minimum=2, maximum=5, required=False),
        Column("passed_minimum", r"порог|^зачет|^преодол", "bool", required=False),
    )
    extra_columns = {"year": "smallint"}
    partition = ("exam", "year", "subject_code", "exam_date")  # a regional extract per exam day
    unique = ("participant_id", "exam", "subject_code", "exam_date")

    def transform(self, frame, reject):
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
        reject(has_tasks & short_ok & long_ok & (total != frame["primary_score"]).fillna(False), "inconsistent",
               lambda m: total[m].map(lambda t: f"первичный балл не равен сумме баллов по заданиям ({t})"))
        return frame.assign(year=frame["exam_date"].map(lambda d: None if d is None else d.year).astype("Int64"))
