"""Official lists: ШНОР by source, «500+» participants with curators, «500+» risk profiles."""

from pathlib import Path

from ingestion.core import rules
from ingestion.core.columns import Column
from ingestion.core.loader import FeedLoader, Layout
from ingestion.feeds.common import YEAR, school

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
        Column("municipality", r"^муниципалитет", required=False, public=True, label="Муниципалитет"),
    )
    partition = ("year", "source")
    unique = ("year", "source", "school_id")

    def preamble(self, path: Path, rows, layout: Layout) -> dict:
        self.municipalities = self.registry.municipalities
        return {}

    def transform(self, frame, reject):
        rules.municipalities(frame["municipality"], reject, self.municipalities)
        return frame


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
