-- Points of each pupil on the tasks of an extra mark condition (ОГЭ mathematics: geometry), one row per
-- pupil row. A table, not a view: the pupil fact joins it to every pupil row, and with its real size the
-- planner hashes it instead of rescanning it per pupil.
{{ config(materialized='table') }}

with pupil_tasks as (
    select * from {{ ref('int_pupil_task_scores') }}
),

oge_mark_scales as (
    select * from {{ ref('oge_mark_scales') }}
),

condition_tasks as (
    select distinct
        'oge' as procedure_code,
        subject_code,
        9 as grade,
        valid_from,
        valid_to,
        unnest(string_to_array(condition_tasks, ' ')) as task_code
    from oge_mark_scales
    where condition_tasks is not null
)

select
    pupil_tasks.procedure_code,
    pupil_tasks.load_id,
    pupil_tasks.source_row,
    sum(pupil_tasks.points) as condition_points
from pupil_tasks
inner join condition_tasks
    on
        pupil_tasks.procedure_code = condition_tasks.procedure_code
        and pupil_tasks.subject_code = condition_tasks.subject_code
        and pupil_tasks.grade = condition_tasks.grade
        and pupil_tasks.task_code = condition_tasks.task_code
        and pupil_tasks.school_year between condition_tasks.valid_from and condition_tasks.valid_to
-- only the ОГЭ scales carry extra conditions; the filter keeps the other procedures' tasks unread
where pupil_tasks.procedure_code = 'oge'
group by pupil_tasks.procedure_code, pupil_tasks.load_id, pupil_tasks.source_row
