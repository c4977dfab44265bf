"""Regional school registry (sheet «Реестр ОО») and its reorganisations (sheet «Реорганизации»).

Both are snapshots: each new registry file replaces the previous one, unless it has no rows or mostly bad
rows (then it is refused and the loaded one stays). After either loads, the map of every known school code
(``raw.school_keys``) is rebuilt: registry code, ФИС ОКО login, РЦОИ code, ОГРН and ИНН, old codes of
reorganised schools included.
"""

from ingestion.core.columns import Column
from ingestion.core.loader import FeedLoader

LOCALITY = {"городская": "urban", "городской": "urban", "сельская": "rural", "сельский": "rural"}

REBUILD_KEYS = r"""
delete from raw.school_keys;
delete from raw.school_keys_ambiguous;
create temp table registry_keys as
with numbers as (
    -- ОГРН and ИНН as written: spaces and a number cell's «.0» dropped; an ИНН stored in a number cell
    -- loses its leading zero, so nine digits are padded back to ten.
    select registry_code, load_id,
           regexp_replace(regexp_replace(ogrn, '\s', '', 'g'), '\.0+$', '') as ogrn,
           regexp_replace(regexp_replace(inn, '\s', '', 'g'), '\.0+$', '') as inn
    from raw.school_registry
),
keys as (
    select lower(registry_code) as key_value, 'registry' as key_kind, registry_code, load_id, 1 as priority
    from raw.school_registry
    union all
    select lower(fis_login), 'fis_oko_login', registry_code, load_id, 1 from raw.school_registry
    where fis_login is not null
    union all
    select lower(rcoi_code), 'rcoi', registry_code, load_id, 1 from raw.school_registry
    where rcoi_code is not null
    union all
    select lower(login_before), 'fis_oko_login', registry_code_before, load_id, 2 from raw.school_reorganisations
    where login_before is not null and registry_code_before is not null
    union all
    select lower(rcoi_before), 'rcoi', registry_code_before, load_id, 2 from raw.school_reorganisations
    where rcoi_before is not null and registry_code_before is not null
    union all
    -- organisations' numbers only: ОГРН of 13 digits, ИНН of 10
    select ogrn, 'ogrn', registry_code, load_id, 3 from numbers where ogrn ~ '^\d{13}$'
    union all
    select lpad(inn, 10, '0'), 'inn', registry_code, load_id, 3 from numbers where inn ~ '^\d{9,10}$'
)
select * from keys;
-- A branch may carry its head school's ОГРН and ИНН: such a number names no single school, so it is no key
-- (it is kept aside, for the message that says why a row naming a school by it stays unresolved).
insert into raw.school_keys_ambiguous (key_value, key_kind, registry_codes, load_id)
select key_value, min(key_kind), string_agg(distinct registry_code, ', ' order by registry_code), max(load_id)
from registry_keys where key_kind in ('ogrn', 'inn')
group by key_value having count(distinct registry_code) > 1;
insert into raw.school_keys (key_value, key_kind, registry_code, load_id)
select distinct on (key_value) key_value, key_kind, registry_code, load_id
from registry_keys
where key_value not in (select key_value from raw.school_keys_ambiguous)
order by key_value, priority;
drop table registry_keys;
"""


class _RegistryPart(FeedLoader):
    folder = "registry"

    def after_load(self, load_id: int) -> None:
        # Both tables exist: the schema step creates every feed's tables before any load.
        self.conn.execute(REBUILD_KEYS)


class SchoolRegistryLoader(_RegistryPart):
    feed = "registry"
    title = "Реестр ОО"
    table = "school_registry"
    sheet = "реестр"
    columns = (
        Column("registry_code", r"^код оо \(регистр", nullable=False, label="Код ОО (регистр)"),
        Column("fis_login", r"^логин фис око", label="Логин ФИС ОКО", public=True),
        Column("rcoi_code", r"^код рцои", label="Код РЦОИ", public=True),
        Column("ogrn", r"^огрн", required=False, public=True),
        Column("inn", r"^инн", required=False, public=True),
        Column("full_name", r"^полное наименование", nullable=False, label="Полное наименование", public=True),
        Column("short_name", r"^краткое наименование", required=False, public=True),
        Column("municipality", r"^муниципал|^мо$", nullable=False, label="Муниципалитет", public=True),
        Column("school_type", r"^тип оо", label="Тип ОО", public=True),
        Column("locality", r"^местность", "choice", choices=LOCALITY, required=False),
        Column("distance_km", r"^расстояние", "decimal", minimum=0, maximum=5000, required=False),
        Column("small_school", r"^малокомплект", "bool", required=False),
        Column("enrolment", r"^численность|^количество обучающихся", "int", minimum=0, maximum=10000,
               required=False),
        Column("status", r"^статус", required=False, public=True),
        Column("head_school_code", r"^головная оо", required=False, public=True),
    )
    unique = ("registry_code",)


class ReorganisationLoader(_RegistryPart):
    feed = "registry_reorganisations"
    # A region may have had no reorganisations: an empty sheet loads while none are loaded, and never wipes
    # loaded ones (their old codes would stop resolving); see FeedLoader._check_snapshot.
    empty_snapshot_allowed = True
    title = "Реорганизации ОО"
    table = "school_reorganisations"
    sheet = "реорганизац"
    columns = (
        Column("event_date", r"^дата", "date", nullable=False, label="Дата"),
        Column("event_kind", r"^вид", nullable=False, label="Вид", public=True),
        Column("registry_code_before", r"регистр\)? до$", label="Код ОО (регистр) до"),
        Column("registry_code_after", r"регистр\)? после$", label="Код ОО (регистр) после"),
        Column("name_before", r"^наименование до", required=False, public=True),
        Column("name_after", r"^наименование после", required=False, public=True),
        Column("login_before", r"^логин фис око до", required=False, public=True),
        Column("rcoi_before", r"^код рцои до", required=False, public=True),
    )
