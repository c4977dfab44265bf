-- ОГЭ and ЕГЭ results from the regional exam centre: one row per participant and exam.
with source as (
    select * from {{ source('raw', 'gia_results') }}
),

subjects as (
    select * from {{ ref('gia_subjects') }}
)

select
    source.load_id,
    source.source_row,
    source.school_id,
    source.participant_id,
    lower(source.exam) as exam,
    source.year as school_year,
    source.exam_date,
    source.period,
    subjects.subject_code,
    source.primary_score,
    source.test_score,
    source.mark,
    source.passed_minimum,
    source.short_answers,
    source.long_answers
from source
inner join subjects
    on
        source.exam = subjects.exam
        and source.subject_code = subjects.gia_subject_code
-- a row without its school, year or a subject of the dictionary cannot be placed in any mart: it is left
-- out here and listed, with the reason, in mart_data_issues
where source.school_id is not null and source.year is not null
