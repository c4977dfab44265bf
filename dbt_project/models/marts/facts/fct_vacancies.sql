-- Teacher vacancies per school × school year × subject. A school without vacancies has no rows; a
-- municipality that does not give the subject is shown under «не указан».
with vacancies as (
    select * from {{ ref('stg_municipal__vacancies') }}
),

schools as (
    select * from {{ ref('dim_school') }}
),

targets as (
    select * from {{ ref('int_target_schools') }}
),

-- the feed has no key of its own: several rows of a subject are added up
by_subject as (
    select
        school_id,
        school_year,
        coalesce(subject, 'не указан') as subject,
        sum(vacancies) as vacancies
    from vacancies
    group by school_id, school_year, coalesce(subject, 'не указан')
)

select
    by_subject.school_id::text as school_id,
    schools.school_name::text as school_name,
    schools.municipality::text as municipality,
    by_subject.school_year::integer as school_year,
    by_subject.subject::text as subject,
    (targets.school_id is not null)::boolean as is_target_group,
    by_subject.vacancies::integer as vacancies
from by_subject
left join schools on by_subject.school_id = schools.school_id
left join targets on by_subject.school_id = targets.school_id and by_subject.school_year = targets.school_year
