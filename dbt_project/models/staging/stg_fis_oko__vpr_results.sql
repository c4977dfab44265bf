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
inner join subjects on source.subject = subjects.source_name
-- a row without its school, year, subject or grade cannot be placed in any mart: it is left out here and listed, with
-- the reason, in mart_data_issues
where source.school_id is not null and source.year is not null and source.grade is not null
