-- Pupils with individual learning routes (ИОМ) per school and year.
with source as (
    select * from {{ source('raw', 'individual_routes') }}
)

select
    school_id,
    year::integer as school_year,
    pupils as pupils_with_route
from source
-- a row without its school or year cannot be placed in any mart: it is left out here and listed, with
-- the reason, in mart_data_issues
where school_id is not null and year is not null
