-- ШНОР method, step 1: each school's result cells (procedure × subject × grade × year) with at least
-- n_min participants; the share of low results is shrunk towards the region's (beta-binomial empirical
-- Bayes, int_low_share_priors) and both measures are standardised within the region, so that higher = worse.
with results as (
    select * from {{ ref('int_school_results') }}
),

params as (
    select n_min_identification as n_min from {{ ref('int_method_parameters') }}
),

subjects as (
    -- the subjects the ШНОР rule reads
    select * from {{ ref('identification_subjects') }}
),

cells as (
    select
        results.school_id,
        results.procedure_code,
        results.subject_code,
        results.grade,
        results.school_year,
        results.n_participants::double precision as n,
        round(results.share_low * results.n_participants / 100.0)::double precision as x,
        results.mean_score_100::double precision as mean_score,
        results.score_variance::double precision as score_variance
    from results
    inner join subjects on results.subject_code = subjects.subject_code
    cross join params
    where results.n_participants >= params.n_min and results.is_consistent
),

priors as (
    select * from {{ ref('int_low_share_priors') }}
),

shrunk as (
    select
        cells.*,
        priors.region_share_low,
        priors.kappa
    from cells
    inner join priors using (procedure_code, subject_code, grade, school_year)
),

mean_priors as (
    -- normal-normal empirical Bayes for the mean score: tau² is the between-school variance beyond the
    -- sampling variance of the means
    select
        procedure_code,
        subject_code,
        grade,
        school_year,
        avg(mean_score) as grand_mean,
        greatest(var_samp(mean_score) - avg(score_variance / n), 1e-6) as tau2
    from cells
    where mean_score is not null and score_variance is not null
    group by procedure_code, subject_code, grade, school_year
),

posterior as (
    select
        shrunk.*,
        (shrunk.x + shrunk.kappa * shrunk.region_share_low) / (shrunk.n + shrunk.kappa) as share_low_shrunk,
        mean_priors.grand_mean
        + mean_priors.tau2 / (mean_priors.tau2 + coalesce(shrunk.score_variance, 0) / shrunk.n)
        * (shrunk.mean_score - mean_priors.grand_mean) as mean_score_shrunk,
        mean_priors.grand_mean,
        mean_priors.tau2
    from shrunk
    left join mean_priors using (procedure_code, subject_code, grade, school_year)
),

standardised as (
    select
        *,
        (share_low_shrunk - avg(share_low_shrunk) over cell_group)
        / nullif(stddev_samp(share_low_shrunk) over cell_group, 0) as z_low,
        (avg(mean_score_shrunk) over cell_group - mean_score_shrunk)
        / nullif(stddev_samp(mean_score_shrunk) over cell_group, 0) as z_score,
        -- the region's mean score over the same schools, pupil-weighted (shown beside the school's in the reasons)
        sum(n * mean_score) over cell_group
        / nullif(sum(case when mean_score is not null then n end) over cell_group, 0) as region_mean_score
    from posterior
    window cell_group as (partition by procedure_code, subject_code, grade, school_year)
)

select
    *,
    -- a cell's badness: the mean of its available standardised measures
    (coalesce(z_low, 0) + coalesce(z_score, 0))
    / nullif((z_low is not null)::integer + (z_score is not null)::integer, 0) as cell_z
from standardised
