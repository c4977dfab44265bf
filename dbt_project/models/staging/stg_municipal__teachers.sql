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
-- a row without its school or year cannot be placed in any mart: it is left out here and listed, with
-- the reason, in mart_data_issues
where school_id is not null and year is not null
