-- Risk-profile indicators computed from the feeds, one row per school × year × indicator, with the
-- threshold (seed risk_indicators) and whether it is exceeded.
with teachers as (
    select
        t.school_id,
        t.year as school_year,
        100.0 * avg((t.age_band = '60 и старше')::integer) as teachers_over_60_pct,
        100.0 * avg(t.outside_speciality::integer) as outside_speciality_pct,
        100.0 * avg(t.gaps_found::integer) as gaps_found_pct,
        100.0 * avg((not t.trained_3y)::integer) as no_training_3y_pct,
        100.0 * avg((not t.quality_course)::integer) as no_quality_course_pct
    from {{ source('raw', 'teachers') }} as t
    -- rows without a school or year are listed in mart_data_issues
    where t.school_id is not null and t.year is not null
    group by t.school_id, t.year
),

performance as (
    select
        school_id,
        school_year,
        100.0 * sum(failing) / nullif(sum(enrolled), 0) as failing_pct,
        100.0 * sum(repeaters) / nullif(sum(enrolled), 0) as repeaters_pct,
        sum(lessons_missed_unexcused)::numeric / nullif(sum(enrolled), 0) as unexcused_absence_per_pupil
    -- the year's rows however the municipality spells the period («Год», «за год»): decoded in staging
    from {{ ref('stg_municipal__performance') }}
    where period_code = 'year'
    group by school_id, school_year
),

vacancies as (
    select
        school_id,
        year as school_year,
        sum(vacancies)::numeric as vacancies
    from {{ source('raw', 'vacancies') }}
    where school_id is not null and year is not null
    group by school_id, year
),

olympiads as (
    select
        o.school_id,
        o.year as school_year,
        sum(o.participants) as participants
    from {{ source('raw', 'olympiads') }} as o
    where o.stage = 'school' and o.school_id is not null and o.year is not null
    group by o.school_id, o.year
),

passport as (
    select * from {{ ref('stg_context__social_passport') }}
),

school_years as (
    select
        school_id,
        school_year
    from passport
    union
    select
        school_id,
        school_year
    from teachers
    union
    select
        school_id,
        school_year
    from performance
),

wide as (
    select
        school_years.school_id,
        school_years.school_year,
        coalesce(vacancies.vacancies, 0) as vacancies,
        teachers.teachers_over_60_pct,
        teachers.outside_speciality_pct,
        teachers.gaps_found_pct,
        teachers.no_training_3y_pct,
        teachers.no_quality_course_pct,
        performance.failing_pct,
        performance.repeaters_pct,
        performance.unexcused_absence_per_pupil,
        -- pupils of grades 4–11 approximated by 8/11 of the enrolment
        100 - least(100.0, 100.0 * coalesce(olympiads.participants, 0) / nullif(passport.enrolment * 8 / 11.0, 0))
            as olympiad_low_participation,
        passport.pct_prevention_register as prevention_register_pct,
        passport.pct_single_parent as single_parent_pct,
        passport.pct_unemployed_parents as unemployed_parents_pct,
        passport.pct_disability as disability_pct,
        passport.pct_non_native_russian as non_native_russian_pct
    from school_years
    left join teachers using (school_id, school_year)
    left join performance using (school_id, school_year)
    left join vacancies using (school_id, school_year)
    left join olympiads using (school_id, school_year)
    left join passport using (school_id, school_year)
),

long as (
    select
        wide.school_id,
        wide.school_year,
        item.indicator_code,
        item.value
    from wide
    cross join
        lateral (
            values
        {% for code in ['vacancies', 'teachers_over_60_pct', 'outside_speciality_pct', 'gaps_found_pct',
                        'no_training_3y_pct', 'no_quality_course_pct', 'failing_pct', 'repeaters_pct',
                        'unexcused_absence_per_pupil', 'olympiad_low_participation', 'prevention_register_pct',
                        'single_parent_pct', 'unemployed_parents_pct', 'disability_pct', 'non_native_russian_pct'] %}
            ('{{ code }}', wide.{{ code }}::numeric){{ "," if not loop.last }}
            {% endfor %}
        ) as item (indicator_code, value)
    where item.value is not null
)

select
    long.school_id,
    long.school_year,
    indicators.factor_code,
    long.indicator_code,
    indicators.indicator_name,
    round(long.value, 2) as value,
    indicators.threshold,
    -- a share above 100 % (a count above its base in the feed) makes no sense: flagged, never over a threshold
    case when not (long.indicator_code like '%\_pct' and long.value > 100) then long.value >= indicators.threshold end
        as is_over_threshold,
    long.indicator_code like '%\_pct' and long.value > 100 as is_implausible
from long
inner join {{ ref('risk_indicators') }} as indicators using (indicator_code)
