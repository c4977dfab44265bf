-- Pupils with individual learning routes (ИОМ) per school and year.
with source as (
    select * from {{ source('raw', 'individual_routes') }}
)

select
    school_id,
    year::integer as school_year,
    pupils as pupils_with_route
from source
