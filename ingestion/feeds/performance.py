"""Municipal feed: academic performance and attendance per school × grade × term."""

from ingestion.core import rules
from ingestion.core.columns import Column
from ingestion.core.loader import FeedLoader
from ingestion.feeds.common import YEAR, count, school


class PerformanceLoader(FeedLoader):
    feed = "performance"
    title = "Успеваемость и посещаемость"
    table = "performance"
    columns = (
        YEAR, school(),
        Column("grade", r"^класс", "int", minimum=1, maximum=11, nullable=False, label="Класс"),
        Column("period", r"^период|^четверть", nullable=False, label="Период", public=True),
        count("enrolled", r"^(количество )?обучающихся|^численность", label="Обучающихся"),
        count("failing", r"«2»|академическ|неуспева", label="Имеют «2» / академическую задолженность"),
        count("only_4_5", r"только на|на «4» и «5»", label="Только на «4» и «5»", required=False),
        count("repeaters", r"повторное обучение|оставлен", label="Оставлены на повторное обучение", required=False),
        count("lessons_missed", r"^пропущено уроков( всего)?$|^пропущено всего", label="Пропущено уроков всего"),
        count("lessons_missed_unexcused", r"без уважительной", label="Пропущено без уважительной причины"),
    )
    partition = ("year", "school_id")
    unique = ("year", "school_id", "grade", "period")

    def transform(self, frame, reject):
        enrolled = frame["enrolled"]
        rules.not_above(frame["failing"], enrolled, reject, "неуспевающих больше, чем обучающихся")
        rules.not_above(frame["only_4_5"], enrolled, reject, "успевающих только на «4» и «5» больше, чем обучающихся")
        rules.not_above(frame["repeaters"], enrolled, reject,
                        "оставленных на повторное обучение больше, чем обучающихся")
        rules.not_above(frame["failing"] + frame["only_4_5"], enrolled, reject,
                        "неуспевающих и успевающих на «4» и «5» вместе больше, чем обучающихся")
        rules.not_above(frame["lessons_missed_unexcused"], frame["lessons_missed"], reject,
                        "пропусков без уважительной причины больше, чем пропусков всего")
        return frame
