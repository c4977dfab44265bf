"""Municipal feed: ВсОШ participation per school × subject × stage."""

from ingestion.core import rules
from ingestion.core.columns import Column
from ingestion.core.loader import FeedLoader
from ingestion.feeds.common import YEAR, count, school

STAGES = {"школьный": "school", "муниципальный": "municipal", "региональный": "regional",
          "заключительный": "final"}


class OlympiadsLoader(FeedLoader):
    feed = "olympiads"
    title = "ВсОШ: участники, победители и призёры"
    table = "olympiads"
    columns = (
        YEAR, school(),
        Column("subject", r"^предмет", nullable=False, label="Предмет", public=True),
        Column("stage", r"^этап", "choice", choices=STAGES, nullable=False, label="Этап"),
        count("participants", r"^участник", label="Участников"),
        count("winners", r"^победител", label="Победителей"),
        count("prize_winners", r"^призер", label="Призёров"),
    )
    partition = ("year", "school_id")
    unique = ("year", "school_id", "subject", "stage")

    def transform(self, frame, reject):
        participants = frame["participants"]
        rules.not_above(frame["winners"], participants, reject, "победителей больше, чем участников")
        rules.not_above(frame["prize_winners"], participants, reject, "призёров больше, чем участников")
        rules.not_above(frame["winners"] + frame["prize_winners"], participants, reject,
                        "победителей и призёров вместе больше, чем участников")
        rules.subjects(frame["subject"], reject)
        return frame
