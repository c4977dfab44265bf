-- ВПР regional flat extract of marks (CSV, one row per school × year × subject × grade): the same figures
-- as the ФИС ОКО «Статистика по отметкам» school rows, in another layout. int_school_results reads it for
-- the school cells that neither pupil rows nor the «Аналитика» report give.
with source as (
    select * from {{ source('raw', 'vpr_flat_marks') }}
),

subjects as (
    select * from {{ ref('subjects') }}
)

select
    source.load_id,
    source.source_row,
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
-- a row without its school, year, subject of the dictionary or grade cannot be placed in any mart: it is
-- left out here and listed, with the reason, in mart_data_issues
where source.school_id is not null and source.year is not null and source.grade is not null
