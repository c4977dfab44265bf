"""Municipal feed: pupils with individual learning routes (ИОМ) per school and year."""

from ingestion.core.loader import FeedLoader
from ingestion.feeds.common import YEAR, count, school


class IndividualRoutesLoader(FeedLoader):
    feed = "individual_routes"
    title = "Индивидуальные образовательные маршруты (ИОМ)"
    table = "individual_routes"
    columns = (YEAR, school(), count("pupils", r"иом|обучающихся", label="Обучающихся с ИОМ"))
    partition = ("year", "school_id")
    unique = ("year", "school_id")
