"""Municipal plan-report of support events; the schools involved go long into ``raw.support_event_schools``.

Events carry no identifier of their own, so a plan-report is keyed by what it reports on: its municipality
and school year (``plan_municipality`` × ``plan_year``). A corrected plan-report replaces the events of
the same municipality and year whatever its file name. The key is the file's, derived from its rows:
- the municipality most of its participating schools belong to in the registry; a file whose schools
  spread with no majority municipality is a regional plan-report, keyed «(регион)»;
- the school year most of its events fall in (September–August, keyed by the spring year; a tie goes to
  the later year).
"""

import re
from pathlib import Path

import pandas as pd
from psycopg import sql

from ingestion.core.columns import Column
from ingestion.core.loader import FeedLoader, Layout
from ingestion.feeds.common import count

LEVELS = {"школьный": "school", "муниципальный": "municipal", "региональный": "regional", "федеральный": "federal",
          "межрегиональный": "federal"}
SEPARATORS = re.compile(r"[,;\n]+")
REGION_KEY = "(регион)"

# The key of each load in ``{loads}`` (a query of load ids), written into its rows.
PLAN_KEY = """
update raw.support_events e set plan_municipality = k.municipality, plan_year = k.year
from (
    select l.load_id,
           (select case when count(*) * 2 > sum(count(*)) over () then r.municipality else {region} end
            from raw.support_event_schools s join raw.school_registry r on r.registry_code = s.school_id
            where s.load_id = l.load_id
            group by r.municipality order by count(*) desc, r.municipality limit 1) as municipality,
           (select y.school_year from (
                select (extract(year from v.event_date) + (extract(month from v.event_date) >= 9)::int)::smallint
                       as school_year
                from raw.support_events v where v.load_id = l.load_id) y
            group by y.school_year order by count(*) desc, y.school_year desc limit 1) as year
    from ({loads}) l
) k
where e.load_id = k.load_id
"""


class SupportEventsLoader(FeedLoader):
    feed = "support_events"
    title = "Мероприятия поддержки (план-отчёт)"
    table = "support_events"
    columns = (
        Column("event_date", r"^дата", "date", nullable=False, label="Дата"),
        Column("level", r"^уровень", "choice", choices=LEVELS, nullable=False, label="Уровень"),
        Column("event_kind", r"^вид|^форма", nullable=False, label="Вид", public=True),
        Column("topic", r"^тема|^наименование", required=False, public=True),
        Column("school_codes", r"^оо|участники$|^школы", nullable=False, label="ОО-участники", public=True),
        count("participants", r"^участников|^количество участников|^кол-во участников", label="Участников"),
    )
    extra_columns = {"source_file": "text", "plan_municipality": "text", "plan_year": "smallint"}
    partition = ("plan_municipality", "plan_year")

    @classmethod
    def child_table_ddl(cls):
        return {"support_event_schools": {"school_code": "text", "school_id": "text"}}

    @classmethod
    def ddl(cls) -> list[str]:
        create, *rest = super().ddl()
        return [
            create,
            # Until 0.3 a plan-report was keyed by its file name: add the key columns, move the index to them.
            "alter table raw.support_events add column if not exists plan_municipality text",
            "alter table raw.support_events add column if not exists plan_year smallint",
            """do $$ begin
                   if exists (select 1 from pg_indexes where schemaname = 'raw'
                              and indexname = 'support_events_partition' and indexdef not like '%plan_year%') then
                       drop index raw.support_events_partition;
                   end if;
               end $$""",
            *rest,
            sql.SQL(PLAN_KEY).format(region=sql.Literal(REGION_KEY), loads=sql.SQL(
                "select distinct load_id from raw.support_events where plan_year is null")).as_string(None),
        ]

    def preamble(self, path: Path, rows, layout: Layout) -> dict:
        self.resolver_all = self.registry.resolver
        return {"source_file": path.name}

    def transform(self, frame, reject):
        codes = frame["school_codes"].fillna("").map(lambda s: [c.strip() for c in SEPARATORS.split(s) if c.strip()])
        exploded = codes.explode().dropna()
        resolved = self.resolver_all.resolve(exploded.astype("string"))
        unknown = exploded[resolved.isna()]
        bad = frame.index.isin(unknown.index)
        messages = unknown.map(self.resolver_all.unknown_text).groupby(level=0).agg("; ".join).reindex(frame.index)
        reject(pd.Series(bad, index=frame.index), "unknown_school", messages)
        self.links = pd.DataFrame({"row": exploded.index, "school_code": exploded.values, "school_id": resolved.values})
        return frame

    def child_frames(self, frame):
        links = self.links[self.links["row"].isin(frame.index)]
        return {"support_event_schools": pd.DataFrame({
            "source_row": frame.loc[links["row"], "source_row"].values,
            "school_code": links["school_code"].values, "school_id": links["school_id"].values})}

    def _replace_partitions(self, load_id: int) -> int:
        # The key is the whole file's, known once all its rows are in: set it, then replace as every feed does.
        self.conn.execute(sql.SQL(PLAN_KEY).format(region=sql.Literal(REGION_KEY),
                                                   loads=sql.SQL("select %s::bigint as load_id")), (load_id,))
        return super()._replace_partitions(load_id)
