{{ config(materialized='table') }}
-- School results per procedure × subject × grade × school year, unsuppressed (for the methods that
-- need every school). From pupil rows where they exist, otherwise from the ФИС ОКО «Статистика по
-- отметкам» report, so schools with only aggregated reports get the same results.
with pupils as (
    select * from {{ ref('int_pupil_results_unioned') }}
),

from_pupils as (
    select
        procedure_code,
        school_id,
        school_year,
        subject_code,
        grade,
        'individual' as result_source,
        count(*) as n_participants,
        100.0 * avg(is_low::integer) as share_low,
        100.0 * avg(is_quality::integer) as share_quality,
        100.0 * avg((mark = 2)::integer) as share_mark_2,
        100.0 * avg((mark = 3)::integer) as share_mark_3,
        100.0 * avg((mark = 4)::integer) as share_mark_4,
        100.0 * avg((mark = 5)::integer) as share_mark_5,
        100.0 * avg((level_code = 'L0')::integer) as share_level_0,
        100.0 * avg((level_code = 'L1')::integer) as share_level_1,
        100.0 * avg((level_code = 'L2')::integer) as share_level_2,
        100.0 * avg((level_code = 'L3')::integer) as share_level_3,
        avg(score_100) as mean_score_100,
        var_samp(score_100) as score_variance
    from pupils
    where school_id is not null
    group by procedure_code, school_id, school_year, subject_code, grade
),

reports as (
    select * from {{ ref('stg_fis_oko__vpr_mark_stats') }}
    where org_level = 'school' and school_id is not null
),

from_reports as (
    select
        'vpr' as procedure_code,
        reports.school_id,
        reports.school_year,
        reports.subject_code,
        reports.grade,
        'aggregated' as result_source,
        reports.n_participants::bigint as n_participants,
        reports.pct_2 as share_low,
        reports.pct_4 + reports.pct_5 as share_quality,
        reports.pct_2 as share_mark_2,
        reports.pct_3 as share_mark_3,
        reports.pct_4 as share_mark_4,
        reports.pct_5 as share_mark_5,
        null::numeric as share_level_0,
        null::numeric as share_level_1,
        null::numeric as share_level_2,
        null::numeric as share_level_3,
        null::numeric as mean_score_100,
        null::numeric as score_variance
    from reports
    where not exists (
        select 1 from from_pupils
        where
            from_pupils.procedure_code = 'vpr'
            and from_pupils.school_id = reports.school_id
            and from_pupils.school_year = reports.school_year
            and from_pupils.subject_code = reports.subject_code
            and from_pupils.grade = reports.grade
    )
)

select * from from_pupils
union all
select * from from_reports
