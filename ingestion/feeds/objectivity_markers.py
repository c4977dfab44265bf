"""Federal list of schools with signs of non-objective ВПР results: a 0/1 marker per grade and subject.

Loaded as it is, to be shown beside the warehouse's own flags and never merged into them. The federal
workbook («Год», «Муниципалитет», «Логин», «ОО», «4 РУ», «4 МА» …, «Количество маркеров») has number
cells for the year and the markers, an empty cell where a work has no marker, and headers padded with
spaces.
"""

from ingestion.core.columns import Column, WideColumns
from ingestion.core.layout import first_filled, is_totals_label
from ingestion.core.loader import FeedLoader
from ingestion.feeds.common import YEAR, school

SUBJECTS = {"ру": "Русский язык", "ма": "Математика", "ок": "Окружающий мир", "ис": "История",
            "би": "Биология", "ге": "География", "об": "Обществознание", "фи": "Физика", "хи": "Химия"}


class ObjectivityMarkersLoader(FeedLoader):
    feed = "objectivity_markers"
    title = "Маркеры необъективности ВПР (федеральный список)"
    table = "objectivity_markers"
    columns = (
        YEAR,
        school(r"^логин", "Логин"),
        Column("school_name", r"^оо$", required=False, public=True),
        Column("municipality", r"^муниципалитет", required=False, public=True),
        Column("marker_count", r"^количество маркеров", "int", minimum=0, maximum=100, label="Количество маркеров"),
    )
    wide = (
        WideColumns(
            table="objectivity_marker_values", header=r"(\d+)\s*([а-я]{2})",
            key_columns={"grade": "smallint", "subject_code": "text", "subject": "text"},
            keys=lambda m: {"grade": int(m.group(1)), "subject_code": m.group(2).upper(),
                            "subject": SUBJECTS.get(m.group(2))},
            # 0/1 in the layout of docs/feed_layouts.md; the federal workbook counts markers per work (0, 1, 2 …)
            # and leaves a cell empty where the school has none
            value=Column("marker", "", "int", minimum=0, maximum=100, label="Маркер"),
        ),
    )
    partition = ("year",)  # the federal list of a year
    unique = ("year", "school_id")

    def skip_row(self, cells: tuple) -> bool:
        return is_totals_label(first_filled(cells))  # «Итого» / «Всего» under the list: not a school
