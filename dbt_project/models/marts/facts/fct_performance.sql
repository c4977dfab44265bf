-- Academic performance and attendance per school × school year × grade × reporting period, as the
-- municipality reports them. A cell of fewer pupils than the minimum cell size publishes no pupil figures.
with performance as (
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

suppressed as (
    select
        performance.*,
        -- zero pupils describe nobody; 1 to min_cell_size − 1 pupils must not be published
        coalesce(performance.enrolled between 1 and min_cell.min_cell_size - 1, false) as is_suppressed
    from performance
    cross join min_cell
),

published as (
    select
        school_id,
        school_year,
        grade,
        period_code,
        period_name,
        period_kind,
        is_suppressed,
        case when not is_suppressed then enrolled end as enrolled,
        case when not is_suppressed then failing end as failing,
        case when not is_suppressed then only_4_5 end as only_4_5,
        case when not is_suppressed then repeaters end as repeaters,
        case when not is_suppressed then lessons_missed end as lessons_missed,
        case when not is_suppressed then lessons_missed_unexcused end as lessons_missed_unexcused
    from suppressed
)

select
    published.school_id::text as school_id,
    schools.school_name::text as school_name,
    schools.municipality::text as municipality,
    published.school_year::integer as school_year,
    published.grade::integer as grade,
    published.period_code::text as period_code,
    published.period_name::text as period_name,
    published.period_kind::text as period_kind,
    (targets.school_id is not null)::boolean as is_target_group,
    published.is_suppressed::boolean as is_suppressed,
    published.enrolled::integer as enrolled,
    published.failing::integer as failing,
    published.only_4_5::integer as only_4_5,
    published.repeaters::integer as repeaters,
    round(100.0 * published.failing / nullif(published.enrolled, 0), 2)::numeric(7, 2) as share_failing,
    round(100.0 - 100.0 * published.failing / nullif(published.enrolled, 0), 2)::numeric(7, 2) as pass_rate,
    round(100.0 * published.only_4_5 / nullif(published.enrolled, 0), 2)::numeric(7, 2) as quality_rate,
    published.lessons_missed::integer as lessons_missed,
    published.lessons_missed_unexcused::integer as lessons_missed_unexcused,
    round(published.lessons_missed::numeric / nullif(published.enrolled, 0), 2)::numeric(9, 2)
        as lessons_missed_per_pupil,
    round(published.lessons_missed_unexcused::numeric / nullif(published.enrolled, 0), 2)::numeric(9, 2)
        as unexcused_missed_per_pupil,
    round(100.0 * published.lessons_missed_unexcused / nullif(published.lessons_missed, 0), 2)::numeric(7, 2)
        as share_unexcused
from published
left join schools on published.school_id = schools.school_id
left join targets on published.school_id = targets.school_id and published.school_year = targets.school_year
