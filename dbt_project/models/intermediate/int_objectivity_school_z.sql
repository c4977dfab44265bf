{{ config(materialized='table') }}
-- The school's mean score of a cell standardised against the region's school cells (same procedure × year ×
-- subject × grade), for the objectivity checks that follow a school across years (O5 jump then fall, O6
-- cohort drop) and its spread (O9). z = (school mean − region mean) / SD of the school cells' means;
-- z_variance is the pupils' variance of the score on the same scale, so z_variance / n is the sampling
-- variance of z. The region's mean weights the pupils; its SD is taken over cells of at least min_n.
with params as (
    {{ objectivity_parameters('O5', ['min_n']) }}
),

cells as (
    select
        results.procedure_code,
        results.school_id,
        results.school_year,
        results.subject_code,
        results.grade,
        results.result_source,
        results.n_participants,
        results.mean_score_100::double precision as mean_score_100,
        results.score_variance::double precision as score_variance
    from {{ ref('int_school_results') }} as results
    inner join params on results.school_year = params.school_year
    where
        results.procedure_code in ('vpr', 'oge')
        and results.is_consistent
        and results.mean_score_100 is not null
        and results.score_variance is not null
        and results.n_participants >= params.min_n
),

region as (
    select
        procedure_code,
        school_year,
        subject_code,
        grade,
        -- summed as numeric: exact, so the same cells give the same value in whatever order they are read
        (sum(n_participants * mean_score_100::numeric) / sum(n_participants))::double precision as region_mean,
        stddev_samp(mean_score_100::numeric)::double precision as between_sd,
        count(*) as n_cells
    from cells
    group by procedure_code, school_year, subject_code, grade
)

select
    cells.*,
    region.region_mean,
    region.between_sd,
    region.n_cells,
    (cells.mean_score_100 - region.region_mean) / nullif(region.between_sd, 0) as z,
    cells.score_variance / nullif(region.between_sd ^ 2, 0) as z_variance
from cells
inner join region
    on
        cells.procedure_code = region.procedure_code
        and cells.school_year = region.school_year
        and cells.subject_code = region.subject_code
        and cells.grade = region.grade
where region.n_cells >= 3
