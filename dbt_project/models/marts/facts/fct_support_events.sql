-- Support events of the municipal plan-reports, one row per event × school involved. The number of
-- participants belongs to the event as a whole and repeats on each of its schools: never add it over schools.
with events as (
    select * from {{ ref('stg_municipal__support_events') }}
),

schools as (
    select * from {{ ref('dim_school') }}
),

targets as (
    select * from {{ ref('int_target_schools') }}
),

-- a school listed twice in one event (two of its codes) is one school of the event
event_schools as (
    select distinct
        event_id,
        school_id,
        event_date,
        school_year,
        level,
        level_name,
        event_kind,
        topic,
        participants,
        source_file,
        source_row
    from events
),

school_counts as (
    select
        event_id,
        count(*) as schools_in_event
    from event_schools
    group by event_id
)

select
    event_schools.event_id::text as event_id,
    event_schools.school_id::text as school_id,
    schools.school_name::text as school_name,
    schools.municipality::text as municipality,
    event_schools.event_date::date as event_date,
    event_schools.school_year::integer as school_year,
    event_schools.level::text as level_code,
    event_schools.level_name::text as level_name,
    event_schools.event_kind::text as event_kind,
    event_schools.topic::text as topic,
    event_schools.participants::integer as event_participants,
    school_counts.schools_in_event::integer as schools_in_event,
    (targets.school_id is not null)::boolean as is_target_group,
    coalesce(targets.is_shnor, false)::boolean as is_shnor,
    coalesce(targets.is_shnsu, false)::boolean as is_shnsu,
    event_schools.source_file::text as source_file,
    event_schools.source_row::integer as source_row
from event_schools
inner join school_counts on event_schools.event_id = school_counts.event_id
left join schools on event_schools.school_id = schools.school_id
left join targets on event_schools.school_id = targets.school_id and event_schools.school_year = targets.school_year
