"""ВПР aggregated reports of ФИС ОКО «Аналитика»: one loader per report form.

Each report has rows for the whole sample, the region, each municipality and each school. Schools are
written «edu240117 МБОУ СШ № 2» (login first) or, as ФИС ОКО exports them, «МБОУ СШ № 2(edu240117)»;
municipalities «г. Норильск» or «Урус-Мартановский муниципальный район(reg20_m012)». Only school rows
are resolved through the registry. Totals and averages rows («Итого», «Средние») are skipped as context
rows; a workbook that names another report is refused (ingestion.core.layout).
"""

import re
from pathlib import Path

import pandas as pd

from ingestion.core import rules
from ingestion.core.columns import Column, WideColumns, fold
from ingestion.core.errors import LayoutError
from ingestion.core.layout import GroupedColumns, is_totals_label
from ingestion.core.loader import FeedLoader, Layout
from ingestion.feeds.common import TASK_CODE, VPR_TITLE, count, find_title, percent, score_distribution, task_code

LOGIN = re.compile(r"\b(edu\d+)\b", re.IGNORECASE)
MUNICIPALITY_CODE = re.compile(r"\(\s*(reg\d+_m\d+)\s*\)\s*$", re.IGNORECASE)
REGION = re.compile(r"(?:край|область|республика|автономный округ|^г\. (?:москва|санкт-петербург|севастополь)$)",
                    re.IGNORECASE)
COUNTRY = re.compile(r"^(вся выборка|российская федерация|рф)$", re.IGNORECASE)
ORG = Column("org_name", r"^группы участников|^наименование|^оо$", nullable=False, label="Группы участников",
             public=True)


def classify_org(names: pd.Series) -> pd.DataFrame:
    """Level of each row (country, region, municipality, school), the school login and a partition key."""
    login = names.str.extract(LOGIN, expand=False).str.lower()
    municipality = names.str.extract(MUNICIPALITY_CODE, expand=False).str.lower()
    level = pd.Series("municipality", index=names.index, dtype="string")
    level[names.str.contains(REGION, na=False) & municipality.isna()] = "region"
    level[names.str.match(COUNTRY, na=False)] = "country"
    level[login.notna()] = "school"
    key = login.fillna(level + ":" + municipality.fillna(names.str.lower()))
    return pd.DataFrame({"org_level": level, "school_code": login, "org_key": key})


class FisOkoReportLoader(FeedLoader):
    extra_columns = {"year": "smallint", "subject": "text", "grade": "smallint", "org_level": "text",
                     "org_key": "text", "school_code": "text"}
    # An «Аналитика» export covers the whole region for one test: a corrected export replaces it whole.
    partition = ("year", "subject", "grade")
    unique = ("org_key",)
    org_index: int | None = None  # the organisation column of the file being read (set by ``preamble``)
    municipalities: frozenset[str] | None = None  # the registry's municipalities (None: no registry loaded)

    @classmethod
    def school_code_column(cls) -> str:
        return "school_code"

    def preamble(self, path: Path, rows, layout: Layout) -> dict:
        self.check_header(path, layout)
        self.municipalities = self.registry.municipalities
        self.org_index = layout.fixed.get("org_name")
        title = find_title(rows, VPR_TITLE)
        if title is None:
            raise LayoutError(path, "не найден заголовок вида «ВПР 2024. Математика. 5 класс» над таблицей")
        return {"year": int(title.group(1)), "subject": title.group(2).strip(" ."), "grade": int(title.group(3))}

    def check_header(self, path: Path, layout: Layout) -> None:
        """Refuse a header that belongs to another report (for files that do not name their report)."""

    def skip_row(self, cells: tuple) -> bool:
        # «Итого», «Всего», «Средние» in the organisation column: not an organisation of their own
        index = self.org_index
        return index is not None and index < len(cells) and is_totals_label(cells[index])

    def transform(self, frame, reject):
        orgs = classify_org(frame["org_name"])
        unknown_municipalities(frame["org_name"], orgs["org_level"], self.municipalities, reject)
        return frame.assign(**orgs)


def unknown_municipalities(names: pd.Series, level: pd.Series, known: frozenset[str] | None, reject) -> None:
    """A row that is neither a school with a login nor a region is a municipality only if it is one.

    «МБОУ СШ № 34» without its login would otherwise be stored as a municipality. A municipality is known by
    the registry's name or by its ФИС ОКО code («(reg24_m002)»); without a loaded registry nothing is checked.
    """
    if known is None:
        return
    coded = names.str.extract(MUNICIPALITY_CODE, expand=False).notna()
    mask = (level == "municipality") & ~coded & ~names.map(lambda v: pd.isna(v) or fold(v) in known)
    reject(mask.astype(bool), "unknown_value", lambda m: names[m].map(
        lambda v: f"организация «{v}» в столбце «Группы участников» не является ни муниципалитетом реестра ОО, "
                  "ни ОО с логином ФИС ОКО («edu…»): допишите логин ОО или код муниципалитета («reg…_m…»)"))


class VprMarksLoader(FisOkoReportLoader):
    feed = "vpr_marks"
    title = "ВПР: статистика по отметкам"
    report = "marks"
    table = "vpr_mark_stats"
    columns = (
        ORG,
        count("n_schools", r"^кол-во оо", required=False),
        count("n_participants", r"^кол-во участников", label="Кол-во участников"),
        *(percent(f"pct_{m}", rf"^«?{m}»?$", label=f"«{m}»") for m in (2, 3, 4, 5)),  # «2» or 2
    )
    # columns «0», «1», «6» … beside «2»–«5»: a distribution of primary scores, not of marks
    NOT_MARKS = re.compile(r"^«?(0|1|[6-9]|\d{2,})»?$")

    def check_header(self, path: Path, layout: Layout) -> None:
        if any(self.NOT_MARKS.match(t) for t in layout.header_texts):
            raise LayoutError(path, "в заголовке есть столбцы баллов «0», «1» …: это «Распределение первичных "
                                    "баллов», а в этой папке ожидается «Статистика по отметкам»; файл не загружен")

    def transform(self, frame, reject):  # shares as percent, each group's summing to 100 (rules.mark_shares)
        return super().transform(rules.mark_shares(frame, reject, self.file_state, self.file_name), reject)


class VprScoresLoader(FisOkoReportLoader):
    feed = "vpr_scores"
    title = "ВПР: распределение первичных баллов"
    report = "scores"
    table = "vpr_score_stats"
    columns = (ORG, count("n_participants", r"^кол-во участников", label="Кол-во участников"))
    wide = (score_distribution("vpr_score_stat_points"),)

    def check_header(self, path: Path, layout: Layout) -> None:
        # a distribution of primary scores starts at 0; «2»–«5» alone are the shares of marks
        scores = sorted(keys["score"] for _, _, keys in layout.wide)
        if scores and (scores[0] != 0 or scores != list(range(scores[0], scores[-1] + 1))):
            raise LayoutError(path, f"столбцы баллов {', '.join(map(str, scores))} не образуют шкалу от 0: это "
                                    "не «Распределение первичных баллов» (похоже на «Статистику по отметкам»); "
                                    "файл не загружен")

    def check_wide(self, spec, table, rows, reject):  # shares as percent, each row's summing to 100
        return rules.score_shares(spec, table, rows, reject, self.file_state, self.file_name)


JOURNAL_GROUPS = (("lowered", "понизили"), ("confirmed", "подтвердили"), ("raised", "повысили"), ("total", "всего"))


class VprJournalLoader(FisOkoReportLoader):
    """Long form (four rows per organisation, column «Группа») or the wide form ФИС ОКО exports.

    The wide form has one row per organisation and a «%» / «Кол-во участников» pair per group
    («Понизили (Отметка < Отметка по журналу) %» …), on one header row or on two (group over measure).
    It is read into the same long rows: one per group, plus «Всего» from «Кол-во участников(всего)»,
    all with the file row's number.
    """

    feed = "vpr_journal"
    title = "ВПР: сравнение отметок с отметками по журналу"
    report = "journal"
    table = "vpr_journal_stats"
    columns = (
        Column("org_name", ORG.header, label="Группы участников", public=True),
        Column("comparison_group", r"^группа$", nullable=False, label="Группа", public=True),
        count("n_participants", r"^кол-во участников", label="Кол-во участников"),
        percent("pct", r"^%$", label="%"),
    )
    grouped = GroupedColumns(
        group_column="comparison_group",
        groups=("понизили", "подтвердили", "повысили"),
        measures={"pct": r"%", "n_participants": r"кол-во участников"},
        total="Всего",
    )
    unique = ("org_key", "comparison_group")

    @classmethod
    def ddl(cls) -> list[str]:
        # One file row of the wide form holds all four groups: the group is part of the row's key.
        return [*super().ddl(), """
            do $$ begin
              if not exists (select 1 from pg_constraint where conname = 'vpr_journal_stats_pkey'
                             and array_length(conkey, 1) = 3) then
                alter table raw.vpr_journal_stats drop constraint if exists vpr_journal_stats_pkey;
                alter table raw.vpr_journal_stats add primary key (load_id, source_row, comparison_group);
              end if;
            end $$"""]

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
    report = "tasks"
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

    def check_wide(self, spec, table, rows, reject):  # completion written as fractions of one: ×100
        return rules.percent_shares(table, table.columns, self.file_state, self.file_name)
