-- School improvement programmes per school and year.
select
    school_id,
    year as school_year,
    programme_written,
    external_review,
    road_map
from {{ source('raw', 'improvement_programmes') }}
