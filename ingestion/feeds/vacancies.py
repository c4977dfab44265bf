"""Municipal feed: teacher vacancies per school and year."""

from ingestion.core import rules
from ingestion.core.columns import Column
from ingestion.core.loader import FeedLoader
from ingestion.feeds.common import YEAR, count, school


class VacanciesLoader(FeedLoader):
    feed = "vacancies"
    title = "Вакансии"
    table = "vacancies"
    columns = (YEAR, school(), Column("subject", r"^предмет", required=False, public=True, label="Предмет"),
               count("vacancies", r"^ваканси|^количество ваканс", label="Вакансий"))
    partition = ("year", "school_id")

    def transform(self, frame, reject):
        rules.subjects(frame["subject"], reject)
        return frame
