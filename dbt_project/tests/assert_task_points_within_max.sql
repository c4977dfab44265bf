-- Every pupil's task points lie between 0 and the task maximum, and every task has a maximum: a short-answer
-- digit without a row in gia_task_max_points, or a blueprint that changed, shows up here. One test reads the
-- (large) view once. A warning, not an error: such a row comes from the files (the loaders should have
-- caught it), and one bad pupil row must not stop the build of every mart.
{{ config(severity='warn') }}
select
    procedure_code,
    subject_code,
    school_year,
    task_code,
    points,
    max_points
from {{ ref('int_pupil_task_scores') }}
where max_points is null or points < 0 or points > max_points
