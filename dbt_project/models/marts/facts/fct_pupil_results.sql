-- One row per pupil × procedure × subject × grade × school year (ВПР, ОГЭ, ЕГЭ, КДР), built on
-- int_pupil_results_unioned. The official mark and test score stay as in the files; beside them the
-- values the reference scales give for the primary score, to validate the files.
with pupils as (
    select * from {{ ref('int_pupil_results_unioned') }}
),

condition_points as (
    select * from {{ ref('int_pupil_condition_points') }}
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

-- the top of an ЕГЭ conversion scale is the maximum primary score (gia_max_primary lacks some subjects)
ege_scale_tops as (
    select
        subject_code,
        valid_from,
        valid_to,
        max(primary_score) as max_primary_score
    from ege_score_scales
    group by subject_code, valid_from, valid_to
),

kdr_maxima as (
    select
        procedure_code,
        valid_from,
        valid_to,
        sum(max_points) as max_primary_score
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
    left join condition_points
        on
            pupils.procedure_code = condition_points.procedure_code
            and pupils.load_id = condition_points.load_id
            and pupils.source_row = condition_points.source_row
    -- the highest mark whose minimum score (and extra condition) the pupil meets; per pupil over the few
    -- scale rows, so no pupil-sized join is left to the planner's guesses
    left join lateral (
        select max(mark_scales.mark) as scale_mark
        from mark_scales
        where
            mark_scales.procedure_code = pupils.procedure_code
            and mark_scales.subject_code = pupils.subject_code
            and mark_scales.grade = pupils.grade
            and pupils.school_year between mark_scales.valid_from and mark_scales.valid_to
            and pupils.primary_score >= mark_scales.min_primary_score
            and (
                mark_scales.condition_tasks is null
                or coalesce(condition_points.condition_points, 0) >= mark_scales.condition_min_points
            )
    ) as scale_marks on true
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
        case
            when scored.result_kind = 'level' then scored.score_100
            else 100.0 * scored.primary_score / nullif(scored.max_score, 0)
        end, 2
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
