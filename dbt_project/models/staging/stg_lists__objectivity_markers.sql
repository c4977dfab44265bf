-- Federal list of schools with signs of non-objective ВПР results (Рособрнадзор / ФИОКО): one row per school ×
-- school year × grade × subject of the list, with the school's marker in that work and its total marker count.
-- Shown beside the warehouse's own objectivity checks, never merged into them. The list of a year is keyed by
-- the year it names (the spring year of the school year); a school listed in several loads takes the latest.
with markers as (
    select * from {{ source('raw', 'objectivity_markers') }}
),

marker_values as (
    select * from {{ source('raw', 'objectivity_marker_values') }}
),

subjects as (
    select * from {{ ref('subjects') }}
),

lists as (
    -- one list row per school and year: the latest load
    select distinct on (school_id, year) *
    from markers
    -- a row without its school or year cannot be placed in any mart: it is left out here
    where school_id is not null and year is not null
    order by school_id asc, year asc, load_id desc, source_row desc
)

select
    lists.load_id,
    lists.source_row,
    lists.school_id,
    lists.year as school_year,
    marker_values.grade,
    subjects.subject_code,
    -- the subject as the list's column header writes it («4 РУ» → РУ)
    marker_values.subject_code as list_subject_code,
    -- an empty cell is a work without a marker (the federal workbook leaves it empty)
    coalesce(marker_values.marker, 0) as marker,
    lists.marker_count
from lists
inner join marker_values
    on
        lists.load_id = marker_values.load_id
        and lists.source_row = marker_values.source_row
-- the list's subject names (РУ → Русский язык, МА → Математика) through the dictionary of subjects; a subject the
-- warehouse has no code for (ОК, ИС …) is left out
inner join subjects on marker_values.subject = subjects.source_name
where marker_values.grade is not null
