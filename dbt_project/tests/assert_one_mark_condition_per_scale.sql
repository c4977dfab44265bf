-- int_pupil_condition_points sums one set of condition tasks per pupil: every mark of a scale that has an
-- extra condition names the same tasks and minimum.
select
    subject_code,
    valid_from,
    valid_to
from {{ ref('oge_mark_scales') }}
where condition_tasks is not null
group by subject_code, valid_from, valid_to
having count(distinct row(condition_tasks, condition_min_points)) > 1
