"""ВПР aggregated reports of ФИС ОКО «Аналитика»: one loader per report form.

Each report has rows for the whole sample, the region, each municipality and each school
(«edu240117 МБОУ СШ № 2»). Only school rows are resolved through the registry.
"""

import re
from pathlib import Path

import pandas as pd

from ingestion.core import rules
from ingestion.core.columns import Column, WideColumns
from ingestion.core.errors import LayoutError
from ingestion.core.loader import FeedLoader, Layout
from ingestion.feeds.common import TASK_CODE, VPR_TITLE, count, find_title, percent, score_distribution, task_code

LOGIN = re.compile(r"\b(edu\d+)\b", re.IGNORECASE)
REGION = re.compile(r"(?:край|область|республика|автономный округ|^г\. (?:москва|санкт-петербург|севастополь)$)",
                    re.IGNORECASE)
COUNTRY = re.compile(r"^(вся выборка|российская федерация|рф)$", re.IGNORECASE)
ORG = Column("org_name", r"^группы участников|^наименование|^оо$", nullable=False, label="Группы участников",
             public=True)


def classify_org(names: pd.Series) -> pd.DataFrame:
    """Level of each row (country, region, municipality, school), the school login and a partition key."""
    login = names.str.extract(LOGIN, expand=False).str.lower()
    level = pd.Series("municipality", index=names.index, dtype="string")
    level[names.str.contains(REGION, na=False)] = "region"
    level[names.str.match(COUNTRY, na=False)] = "country"
    level[login.notna()] = "school"
    return pd.DataFrame({"org_level": level, "school_code": login,
                         "org_key": login.fillna(level + ":" + names.str.lower())})


class FisOkoReportLoader(FeedLoader):
    extra_columns = {"year": "smallint", "subject": "text", "grade": "smallint", "org_level": "text",
                     "org_key": "text", "school_code": "text"}
    # An «Аналитика» export covers the whole region for one test: a corrected export replaces it whole.
    partition = ("year", "subject", "grade")
    unique = ("org_key",)

    @classmethod
    def school_code_column(cls) -> str:
        return "school_code"

    def preamble(self, path: Path, rows, layout: Layout) -> dict:
        title = find_title(rows, VPR_TITLE)
        if title is None:
            raise LayoutError(path, "не найден заголовок вида «ВПР 2024. Математика. 5 класс» над таблицей")
        return {"year": int(title.group(1)), "subject": title.group(2).strip(" ."), "grade": int(title.group(3))}

    def transform(self, frame, reject):
        return frame.assign(**classify_org(frame["org_name"]))


class VprMarksLoader(FisOkoReportLoader):
    feed = "vpr_marks"
    title = "ВПР: статистика по отметкам"
    table = "vpr_mark_stats"
    columns = (
        ORG,
        count("n_schools", r"^кол-во оо", required=False),
        count("n_participants", r"^кол-во участников", label="Кол-во участников"),
        *(percent(f"pct_{m}", rf"^{m}$", label=f"«{m}»") for m in (2, 3, 4, 5)),
    )

    def transform(self, frame, reject):  # shares as percent, each group's summing to 100 (rules.mark_shares)
        return super().transform(rules.mark_shares(frame, reject, self.file_state, self.file_name), reject)


class VprScoresLoader(FisOkoReportLoader):
    feed = "vpr_scores"
    title = "ВПР: распределение первичных баллов"
    table = "vpr_score_stats"
    columns = (ORG, count("n_participants", r"^кол-во участников", label="Кол-во участников"))
    wide = (score_distribution("vpr_score_stat_points"),)


JOURNAL_GROUPS = (("lowered", "понизили"), ("confirmed", "подтвердили"), ("raised", "повысили"), ("total", "всего"))


class VprJournalLoader(FisOkoReportLoader):
    feed = "vpr_journal"
    title = "ВПР: сравнение отметок с отметками по журналу"
    table = "vpr_journal_stats"
    columns = (
        Column("org_name", ORG.header, label="Группы участников", public=True),
        Column("comparison_group", r"^группа$", nullable=False, label="Группа", public=True),
        count("n_participants", r"^кол-во участников", label="Кол-во участников"),
        percent("pct", r"^%$", label="%"),
    )
    unique = ("org_key", "comparison_group")

    def preamble(self, path, rows, layout):
        self.current_org = None  # the org name stands only in the first row of its block
        return super().preamble(path, rows, layout)

    def transform(self, frame, reject):
        names = frame["org_name"].copy()
        if self.current_org is not None and pd.isna(names.iloc[0]):
            names.iloc[0] = self.current_org
        names = names.ffill()
        if names.notna().any():
            self.current_org = names.dropna().iloc[-1]
        reject(names.isna(), "missing_value", "не указана группа участников (организация) для строки")
        group = pd.Series(pd.NA, index=frame.index, dtype="string")
        folded = frame["comparison_group"].str.lower()
        for code, prefix in JOURNAL_GROUPS:
            group[folded.str.startswith(prefix, na=False)] = code
        reject(group.isna() & frame["comparison_group"].notna(), "invalid_value",
               lambda m: frame["comparison_group"][m].map(lambda v: f"неизвестная группа сравнения «{v}»"))
        frame = frame.assign(org_name=names.fillna(""), comparison_group=group)
        return super().transform(frame, reject)


class VprTasksLoader(FisOkoReportLoader):
    feed = "vpr_tasks"
    title = "ВПР: выполнение заданий"
    table = "vpr_task_stats"
    columns = (ORG, count("n_participants", r"^кол-во уч", label="Кол-во участников"))
    wide = (
        WideColumns(
            table="vpr_task_stat_values", header=rf"({TASK_CODE})",
            key_columns={"task_code": "text"}, keys=lambda m: {"task_code": task_code(m.group(1))},
            value=percent("pct_completed", "", label="Задание"),
            extra_rows={"max_points": r"\d+", "difficulty": "[БПВ]"}, min_columns=2,
        ),
    )
