-- Teacher vacancies per school, year and (where the municipality gives it) subject.
with source as (
    select * from {{ source('raw', 'vacancies') }}
)

select
    school_id,
    year::integer as school_year,
    nullif(lower(regexp_replace(btrim(subject), '\s+', ' ', 'g') collate pg_c_utf8), '') as subject,
    vacancies
from source
