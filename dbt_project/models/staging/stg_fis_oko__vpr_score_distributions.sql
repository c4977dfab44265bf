-- ВПР primary-score distributions of schools: the ФИС ОКО «Распределение первичных баллов» report
-- («Аналитика») and the regional flat extract of scores, one row per source row. The columns of a
-- distribution run from 0 to the work's maximum, so the maximum is the top score column; the mean and the
-- sample variance on the 0–100 scale come from the shares. A distribution whose shares do not add up to 100 %
-- (within share_sum_tolerance_pp) or without participants gives no mean.
with params as (
    select share_sum_tolerance_pp from {{ ref('int_method_parameters') }}
),

subjects as (
    select * from {{ ref('subjects') }}
),

rows_ as (
    select
        1 as source_rank,
        'aggregated' as result_source,
        load_id,
        source_row,
        school_id,
        year as school_year,
        subject,
        grade,
        n_participants
    from {{ source('raw', 'vpr_score_stats') }}
    where org_level = 'school'
    union all
    select
        2 as source_rank,
        'regional_extract' as result_source,
        load_id,
        source_row,
        school_id,
        year as school_year,
        subject,
        grade,
        n_participants
    from {{ source('raw', 'vpr_flat_scores') }}
),

points as (
    select * from {{ ref('stg_fis_oko__vpr_score_points') }}
),

moments as (
    select
        source_rank,
        load_id,
        source_row,
        max(score) as max_score,
        sum(pct) as pct_total,
        sum(score * pct) / nullif(sum(pct), 0) as mean_score,
        -- E[X²] from the shares; the variance is taken against the mean below
        sum(score::numeric * score * pct) / nullif(sum(pct), 0) as mean_square
    from points
    group by source_rank, load_id, source_row
)

select
    rows_.source_rank,
    rows_.result_source,
    rows_.load_id,
    rows_.source_row,
    rows_.school_id,
    rows_.school_year,
    subjects.subject_code,
    rows_.grade,
    rows_.n_participants,
    moments.max_score,
    moments.pct_total,
    case
        when
            rows_.n_participants >= 1 and moments.max_score > 0
            and abs(moments.pct_total - 100) <= params.share_sum_tolerance_pp
            then 100.0 * moments.mean_score / moments.max_score
    end as mean_score_100,
    -- the sample variance of the 0–100 scores (n / (n − 1) times the distribution's variance)
    case
        when
            rows_.n_participants >= 2 and moments.max_score > 0
            and abs(moments.pct_total - 100) <= params.share_sum_tolerance_pp
            then
                greatest(moments.mean_square - moments.mean_score * moments.mean_score, 0)
                * power(100.0 / moments.max_score, 2) * rows_.n_participants / (rows_.n_participants - 1)
    end as score_variance
from rows_
inner join subjects on rows_.subject = subjects.source_name
inner join moments
    on
        rows_.source_rank = moments.source_rank
        and rows_.load_id = moments.load_id
        and rows_.source_row = moments.source_row
cross join params
-- a row without its school, year or grade cannot be placed (listed in mart_data_issues)
where rows_.school_id is not null and rows_.school_year is not null and rows_.grade is not null
