{{ config(materialized='table') }}
-- Each school's result cell (procedure × subject × grade) in two consecutive years, with the counts of low
-- and «4»+«5» results, and the baseline: last year's counts moved by the region's own change
-- (int_region_changes), kept within 0..n — what last year would have been under this year's conditions.
-- Both dynamics models judge the change against this baseline (indicators.md §5).
with results as (
    select
        *,
        -- within 0..n: shares within the rounding tolerance of 100 % may round one count above n (a NULL
        -- share stays NULL: least() would drop it)
        case
            when share_low is not null then least(round(share_low * n_participants / 100.0), n_participants)
        end::integer as low_count,
        case
            when share_quality is not null then least(round(share_quality * n_participants / 100.0), n_participants)
        end::integer as quality_count
    from {{ ref('int_school_results') }}
    -- only cells that can be computed: participants present and shares that make sense (data_issue empty)
    where is_consistent
),

region as (
    select * from {{ ref('int_region_changes') }}
),

raw_pairs as (
    select
        now_.school_id,
        now_.procedure_code,
        now_.subject_code,
        now_.grade,
        now_.school_year,
        prev.n_participants::integer as n_prev,
        now_.n_participants::integer as n_now,
        prev.low_count as low_prev,
        now_.low_count as low_now,
        prev.quality_count as quality_prev,
        now_.quality_count as quality_now,
        prev.mean_score_100::double precision as mean_prev,
        now_.mean_score_100::double precision as mean_now,
        prev.score_variance::double precision as variance_prev,
        now_.score_variance::double precision as variance_now
    from results as now_
    inner join results as prev
        on
            now_.school_id = prev.school_id
            and now_.procedure_code = prev.procedure_code
            and now_.subject_code = prev.subject_code
            and now_.grade = prev.grade
            and now_.school_year = prev.school_year + 1
)

select
    raw_pairs.school_id,
    raw_pairs.procedure_code,
    raw_pairs.subject_code,
    raw_pairs.grade,
    raw_pairs.school_year,
    raw_pairs.n_prev,
    raw_pairs.n_now,
    raw_pairs.low_prev,
    raw_pairs.low_now,
    raw_pairs.quality_prev,
    raw_pairs.quality_now,
    raw_pairs.mean_prev,
    raw_pairs.mean_now,
    raw_pairs.variance_prev,
    raw_pairs.variance_now,
    100.0 * coalesce(region.low_change, 0) as region_low_change_pp,
    least(
        greatest(round(raw_pairs.low_prev + coalesce(region.low_change, 0) * raw_pairs.n_prev), 0),
        raw_pairs.n_prev
    )::integer as low_base,
    least(
        greatest(round(raw_pairs.quality_prev + coalesce(region.quality_change, 0) * raw_pairs.n_prev), 0),
        raw_pairs.n_prev
    )::integer as quality_base
from raw_pairs
left join region
    on
        raw_pairs.procedure_code = region.procedure_code
        and raw_pairs.subject_code = region.subject_code
        and raw_pairs.grade = region.grade
        and raw_pairs.school_year = region.school_year
