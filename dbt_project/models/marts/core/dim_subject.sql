-- Subjects, one row per subject code: the names the files use (seed subjects) and the РЦОИ subject codes
-- of ОГЭ and ЕГЭ (seed gia_subjects) that map to it.
with subjects as (
    select * from {{ ref('subjects') }}
),

gia_subjects as (
    select * from {{ ref('gia_subjects') }}
),

codes as (
    select subject_code from subjects
    union
    select subject_code from gia_subjects
),

names as (
    select
        subject_code,
        -- one display name per code; the names the files use are listed beside it
        min(subject_name) as subject_name,
        string_agg(distinct source_name, '; ' order by source_name) as file_subject_names
    from subjects
    group by subject_code
),

rcoi as (
    select
        subject_code,
        string_agg(
            case exam when 'OGE' then 'ОГЭ' when 'EGE' then 'ЕГЭ' else exam end || ' ' || gia_subject_code,
            '; ' order by exam desc, gia_subject_code asc
        ) as rcoi_subject_codes
    from gia_subjects
    group by subject_code
)

select
    codes.subject_code::text as subject_code,
    coalesce(names.subject_name, codes.subject_code)::text as subject_name,
    names.file_subject_names::text as file_subject_names,
    rcoi.rcoi_subject_codes::text as rcoi_subject_codes
from codes
left join names on codes.subject_code = names.subject_code
left join rcoi on codes.subject_code = rcoi.subject_code
