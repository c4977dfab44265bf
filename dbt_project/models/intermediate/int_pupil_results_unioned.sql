-- Every pupil result of every procedure in one shape: what counts as a low result and as quality,
-- and a score on a 0–100 scale (percent of the maximum, or the ЕГЭ test score).
with vpr as (
    select * from {{ ref('stg_fis_oko__vpr_results') }}
),

gia as (
    -- one result per participant, exam, subject and year: a retake (e.g. in the additional period after a
    -- «2») replaces the earlier attempt
    select distinct on (participant_id, exam, subject_code, school_year) *
    from {{ ref('stg_rcoi__gia_results') }}
    order by participant_id asc, exam asc, subject_code asc, school_year asc, exam_date desc
),

kdr as (
    select * from {{ ref('stg_coko__kdr_results') }}
),

thresholds as (
    select * from {{ ref('ege_min_thresholds') }}
    where purpose = 'certificate'
),

gia_max as (
    select * from {{ ref('gia_max_primary') }}
)

select
    'vpr' as procedure_code,
    school_id,
    participant_id,
    school_year,
    subject_code,
    grade,
    mark,
    null::text as level_code,
    mark = 2 as is_low,
    mark >= 4 as is_quality,
    -- a primary score outside 0..maximum has no score (the row is listed in mart_data_issues)
    case
        when primary_score between 0 and max_primary_score
            then 100.0 * primary_score / nullif(max_primary_score, 0)
    end as score_100,
    -- the row behind the result, for the pupil and task facts
    load_id,
    source_row,
    primary_score::numeric as primary_score,
    max_primary_score,
    null::integer as test_score
from vpr
where mark is not null

union all

select
    gia.exam as procedure_code,
    gia.school_id,
    gia.participant_id,
    gia.school_year,
    gia.subject_code,
    case when gia.exam = 'oge' then 9 else 11 end as grade,
    gia.mark,
    null::text as level_code,
    case
        when thresholds.min_mark is not null then gia.mark < thresholds.min_mark
        when thresholds.min_test_score is not null then gia.test_score < thresholds.min_test_score
        else gia.mark = 2
    end as is_low,
    case when gia.mark is not null then gia.mark >= 4 end as is_quality,
    coalesce(
        case when gia.test_score between 0 and 100 then gia.test_score end,
        case
            when gia.primary_score between 0 and gia_max.max_primary_score
                then 100.0 * gia.primary_score / nullif(gia_max.max_primary_score, 0)
        end
    ) as score_100,
    gia.load_id,
    gia.source_row,
    gia.primary_score::numeric as primary_score,
    gia_max.max_primary_score,
    gia.test_score
from gia
left join thresholds
    on
        gia.exam = 'ege'
        and gia.school_year = thresholds.year
        and gia.subject_code = thresholds.subject_code
left join gia_max
    on
        gia.school_year = gia_max.year
        and upper(gia.exam) = gia_max.exam
        and gia.subject_code = gia_max.subject_code

union all

select
    procedure_code,
    school_id,
    participant_id,
    school_year,
    subject_code,
    grade,
    null::integer as mark,
    level_code,
    level_code = 'L0' as is_low,
    level_code in ('L2', 'L3') as is_quality,
    case when pct_of_max between 0 and 100 then pct_of_max end as score_100,
    load_id,
    source_row,
    primary_score,
    null::integer as max_primary_score,
    null::integer as test_score
from kdr
where level_code is not null
