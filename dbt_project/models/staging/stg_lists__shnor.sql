-- Official ШНОР lists by source (Рособрнадзор/ФИОКО, regional ЦОКО).
select
    school_id,
    year as school_year,
    source as list_source
from {{ source('raw', 'shnor_list') }}
-- a row without its school or year cannot be placed in any mart: it is left out here and listed, with
-- the reason, in mart_data_issues
where school_id is not null and year is not null
