{{ config(materialized='table') }}
-- Small schools (fewer than reliability_low_n participants in one of two consecutive years): the
-- posterior probability that the share of «2» fell, against the region's own change (last year's count is
-- the baseline of int_school_result_pairs). Each year's share has the posterior
-- Beta(mu·kappa + x, (1 − mu)·kappa + n − x) under one prior for both years (the two years' regional
-- means averaged, the weaker strength); the probability P(share now < share before) is integrated
-- numerically (stats.beta_less_probability), once per distinct pair of posteriors. A region without any
-- «2» in a cell (a or b zero) gives no probability. Checked against scipy in tests.
with params as (
    select * from {{ ref('int_method_parameters') }}
),

pairs as (
    select
        pairs.school_id,
        pairs.procedure_code,
        pairs.subject_code,
        pairs.grade,
        pairs.school_year,
        pairs.n_now,
        pairs.low_now,
        pairs.n_prev,
        -- last year's count moved by the region's change (the baseline of int_school_result_pairs)
        pairs.low_base as low_prev
    from {{ ref('int_school_result_pairs') }} as pairs
    cross join params
    where
        least(pairs.n_now, pairs.n_prev) < params.reliability_low_n
        and pairs.low_now is not null
        and pairs.low_prev is not null
),

priors as (
    select * from {{ ref('int_low_share_priors') }}
),

small_pairs as (
    -- the prior of the two years pooled: the mean of the region's shares, the weaker of the strengths
    select
        pairs.*,
        (prior_now.region_share_low + prior_prev.region_share_low) / 2 as mu,
        least(prior_now.kappa, prior_prev.kappa) as kappa
    from pairs
    inner join priors as prior_now
        on
            pairs.procedure_code = prior_now.procedure_code
            and pairs.subject_code = prior_now.subject_code
            and pairs.grade = prior_now.grade
            and pairs.school_year = prior_now.school_year
    inner join priors as prior_prev
        on
            pairs.procedure_code = prior_prev.procedure_code
            and pairs.subject_code = prior_prev.subject_code
            and pairs.grade = prior_prev.grade
            and pairs.school_year = prior_prev.school_year + 1
),

posteriors as (
    select
        *,
        mu * kappa + low_now as a_now,
        (1 - mu) * kappa + n_now - low_now as b_now,
        mu * kappa + low_prev as a_prev,
        (1 - mu) * kappa + n_prev - low_prev as b_prev
    from small_pairs
),

distinct_posteriors as (
    -- many small schools share the same counts and prior: integrate each pair of posteriors once
    select
        posteriors.a_now,
        posteriors.b_now,
        posteriors.a_prev,
        posteriors.b_prev,
        stats.beta_less_probability(
            posteriors.a_now, posteriors.b_now, posteriors.a_prev, posteriors.b_prev,
            params.posterior_grid_points::integer
        ) as p_improved
    from (
        select distinct
            a_now,
            b_now,
            a_prev,
            b_prev
        from posteriors
        where least(a_now, b_now, a_prev, b_prev) > 0
    ) as posteriors
    cross join params
)

select
    posteriors.school_id,
    posteriors.procedure_code,
    posteriors.subject_code,
    posteriors.grade,
    posteriors.school_year,
    -- P(share now < share before)
    distinct_posteriors.p_improved
from posteriors
inner join distinct_posteriors
    on
        posteriors.a_now = distinct_posteriors.a_now
        and posteriors.b_now = distinct_posteriors.b_now
        and posteriors.a_prev = distinct_posteriors.a_prev
        and posteriors.b_prev = distinct_posteriors.b_prev
