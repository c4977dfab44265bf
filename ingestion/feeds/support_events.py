"""Municipal plan-report of support events; the schools involved go long into ``raw.support_event_schools``.

Events carry no municipality of their own: a corrected plan-report replaces the rows of the file with the
same name (the municipality and year are in the name).
"""

import re
from pathlib import Path

import pandas as pd

from ingestion.core.columns import Column
from ingestion.core.loader import FeedLoader, Layout
from ingestion.core.schools import SchoolResolver
from ingestion.feeds.common import count

LEVELS = {"школьный": "school", "муниципальный": "municipal", "региональный": "regional", "федеральный": "federal",
          "межрегиональный": "federal"}
SEPARATORS = re.compile(r"[,;\n]+")


class SupportEventsLoader(FeedLoader):
    feed = "support_events"
    title = "Мероприятия поддержки (план-отчёт)"
    table = "support_events"
    columns = (
        Column("event_date", r"^дата", "date", nullable=False, label="Дата"),
        Column("level", r"^уровень", "choice", choices=LEVELS, nullable=False, label="Уровень"),
        Column("event_kind", r"^вид|^форма", nullable=False, label="Вид", public=True),
        Column("topic", r"^тема|^наименование", required=False, public=True),
        Column("school_codes", r"^оо|участники$|^школы", nullable=False, label="ОО-участники", public=True),
        count("participants", r"^участников|^количество участников|^кол-во участников", label="Участников"),
    )
    extra_columns = {"source_file": "text"}
    partition = ("source_file",)

    @classmethod
    def child_table_ddl(cls):
        return {"support_event_schools": {"school_code": "text", "school_id": "text"}}

    def preamble(self, path: Path, rows, layout: Layout) -> dict:
        self.resolver_all = SchoolResolver.from_database(self.conn)
        return {"source_file": path.name}

    def transform(self, frame, reject):
        codes = frame["school_codes"].fillna("").map(lambda s: [c.strip() for c in SEPARATORS.split(s) if c.strip()])
        exploded = codes.explode().dropna()
        resolved = self.resolver_all.resolve(exploded.astype("string"))
        unknown = exploded[resolved.isna()]
        bad = frame.index.isin(unknown.index)
        messages = unknown.groupby(level=0).agg(lambda s: ", ".join(s)).reindex(frame.index)
        reject(pd.Series(bad, index=frame.index), "unknown_school",
               messages.map(lambda m: f"коды ОО «{m}» не найдены в реестре ОО"))
        self.links = pd.DataFrame({"row": exploded.index, "school_code": exploded.values, "school_id": resolved.values})
        return frame

    def child_frames(self, frame):
        links = self.links[self.links["row"].isin(frame.index)]
        return {"support_event_schools": pd.DataFrame({
            "source_row": frame.loc[links["row"], "source_row"].values,
            "school_code": links["school_code"].values, "school_id": links["school_id"].values})}
