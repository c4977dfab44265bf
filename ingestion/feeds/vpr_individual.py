"""ВПР individual results: ФИС ОКО form «Индивидуальные результаты» (.xlsx).

One row per participant; task scores go long into ``raw.vpr_task_scores``. Year, subject and grade
come from the title; the difficulty of each task from the optional row above the header. Both the
layout of docs/feed_layouts.md and the export as ФИС ОКО writes it are read: a sheet named
«РУ 4 Индивидуальные результаты», a report-name row above the title, labels with colons («Дата:» with a
text, a date cell or an Excel serial number), a «Уровень сложности задания» row, number cells for
participant codes and classes, school lines «Name(edu203389) | Кол-во участников: 89».
"""

import re
from pathlib import Path

import pandas as pd

from ingestion.core.columns import Column, WideColumns
from ingestion.core.errors import LayoutError
from ingestion.core.layout import first_filled, is_totals_label
from ingestion.core.loader import FeedLoader, Layout
from ingestion.feeds.common import (
    TASK_CODE,
    VPR_TITLE,
    excel_date,
    find_title,
    label_cell,
    label_value,
    school,
    task_code,
)

SCHOOL_LINE = re.compile(r"\(\s*edu\d+\s*\).*кол-во участников", re.IGNORECASE)
SEX = {"м": "M", "ж": "F", "муж": "M", "жен": "F"}
MARK = {"minimum": 2, "maximum": 5}


class VprIndividualLoader(FeedLoader):
    feed = "vpr_individual"
    title = "ВПР: индивидуальные результаты"
    table = "vpr_results"
    sheet = "индивидуальн"
    report = "individual"
    columns = (
        school(r"^оо$|^логин", "ОО"),
        Column("municipality", r"^муниципалитет", required=False, public=True),
        Column("participant_id", r"^код участника", "pupil", nullable=False, label="Код участника"),
        Column("class_label", r"^класс$", "class", required=False, label="Класс"),
        Column("variant", r"^вариант", "int", minimum=1, maximum=1000, required=False),
        Column("sex", r"^пол$", "choice", choices=SEX, required=False),
        Column("primary_score", r"^первичный балл", "int", minimum=0, maximum=200, label="Первичный балл"),
        Column("mark", r"^отметка$", "int", label="Отметка", **MARK),
        Column("journal_mark", r"^отметка по журналу", "int", required=False, **MARK),
    )
    wide = (
        WideColumns(
            table="vpr_task_scores", header=rf"({TASK_CODE})\s*\((\d+)\s*б\)",
            key_columns={"task_code": "text", "max_points": "integer"},
            keys=lambda m: {"task_code": task_code(m.group(1)), "max_points": int(m.group(2))},
            value=Column("points", "", "int", minimum=0, maximum=100, label="Задание"),
            extra_rows={"difficulty": "[БПВ]"},
        ),
    )
    extra_columns = {"year": "smallint", "subject": "text", "grade": "smallint", "max_primary_score": "integer",
                     "work_date": "date", "season": "text"}
    partition = ("year", "subject", "grade", "school_id")
    unique = ("participant_id",)
    batch_typing = True  # the hooks below read only the typed frame

    def preamble(self, path: Path, rows, layout: Layout) -> dict:
        title = find_title(rows, VPR_TITLE)
        if title is None:
            raise LayoutError(path, "не найден заголовок вида «ВПР 2024 Математика 5 класс» над таблицей")
        date_cell = label_cell(rows, r"^дата\b")
        work_date = excel_date(date_cell)
        if date_cell is not None and work_date is None:
            raise LayoutError(path, f"дата работы «{date_cell}» над таблицей не читается как дата")
        maximum = label_value(rows, r"^максимальный")
        return {
            "year": int(title.group(1)),
            "subject": label_value(rows, r"^предмет") or title.group(2).strip(),
            "grade": int(title.group(3)),
            "max_primary_score": int(float(maximum.replace(",", "."))) if maximum else None,
            "work_date": work_date,
            # ВПР ran in autumn in 2020 and 2022; those works test the previous grade's programme.
            "season": "autumn" if work_date is not None and work_date.month >= 8 else "spring",
        }

    def skip_row(self, cells: tuple) -> bool:
        # school lines and totals or averages rows («Итого», «Среднее») are context, not participants
        first = first_filled(cells)
        return isinstance(first, str) and (SCHOOL_LINE.search(first) is not None or is_totals_label(first))

    def check_wide(self, spec, table, rows, reject):
        # The primary score is the sum of the task points. A row with every task filled must match it; a
        # row with tasks left empty or «X» is compared only one way (the sum of the filled ones cannot
        # exceed it), since the layout does not say whether an empty task is 0 or an unread answer.
        points = table.astype("Float64")
        total = points.sum(axis=1, skipna=True)
        complete = points.notna().all(axis=1)
        score = rows["primary_score"].astype("Float64")
        unequal = (complete & (score != total)).fillna(False).astype(bool)
        above = (~complete & (total > score)).fillna(False).astype(bool)
        reject(unequal, "inconsistent", lambda m: pd.Series(
            [f"первичный балл {int(s)} не равен сумме баллов за задания ({int(t)})"
             for s, t in zip(score[m], total[m], strict=True)], index=score[m].index))
        reject(above, "inconsistent", lambda m: pd.Series(
            [f"первичный балл {int(s)} меньше суммы баллов за заполненные задания ({int(t)})"
             for s, t in zip(score[m], total[m], strict=True)], index=score[m].index))
        return None

    def transform(self, frame, reject):
        maximum = pd.to_numeric(frame["max_primary_score"], errors="coerce")
        reject((frame["primary_score"] > maximum).fillna(False), "inconsistent",
               "первичный балл больше максимального первичного балла работы")
        return frame
