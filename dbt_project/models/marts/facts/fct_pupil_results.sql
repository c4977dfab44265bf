-- One row per pupil × procedure × subject × grade × school year (ВПР, ОГЭ, ЕГЭ, КДР), built on
-- int_pupil_results_unioned. The official mark and test score stay as in the files; beside them the
-- values the reference scales give for the primary score, to validate the files.
with pupils as (
    select * from {{ ref('int_pupil_results_unioned') }}
),

pupil_tasks as (
    select * from {{ ref('int_pupil_task_scores') }}
),

schools as (
    select * from {{ ref('dim_school') }}
),

procedures as (
    select * from {{ ref('procedures') }}
),

vpr_mark_scales as (
    select * from {{ ref('vpr_mark_scales') }}
),

oge_mark_scales as (
    select * from {{ ref('oge_mark_scales') }}
),

ege_score_scales as (
    select * from {{ ref('ege_score_scales') }}
),

kdr_skill_groups as (
    select * from {{ ref('kdr_skill_groups') }}
),

mark_scales as (
    select
        'vpr' as procedure_code,
        subject_code,
        grade,
        valid_from,
        valid_to,
        mark,
        min_primary_score,
        null::text as condition_tasks,
        null::integer as condition_min_points
    from vpr_mark_scales
    union all
    select
        'oge' as procedure_code,
        subject_code,
        9 as grade,
        valid_from,
        valid_to,
        mark,
        min_primary_score,
        condition_tasks,
        condition_min_points
    from oge_mark_scales
),

-- the tasks of an extra condition (ОГЭ mathematics: geometry), one row per task
condition_tasks as (
    select
        procedure_code,
        subject_code,
        grade,
        valid_from,
        valid_to,
        mark,
        unnest(string_to_array(condition_tasks, ' ')) as task_code
    from mark_scales
    where condition_tasks is not null
),

condition_points as (
    select
        pupil_tasks.procedure_code,
        pupil_tasks.load_id,
        pupil_tasks.source_row,
        condition_tasks.mark,
        sum(pupil_tasks.points) as points
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
    group by pupil_tasks.procedure_code, pupil_tasks.load_id, pupil_tasks.source_row, condition_tasks.mark
),

scale_marks as (
    select
        pupils.procedure_code,
        pupils.load_id,
        pupils.source_row,
        max(mark_scales.mark) as scale_mark
    from pupils
    inner join mark_scales
        on
            pupils.procedure_code = mark_scales.procedure_code
            and pupils.subject_code = mark_scales.subject_code
            and pupils.grade = mark_scales.grade
            and pupils.school_year between mark_scales.valid_from and mark_scales.valid_to
            and pupils.primary_score >= mark_scales.min_primary_score
    left join condition_points
        on
            pupils.procedure_code = condition_points.procedure_code
            and pupils.load_id = condition_points.load_id
            and pupils.source_row = condition_points.source_row
            and mark_scales.mark = condition_points.mark
    where
        mark_scales.condition_tasks is null
        or coalesce(condition_points.points, 0) >= mark_scales.condition_min_points
    group by pupils.procedure_code, pupils.load_id, pupils.source_row
),

-- the top of an ЕГЭ conversion scale is the maximum primary score (gia_max_primary lacks some subjects)
ege_scale_tops as (
    select subject_code, valid_from, valid_to, max(primary_score) as max_primary_score
    from ege_score_scales
    group by subject_code, valid_from, valid_to
),

kdr_maxima as (
    select procedure_code, valid_from, valid_to, sum(max_points) as max_primary_score
    from kdr_skill_groups
    group by procedure_code, valid_from, valid_to
),

scored as (
    select
        pupils.*,
        procedures.result_kind,
        coalesce(pupils.max_primary_score, ege_scale_tops.max_primary_score, kdr_maxima.max_primary_score)
            as max_score,
        coalesce(scale_marks.scale_mark, ege_score_scales.mark) as scale_mark,
        ege_score_scales.test_score as scale_test_score
    from pupils
    left join procedures on pupils.procedure_code = procedures.procedure_code
    left join scale_marks
        on
            pupils.procedure_code = scale_marks.procedure_code
            and pupils.load_id = scale_marks.load_id
            and pupils.source_row = scale_marks.source_row
    left join ege_score_scales
        on
            pupils.procedure_code = 'ege'
            and pupils.subject_code = ege_score_scales.subject_code
            and pupils.school_year between ege_score_scales.valid_from and ege_score_scales.valid_to
            and pupils.primary_score = ege_score_scales.primary_score
    left join ege_scale_tops
        on
            pupils.procedure_code = 'ege'
            and pupils.subject_code = ege_scale_tops.subject_code
            and pupils.school_year between ege_scale_tops.valid_from and ege_scale_tops.valid_to
    left join kdr_maxima
        on
            pupils.procedure_code = kdr_maxima.procedure_code
            and pupils.school_year between kdr_maxima.valid_from and kdr_maxima.valid_to
)

select
    scored.participant_id::text as participant_id,
    scored.school_id::text as school_id,
    schools.municipality::text as municipality,
    scored.procedure_code::text as procedure_code,
    scored.subject_code::text as subject_code,
    scored.grade::integer as grade,
    scored.school_year::integer as school_year,
    scored.primary_score::numeric(6, 1) as primary_score,
    scored.max_score::integer as max_primary_score,
    -- КДР: the percent the regional centre reports; otherwise the primary score over the maximum
    round(
        case when scored.result_kind = 'level' then scored.score_100
            else 100.0 * scored.primary_score / nullif(scored.max_score, 0) end, 2
    )::numeric(5, 2) as score_pct,
    scored.mark::integer as mark,
    scored.level_code::text as level_code,
    scored.test_score::integer as test_score,
    scored.is_low,
    scored.is_quality,
    scored.scale_mark::integer as scale_mark,
    scored.scale_test_score::integer as scale_test_score,
    case
        when scored.scale_mark is not null or scored.scale_test_score is not null
            then
                (scored.scale_mark is null or scored.mark is not distinct from scored.scale_mark)
                and (scored.scale_test_score is null or scored.test_score is not distinct from scored.scale_test_score)
    end as matches_scale
from scored
left join schools on scored.school_id = schools.school_id
