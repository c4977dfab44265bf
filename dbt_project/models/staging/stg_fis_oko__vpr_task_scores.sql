-- ВПР individual results by task: one row per participant row and task (or criterion) column.
select
    load_id,
    source_row,
    task_code,
    max_points,
    difficulty,
    points
from {{ source('raw', 'vpr_task_scores') }}
