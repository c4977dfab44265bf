-- Every pupil's points per task in one shape, for the pupils of int_pupil_results_unioned only (so task
-- and pupil facts count the same pupils, and a ГИА retake replaces the earlier attempt here too):
-- ВПР tasks and criteria, ГИА task-string positions, КДР skill groups; each with its maximum.
with pupils as (
    select * from {{ ref('int_pupil_results_unioned') }}
),

vpr_tasks as (
    select * from {{ ref('stg_fis_oko__vpr_task_scores') }}
),

gia_tasks as (
    select * from {{ ref('stg_rcoi__gia_task_scores') }}
),

kdr_skills as (
    select * from {{ ref('stg_coko__kdr_skill_scores') }}
),

gia_task_max as (
    select * from {{ ref('gia_task_max_points') }}
),

kdr_groups as (
    select * from {{ ref('kdr_skill_groups') }}
)

select
    pupils.procedure_code,
    pupils.load_id,
    pupils.source_row,
    pupils.school_id,
    pupils.participant_id,
    pupils.school_year,
    pupils.subject_code,
    pupils.grade,
    vpr_tasks.task_code,
    case when vpr_tasks.task_code like '%К%' then 'критерий' else 'задание' end as task_kind,
    vpr_tasks.difficulty,
    vpr_tasks.points,
    vpr_tasks.max_points
from pupils
inner join vpr_tasks
    on
        pupils.load_id = vpr_tasks.load_id
        and pupils.source_row = vpr_tasks.source_row
where pupils.procedure_code = 'vpr'

union all

select
    pupils.procedure_code,
    pupils.load_id,
    pupils.source_row,
    pupils.school_id,
    pupils.participant_id,
    pupils.school_year,
    pupils.subject_code,
    pupils.grade,
    gia_tasks.task_code,
    case gia_tasks.task_part when 'short' then 'краткий ответ' else 'развёрнутый ответ' end as task_kind,
    null::text as difficulty,
    gia_tasks.points,
    -- a digit in the short-answer string: its maximum comes from the blueprint seed
    coalesce(gia_task_max.max_points, gia_tasks.stated_max_points) as max_points
from pupils
inner join gia_tasks
    on
        pupils.load_id = gia_tasks.load_id
        and pupils.source_row = gia_tasks.source_row
left join gia_task_max
    on
        pupils.procedure_code = gia_task_max.procedure_code
        and pupils.subject_code = gia_task_max.subject_code
        and gia_tasks.task_code = gia_task_max.task_code
        and pupils.school_year between gia_task_max.valid_from and gia_task_max.valid_to
where pupils.procedure_code in ('oge', 'ege')

union all

select
    pupils.procedure_code,
    pupils.load_id,
    pupils.source_row,
    pupils.school_id,
    pupils.participant_id,
    pupils.school_year,
    pupils.subject_code,
    pupils.grade,
    'ГУ' || kdr_skills.skill_group as task_code,
    'группа умений' as task_kind,
    null::text as difficulty,
    kdr_skills.points,
    kdr_groups.max_points
from pupils
inner join kdr_skills
    on
        pupils.load_id = kdr_skills.load_id
        and pupils.source_row = kdr_skills.source_row
left join kdr_groups
    on
        pupils.procedure_code = kdr_groups.procedure_code
        and kdr_skills.skill_group = kdr_groups.skill_group
        and pupils.school_year between kdr_groups.valid_from and kdr_groups.valid_to
where pupils.procedure_code like 'kdr%'
