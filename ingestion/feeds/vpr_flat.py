"""Flattened regional extracts of ВПР results (CSV): marks and primary-score distributions per school."""

from pathlib import Path

from ingestion.core import rules
from ingestion.core.columns import Column
from ingestion.core.loader import FeedLoader, Layout
from ingestion.feeds.common import YEAR, count, percent, school, score_distribution

COMMON = (
    YEAR,  # «2024», «2023-2024», «2023/24 уч. г.» all key the school year 2024
    Column("grade", r"^класс", "int", minimum=1, maximum=11, nullable=False, label="Класс"),
    Column("subject", r"^предмет", nullable=False, label="Предмет", public=True),
)


class VprFlatMarksLoader(FeedLoader):
    feed = "vpr_flat_marks"
    title = "ВПР: региональная выгрузка отметок"
    table = "vpr_flat_marks"
    columns = (
        *COMMON,
        Column("municipality", r"^муниципалитет", required=False, public=True, label="Муниципалитет"),
        Column("school_name", r"^оо$", required=False, public=True),
        school(r"^логин", "Логин"),
        count("n_participants", r"^кол-во участников", label="Кол-во участников"),
        *(percent(f"pct_{m}", rf"^«?{m}»?$", label=f"«{m}»") for m in (2, 3, 4, 5)),  # «2» or 2
    )
    partition = ("year", "grade", "subject")  # regional extracts
    unique = ("year", "grade", "subject", "school_id")

    def preamble(self, path: Path, rows, layout: Layout) -> dict:
        self.municipalities = self.registry.municipalities
        return {}

    def transform(self, frame, reject):
        rules.subjects(frame["subject"], reject)
        rules.municipalities(frame["municipality"], reject, self.municipalities)
        return rules.mark_shares(frame, reject, self.file_state, self.file_name)


class VprFlatScoresLoader(FeedLoader):
    feed = "vpr_flat_scores"
    title = "ВПР: региональная выгрузка распределения баллов"
    table = "vpr_flat_scores"
    columns = (*COMMON, school(r"^логин", "Логин"),
               count("n_participants", r"^кол-во участников", label="Кол-во участников"))
    wide = (score_distribution("vpr_flat_score_points"),)
    partition = ("year", "grade", "subject")  # regional extracts
    unique = ("year", "grade", "subject", "school_id")

    def check_wide(self, spec, table, rows, reject):  # shares as percent, each row's summing to 100
        return rules.score_shares(spec, table, rows, reject, self.file_state, self.file_name)

    def transform(self, frame, reject):
        rules.subjects(frame["subject"], reject)
        return frame
