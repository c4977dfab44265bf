-- The programmes' target group per school year: ШНОР (official list of the year, any source) and ШНСУ
-- (the bottom quarter of the region by context index).
with official as (
    select distinct
        school_id,
        school_year
    from {{ ref('stg_lists__shnor') }}
),

adverse as (
    select
        school_id,
        school_year
    from {{ ref('int_adverse_context') }}
    where is_adverse
),

schools as (
    select * from {{ ref('dim_school') }}
)

select
    coalesce(official.school_id, adverse.school_id) as school_id,
    coalesce(official.school_year, adverse.school_year) as school_year,
    schools.municipality,
    official.school_id is not null as is_shnor,
    adverse.school_id is not null as is_shnsu
from official
full outer join adverse on official.school_id = adverse.school_id and official.school_year = adverse.school_year
inner join schools on coalesce(official.school_id, adverse.school_id) = schools.school_id
