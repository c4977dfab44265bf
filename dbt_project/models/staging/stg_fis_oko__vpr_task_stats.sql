-- ВПР «Выполнение заданий» (ФИС ОКО «Аналитика»): percent completion per organisation and task.
with stats as (
    select * from {{ source('raw', 'vpr_task_stats') }}
),

stat_values as (
    select * from {{ source('raw', 'vpr_task_stat_values') }}
),

subjects as (
    select * from {{ ref('subjects') }}
)

select
    stats.load_id,
    stats.source_row,
    stats.org_level,
    stats.org_name,
    stats.school_id,
    stats.year as school_year,
    subjects.subject_code,
    stats.grade,
    stats.n_participants,
    stat_values.task_code,
    -- the optional «Макс. балл» row arrives as text
    case when stat_values.max_points ~ '^\s*\d+\s*$' then trim(stat_values.max_points)::integer end as max_points,
    stat_values.difficulty,
    stat_values.pct_completed
from stats
inner join stat_values
    on
        stats.load_id = stat_values.load_id
        and stats.source_row = stat_values.source_row
left join subjects on stats.subject = subjects.source_name
