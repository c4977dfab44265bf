"""Official lists: ШНОР by source, «500+» participants with curators, «500+» risk profiles."""

from ingestion.core.columns import Column
from ingestion.core.loader import FeedLoader
from ingestion.feeds.common import school

YEAR = Column("year", r"^год$", "int", minimum=2015, maximum=2100, nullable=False, label="Год")
SOURCES = {"рособрнадзор": "rosobrnadzor", "фиоко": "fioko", "цоко": "coko", "мо": "municipality"}
RISK_LEVELS = {"низкий": "low", "средний": "medium", "высокий": "high"}


class ShnorListLoader(FeedLoader):
    feed = "shnor_list"
    title = "Официальный список ШНОР"
    table = "shnor_list"
    columns = (
        YEAR,
        Column("source", r"^источник", "choice", choices=SOURCES, nullable=False, label="Источник"),
        school(r"^логин|^код оо", "Логин"),
        Column("school_name", r"^оо$|^наименование", required=False, public=True),
        Column("municipality", r"^муниципалитет", required=False, public=True),
    )
    partition = ("year", "source")
    unique = ("year", "source", "school_id")


class Project500Loader(FeedLoader):
    feed = "project500"
    title = "Участники проекта «500+»"
    table = "project500_schools"
    columns = (
        YEAR, school(r"^логин|^код оо", "Логин"),
        Column("school_name", r"^оо$|^наименование", required=False, public=True),
        Column("curator", r"^куратор", required=False, public=True),
    )
    partition = ("year",)
    unique = ("year", "school_id")


class RiskProfilesLoader(FeedLoader):
    feed = "risk_profiles"
    title = "Рисковые профили «500+»"
    table = "project500_risk_profiles"
    columns = (
        YEAR, school(r"^логин|^код оо", "Логин"),
        Column("factor_code", r"^код фактора", nullable=False, label="Код фактора", public=True),
        Column("factor_name", r"^фактор", required=False, public=True),
        Column("risk_level", r"^уровень", "choice", choices=RISK_LEVELS, nullable=False, label="Уровень риска"),
    )
    partition = ("year",)
    unique = ("year", "school_id", "factor_code")
