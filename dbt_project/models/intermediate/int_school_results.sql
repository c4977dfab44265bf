{{ config(materialized='table') }}
-- School results per procedure × subject × grade × school year, unsuppressed (for the methods that
-- need every school). One source per cell, never two: pupil rows where they exist; otherwise the ФИС ОКО
-- «Статистика по отметкам» report («Аналитика»); otherwise the regional flat extract of marks (the same
-- figures in another layout, read only where the report is missing). Within one source a cell given twice
-- takes the latest load. The mean score and its variance of a report cell come from the score
-- distribution of the same cell (stg_fis_oko__vpr_score_distributions) when it counts the same participants.
-- Each cell is checked: a report cell without participants, with a share outside 0–100 % or with shares
-- that do not add up to 100 % (within share_sum_tolerance_pp) keeps its row with data_issue (Russian) and
-- is_consistent = false; the statistical methods read only consistent cells.
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

aggregated as (
    select
        1 as source_rank,
        'aggregated' as result_source,
        load_id,
        source_row,
        school_id,
        school_year,
        subject_code,
        grade,
        n_participants,
        pct_2,
        pct_3,
        pct_4,
        pct_5
    from {{ ref('stg_fis_oko__vpr_mark_stats') }}
    where org_level = 'school' and school_id is not null
    union all
    select
        2 as source_rank,
        'regional_extract' as result_source,
        load_id,
        source_row,
        school_id,
        school_year,
        subject_code,
        grade,
        n_participants,
        pct_2,
        pct_3,
        pct_4,
        pct_5
    from {{ ref('stg_fis_oko__vpr_flat_marks') }}
),

reports as (
    -- one row per cell: the report before the flat extract, the latest load within a source
    select distinct on (school_id, school_year, subject_code, grade) *
    from aggregated
    order by school_id asc, school_year asc, subject_code asc, grade asc, source_rank asc, load_id desc, source_row desc
),

distributions as (
    -- the score distribution of the same cell: the report before the flat extract (mean and variance)
    select distinct on (school_id, school_year, subject_code, grade) *
    from {{ ref('stg_fis_oko__vpr_score_distributions') }}
    where mean_score_100 is not null
    order by school_id asc, school_year asc, subject_code asc, grade asc, source_rank asc, load_id desc, source_row desc
),

from_reports as (
    select
        'vpr' as procedure_code,
        reports.school_id,
        reports.school_year,
        reports.subject_code,
        reports.grade,
        reports.result_source,
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
        distributions.mean_score_100::numeric as mean_score_100,
        distributions.score_variance::numeric as score_variance
    from reports
    left join distributions
        on
            reports.school_id = distributions.school_id
            and reports.school_year = distributions.school_year
            and reports.subject_code = distributions.subject_code
            and reports.grade = distributions.grade
            -- the distribution counts the same participants as the marks
            and reports.n_participants = distributions.n_participants
    where not exists (
        select 1 from from_pupils
        where
            from_pupils.procedure_code = 'vpr'
            and from_pupils.school_id = reports.school_id
            and from_pupils.school_year = reports.school_year
            and from_pupils.subject_code = reports.subject_code
            and from_pupils.grade = reports.grade
    )
),

unioned as (
    select * from from_pupils
    union all
    select * from from_reports
),

params as (
    select share_sum_tolerance_pp from {{ ref('int_method_parameters') }}
),

checked as (
    select
        unioned.*,
        case
            when unioned.n_participants is null then 'нет данных: не указано число участников'
            when unioned.n_participants <= 0 then 'нет данных: число участников 0'
            when unioned.result_source = 'individual' then null
            when
                unioned.share_mark_2 is null or unioned.share_mark_3 is null
                or unioned.share_mark_4 is null or unioned.share_mark_5 is null
                then 'нет данных: не указаны доли отметок'
            when
                least(unioned.share_mark_2, unioned.share_mark_3, unioned.share_mark_4, unioned.share_mark_5) < 0
                or greatest(unioned.share_mark_2, unioned.share_mark_3, unioned.share_mark_4, unioned.share_mark_5)
                > 100
                then 'несогласованная строка: доля отметки вне 0–100 %'
            when
                abs(unioned.share_mark_2 + unioned.share_mark_3 + unioned.share_mark_4 + unioned.share_mark_5 - 100)
                > params.share_sum_tolerance_pp
                then
                    'несогласованная строка: сумма долей отметок '
                    || round(
                        unioned.share_mark_2 + unioned.share_mark_3 + unioned.share_mark_4 + unioned.share_mark_5, 2
                    )
                    || ' % вместо 100 %'
        end as data_issue
    from unioned
    cross join params
)

select
    *,
    data_issue is null as is_consistent
from checked
