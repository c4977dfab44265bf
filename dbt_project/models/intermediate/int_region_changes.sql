-- The region's own change per procedure × subject × grade from the year before (shares as fractions): the
-- baseline against which each school's change is judged (indicators.md §5), so that a region-wide shift
-- (a new scale, new cut scores, a new test) does not move every school's class.
with results as (
    -- cells with a data issue (no participants, shares that do not add up) are left out of the region
    select * from {{ ref('int_school_results') }}
    where is_consistent
),

region as (
    select
        procedure_code,
        subject_code,
        grade,
        school_year,
        sum(round(share_low * n_participants / 100.0))::double precision
        / nullif(sum(n_participants) filter (where share_low is not null), 0) as share_low,
        sum(round(share_quality * n_participants / 100.0))::double precision
        / nullif(sum(n_participants) filter (where share_quality is not null), 0) as share_quality
    from results
    group by procedure_code, subject_code, grade, school_year
)

select
    now_.procedure_code,
    now_.subject_code,
    now_.grade,
    now_.school_year,
    prev.share_low as share_low_prev,
    now_.share_low as share_low_now,
    coalesce(now_.share_low - prev.share_low, 0) as low_change,
    coalesce(now_.share_quality - prev.share_quality, 0) as quality_change
from region as now_
inner join region as prev
    on
        now_.procedure_code = prev.procedure_code
        and now_.subject_code = prev.subject_code
        and now_.grade = prev.grade
        and now_.school_year = prev.school_year + 1
