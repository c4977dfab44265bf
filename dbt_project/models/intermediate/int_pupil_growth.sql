{{ config(materialized='table') }}
-- Growth of the same pupils from one procedure to the next year's (growth_links): a growth percentile
-- that ranks each pupil's current score among the region's pupils with a similar prior score (the
-- prior score's groups by cume_dist; the mid-rank percentile of the residual of a straight-line fit within
-- the group). A nonparametric stand-in
-- for the quantile regression of student growth percentiles: 50 is typical growth for that start.
with pupils as (
    select * from {{ ref('int_pupil_results_unioned') }}
),

links as (
    select * from {{ ref('growth_links') }}
),

params as (
    select growth_prior_groups::integer as prior_groups from {{ ref('int_method_parameters') }}
),

linked as (
    select
        links.link_code,
        now_.school_id,
        now_.participant_id,
        now_.school_year,
        prior_.school_id as prior_school_id,
        prior_.score_100 as prior_score,
        now_.score_100 as score
    from links
    inner join pupils as now_
        on
            links.procedure_code = now_.procedure_code
            and links.subject_code = now_.subject_code
            and links.grade = now_.grade
    inner join pupils as prior_
        on
            now_.participant_id = prior_.participant_id
            and prior_.school_year = now_.school_year - 1
            and links.prior_procedure_code = prior_.procedure_code
            and links.prior_subject_code = prior_.subject_code
            and links.prior_grade = prior_.grade
    where now_.score_100 is not null and prior_.score_100 is not null
),

grouped as (
    select
        linked.*,
        ceil(
            cume_dist() over (partition by linked.link_code, linked.school_year order by linked.prior_score)
            * params.prior_groups
        )::integer as prior_group
    from linked
    cross join params
),

adjusted as (
    -- within a group the prior score still varies (the tail groups are wide): rank the residual of a
    -- straight-line fit on the prior score, not the raw score, so a pupil at the bottom of a group is not
    -- pushed down; rounded so that equal residuals tie exactly
    select
        grouped.*,
        round((
            grouped.score - coalesce(
                regr_intercept(grouped.score, grouped.prior_score) over start_group
                + regr_slope(grouped.score, grouped.prior_score) over start_group * grouped.prior_score,
                avg(grouped.score) over start_group
            )
        )::numeric, 9) as residual
    from grouped
    window start_group as (partition by grouped.link_code, grouped.school_year, grouped.prior_group)
)

select
    link_code,
    school_id,
    participant_id,
    school_year,
    prior_school_id,
    prior_score,
    score,
    prior_group,
    residual,
    -- mid-rank percentile of the residual: pupils below plus half of the ties, of all pupils in the group
    100.0 * (
        rank() over start_group - 1
        + cume_dist() over start_group * count(*) over (partition by link_code, school_year, prior_group)
    ) / (2 * count(*) over (partition by link_code, school_year, prior_group)) as growth_percentile
from adjusted
window start_group as (partition by link_code, school_year, prior_group order by residual)
