{{ config(materialized='table') }}
-- Each school's result cell (procedure × subject × grade) in two consecutive years on the probit scale
-- (int_school_probits, the same categories both years), with the region's per-threshold change R_j
-- (int_region_changes). For each threshold: d_j = Δy_j − R_j, the school's change net of the region, and
-- whether it is informative (not K_j = 0 in both years, not K_j = n in both years, R_j known). For display,
-- the baseline counts: last year's share of low results and of «4»+«5» moved along the probit scale by the
-- region's change, Φ(Φ⁻¹(share) + R_j), times last year's n — what last year would have been under this
-- year's conditions (a share of 0 % or 100 % stays).
with probits as (
    select * from {{ ref('int_school_probits') }}
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
        now_.category_kind,
        now_.n_categories,
        prev.n as n_prev,
        now_.n as n_now,
        prev.low_count as low_prev,
        now_.low_count as low_now,
        prev.quality_count as quality_prev,
        now_.quality_count as quality_now,
        prev.mean_score as mean_prev,
        now_.mean_score as mean_now,
        prev.score_variance as variance_prev,
        now_.score_variance as variance_now,
        prev.k1 as k1_prev,
        prev.k2 as k2_prev,
        prev.k3 as k3_prev,
        now_.k1 as k1_now,
        now_.k2 as k2_now,
        now_.k3 as k3_now,
        now_.p1 as p1_now,
        now_.y1 - prev.y1 as dy1,
        now_.y2 - prev.y2 as dy2,
        now_.y3 - prev.y3 as dy3,
        -- different pupils in the two years: the covariances add
        now_.v11 + prev.v11 as v11,
        now_.v12 + prev.v12 as v12,
        now_.v13 + prev.v13 as v13,
        now_.v22 + prev.v22 as v22,
        now_.v23 + prev.v23 as v23,
        now_.v33 + prev.v33 as v33
    from probits as now_
    inner join probits as prev
        on
            now_.school_id = prev.school_id
            and now_.procedure_code = prev.procedure_code
            and now_.subject_code = prev.subject_code
            and now_.grade = prev.grade
            and now_.school_year = prev.school_year + 1
            and now_.category_kind = prev.category_kind
),

netted as (
    select
        raw_pairs.*,
        region.probit_change_1,
        region.probit_change_2,
        region.probit_change_3,
        region.region_probit_shift,
        100.0 * region.low_change as region_low_change_pp,
        raw_pairs.dy1 - region.probit_change_1 as d1,
        raw_pairs.dy2 - region.probit_change_2 as d2,
        raw_pairs.dy3 - region.probit_change_3 as d3,
        region.probit_change_1 is not null
        and not (raw_pairs.k1_now = 0 and raw_pairs.k1_prev = 0)
        and not (raw_pairs.k1_now = raw_pairs.n_now and raw_pairs.k1_prev = raw_pairs.n_prev) as m1,
        region.probit_change_2 is not null
        and not (raw_pairs.k2_now = 0 and raw_pairs.k2_prev = 0)
        and not (raw_pairs.k2_now = raw_pairs.n_now and raw_pairs.k2_prev = raw_pairs.n_prev) as m2,
        coalesce(
            region.probit_change_3 is not null
            and not (raw_pairs.k3_now = 0 and raw_pairs.k3_prev = 0)
            and not (raw_pairs.k3_now = raw_pairs.n_now and raw_pairs.k3_prev = raw_pairs.n_prev),
            false
        ) as m3,
        -- last year's shares below thresholds 1 and 2 on the probit scale (0 % and 100 % stay where they are)
        stats.normal_ppf(raw_pairs.low_prev::double precision / raw_pairs.n_prev) as low_prev_probit,
        stats.normal_ppf(1 - raw_pairs.quality_prev::double precision / raw_pairs.n_prev) as not_quality_prev_probit
    from raw_pairs
    left join region
        on
            raw_pairs.procedure_code = region.procedure_code
            and raw_pairs.subject_code = region.subject_code
            and raw_pairs.grade = region.grade
            and raw_pairs.school_year = region.school_year
)

select
    school_id,
    procedure_code,
    subject_code,
    grade,
    school_year,
    category_kind,
    n_categories,
    n_prev,
    n_now,
    low_prev,
    low_now,
    quality_prev,
    quality_now,
    mean_prev,
    mean_now,
    variance_prev,
    variance_now,
    k1_prev,
    k2_prev,
    k3_prev,
    k1_now,
    k2_now,
    k3_now,
    p1_now,
    d1,
    d2,
    d3,
    v11,
    v12,
    v13,
    v22,
    v23,
    v33,
    m1,
    m2,
    m3,
    probit_change_1,
    probit_change_2,
    probit_change_3,
    region_probit_shift,
    region_low_change_pp,
    -- last year moved along the probit scale by the region's change (no region estimate: not moved)
    least(greatest(
        round(n_prev * stats.normal_cdf(low_prev_probit + coalesce(probit_change_1, 0))), 0
    ), n_prev)::integer as low_base,
    least(greatest(
        round(n_prev * (1 - stats.normal_cdf(not_quality_prev_probit + coalesce(probit_change_2, 0)))), 0
    ), n_prev)::integer as quality_base,
    -- the same baseline as a share, unrounded (the net change of the share of low results)
    stats.normal_cdf(low_prev_probit + coalesce(probit_change_1, 0)) as low_base_share
from netted
