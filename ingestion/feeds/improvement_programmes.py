"""Municipal feed: school improvement programmes (written, externally reviewed, road map)."""

from ingestion.core.columns import Column
from ingestion.core.loader import FeedLoader
from ingestion.feeds.common import YEAR, school


class ImprovementProgrammesLoader(FeedLoader):
    feed = "improvement_programmes"
    title = "Программы повышения качества образования"
    table = "improvement_programmes"
    columns = (
        YEAR, school(),
        Column("programme_written", r"^программа", "bool", label="Программа разработана"),
        Column("external_review", r"экспертиз", "bool", required=False),
        Column("road_map", r"дорожная карта", "bool", required=False),
    )
    partition = ("year", "school_id")
    unique = ("year", "school_id")
