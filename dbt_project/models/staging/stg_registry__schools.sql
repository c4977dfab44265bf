-- The regional school registry (current snapshot, closed and merged schools included).
select
    registry_code as school_id,
    fis_login,
    rcoi_code,
    full_name,
    coalesce(short_name, full_name) as short_name,
    municipality,
    school_type,
    locality,
    distance_km,
    small_school,
    enrolment,
    status,
    head_school_code
from {{ source('raw', 'school_registry') }}
-- a registry row without its code identifies no school (listed in mart_data_issues)
where registry_code is not null
