-- Task results per school × procedure × subject × grade × school year × task, unsuppressed: from pupil task
-- rows where they exist, otherwise (ВПР) from the ФИС ОКО «Выполнение заданий» report, so schools with only
-- aggregated reports get the same cells. Beside each cell, the region's value for the same task.
-- A table: O2 and the report's evidence read it several times, and as a view each read recomputed the region.
{{ config(materialized='table') }}

with pupil_tasks as (
    select * from {{ ref('int_pupil_task_scores') }}
),

reports as (
    select * from {{ ref('stg_fis_oko__vpr_task_stats') }}
),

from_pupils as (
    select
        procedure_code,
        school_id,
        school_year,
        subject_code,
        grade,
        task_code,
        'individual' as result_source,
        min(task_kind) as task_kind,
        max(max_points) as max_points,
        max(difficulty) as difficulty,
        count(points) as n_participants,
        100.0 * avg(points::numeric / nullif(max_points, 0)) as mean_pct_of_max
    from pupil_tasks
    where school_id is not null
    group by procedure_code, school_id, school_year, subject_code, grade, task_code
),

from_reports as (
    select
        'vpr' as procedure_code,
        reports.school_id,
        reports.school_year,
        reports.subject_code,
        reports.grade,
        reports.task_code,
        'aggregated' as result_source,
        case when reports.task_code like '%К%' then 'критерий' else 'задание' end as task_kind,
        reports.max_points,
        reports.difficulty,
        reports.n_participants::bigint as n_participants,
        reports.pct_completed as mean_pct_of_max
    from reports
    where
        reports.org_level = 'school'
        and reports.school_id is not null
        -- a test with pupil rows for the school is taken from them, as in int_school_results
        and not exists (
            select 1 from from_pupils
            where
                from_pupils.procedure_code = 'vpr'
                and from_pupils.school_id = reports.school_id
                and from_pupils.school_year = reports.school_year
                and from_pupils.subject_code = reports.subject_code
                and from_pupils.grade = reports.grade
        )
),

cells as (
    select * from from_pupils
    union all
    select * from from_reports
),

-- what a task is belongs to the test, not to one file: maximum and difficulty from any file of the test
task_catalogue as (
    select
        procedure_code,
        school_year,
        subject_code,
        grade,
        task_code,
        min(task_kind) as task_kind,
        mode() within group (order by max_points) as task_max_points,
        mode() within group (order by difficulty) as difficulty
    from (
        select
            procedure_code,
            school_year,
            subject_code,
            grade,
            task_code,
            task_kind,
            max_points,
            difficulty
        from cells
        union all
        select
            'vpr' as procedure_code,
            school_year,
            subject_code,
            grade,
            task_code,
            null as task_kind,
            max_points,
            difficulty
        from reports
        where org_level = 'region'
    ) as task_rows
    group by procedure_code, school_year, subject_code, grade, task_code
),

-- the region's own row of the ФИС ОКО report covers every school, also those the warehouse lacks
region_reports as (
    select
        'vpr' as procedure_code,
        school_year,
        subject_code,
        grade,
        task_code,
        max(pct_completed) as region_pct_of_max,
        max(n_participants) as region_n_participants
    from reports
    where org_level = 'region'
    group by school_year, subject_code, grade, task_code
),

-- otherwise the region is every school cell of the warehouse, weighted by its participants
region_cells as (
    select
        procedure_code,
        school_year,
        subject_code,
        grade,
        task_code,
        sum(n_participants * mean_pct_of_max) / nullif(sum(n_participants), 0) as region_pct_of_max,
        sum(n_participants) as region_n_participants
    from cells
    where mean_pct_of_max is not null
    group by procedure_code, school_year, subject_code, grade, task_code
)

select
    cells.procedure_code,
    cells.school_id,
    cells.school_year,
    cells.subject_code,
    cells.grade,
    cells.task_code,
    task_catalogue.task_kind,
    task_catalogue.difficulty,
    task_catalogue.task_max_points,
    cells.result_source,
    cells.n_participants,
    cells.mean_pct_of_max,
    coalesce(region_reports.region_pct_of_max, region_cells.region_pct_of_max) as region_pct_of_max,
    coalesce(region_reports.region_n_participants, region_cells.region_n_participants) as region_n_participants,
    case when region_reports.region_pct_of_max is not null then 'aggregated' else 'computed' end as region_source
from cells
left join task_catalogue
    on
        cells.procedure_code = task_catalogue.procedure_code
        and cells.school_year = task_catalogue.school_year
        and cells.subject_code = task_catalogue.subject_code
        and cells.grade = task_catalogue.grade
        and cells.task_code = task_catalogue.task_code
left join region_reports
    on
        cells.procedure_code = region_reports.procedure_code
        and cells.school_year = region_reports.school_year
        and cells.subject_code = region_reports.subject_code
        and cells.grade = region_reports.grade
        and cells.task_code = region_reports.task_code
left join region_cells
    on
        cells.procedure_code = region_cells.procedure_code
        and cells.school_year = region_cells.school_year
        and cells.subject_code = region_cells.subject_code
        and cells.grade = region_cells.grade
        and cells.task_code = region_cells.task_code
