-- КДР (Krasnoyarsk regional diagnostic works): one row per pupil and work.
select
    load_id,
    source_row,
    school_id,
    participant_id,
    work as procedure_code,
    year as school_year,
    grade,
    case when work like '%\_rl' then 'reading' else 'science' end as subject_code,
    primary_score,
    pct_of_max,
    level_code
from {{ source('raw', 'kdr_results') }}
-- a row without its school or year cannot be placed in any mart: it is left out here and listed, with
-- the reason, in mart_data_issues
where school_id is not null and year is not null and grade is not null and work is not null
