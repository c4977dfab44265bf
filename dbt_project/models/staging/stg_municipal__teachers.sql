-- Teachers (pseudonymised), one row per teacher per school and year.
select
    school_id,
    year as school_year,
    teacher_id,
    gap_diagnostic_done,
    gaps_found,
    trained_3y,
    quality_course,
    support_municipal,
    support_regional,
    age_band,
    outside_speciality,
    has_mentor
from {{ source('raw', 'teachers') }}
