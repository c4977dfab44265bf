-- The region's own year-over-year change per procedure × subject × grade: a region-wide shift (a new
-- scale, new cut scores, a new test) is reported here once, as «общерегиональный сдвиг», instead of as
-- hundreds of schools changing; the schools' classes in the same cell are counted beside it. A cell with
-- fewer participants in either year than the minimum cell size publishes no shares (they would show the
-- results of one or two schools), as the school marts do.
with results as (
    select * from {{ ref('int_school_results') }}
),

dynamics as (
    select * from {{ ref('int_school_dynamics') }}
),

params as (
    select * from {{ ref('int_method_parameters') }}
),

region as (
    select
        procedure_code,
        subject_code,
        grade,
        school_year,
        count(*) as n_schools,
        sum(n_participants) as n_participants,
        sum(round(share_low * n_participants / 100.0)) as low_count
    from results
    where share_low is not null and is_consistent
    group by procedure_code, subject_code, grade, school_year
),

pairs as (
    select
        now_.procedure_code,
        now_.subject_code,
        now_.grade,
        now_.school_year,
        now_.n_schools,
        prev.n_participants as n_prev,
        now_.n_participants as n_now,
        100.0 * prev.low_count / prev.n_participants as share_low_prev,
        100.0 * now_.low_count / now_.n_participants as share_low_now,
        100.0 * stats.newcombe_lower(
            now_.low_count, now_.n_participants, prev.low_count, prev.n_participants,
            params.confidence_z
        ) as change_lower_pp,
        100.0 * stats.newcombe_upper(
            now_.low_count, now_.n_participants, prev.low_count, prev.n_participants,
            params.confidence_z
        ) as change_upper_pp,
        params.region_break_pp,
        params.min_cell_size,
        least(prev.n_participants, now_.n_participants) < params.min_cell_size as is_suppressed
    from region as now_
    inner join region as prev
        on
            now_.procedure_code = prev.procedure_code
            and now_.subject_code = prev.subject_code
            and now_.grade = prev.grade
            and now_.school_year = prev.school_year + 1
    cross join params
),

classes as (
    select
        procedure_code,
        subject_code,
        grade,
        school_year,
        count(*) filter (where dynamics_class = 'положительная') as schools_positive,
        count(*) filter (where dynamics_class = 'отрицательная') as schools_negative,
        count(*) filter (where dynamics_class = 'без значимых изменений') as schools_unchanged
    from dynamics
    group by procedure_code, subject_code, grade, school_year
)

select
    pairs.procedure_code::text as procedure_code,
    pairs.subject_code::text as subject_code,
    pairs.grade::integer as grade,
    pairs.school_year::integer as school_year,
    pairs.n_schools::integer as n_schools,
    pairs.n_prev::integer as n_prev,
    pairs.n_now::integer as n_now,
    case when not pairs.is_suppressed then round(pairs.share_low_prev::numeric, 2) end::numeric(5, 2) as share_low_prev,
    case when not pairs.is_suppressed then round(pairs.share_low_now::numeric, 2) end::numeric(5, 2) as share_low_now,
    case
        when not pairs.is_suppressed then round((pairs.share_low_now - pairs.share_low_prev)::numeric, 2)
    end::numeric(7, 2) as low_change_pp,
    case
        when not pairs.is_suppressed then round(pairs.change_lower_pp::numeric, 2)
    end::numeric(7, 2) as low_change_lower_pp,
    case
        when not pairs.is_suppressed then round(pairs.change_upper_pp::numeric, 2)
    end::numeric(7, 2) as low_change_upper_pp,
    coalesce(classes.schools_positive, 0)::integer as schools_positive,
    coalesce(classes.schools_negative, 0)::integer as schools_negative,
    coalesce(classes.schools_unchanged, 0)::integer as schools_unchanged,
    pairs.is_suppressed::boolean as is_suppressed,
    case
        when not pairs.is_suppressed
            then
                abs(pairs.share_low_now - pairs.share_low_prev) >= pairs.region_break_pp
                and (pairs.change_lower_pp > 0 or pairs.change_upper_pp < 0)
    end::boolean as is_region_break,
    case
        when pairs.is_suppressed
            then 'скрыто: в одном из двух лет участников по региону меньше ' || pairs.min_cell_size
        when
            abs(pairs.share_low_now - pairs.share_low_prev) >= pairs.region_break_pp
            and pairs.change_lower_pp > 0
            then 'общерегиональный сдвиг: доля «2» выросла по всему региону'
        when
            abs(pairs.share_low_now - pairs.share_low_prev) >= pairs.region_break_pp
            and pairs.change_upper_pp < 0
            then 'общерегиональный сдвиг: доля «2» снизилась по всему региону'
        else 'без общерегионального сдвига'
    end::text as region_break_label
from pairs
left join classes
    on
        pairs.procedure_code = classes.procedure_code
        and pairs.subject_code = classes.subject_code
        and pairs.grade = classes.grade
        and pairs.school_year = classes.school_year
