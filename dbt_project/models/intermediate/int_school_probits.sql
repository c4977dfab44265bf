{{ config(materialized='table') }}
-- Each consistent result cell on the probit scale of its cumulative shares (docs/research/issue9_dynamics.md
-- §1): the ordered categories are the marks «2»…«5» where they exist, else the КДР levels L0…L3, else
-- low / middle / «4»+«5» (two thresholds). K_j = pupils at or below threshold j; with ½ added to each
-- category (probit_continuity), p̃_j = (K_j + ½·j) / (n + ½·C) stays strictly inside (0, 1) and increasing, so
-- y_j = Φ⁻¹(p̃_j) is finite and the delta-method covariance Cov(y_j, y_k) = p̃_j(1 − p̃_k) / (n φ(y_j) φ(y_k)),
-- j ≤ k, is never singular. A uniform change of cut scores moves every school's y_j by the same amount.
with results as (
    select * from {{ ref('int_school_results') }}
    where is_consistent and share_low is not null and share_quality is not null
),

params as (
    select max(value) filter (where parameter_code = 'probit_continuity')::double precision as continuity
    from {{ ref('method_parameters') }}
),

categorised as (
    -- cumulative shares (%) below each threshold: marks, else levels, else low / not «4»+«5»
    select
        results.*,
        case
            when
                num_nulls(results.share_mark_2, results.share_mark_3, results.share_mark_4, results.share_mark_5) = 0
                then 'marks'
            when
                num_nulls(results.share_level_0, results.share_level_1, results.share_level_2, results.share_level_3)
                = 0
                then 'levels'
            else 'low_quality'
        end as category_kind,
        case
            when
                num_nulls(results.share_mark_2, results.share_mark_3, results.share_mark_4, results.share_mark_5) = 0
                then results.share_mark_2
            when
                num_nulls(results.share_level_0, results.share_level_1, results.share_level_2, results.share_level_3)
                = 0
                then results.share_level_0
            else results.share_low
        end as cum_1,
        case
            when
                num_nulls(results.share_mark_2, results.share_mark_3, results.share_mark_4, results.share_mark_5) = 0
                then results.share_mark_2 + results.share_mark_3
            when
                num_nulls(results.share_level_0, results.share_level_1, results.share_level_2, results.share_level_3)
                = 0
                then results.share_level_0 + results.share_level_1
            else 100 - results.share_quality
        end as cum_2,
        case
            when
                num_nulls(results.share_mark_2, results.share_mark_3, results.share_mark_4, results.share_mark_5) = 0
                then results.share_mark_2 + results.share_mark_3 + results.share_mark_4
            when
                num_nulls(results.share_level_0, results.share_level_1, results.share_level_2, results.share_level_3)
                = 0
                then results.share_level_0 + results.share_level_1 + results.share_level_2
        end as cum_3
    from results
),

counted as (
    -- counts within 0..n and non-decreasing (shares rounded to hundredths may cross by one pupil)
    select
        school_id,
        procedure_code,
        subject_code,
        grade,
        school_year,
        result_source,
        category_kind,
        n_participants::integer as n,
        least(round(share_low * n_participants / 100.0), n_participants)::integer as low_count,
        least(round(share_quality * n_participants / 100.0), n_participants)::integer as quality_count,
        mean_score_100::double precision as mean_score,
        score_variance::double precision as score_variance,
        least(greatest(round(cum_1 * n_participants / 100.0), 0), n_participants)::integer as k1,
        least(greatest(round(cum_2 * n_participants / 100.0), round(cum_1 * n_participants / 100.0), 0), n_participants)
        ::integer as k2,
        case
            when cum_3 is not null then
                least(greatest(
                    round(cum_3 * n_participants / 100.0), round(cum_2 * n_participants / 100.0),
                    round(cum_1 * n_participants / 100.0), 0
                ), n_participants)
        end::integer as k3,
        case when cum_3 is not null then 4 else 3 end as n_categories
    from categorised
),

corrected as (
    select
        counted.*,
        (counted.k1 + params.continuity) / (counted.n + params.continuity * counted.n_categories) as p1,
        (counted.k2 + 2 * params.continuity) / (counted.n + params.continuity * counted.n_categories) as p2,
        case
            when counted.k3 is not null
                then (counted.k3 + 3 * params.continuity) / (counted.n + params.continuity * counted.n_categories)
        end as p3
    from counted
    cross join params
),

probits as (
    select
        *,
        stats.normal_ppf(p1) as y1,
        stats.normal_ppf(p2) as y2,
        stats.normal_ppf(p3) as y3
    from corrected
)

select
    school_id,
    procedure_code,
    subject_code,
    grade,
    school_year,
    result_source,
    category_kind,
    n_categories,
    n,
    low_count,
    quality_count,
    k1,
    k2,
    k3,
    p1,
    p2,
    p3,
    y1,
    y2,
    y3,
    -- the six distinct elements of the delta-method covariance (j ≤ k)
    stats.probit_cov(p1, p1, n) as v11,
    stats.probit_cov(p1, p2, n) as v12,
    stats.probit_cov(p1, p3, n) as v13,
    stats.probit_cov(p2, p2, n) as v22,
    stats.probit_cov(p2, p3, n) as v23,
    stats.probit_cov(p3, p3, n) as v33,
    -- the mean mark and its variance (marks only), for the region's break on the mean mark
    case
        when category_kind = 'marks' then
            (2.0 * k1 + 3.0 * (k2 - k1) + 4.0 * (k3 - k2) + 5.0 * (n - k3)) / n
    end as mean_mark,
    case
        when category_kind = 'marks' then
            (4.0 * k1 + 9.0 * (k2 - k1) + 16.0 * (k3 - k2) + 25.0 * (n - k3)) / n
    end as mean_mark_square,
    mean_score,
    score_variance
from probits
