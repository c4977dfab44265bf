{{ config(materialized='table') }}
-- Small schools (fewer than reliability_low_n participants in one of two consecutive years): the
-- posterior probability that the share of «2» fell, against the region's own change (last year's count is
-- moved by it, as in int_school_dynamics). Each year's share has the posterior
-- Beta(mu·kappa + x, (1 − mu)·kappa + n − x) under one prior for both years (the two years' regional
-- means averaged, the weaker strength); the probability P(share now < share before) is integrated
-- numerically (stats.beta_less_probability), once per distinct pair of posteriors. A region without any
-- «2» in a cell (a or b zero) gives no probability. Checked against scipy in tests.
with results as (
    select * from {{ ref('int_school_results') }}
),

params as (
    select * from {{ ref('int_method_parameters') }}
),

region as (
    select * from {{ ref('int_region_changes') }}
),

priors as (
    select * from {{ ref('int_low_share_priors') }}
),

pairs as (
    select
        now_.school_id,
        now_.procedure_code,
        now_.subject_code,
        now_.grade,
        now_.school_year,
        now_.n_participants as n_now,
        round(now_.share_low * now_.n_participants / 100.0) as low_now,
        prev.n_participants as n_prev,
        -- last year's count moved by the region's change (the baseline, as in int_school_dynamics)
        least(greatest(
            round(prev.share_low * prev.n_participants / 100.0 + coalesce(region.low_change, 0) * prev.n_participants),
            0
        ), prev.n_participants) as low_prev
    from results as now_
    inner join results as prev
        on
            now_.school_id = prev.school_id
            and now_.procedure_code = prev.procedure_code
            and now_.subject_code = prev.subject_code
            and now_.grade = prev.grade
            and now_.school_year = prev.school_year + 1
    left join region
        on
            now_.procedure_code = region.procedure_code
            and now_.subject_code = region.subject_code
            and now_.grade = region.grade
            and now_.school_year = region.school_year
    cross join params
    where
        least(now_.n_participants, prev.n_participants) < params.reliability_low_n
        and now_.share_low is not null
        and prev.share_low is not null
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
