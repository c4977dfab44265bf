{{ config(materialized='table') }}
-- ВПР primary-score histograms: one row per school × school year × subject × grade × score with the number of
-- pupils at that score. From pupil rows where the school sent them (the pupils int_school_results counts);
-- otherwise from the ФИС ОКО score distribution (report before flat extract, latest load), whose shares give
-- count = round(share · n / 100) — ФИС ОКО prints shares to 0.01 %, so the rounding error is under half a pupil.
-- Every score 0..maximum has a row (zeros included), so windows below a cut can be summed directly.
-- pct_total is the distribution's sum of shares (100 for pupil rows); a cell whose shares do not add up to
-- 100 % (within share_sum_tolerance_pp) keeps its rows with distribution_ok = false and is not read by O3.
with pupils as (
    select * from {{ ref('int_pupil_results_unioned') }}
    where procedure_code = 'vpr' and school_id is not null and primary_score is not null
),

params as (
    select share_sum_tolerance_pp from {{ ref('int_method_parameters') }}
),

pupil_cells as (
    select
        school_id,
        school_year,
        subject_code,
        grade,
        max(max_primary_score) as max_score,
        count(*) as n_participants
    from pupils
    group by school_id, school_year, subject_code, grade
),

pupil_counts as (
    select
        school_id,
        school_year,
        subject_code,
        grade,
        primary_score::integer as score,
        count(*) as pupils
    from pupils
    group by school_id, school_year, subject_code, grade, primary_score
),

from_pupils as (
    select
        pupil_cells.school_id,
        pupil_cells.school_year,
        pupil_cells.subject_code,
        pupil_cells.grade,
        scores.score,
        coalesce(pupil_counts.pupils, 0) as pupils,
        pupil_cells.n_participants,
        pupil_cells.max_score,
        'individual' as data_basis,
        100.0 as pct_total,
        true as distribution_ok
    from pupil_cells
    cross join lateral generate_series(0, pupil_cells.max_score) as scores (score)
    left join pupil_counts
        on
            pupil_cells.school_id = pupil_counts.school_id
            and pupil_cells.school_year = pupil_counts.school_year
            and pupil_cells.subject_code = pupil_counts.subject_code
            and pupil_cells.grade = pupil_counts.grade
            and scores.score = pupil_counts.score
),

distributions as (
    -- one distribution per cell without pupil rows: the report before the flat extract, the latest load
    select distinct on (dist.school_id, dist.school_year, dist.subject_code, dist.grade) dist.*
    from {{ ref('stg_fis_oko__vpr_score_distributions') }} as dist
    where
        dist.subject_code is not null
        and not exists (
            select 1 from pupil_cells
            where
                pupil_cells.school_id = dist.school_id
                and pupil_cells.school_year = dist.school_year
                and pupil_cells.subject_code = dist.subject_code
                and pupil_cells.grade = dist.grade
        )
    order by
        dist.school_id asc, dist.school_year asc, dist.subject_code asc, dist.grade asc,
        dist.source_rank asc, dist.load_id desc, dist.source_row desc
),

points as (
    select * from {{ ref('stg_fis_oko__vpr_score_points') }}
),

report_counts as (
    select
        points.source_rank,
        points.load_id,
        points.source_row,
        points.score::integer as score,
        sum(points.pct) as pct
    from points
    group by points.source_rank, points.load_id, points.source_row, points.score
),

from_reports as (
    select
        distributions.school_id,
        distributions.school_year,
        distributions.subject_code,
        distributions.grade,
        scores.score,
        coalesce(round(report_counts.pct * distributions.n_participants / 100.0), 0)::bigint as pupils,
        distributions.n_participants::bigint as n_participants,
        distributions.max_score::integer as max_score,
        'aggregated' as data_basis,
        distributions.pct_total::double precision as pct_total,
        coalesce(
            distributions.n_participants >= 1
            and abs(distributions.pct_total - 100) <= params.share_sum_tolerance_pp, false
        ) as distribution_ok
    from distributions
    cross join params
    cross join lateral generate_series(0, distributions.max_score::integer) as scores (score)
    left join report_counts
        on
            distributions.source_rank = report_counts.source_rank
            and distributions.load_id = report_counts.load_id
            and distributions.source_row = report_counts.source_row
            and scores.score = report_counts.score
)

select * from from_pupils
union all
select * from from_reports
