-- School improvement programmes per school and year.
select
    school_id,
    year as school_year,
    programme_written,
    external_review,
    road_map
from {{ source('raw', 'improvement_programmes') }}
-- a row without its school or year cannot be placed in any mart: it is left out here and listed, with
-- the reason, in mart_data_issues
where school_id is not null and year is not null
