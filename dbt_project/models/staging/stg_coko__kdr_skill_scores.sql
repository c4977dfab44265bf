-- КДР points by skill group: one row per pupil row and skill group.
select
    load_id,
    source_row,
    skill_group,
    points
from {{ source('raw', 'kdr_skill_scores') }}
