-- Municipalities of the region, with the number of schools in the registry.
select
    municipality,
    count(*) as schools_total,
    count(*) filter (where status is distinct from 'реорганизована') as schools_active
from {{ ref('dim_school') }}
-- a school without a municipality in the registry is listed in mart_data_issues
where municipality is not null
group by municipality
