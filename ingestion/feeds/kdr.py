"""Krasnoyarsk regional diagnostic works (КДР4/6 reading literacy, КДР8 science literacy, КДР4 group project).

Level names differ between the regional centre and municipalities; they are mapped to L0–L3 here.
"""

import re
from pathlib import Path

from ingestion.core import rules
from ingestion.core.columns import Column, WideColumns
from ingestion.core.errors import LayoutError
from ingestion.core.loader import FeedLoader, Layout
from ingestion.feeds.common import find_title, school

TITLE = re.compile(r"КДР\s*(\d+)\s*[-_ ]?\s*(ЧГ|ЕНГ|ГП|МГ)\D*(\d{4})", re.IGNORECASE)
WORKS = {"4ЧГ": "kdr4_rl", "6ЧГ": "kdr6_rl", "8ЕНГ": "kdr8_sl", "4ГП": "kdr4_gp"}
LEVELS = {"недостаточный": "L0", "ниже базового": "L0", "пониженный": "L1", "базовый": "L2", "повышенный": "L3",
          "высокий": "L3"}


class KdrLoader(FeedLoader):
    feed = "kdr"
    title = "КДР: краевые диагностические работы"
    table = "kdr_results"
    columns = (
        Column("municipality", r"^муниципалитет", required=False, public=True, label="Муниципалитет"),
        school(r"^код оо|^логин", "Код ОО"),
        Column("school_name", r"^оо$|^наименование оо", required=False, public=True),
        Column("class_label", r"^класс", "class", required=False, label="Класс"),
        Column("participant_id", r"^код (ученика|участника)", "pupil", nullable=False, label="Код ученика"),
        Column("primary_score", r"^первичный балл|^балл$", "decimal", minimum=0, maximum=200, label="Первичный балл"),
        Column("pct_of_max", r"^% от мак", "decimal", minimum=0, maximum=100, required=False),
        Column("level_code", r"^уровень", "choice", choices=LEVELS, label="Уровень"),
    )
    wide = (
        WideColumns(
            table="kdr_skill_scores", header=r"группа умений\s*(\d+).*",
            key_columns={"skill_group": "smallint"}, keys=lambda m: {"skill_group": int(m.group(1))},
            value=Column("points", "", "decimal", minimum=0, maximum=100, label="Группа умений"),
        ),
    )
    extra_columns = {"work": "text", "grade": "smallint", "year": "smallint"}
    partition = ("work", "year", "school_id")
    unique = ("participant_id",)

    def preamble(self, path: Path, rows, layout: Layout) -> dict:
        title = find_title(rows, TITLE) or TITLE.search(path.stem.replace("_", " "))
        if title is None:
            raise LayoutError(path, "не найден заголовок вида «КДР4 ЧГ 2024» ни над таблицей, ни в имени файла")
        grade, kind = int(title.group(1)), title.group(2).upper()
        work = WORKS.get(f"{grade}{kind}")
        if work is None:
            raise LayoutError(path, f"неизвестная работа «КДР{grade} {kind}»")
        year = int(title.group(3))
        rules.year_in_window(year, path)
        self.municipalities = self.registry.municipalities
        self.max_score = rules.kdr_max_scores().get((work, year))
        self.group_maxima = rules.kdr_group_maxima().get((work, year), {})
        return {"work": work, "grade": grade, "year": year}

    def check_wide(self, spec, table, rows, reject):
        # each skill group's points within its maximum (seed kdr_skill_groups), where the seed has the group
        for group in table.columns:
            maximum = self.group_maxima.get(int(group))
            if maximum is None:
                continue
            points = table[group].astype("Float64")
            reject((points > maximum).fillna(False).astype(bool), "implausible_value", lambda m, p=points, g=group,
                   top=maximum: p[m].map(lambda v: f"«Группа умений {g}» {rules.ru_number(float(v))} больше "
                                                   f"максимального балла группы ({rules.ru_number(top)})"))
        return None

    def transform(self, frame, reject):
        rules.municipalities(frame["municipality"], reject, self.municipalities)
        number = rules.values.class_number(frame["class_label"])
        other_grade = (number != frame["grade"]).fillna(False).astype(bool)
        reject(other_grade, "inconsistent", lambda m: frame["class_label"][m].map(
            lambda c: f"класс «{c}» не того года обучения, что работа (КДР{self.constants['grade']})"))
        # the work's maximum is the sum of its skill groups' maxima (seed kdr_skill_groups), where the seed has it
        rules.above_maximum(frame["primary_score"], self.max_score, reject, "Первичный балл")
        return frame
