"""Municipal feed: one pseudonymised row per teacher per year (qualification, gaps, training, support)."""

from ingestion.core import rules
from ingestion.core.columns import Column
from ingestion.core.loader import FeedLoader
from ingestion.feeds.common import YEAR, school

CATEGORIES = {"высшая": "highest", "первая": "first", "соответствие": "conformity",
              "соответствие занимаемой должности": "conformity", "без категории": "none", "нет": "none"}


def flag(name: str, header: str, label: str) -> Column:
    return Column(name, header, "bool", required=False, label=label)


class TeachersLoader(FeedLoader):
    feed = "teachers"
    title = "Педагоги"
    table = "teachers"
    columns = (
        YEAR, school(),
        Column("teacher_id", r"^(id|код|табельный номер) педагога|^id$", "teacher", nullable=False,
               label="ID педагога"),
        Column("subject", r"^предмет", required=False, public=True, label="Предмет"),
        Column("age_band", r"^возраст", required=False, public=True),
        Column("qualification", r"^квалификац", "choice", choices=CATEGORIES, required=False),
        flag("outside_speciality", r"не по специальности", "Работает не по специальности"),
        flag("gap_diagnostic_done", r"^диагностика", "Диагностика дефицитов пройдена"),
        flag("gaps_found", r"^выявлены дефициты|дефициты выявлены", "Выявлены дефициты"),
        flag("trained_3y", r"^курсы пк за 3", "Курсы ПК за 3 года"),
        flag("quality_course", r"курсы пк по вопросам качества", "Курсы ПК по вопросам качества образования"),
        flag("support_municipal", r"через ммо|муниципальн\w* мо", "Поддержка через ММО"),
        flag("support_regional", r"региональные сетевые|через рсмо", "Поддержка через региональные сетевые МО"),
        flag("has_mentor", r"^наставник$", "Наставник"),
        Column("mentor_of", r"^наставник для", "teacher", required=False),
    )
    partition = ("year", "school_id")
    unique = ("year", "teacher_id", "school_id")

    def transform(self, frame, reject):
        rules.subjects(frame["subject"], reject)
        return frame
