{{ config(materialized='table') }}
-- The beta prior of a school's share of low results in each cell group (procedure × subject × grade ×
-- year), estimated by the method of moments over the schools with at least n_min participants: the mean
-- share mu, and the strength kappa from the between-school variance beyond binomial noise (empirical
-- Bayes). Used to shrink small schools' shares (ШНОР) and for P(improved) of small schools (dynamics).
with results as (
    select * from {{ ref('int_school_results') }}
),

params as (
    select n_min_identification as n_min from {{ ref('int_method_parameters') }}
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
    where results.n_participants >= params.n_min and results.share_low is not null
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
        greatest(var_samp(cells.x / cells.n) - avg(group_means.mu * (1 - group_means.mu) / cells.n), 1e-6)
            as between_variance
    from cells
    inner join group_means using (procedure_code, subject_code, grade, school_year)
    group by cells.procedure_code, cells.subject_code, cells.grade, cells.school_year, group_means.mu
)

select
    procedure_code,
    subject_code,
    grade,
    school_year,
    mu as region_share_low,
    n_schools,
    least(greatest(mu * (1 - mu) / between_variance - 1, 1), 10000) as kappa
from moments
