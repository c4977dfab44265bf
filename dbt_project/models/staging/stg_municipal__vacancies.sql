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
-- a row without its school or year cannot be placed in any mart: it is left out here and listed, with
-- the reason, in mart_data_issues
where school_id is not null and year is not null
