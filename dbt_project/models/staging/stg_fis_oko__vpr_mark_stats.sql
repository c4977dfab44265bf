-- ВПР «Статистика по отметкам» (ФИС ОКО «Аналитика»): shares of marks per organisation.
with source as (
    select * from {{ source('raw', 'vpr_mark_stats') }}
),

subjects as (
    select * from {{ ref('subjects') }}
)

select
    source.load_id,
    source.source_row,
    source.org_level,
    source.org_name,
    source.school_id,
    source.year as school_year,
    subjects.subject_code,
    source.grade,
    source.n_participants,
    source.pct_2,
    source.pct_3,
    source.pct_4,
    source.pct_5
from source
inner join subjects on source.subject = subjects.source_name
-- a row without its year, subject of the dictionary or grade cannot be placed in any mart: it is left out
-- here and listed, with the reason, in mart_data_issues
where source.year is not null and source.grade is not null
