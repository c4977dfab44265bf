"""Social passport of schools: context shares per school and school year."""

from ingestion.core import rules
from ingestion.core.columns import Column
from ingestion.core.loader import FeedLoader
from ingestion.feeds.common import count, percent, school


class SocialPassportLoader(FeedLoader):
    feed = "social_passport"
    title = "Социальный паспорт ОО"
    table = "social_passport"
    columns = (
        Column("school_year", r"^учебный год|^год$", "school_year", nullable=False, label="Учебный год"),
        school(),
        Column("school_name", r"^наименование", required=False, public=True),
        count("enrolment", r"^всего обучающихся|^численность", label="Всего обучающихся"),
        percent("pct_low_income", r"малоимущ", label="Доля из малоимущих семей"),
        percent("pct_disability", r"овз", label="Доля с ОВЗ"),
        percent("pct_non_native_russian", r"не родн|неродн", label="Доля с неродным русским языком"),
        percent("pct_prevention_register", r"профилактическ|кдн", label="Доля на профилактическом учёте"),
        percent("pct_single_parent", r"неполных", label="Доля из неполных семей"),
        percent("pct_no_higher_education", r"высшего образования", label="Доля из семей без высшего образования"),
        percent("pct_unemployed_parents", r"безработн", label="Доля из семей с безработными родителями"),
    )
    partition = ("school_year",)  # the regional passport of a school year
    unique = ("school_year", "school_id")
    shares = tuple(c.name for c in columns if c.name.startswith("pct_"))

    def transform(self, frame, reject):
        # shares written as fractions of one are read as percent; mixed files refused (rules.percent_shares)
        frame = rules.percent_shares(frame, self.shares, self.file_state, self.file_name, reject)
        return frame
