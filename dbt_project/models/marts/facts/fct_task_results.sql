-- BI-facing task results per school × procedure × subject × grade × school year × task, with the region's
-- value for the same task; cells with fewer participants than the minimum cell size are suppressed.
-- Grouping the pupil task rows (millions at a full region) by hash instead of an on-disk sort halves the time.
{{ config(pre_hook="set local work_mem = '64MB'") }}
with results as (
    select * from {{ ref('int_task_results') }}
),

schools as (
    select * from {{ ref('dim_school') }}
),

min_cell as (
    select min_cell_size from {{ ref('int_method_parameters') }}
),

ordered as (
    select
        results.*,
        -- a report row without a count is hidden too
        coalesce(results.n_participants < min_cell.min_cell_size, true) as is_suppressed,
        -- tasks in the order of the work: short answers before long ones, then 9 < 10, 9.1 < 9.2, 1К1 < 1К2
        dense_rank() over (
            partition by results.procedure_code, results.subject_code, results.grade, results.school_year
            order by
                results.task_code like 'РО%',
                substring(results.task_code from '(\d+)')::integer,
                coalesce(substring(results.task_code from '^\D*\d+\.(\d+)')::integer, 0),
                coalesce(substring(results.task_code from 'К(\d+)$')::integer, 0),
                results.task_code
        ) as task_order
    from results
    cross join min_cell
)

select
    ordered.school_id::text as school_id,
    schools.school_name::text as school_name,
    schools.municipality::text as municipality,
    ordered.procedure_code::text as procedure_code,
    ordered.subject_code::text as subject_code,
    ordered.grade::integer as grade,
    ordered.school_year::integer as school_year,
    ordered.task_code::text as task_code,
    ordered.task_order::integer as task_order,
    ordered.task_kind::text as task_kind,
    ordered.difficulty::text as difficulty,
    ordered.task_max_points::integer as task_max_points,
    ordered.result_source::text as result_source,
    ordered.n_participants::integer as n_participants,
    ordered.is_suppressed,
    round(case when not ordered.is_suppressed then ordered.mean_pct_of_max end, 2)::numeric(5, 2)
        as mean_pct_of_max,
    round(ordered.region_pct_of_max, 2)::numeric(5, 2) as region_pct_of_max,
    ordered.region_n_participants::integer as region_n_participants,
    ordered.region_source::text as region_source,
    round(case when not ordered.is_suppressed then ordered.mean_pct_of_max - ordered.region_pct_of_max end, 2)
    ::numeric(6, 2) as diff_from_region_pp
from ordered
left join schools on ordered.school_id = schools.school_id
