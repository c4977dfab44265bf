{{ config(materialized='table') }}
-- One row per ВПР work with its task points as an array in the test's task order (the number before «К»,
-- then the code), for O8: identical vectors are a GROUP BY on the array and a pair of works is compared by
-- unnesting two arrays, so no check explodes into pupil × task rows more than once. band is the work's
-- total-score group within the region's works of the same test (score_bands groups), for the region's task
-- probabilities. A work whose tasks are not the test's full set (a task missing) keeps is_complete = false.
with params as (
    {{ objectivity_parameters('O8', ['score_bands']) }}
),

tasks as (
    select
        scores.load_id,
        scores.source_row,
        scores.school_id,
        scores.school_year,
        scores.subject_code,
        scores.grade,
        scores.task_code,
        scores.points,
        scores.max_points,
        coalesce(substring(scores.task_code from '^\d+')::integer, 0) as task_number
    from {{ ref('int_pupil_task_scores') }} as scores
    where scores.procedure_code = 'vpr' and scores.school_id is not null
),

test_tasks as (
    select
        school_year,
        subject_code,
        grade,
        count(distinct task_code) as n_test_tasks
    from tasks
    group by school_year, subject_code, grade
),

works as (
    select
        tasks.load_id,
        tasks.source_row,
        min(tasks.school_id) as school_id,
        min(tasks.school_year) as school_year,
        min(tasks.subject_code) as subject_code,
        min(tasks.grade) as grade,
        array_agg(tasks.task_code order by tasks.task_number, tasks.task_code) as task_codes,
        array_agg(coalesce(tasks.points, 0)::integer order by tasks.task_number, tasks.task_code) as points,
        array_agg(tasks.max_points::integer order by tasks.task_number, tasks.task_code) as max_points,
        sum(coalesce(tasks.points, 0))::integer as total,
        sum(tasks.max_points)::integer as max_total,
        count(*) filter (where tasks.points is null) as n_missing
    from tasks
    group by tasks.load_id, tasks.source_row
)

select
    works.load_id,
    works.source_row,
    works.school_id,
    works.school_year,
    works.subject_code,
    works.grade,
    results.variant::text as variant,
    results.class_label::text as class_label,
    works.task_codes,
    works.points,
    works.max_points,
    works.total,
    works.max_total,
    works.n_missing = 0 and cardinality(works.points) = test_tasks.n_test_tasks as is_complete,
    -- works with the same total share a band (percent_rank gives ties one value)
    least(params.score_bands::integer, 1 + floor(params.score_bands * percent_rank() over (
        partition by works.school_year, works.subject_code, works.grade order by works.total
    ))::integer) as band
from works
inner join test_tasks
    on
        works.school_year = test_tasks.school_year
        and works.subject_code = test_tasks.subject_code
        and works.grade = test_tasks.grade
inner join params on works.school_year = params.school_year
left join {{ ref('stg_fis_oko__vpr_results') }} as results
    on
        works.load_id = results.load_id
        and works.source_row = results.source_row
