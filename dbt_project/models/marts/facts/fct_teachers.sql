-- Teachers per school × school year: counts and shares of the teachers' feed that the risk profile and the
-- programme indicators use. Teachers are pseudonymised in raw; only counts leave the warehouse.
with teachers as (
    select * from {{ ref('stg_municipal__teachers') }}
),

schools as (
    select * from {{ ref('dim_school') }}
),

targets as (
    select * from {{ ref('int_target_schools') }}
),

counts as (
    select
        school_id,
        school_year,
        count(distinct teacher_id) as teachers,
        count(distinct teacher_id) filter (where age_band = '60 и старше') as over_60,
        count(distinct teacher_id) filter (where outside_speciality) as outside_speciality,
        count(distinct teacher_id) filter (where gap_diagnostic_done) as gap_diagnostic_done,
        count(distinct teacher_id) filter (where gaps_found) as gaps_found,
        count(distinct teacher_id) filter (where trained_3y) as trained_3y,
        count(distinct teacher_id) filter (where quality_course) as quality_course,
        count(distinct teacher_id) filter (where support_municipal) as support_municipal,
        count(distinct teacher_id) filter (where support_regional) as support_regional,
        count(distinct teacher_id) filter (where has_mentor) as with_mentor
    from teachers
    group by school_id, school_year
)

select
    counts.school_id::text as school_id,
    schools.school_name::text as school_name,
    schools.municipality::text as municipality,
    counts.school_year::integer as school_year,
    (targets.school_id is not null)::boolean as is_target_group,
    counts.teachers::integer as teachers,
    {% for column in ['over_60', 'outside_speciality', 'gap_diagnostic_done', 'gaps_found', 'trained_3y',
                      'quality_course', 'support_municipal', 'support_regional', 'with_mentor'] %}
counts.{{ column }}::integer as teachers_{{ column }},
round(100.0 * counts.{{ column }} / nullif(counts.teachers, 0), 2)::numeric(7, 2) as share_{{ column }}
{{- "," if not loop.last }}
{% endfor %}
from counts
left join schools on counts.school_id = schools.school_id
left join targets on counts.school_id = targets.school_id and counts.school_year = targets.school_year
