-- ШНОР method, step 3: a school is a candidate in year t when it was among the worst 10 % of its group in
-- at least 2 of the years t-2..t; a candidate stays one until it is outside the worst 20 % two years
-- running (hysteresis: exit needs more than entry).
with recursive years as (
    select * from {{ ref('int_low_results_school_years') }}
),

params as (
    select
        entry_years_required::integer as entry_years_required,
        entry_window_years::integer as entry_window_years
    from {{ ref('int_method_parameters') }}
),

window_counts as (
    -- years t-2..t (the window length is a parameter, so a join rather than a window frame)
    select
        years.school_id,
        years.school_year,
        count(*) filter (where earlier.in_worst_entry) as worst_years_in_window,
        string_agg(earlier.school_year::text, ', ' order by earlier.school_year)
        filter (where earlier.in_worst_entry) as worst_years
    from years
    cross join params
    inner join years as earlier
        on
            years.school_id = earlier.school_id
            and earlier.school_year between years.school_year - params.entry_window_years + 1 and years.school_year
    group by years.school_id, years.school_year
),

entry as (
    select
        years.*,
        window_counts.worst_years_in_window,
        window_counts.worst_years,
        lag(years.in_worst_exit) over (partition by years.school_id order by years.school_year) as prev_in_worst_exit
    from years
    inner join window_counts using (school_id, school_year)
),

flagged as (
    select
        entry.*,
        entry.worst_years_in_window >= params.entry_years_required as meets_entry,
        not entry.in_worst_exit and not coalesce(entry.prev_in_worst_exit, true) as meets_exit
    from entry
    cross join params
),

numbered as (
    select
        *,
        row_number() over (partition by school_id order by school_year) as year_number
    from flagged
),

status (school_id, school_year, year_number, is_candidate) as (
    select
        school_id,
        school_year,
        year_number,
        meets_entry
    from numbered
    where year_number = 1
    union all
    select
        numbered.school_id,
        numbered.school_year,
        numbered.year_number,
        numbered.meets_entry or (status.is_candidate and not numbered.meets_exit)
    from status
    inner join numbered
        on status.school_id = numbered.school_id and numbered.year_number = status.year_number + 1
)

select
    numbered.school_id,
    numbered.school_year,
    numbered.comparison_group,
    numbered.municipality,
    numbered.result_score,
    numbered.worst_share,
    numbered.n_procedures,
    numbered.procedures,
    numbered.is_reduced_basis,
    numbered.identification_basis,
    numbered.in_worst_entry,
    numbered.worst_years,
    numbered.meets_entry,
    status.is_candidate
from numbered
inner join status using (school_id, school_year)
