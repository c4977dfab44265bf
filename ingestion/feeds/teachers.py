"""Municipal feed: one pseudonymised row per teacher per year (qualification, gaps, training, support)."""

from ingestion.core import rules
from ingestion.core.columns import Column
from ingestion.core.loader import FeedLoader
from ingestion.feeds.common import YEAR, school

CATEGORIES = {"соответствие": "conformity", "соответствие занимаемой должности": "conformity",
              "без категории": "none", "нет": "none", "нет категории": "none",
              # «высшая», «Высшая категория», «высшая квалификационная категория», «первая кв. категория»
              **{f"{name}{suffix}": code for name, code in (("высшая", "highest"), ("первая", "first"))
                 for suffix in ("", " категория", " квалификационная категория", " кв. категория")}}

# The age bands of docs/feed_layouts.md, stored as written there; a hyphen, an en or em dash, with or
# without spaces and «лет», and the usual wordings of the open bands.
_DASHES = ("-", "–", "—", " - ", " – ", " — ")
AGE_BANDS = {
    **{f"{prefix} 30{years}": "до 30" for prefix in ("до", "моложе", "младше", "меньше") for years in ("", " лет")},
    **{f"{low}{dash}{low + 9}{years}": f"{low}–{low + 9}" for low in (30, 40, 50) for dash in _DASHES
       for years in ("", " лет")},
    **{text: "60 и старше" for text in ("60 и старше", "60 лет и старше", "старше 60", "старше 60 лет", "60+",
                                        "60 и более", "60 лет и более", "от 60", "от 60 лет", "свыше 60")},
}


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
        Column("age_band", r"^возраст", "choice", choices=AGE_BANDS, required=False, label="Возраст"),
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
