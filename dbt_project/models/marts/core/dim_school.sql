-- Schools with their history: the current registry row, its level for comparisons, its former names
-- and, for a school merged into another, the successor that carries its pupils.
with schools as (
    select * from {{ ref('stg_registry__schools') }}
),

levels as (
    select * from {{ ref('school_levels') }}
),

reorganisations as (
    select * from {{ ref('stg_registry__reorganisations') }}
),

successors as (
    select distinct on (school_id_before)
        school_id_before as school_id,
        school_id_after as successor_school_id,
        event_date as merged_on
    from reorganisations
    where event_kind in ('присоединение', 'слияние') and school_id_before <> school_id_after
    order by school_id_before asc, event_date desc
),

former_names as (
    select
        school_id_before as school_id,
        string_agg(name_before, '; ' order by event_date) as former_names
    from reorganisations
    where event_kind = 'переименование'
    group by school_id_before
)

select
    schools.school_id,
    schools.short_name as school_name,
    schools.full_name,
    schools.municipality,
    schools.school_type,
    coalesce(levels.comparison_group, 'СОШ') as comparison_group,
    coalesce(levels.advanced_study, false) as advanced_study,
    schools.locality = 'rural' as is_rural,
    schools.small_school as is_small_school,
    schools.distance_km,
    schools.enrolment,
    schools.status,
    schools.head_school_code as head_school_id,
    successors.successor_school_id,
    successors.merged_on,
    former_names.former_names,
    schools.fis_login,
    schools.rcoi_code
from schools
left join levels on schools.school_type = levels.school_type
left join successors on schools.school_id = successors.school_id
left join former_names on schools.school_id = former_names.school_id
