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
