-- ВПР individual results: one row per participant and work.
with source as (
    select * from {{ source('raw', 'vpr_results') }}
),

subjects as (
    select * from {{ ref('subjects') }}
)

select
    source.load_id,
    source.source_row,
    source.school_id,
    source.participant_id,
    source.year as calendar_year,
    -- autumn administrations (2020, 2022) test the previous grade and belong to the next school year
    case when source.season = 'autumn' then source.year + 1 else source.year end as school_year,
    source.season,
    subjects.subject_code,
    source.grade,
    source.variant,
    source.class_label,
    source.primary_score,
    source.max_primary_score,
    source.mark,
    source.journal_mark
from source
left join subjects on source.subject = subjects.source_name
