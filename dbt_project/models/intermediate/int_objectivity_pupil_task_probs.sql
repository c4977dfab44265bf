{{ config(materialized='table') }}
-- The region's task-point probabilities for O8: among the region's works of one test (school year × subject ×
-- grade) in one total-score band, the share with `points` on the task at position task_index of the work's
-- vector. Every score 0..maximum has a row (a share of 0 where nobody scored it). full_share is the task's
-- region share of full marks (its place in the Guttman order). Complete works only.
with vectors as (
    select * from {{ ref('int_objectivity_pupil_vectors') }}
    where is_complete
),

cells as (
    select
        vectors.school_year,
        vectors.subject_code,
        vectors.grade,
        vectors.band,
        task_row.task_index,
        task_row.points,
        task_row.max_points
    from vectors
    cross join
        lateral unnest(vectors.points, vectors.max_points) with ordinality as task_row (points, max_points, task_index)
),

band_sizes as (
    select
        school_year,
        subject_code,
        grade,
        band,
        count(*) as n_band
    from vectors
    group by school_year, subject_code, grade, band
),

task_max as (
    select
        school_year,
        subject_code,
        grade,
        task_index,
        max(max_points) as max_points,
        avg((points >= max_points)::integer) as full_share
    from cells
    group by school_year, subject_code, grade, task_index
),

counts as (
    select
        school_year,
        subject_code,
        grade,
        band,
        task_index,
        points,
        count(*) as n_works
    from cells
    group by school_year, subject_code, grade, band, task_index, points
)

select
    task_max.school_year,
    task_max.subject_code,
    task_max.grade,
    band_sizes.band,
    task_max.task_index::integer as task_index,
    score.points::integer as points,
    task_max.max_points,
    task_max.full_share::double precision as full_share,
    coalesce(counts.n_works, 0)::double precision / band_sizes.n_band as prob
from task_max
inner join band_sizes
    on
        task_max.school_year = band_sizes.school_year
        and task_max.subject_code = band_sizes.subject_code
        and task_max.grade = band_sizes.grade
cross join lateral generate_series(0, task_max.max_points) as score (points)
left join counts
    on
        task_max.school_year = counts.school_year
        and task_max.subject_code = counts.subject_code
        and task_max.grade = counts.grade
        and band_sizes.band = counts.band
        and task_max.task_index = counts.task_index
        and score.points = counts.points
