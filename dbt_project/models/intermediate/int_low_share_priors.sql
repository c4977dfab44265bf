{{ config(materialized='table') }}
-- The beta prior of a school's share of low results in each cell group (procedure × subject × grade ×
-- year), estimated by the method of moments over the schools with at least n_min participants: the mean
-- share mu, and the strength kappa from the between-school variance beyond binomial noise (empirical
-- Bayes). Used to shrink small schools' shares (ШНОР).
with results as (
    select * from {{ ref('int_school_results') }}
),

params as (
    select
        n_min_identification as n_min,
        prior_kappa_min,
        prior_kappa_max,
        prior_min_schools
    from {{ ref('int_method_parameters') }}
),

cells as (
    select
        results.procedure_code,
        results.subject_code,
        results.grade,
        results.school_year,
        results.n_participants::double precision as n,
        round(results.share_low * results.n_participants / 100.0)::double precision as x
    from results
    cross join params
    where results.n_participants >= params.n_min and results.share_low is not null and results.is_consistent
),

group_means as (
    select
        procedure_code,
        subject_code,
        grade,
        school_year,
        sum(x) / sum(n) as mu
    from cells
    group by procedure_code, subject_code, grade, school_year
),

moments as (
    select
        cells.procedure_code,
        cells.subject_code,
        cells.grade,
        cells.school_year,
        group_means.mu,
        count(*) as n_schools,
        var_samp(cells.x / cells.n) - avg(group_means.mu * (1 - group_means.mu) / cells.n) as between_variance
    from cells
    inner join group_means using (procedure_code, subject_code, grade, school_year)
    group by cells.procedure_code, cells.subject_code, cells.grade, cells.school_year, group_means.mu
)

select
    moments.procedure_code,
    moments.subject_code,
    moments.grade,
    moments.school_year,
    moments.mu as region_share_low,
    moments.n_schools,
    case
        -- too few schools to tell the spread between them: a weak prior, the school's own data decide
        when moments.n_schools < params.prior_min_schools or moments.between_variance is null
            then params.prior_kappa_min
        -- no spread beyond binomial noise: the strongest prior allowed
        when moments.between_variance <= 0 then params.prior_kappa_max
        else least(
            greatest(moments.mu * (1 - moments.mu) / moments.between_variance - 1, params.prior_kappa_min),
            params.prior_kappa_max
        )
    end as kappa
from moments
cross join params
