-- Grades 1–11 with their level of general education (seed education_levels: НОО, ООО, СОО).
with levels as (
    select * from {{ ref('education_levels') }}
),

grades as (
    select generate_series(min(grade_from), max(grade_to)) as grade
    from levels
)

select
    grades.grade::integer as grade,
    (grades.grade || ' класс')::text as grade_label,
    levels.level_code::text as level_code,
    levels.level_name::text as level_name
from grades
inner join levels on grades.grade between levels.grade_from and levels.grade_to
