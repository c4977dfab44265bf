"""Municipal feed: pupils with individual learning routes (ИОМ) per school and year."""

from pathlib import Path

import pandas as pd

from ingestion.core import rules
from ingestion.core.loader import FeedLoader, Layout
from ingestion.feeds.common import YEAR, count, school


class IndividualRoutesLoader(FeedLoader):
    feed = "individual_routes"
    title = "Индивидуальные образовательные маршруты (ИОМ)"
    table = "individual_routes"
    columns = (YEAR, school(), count("pupils", r"иом|обучающихся", label="Обучающихся с ИОМ"))
    partition = ("year", "school_id")
    unique = ("year", "school_id")

    def preamble(self, path: Path, rows, layout: Layout) -> dict:
        self.enrolment = self.registry.enrolment
        return {}

    def transform(self, frame, reject):
        # pupils with a route never exceed the school's enrolment where the registry states it
        schools = self.resolver.resolve(frame["school_code"])
        enrolment = pd.Series(schools.map(self.enrolment), index=frame.index, dtype="Float64")
        rules.not_above(frame["pupils"], enrolment, reject, "обучающихся с ИОМ больше, чем обучающихся в ОО по реестру")
        return frame
