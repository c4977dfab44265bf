-- ГИА task strings split into tasks: one row per participant row and task. Short answers are one character
-- per task («+» 1, «-» 0, a digit = points of a multi-point task, whose maximum the string does not carry);
-- long answers are «points(max)» per task or criterion. Codes name the position: КОn, РОn.
with source as (
    select * from {{ source('raw', 'gia_results') }}
),

short_answers as (
    select
        source.load_id,
        source.source_row,
        'short' as task_part,
        chars.task_position::integer as task_position,
        -- a symbol that is neither a digit nor +/− has no points (not a failed build)
        case
            when chars.symbol = '+' then 1 when chars.symbol = '-' then 0 when chars.symbol ~ '^[0-9]$'
                then chars.symbol::integer
        end as points,
        case when chars.symbol in ('+', '-') then 1 end as stated_max_points
    from source
    -- unnest of an array: the planner expects a few rows per string (string_to_table: a thousand)
    cross join
        lateral unnest(regexp_split_to_array(source.short_answers, ''))
        with ordinality as chars (symbol, task_position)
    where source.short_answers <> ''
),

long_answers as (
    select
        source.load_id,
        source.source_row,
        'long' as task_part,
        parts.task_position::integer as task_position,
        case when length(parts.match[1]) <= 6 then parts.match[1]::integer end as points,
        case when length(parts.match[2]) <= 6 then parts.match[2]::integer end as stated_max_points
    from source
    cross join
        lateral regexp_matches(source.long_answers, '(\d+)\((\d+)\)', 'g')
        with ordinality as parts (match, task_position)
),

tasks as (
    select * from short_answers
    union all
    select * from long_answers
)

select
    load_id,
    source_row,
    task_part,
    task_position,
    case task_part when 'short' then 'КО' else 'РО' end || task_position as task_code,
    points,
    stated_max_points
from tasks
