-- School improvement programmes per school × school year, as the municipalities report them, beside the
-- school's place in the programmes' target group (ШНОР, ШНСУ) that year.
with programmes as (
    select * from {{ ref('stg_municipal__improvement_programmes') }}
),

schools as (
    select * from {{ ref('dim_school') }}
),

targets as (
    select * from {{ ref('int_target_schools') }}
)

select
    programmes.school_id::text as school_id,
    schools.school_name::text as school_name,
    schools.municipality::text as municipality,
    programmes.school_year::integer as school_year,
    (targets.school_id is not null)::boolean as is_target_group,
    coalesce(targets.is_shnor, false)::boolean as is_shnor,
    coalesce(targets.is_shnsu, false)::boolean as is_shnsu,
    programmes.programme_written::boolean as programme_written,
    programmes.external_review::boolean as external_review,
    programmes.road_map::boolean as road_map
from programmes
left join schools on programmes.school_id = schools.school_id
left join targets on programmes.school_id = targets.school_id and programmes.school_year = targets.school_year
