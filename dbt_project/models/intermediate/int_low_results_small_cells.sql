-- ШНОР method, step 1b: a small school's cells below n_min participants (a grade of 3 pupils) pooled over its grades
-- of the same procedure × subject and year, and scored when the pooled cell reaches n_min — else a small school
-- disappears from identification although it has results. The pooled cell is shrunk and standardised against the
-- region's by-grade distributions (int_low_results_cells, cells of at least n_min) mixed at the school's grades.
with results as (
    select * from {{ ref('int_school_results') }}
),

params as (
    select n_min_identification as n_min from {{ ref('int_method_parameters') }}
),

subjects as (
    select * from {{ ref('identification_subjects') }}
),

small as (
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
    where results.n_participants between 1 and params.n_min - 1 and results.is_consistent
),

by_grade as (
    select
        procedure_code,
        subject_code,
        grade,
        school_year,
        max(region_share_low) as region_share_low,
        max(kappa) as kappa,
        max(grand_mean) as grand_mean,
        max(tau2) as tau2,
        max(region_mean_score) as region_mean_score,
        avg(share_low_shrunk) as low_mean,
        stddev_samp(share_low_shrunk) as low_sd,
        avg(mean_score_shrunk) as score_mean,
        stddev_samp(mean_score_shrunk) as score_sd
    from {{ ref('int_low_results_cells') }}
    group by procedure_code, subject_code, grade, school_year
),

pooled as (
    -- the region's parameters weighted by the school's participants per grade
    select
        small.school_id,
        small.procedure_code,
        small.subject_code,
        small.school_year,
        min(small.grade) as first_grade,
        string_agg(small.grade::text, ', ' order by small.grade) as grades,
        sum(small.n) as n,
        case when count(small.x) = count(*) then sum(small.x) end as x,
        case when count(small.mean_score) = count(*) then sum(small.n * small.mean_score) / sum(small.n) end
            as mean_score,
        sum(small.n * small.score_variance) / sum(small.n) as score_variance,
        sum(small.n * by_grade.region_share_low) / sum(small.n) as region_share_low,
        sum(small.n * by_grade.kappa) / sum(small.n) as kappa,
        sum(small.n * by_grade.grand_mean) / sum(small.n) as grand_mean,
        sum(small.n * by_grade.tau2) / sum(small.n) as tau2,
        sum(small.n * by_grade.region_mean_score) / sum(small.n) as region_mean_score,
        sum(small.n * by_grade.low_mean) / sum(small.n) as low_mean,
        sum(small.n * by_grade.low_sd) / sum(small.n) as low_sd,
        sum(small.n * by_grade.score_mean) / sum(small.n) as score_mean,
        sum(small.n * by_grade.score_sd) / sum(small.n) as score_sd
    from small
    inner join by_grade using (procedure_code, subject_code, grade, school_year)
    group by small.school_id, small.procedure_code, small.subject_code, small.school_year
),

scored as (
    select
        pooled.*,
        (pooled.x + pooled.kappa * pooled.region_share_low) / (pooled.n + pooled.kappa) as share_low_shrunk,
        pooled.grand_mean
        + pooled.tau2 / (pooled.tau2 + coalesce(pooled.score_variance, 0) / pooled.n)
        * (pooled.mean_score - pooled.grand_mean) as mean_score_shrunk
    from pooled
    cross join params
    where pooled.n >= params.n_min
),

standardised as (
    select
        *,
        (share_low_shrunk - low_mean) / nullif(low_sd, 0) as z_low,
        (score_mean - mean_score_shrunk) / nullif(score_sd, 0) as z_score
    from scored
)

select
    school_id,
    procedure_code,
    subject_code,
    school_year,
    first_grade,
    grades,
    n,
    x,
    mean_score,
    region_share_low,
    region_mean_score,
    share_low_shrunk,
    mean_score_shrunk,
    z_low,
    z_score,
    (coalesce(z_low, 0) + coalesce(z_score, 0))
    / nullif((z_low is not null)::integer + (z_score is not null)::integer, 0) as cell_z
from standardised
