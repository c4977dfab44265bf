-- Pupils with individual learning routes (ИОМ) per school × school year, beside the school's pupils of the
-- year (the performance feed's annual rows). A count of fewer pupils than the minimum cell size is hidden.
with routes as (
    select * from {{ ref('stg_municipal__individual_routes') }}
),

performance as (
    select * from {{ ref('stg_municipal__performance') }}
),

schools as (
    select * from {{ ref('dim_school') }}
),

targets as (
    select * from {{ ref('int_target_schools') }}
),

min_cell as (
    select min_cell_size from {{ ref('int_method_parameters') }}
),

pupils as (
    select
        school_id,
        school_year,
        sum(enrolled) as enrolled
    from performance
    where period_code = 'year'
    group by school_id, school_year
),

suppressed as (
    select
        routes.school_id,
        routes.school_year,
        routes.pupils_with_route,
        pupils.enrolled,
        coalesce(routes.pupils_with_route between 1 and min_cell.min_cell_size - 1, false) as is_suppressed
    from routes
    cross join min_cell
    left join pupils on routes.school_id = pupils.school_id and routes.school_year = pupils.school_year
)

select
    suppressed.school_id::text as school_id,
    schools.school_name::text as school_name,
    schools.municipality::text as municipality,
    suppressed.school_year::integer as school_year,
    (targets.school_id is not null)::boolean as is_target_group,
    suppressed.is_suppressed::boolean as is_suppressed,
    case when not suppressed.is_suppressed then suppressed.pupils_with_route end::integer as pupils_with_route,
    suppressed.enrolled::integer as pupils_enrolled,
    round(case
        when not suppressed.is_suppressed and suppressed.pupils_with_route <= suppressed.enrolled
            then 100.0 * suppressed.pupils_with_route / nullif(suppressed.enrolled, 0)
    end, 2)::numeric(7, 2) as share_with_route,
    -- more pupils with a route than enrolled: the row makes no sense, the share is not computed
    coalesce(suppressed.pupils_with_route > suppressed.enrolled, false)::boolean as is_implausible
from suppressed
left join schools on suppressed.school_id = schools.school_id
left join targets on suppressed.school_id = targets.school_id and suppressed.school_year = targets.school_year
